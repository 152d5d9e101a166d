import assert from "node:assert/strict";
import { createGateway, type GatewayOptions } from "../src/gateway/handler.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";
import { type BudgetStore, MemoryBudgetStore } from "../src/gateway/budget.ts";

const KEY = "gw-budget-key";
const MINUTE = 60_000;
const DAY = 86_400_000;
/** 20 s into a minute (and into a day). */
const START = Date.UTC(2026, 10, 25, 0, 0, 20);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback OpenAI upstream: every answer uses 3 + 2 = 5 tokens. */
function upstream() {
  let hits = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    hits++;
    await request.arrayBuffer();
    return Response.json({
      id: "c",
      object: "chat.completion",
      created: 0,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    get hits() {
      return hits;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function gatewayOf(
  baseUrl: string,
  budget: Record<string, number>,
  options: GatewayOptions = {},
) {
  const lines: string[] = [];
  const gateway = createGateway(
    parseGatewayConfig({
      models: {
        m: { instances: [{ type: "openai-compatible", baseUrl }] },
        mock: {
          instances: [{ type: "mock", protocol: "bedrock", firstTokenDelayMs: 0, tokenDelayMs: 0 }],
        },
      },
      keys: [{ name: "team", key: KEY, ...budget }, { name: "other", key: "other-key" }],
    }),
    { logger: (line) => lines.push(line), ...options },
  );
  return {
    gateway,
    last: () => JSON.parse(lines.at(-1)!),
    logs: () => lines.map((line) => JSON.parse(line)),
    async [Symbol.asyncDispose]() {
      await gateway.close();
    },
  };
}

function chat(gw: { gateway: { fetch(r: Request): Promise<Response> } }, key = KEY, model = "m") {
  return gw.gateway.fetch(
    new Request("http://gw/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] }),
    }),
  );
}

Deno.test("budget: tokens per minute spent → 429 with Retry-After until the minute ends; then it resets", async () => {
  await using up = upstream();
  let now = START;
  await using gw = gatewayOf(up.baseUrl, { tokensPerMinute: 12 }, { now: () => now });
  // 0, 5, 10 tokens spent before each: under 12.
  for (let i = 0; i < 3; i++) {
    const response = await chat(gw);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  }
  const over = await chat(gw);
  assert.equal(over.status, 429);
  assert.equal(over.headers.get("retry-after"), "40");
  const error = (await over.json()).error;
  assert.equal(error.type, "rate_limit_error");
  assert.match(error.message, /"team".*15 of 12 tokens per minute/);
  assert.deepEqual([gw.last().status, gw.last().abort_reason, gw.last().key], [
    429,
    "over_budget",
    "team",
  ]);
  assert.equal(up.hits, 3);
  // Another key has its own budget (none here).
  assert.equal((await chat(gw, "other-key")).status, 200);
  // 39 s later, still the same minute: 1 s to go.
  now += 39_000;
  const still = await chat(gw);
  assert.equal(still.status, 429);
  assert.equal(still.headers.get("retry-after"), "1");
  await still.arrayBuffer();
  now += 1_000;
  assert.equal((await chat(gw)).status, 200);
});

Deno.test("budget: tokens per day; the longer wait wins when both are spent", async () => {
  await using up = upstream();
  let now = START;
  await using gw = gatewayOf(up.baseUrl, { tokensPerMinute: 10, tokensPerDay: 20 }, {
    now: () => now,
  });
  for (let minute = 0; minute < 2; minute++) {
    for (let i = 0; i < 2; i++) assert.equal((await chat(gw)).status, 200);
    now += MINUTE;
  }
  // 20 tokens today: the day is spent (and the minute is not).
  const over = await chat(gw);
  assert.equal(over.status, 429);
  const dayLeft = Math.ceil((Math.floor(now / DAY) * DAY + DAY - now) / 1000);
  assert.equal(over.headers.get("retry-after"), String(dayLeft));
  assert.match((await over.json()).error.message, /20 of 20 tokens per day/);
  now = Math.floor(now / DAY) * DAY + DAY;
  assert.equal((await chat(gw)).status, 200);
});

Deno.test("budget: streams are charged at their end, with the usage they reported", async () => {
  const store = new MemoryBudgetStore({ now: () => START });
  await using gw = gatewayOf("http://127.0.0.1:9/v1", { tokensPerMinute: 1_000_000 }, {
    budgetStore: store,
    now: () => START,
  });
  const counter = `team:m:${Math.floor(START / MINUTE)}`;
  const stream = await gw.gateway.fetch(
    new Request("http://gw/v1/messages", {
      method: "POST",
      headers: { "x-api-key": KEY },
      body: JSON.stringify({
        model: "mock",
        stream: true,
        max_tokens: 100,
        messages: [{ role: "user", content: "Hello there" }],
      }),
    }),
  );
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  await reader.read();
  assert.equal(await store.get(counter), 0, "not charged before the stream ends");
  while (!(await reader.read()).done);
  await delay(10);
  const line = gw.last();
  assert.ok(line.input_tokens > 0 && line.output_tokens > 0);
  assert.equal(await store.get(counter), line.input_tokens + line.output_tokens);
});

Deno.test("budget: 100 concurrent requests charging one key lose no counts", async () => {
  await using up = upstream();
  // An atomic store whose add resolves later, like a network store would.
  const inner = new MemoryBudgetStore({ now: () => START });
  const store: BudgetStore = {
    async add(counter, tokens, expiresAt) {
      const total = await inner.add(counter, tokens, expiresAt);
      await delay(Math.random() * 5);
      return total;
    },
    async get(counter) {
      await delay(Math.random() * 5);
      return await inner.get(counter);
    },
  };
  await using gw = gatewayOf(up.baseUrl, { tokensPerMinute: 1_000_000, tokensPerDay: 10_000_000 }, {
    budgetStore: store,
    now: () => START,
  });
  const responses = await Promise.all(Array.from({ length: 100 }, () => chat(gw)));
  assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
  await Promise.all(responses.map((r) => r.arrayBuffer()));
  await delay(20);
  assert.equal(await inner.get(`team:m:${Math.floor(START / MINUTE)}`), 500);
  assert.equal(await inner.get(`team:d:${Math.floor(START / DAY)}`), 500);
  // And the default store, too.
  const memory = new MemoryBudgetStore();
  await Promise.all(
    Array.from({ length: 1000 }, (_, i) => memory.add("k", i % 7, Date.now() + MINUTE)),
  );
  let expected = 0;
  for (let i = 0; i < 1000; i++) expected += i % 7;
  assert.equal(await memory.get("k"), expected);
});

Deno.test("budget: a failing store refuses with 503 before the call, and never fails an answer", async () => {
  await using up = upstream();
  let failGet = true;
  const store: BudgetStore = {
    add: () => Promise.reject(new Error("store down")),
    get: () => failGet ? Promise.reject(new Error("store down")) : Promise.resolve(0),
  };
  await using gw = gatewayOf(up.baseUrl, { tokensPerMinute: 10 }, { budgetStore: store });
  const refused = await chat(gw);
  assert.equal(refused.status, 503);
  assert.match((await refused.json()).error.message, /budget store failed: store down/);
  assert.equal(up.hits, 0);
  failGet = false;
  assert.equal((await chat(gw)).status, 200);
});

Deno.test("MemoryBudgetStore: counters expire with their window", async () => {
  let now = 0;
  const store = new MemoryBudgetStore({ now: () => now });
  assert.equal(await store.add("a", 5, 1000), 5);
  assert.equal(await store.add("a", 5, 1000), 10);
  now = 999;
  assert.equal(await store.get("a"), 10);
  now = 1000;
  assert.equal(await store.get("a"), 0);
  assert.equal(await store.add("a", 1, 2000), 1);
});
