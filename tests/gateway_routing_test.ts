import assert from "node:assert/strict";
import type { LlmProtocol } from "../src/protocols/bodies.ts";
import type { LlmEvent } from "../src/protocols/events.ts";
import { ADAPTERS } from "../src/gateway/_protocols.ts";
import { createGateway, type GatewayOptions } from "../src/gateway/handler.ts";
import { GatewayConfigError, parseGatewayConfig } from "../src/gateway/config.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const utf8 = new TextEncoder();

/** An OpenAI chat completion with 3 + 2 tokens of usage. */
function completion(text: string) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 0,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

function sse(chunks: unknown[]): string {
  return chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("");
}

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 0,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

/** A whole OpenAI stream saying `text`. */
function streamOf(text: string): string {
  return sse([
    chunk({ role: "assistant", content: "" }),
    chunk({ content: text }),
    chunk({}, "stop"),
  ]) + "data: [DONE]\n\n";
}

/** A loopback OpenAI-compatible upstream; `reply` answers each request. */
function upstream(reply: (request: Request, n: number) => Response | Promise<Response>) {
  const bodies: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    bodies.push(await request.text());
    return await reply(request, bodies.length);
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    bodies,
    get hits() {
      return bodies.length;
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

const healthy = (text = "ok") => upstream(() => Response.json(completion(text)));
const failing = (status: number) =>
  upstream(() =>
    Response.json({ error: { message: `failing with ${status}`, type: "server_error" } }, {
      status,
    })
  );

function gatewayOf(json: unknown, options: GatewayOptions = {}) {
  const lines: string[] = [];
  const gateway = createGateway(parseGatewayConfig(json), {
    logger: (line) => lines.push(line),
    ...options,
  });
  return {
    gateway,
    logs: () => lines.map((line) => JSON.parse(line)),
    last: () => JSON.parse(lines.at(-1)!),
    async [Symbol.asyncDispose]() {
      await gateway.close();
    },
  };
}

const MESSAGES = [{ role: "user", content: "Hello there" }];

function chat(
  gw: { gateway: { fetch(r: Request): Promise<Response> } },
  stream = false,
  model = "m",
) {
  return gw.gateway.fetch(
    new Request("http://gw/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model, stream, messages: MESSAGES }),
    }),
  );
}

function instance(baseUrl: string, extra: Record<string, unknown> = {}) {
  return { type: "openai-compatible", baseUrl, ...extra };
}

async function eventsOf(protocol: LlmProtocol, response: Response): Promise<LlmEvent[]> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const decoder = ADAPTERS[protocol].decoder({ id: "x", model: "x" });
  return decoder.push(bytes).concat(decoder.end());
}

function textOf(events: LlmEvent[]): string {
  return events.map((event) => event.type === "text_delta" ? event.text : "").join("");
}

Deno.test("routing: weights 5:3:2 over 1,000 requests, within ±2 % of each share, interleaved", async () => {
  await using a = healthy("a");
  await using b = healthy("b");
  await using c = healthy("c");
  await using gw = gatewayOf({
    models: {
      m: {
        instances: [
          instance(a.baseUrl, { name: "a", weight: 5 }),
          instance(b.baseUrl, { name: "b", weight: 3 }),
          instance(c.baseUrl, { name: "c", weight: 2 }),
        ],
      },
    },
  });
  const order: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const response = await chat(gw);
    assert.equal(response.status, 200);
    order.push((await response.json()).choices[0].message.content);
  }
  // Tolerance: ±20 requests (2 % of 1,000) of 500, 300 and 200.
  for (const [server, expected] of [[a, 500], [b, 300], [c, 200]] as const) {
    assert.ok(Math.abs(server.hits - expected) <= 20, `${server.hits} vs ${expected}`);
  }
  // Smooth: the heaviest never gets more than 2 in a row (nginx gives a,b,a,c,a,b,a,…).
  assert.ok(!order.join("").includes("aaa"), order.slice(0, 10).join(""));
  assert.deepEqual(gw.logs().map((line) => line.tries.length), new Array(1000).fill(1));
});

Deno.test("routing: the higher priority group first; the lower one only when it fails or is ejected", async () => {
  await using high = healthy("high");
  await using high2 = healthy("high2");
  await using low = healthy("low");
  await using gw = gatewayOf({
    models: {
      m: {
        instances: [
          instance(low.baseUrl, { name: "low", priority: 0 }),
          instance(high.baseUrl, { name: "high", priority: 2 }),
          instance(high2.baseUrl, { name: "high2", priority: 2 }),
        ],
      },
    },
  });
  for (let i = 0; i < 10; i++) assert.equal((await chat(gw)).status, 200);
  assert.deepEqual([high.hits, high2.hits, low.hits], [5, 5, 0]);

  // Without weights or priorities, the list is an ordered failover list.
  const config = parseGatewayConfig({
    models: { m: { instances: [instance(low.baseUrl), instance(high.baseUrl)] } },
  });
  assert.deepEqual(config.models.get("m")!.instances.map((i) => [i.name, i.priority, i.weight]), [
    ["openai-compatible#0", 1, 1],
    ["openai-compatible#1", 0, 1],
  ]);
});

Deno.test("routing: fallback in order over 500, 429 and a timeout to the healthy one; the body re-sent unchanged", async () => {
  await using e500 = failing(500);
  await using e429 = failing(429);
  await using slow = upstream(async () => {
    await delay(400);
    return Response.json(completion("slow"));
  });
  await using ok = healthy("healthy");
  await using gw = gatewayOf({
    models: {
      m: {
        instances: [
          instance(e500.baseUrl, { name: "e500", options: { maxTokens: 64 } }),
          instance(e429.baseUrl, { name: "e429" }),
          instance(slow.baseUrl, { name: "slow", connectTimeoutMs: 100 }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
      short: {
        maxRetries: 1,
        instances: [
          instance(e500.baseUrl, { name: "e500" }),
          instance(e429.baseUrl, { name: "e429" }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
    },
  });
  const response = await chat(gw);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).choices[0].message.content, "healthy");
  const line = gw.last();
  assert.equal(line.attempts, 4);
  assert.deepEqual(
    line.tries.map((t: { instance: string; status: number | null; reason: string | null }) => [
      t.instance,
      t.status,
      t.reason,
    ]),
    [
      ["e500", 500, "upstream_status"],
      ["e429", 429, "upstream_status"],
      ["slow", null, "connect_timeout"],
      ["ok", 200, null],
    ],
  );
  assert.ok(line.tries[2].ms >= 90 && line.tries[2].ms < 400, `${line.tries[2].ms}`);
  // Per-instance options went into the first instance's copy only.
  assert.equal(JSON.parse(e500.bodies[0]!).max_tokens, 64);
  assert.equal(e429.bodies[0], ok.bodies[0]);
  assert.equal(slow.bodies[0] ?? e429.bodies[0], e429.bodies[0]);
  assert.equal(JSON.parse(ok.bodies[0]!).max_tokens, undefined);

  // maxRetries: 1 → two attempts, then 503 naming both.
  const okBefore = ok.hits;
  const limited = await chat(gw, false, "short");
  assert.equal(limited.status, 503);
  const error = (await limited.json()).error;
  assert.match(error.message, /no instance of model "short".*e500 \(500\), e429 \(429\)/);
  assert.equal(ok.hits, okBefore);
  assert.deepEqual(gw.last().tries.map((t: { status: number }) => t.status), [500, 429]);
});

Deno.test("routing: fallbackOn decides which statuses move on (401 only when listed)", async () => {
  await using e401 = failing(401);
  await using ok = healthy("healthy");
  await using gw = gatewayOf({
    fallbackOn: [401, 429, 500, 502, 503, 504],
    models: {
      listed: { instances: [instance(e401.baseUrl), instance(ok.baseUrl)] },
      unlisted: {
        fallbackOn: [500],
        instances: [instance(e401.baseUrl), instance(ok.baseUrl)],
      },
    },
  });
  assert.equal((await chat(gw, false, "listed")).status, 200);
  const unlisted = await chat(gw, false, "unlisted");
  assert.equal(unlisted.status, 401);
  assert.equal((await unlisted.json()).error.message, "failing with 401");
  assert.equal(ok.hits, 1);
  assert.equal(
    parseGatewayConfig({ models: { m: { instances: [instance(ok.baseUrl)] } } })
      .models.get("m")!.fallbackOn.join(),
    "429,500,502,503,504,529",
  );
});

Deno.test("routing: a stream that dies before its first output is retried; after it, the client gets a terminal error", async () => {
  // Sends the role chunk (no output), then the connection dies.
  await using diesEarly = upstream(() => {
    let sent = false;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (sent) return controller.error(new Error("upstream died"));
          sent = true;
          controller.enqueue(utf8.encode(sse([chunk({ role: "assistant", content: "" })])));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  // An error event before any output (in fallbackOn: 503).
  await using errorFirst = upstream(() =>
    new Response(
      sse([{ error: { message: "overloaded", type: "server_error", code: 503 } }]),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  // Says "partial", then dies.
  await using diesLate = upstream(() => {
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          if (n++ === 0) {
            controller.enqueue(
              utf8.encode(
                sse([chunk({ role: "assistant", content: "" }), chunk({ content: "partial" })]),
              ),
            );
            return;
          }
          await delay(20);
          controller.error(new Error("upstream died"));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  await using ok = upstream(() =>
    new Response(streamOf("whole reply"), { headers: { "content-type": "text/event-stream" } })
  );
  await using gw = gatewayOf({
    models: {
      early: {
        instances: [
          instance(diesEarly.baseUrl, { name: "dies" }),
          instance(errorFirst.baseUrl, { name: "error" }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
      late: {
        instances: [
          instance(diesLate.baseUrl, { name: "late" }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
    },
  });
  const early = await chat(gw, true, "early");
  assert.equal(early.status, 200);
  const events = await eventsOf("openai", early);
  assert.equal(textOf(events), "whole reply");
  assert.ok(!events.some((event) => event.type === "error"));
  assert.deepEqual(
    gw.last().tries.map((t: { instance: string; reason: string | null }) => [t.instance, t.reason]),
    [["dies", "upstream_error"], ["error", "upstream_stream_error"], ["ok", null]],
  );

  // The same for a converted stream (an Anthropic client).
  const converted = await gw.gateway.fetch(
    new Request("http://gw/v1/messages", {
      method: "POST",
      body: JSON.stringify({ model: "early", stream: true, max_tokens: 50, messages: MESSAGES }),
    }),
  );
  assert.equal(converted.status, 200);
  const convertedEvents = await eventsOf("anthropic", converted);
  assert.equal(textOf(convertedEvents), "whole reply");
  assert.ok(!convertedEvents.some((event) => event.type === "error"));
  assert.deepEqual(gw.last().tries.map((t: { instance: string }) => t.instance), [
    "dies",
    "error",
    "ok",
  ]);

  const okHits = ok.hits;
  const late = await chat(gw, true, "late");
  assert.equal(late.status, 200);
  const lateEvents = await eventsOf("openai", late);
  assert.equal(textOf(lateEvents), "partial");
  assert.equal(lateEvents.at(-1)!.type, "error");
  assert.equal(ok.hits, okHits, "no fallback after the first byte");
  await delay(10);
  const line = gw.last();
  assert.deepEqual([line.attempts, line.abort_reason], [1, "upstream_error"]);
});

Deno.test("routing: ejection after N failures in the window, a half-open probe after the cooldown, recovery", async () => {
  let broken = true;
  await using flaky = upstream(async () => {
    if (broken) return Response.json({ error: { message: "down" } }, { status: 502 });
    await delay(60);
    return Response.json(completion("flaky"));
  });
  await using ok = healthy("ok");
  let clock = 1_000_000;
  await using gw = gatewayOf({
    health: { failures: 2, windowMs: 1000, cooldownMs: 150 },
    models: {
      m: {
        instances: [
          instance(flaky.baseUrl, { name: "flaky", priority: 1 }),
          instance(ok.baseUrl, { name: "ok", priority: 0 }),
        ],
      },
    },
  }, { now: () => clock });
  // Two failures within the window (served by the fallback meanwhile) → ejected.
  for (let i = 0; i < 2; i++) assert.equal((await chat(gw)).status, 200);
  assert.equal(flaky.hits, 2);
  // During the cooldown, the ejected instance gets nothing.
  clock += 149;
  for (let i = 0; i < 3; i++) assert.equal((await chat(gw)).status, 200);
  assert.equal(flaky.hits, 2);
  assert.deepEqual(gw.last().tries.map((t: { instance: string }) => t.instance), ["ok"]);
  // After it, one probe (still broken) → ejected again for a cooldown.
  clock += 2;
  assert.equal((await chat(gw)).status, 200);
  assert.equal(flaky.hits, 3);
  assert.equal((await chat(gw)).status, 200);
  assert.equal(flaky.hits, 3);
  // Recovered: after the next cooldown, only one of five concurrent requests probes it …
  broken = false;
  clock += 151;
  const okBefore = ok.hits;
  const responses = await Promise.all(Array.from({ length: 5 }, () => chat(gw)));
  assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(flaky.hits, 4);
  assert.equal(ok.hits, okBefore + 4);
  // … and its success brings it back for every request.
  for (let i = 0; i < 3; i++) assert.equal((await chat(gw)).status, 200);
  assert.equal(flaky.hits, 7);
  // Failures spread wider than the window do not eject.
  broken = true;
  await chat(gw);
  clock += 1001;
  await chat(gw);
  broken = false;
  await chat(gw);
  assert.equal(flaky.hits, 10);
});

Deno.test("routing: ejection and recovery on the real clock (cooldown 150 ms)", async () => {
  let broken = true;
  await using flaky = upstream(() =>
    broken
      ? Response.json({ error: { message: "down" } }, { status: 500 })
      : Response.json(completion("flaky"))
  );
  await using ok = healthy("ok");
  await using gw = gatewayOf({
    health: { failures: 1, windowMs: 1000, cooldownMs: 150 },
    models: {
      m: {
        instances: [
          instance(flaky.baseUrl, { name: "flaky", priority: 1 }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
    },
  });
  await chat(gw);
  const ejectedAt = performance.now();
  broken = false;
  // Poll until it is used again: not before the cooldown, and not much after.
  while (flaky.hits === 1) {
    assert.equal((await chat(gw)).status, 200);
    await delay(10);
    assert.ok(performance.now() - ejectedAt < 1000, "never recovered");
  }
  const recoveredAfter = performance.now() - ejectedAt;
  assert.ok(recoveredAfter >= 140 && recoveredAfter < 600, `${recoveredAfter} ms`);
});

Deno.test("routing: 503 in the client's shape when every instance fails or is ejected; the log lists every attempt", async () => {
  await using e500 = failing(500);
  await using e503 = failing(503);
  await using slow = upstream(async () => {
    await delay(300);
    return Response.json(completion("slow"));
  });
  await using gw = gatewayOf({
    health: { failures: 1, windowMs: 10_000, cooldownMs: 60_000 },
    models: {
      m: {
        instances: [
          instance(e500.baseUrl, { name: "a" }),
          instance(e503.baseUrl, { name: "b" }),
          instance(slow.baseUrl, { name: "c", firstByteTimeoutMs: 50, connectTimeoutMs: 50 }),
        ],
      },
    },
  });
  const response = await chat(gw);
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.error.type, "overloaded_error");
  assert.match(body.error.message, /a \(500\), b \(503\), c \(connect_timeout\)/);
  const line = gw.last();
  assert.deepEqual([line.status, line.attempts, line.abort_reason], [503, 3, "no_instance"]);
  for (const [i, [name, status]] of [["a", 500], ["b", 503], ["c", null]].entries()) {
    assert.equal(line.tries[i].instance, name);
    assert.equal(line.tries[i].status, status);
    assert.equal(typeof line.tries[i].ms, "number");
  }
  // All ejected now: 503 at once, nothing tried, in each client's shape.
  const hits = e500.hits + e503.hits + slow.hits;
  const anthropic = await gw.gateway.fetch(
    new Request("http://gw/v1/messages", {
      method: "POST",
      body: JSON.stringify({ model: "m", max_tokens: 10, messages: MESSAGES }),
    }),
  );
  assert.equal(anthropic.status, 503);
  const anthropicBody = await anthropic.json();
  assert.equal(anthropicBody.type, "error");
  assert.match(anthropicBody.error.message, /ejected after repeated failures: a, b, c/);
  const bedrock = await gw.gateway.fetch(
    new Request("http://gw/model/m/converse-stream", {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
    }),
  );
  assert.equal(bedrock.status, 503);
  assert.ok(bedrock.headers.get("x-amzn-errortype"));
  assert.match((await bedrock.json()).message, /no instance of model "m"/);
  assert.equal(e500.hits + e503.hits + slow.hits, hits);
  assert.deepEqual(gw.last().tries, []);
});

Deno.test("routing: a single instance is never ejected; its own error is the answer", async () => {
  await using e500 = failing(500);
  await using gw = gatewayOf({
    health: { failures: 1, windowMs: 10_000, cooldownMs: 60_000 },
    models: { m: { instances: [instance(e500.baseUrl)] } },
  });
  for (let i = 0; i < 3; i++) {
    const response = await chat(gw);
    assert.equal(response.status, 500);
    assert.equal((await response.json()).error.message, "failing with 500");
  }
  assert.equal(e500.hits, 3);
});

Deno.test("routing: mock instances balance too (weights 1:3, streaming)", async () => {
  const mock = (name: string, weight: number) => ({
    type: "mock",
    protocol: "openai",
    name,
    weight,
    firstTokenDelayMs: 0,
    tokenDelayMs: 0,
  });
  await using gw = gatewayOf({ models: { m: { instances: [mock("x", 1), mock("y", 3)] } } });
  for (let i = 0; i < 40; i++) {
    const response = await chat(gw, true);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  }
  await delay(10);
  const counts: Record<string, number> = {};
  for (const line of gw.logs()) {
    counts[line.tries[0].instance] = (counts[line.tries[0].instance] ?? 0) + 1;
  }
  assert.deepEqual(counts, { x: 10, y: 30 });
});

Deno.test("routing config: weight, priority, name, fallbackOn, maxRetries, health — errors name the path", () => {
  const base = (model: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
    ...top,
    models: { m: { instances: [{ type: "mock", protocol: "openai" }], ...model } },
  });
  const cases: [unknown, string, RegExp][] = [
    [
      base({ instances: [{ type: "mock", protocol: "openai", weight: 0 }] }),
      "models.m.instances[0].weight",
      /integer ≥ 1/,
    ],
    [
      base({ instances: [{ type: "mock", protocol: "openai", priority: 1.5 }] }),
      "models.m.instances[0].priority",
      /integer/,
    ],
    [
      base({ instances: [{ type: "mock", protocol: "openai", name: "" }] }),
      "models.m.instances[0].name",
      /non-empty/,
    ],
    [
      base({
        instances: [{ type: "mock", protocol: "openai", name: "x" }, {
          type: "mock",
          protocol: "openai",
          name: "x",
        }],
      }),
      "models.m.instances[1].name",
      /duplicate/,
    ],
    [base({ fallbackOn: 500 }), "models.m.fallbackOn", /array/],
    [base({ fallbackOn: [200] }), "models.m.fallbackOn[0]", /≥ 400/],
    [base({ fallbackOn: [600] }), "models.m.fallbackOn[0]", /400–599/],
    [base({ fallbackOn: [500, 500] }), "models.m.fallbackOn[1]", /duplicate/],
    [base({ maxRetries: -1 }), "models.m.maxRetries", /≥ 0/],
    [base({ health: { failures: 0 } }), "models.m.health.failures", /≥ 1/],
    [base({ health: { cooldown: 5 } }), "models.m.health.cooldown", /unknown field/],
    [base({}, { fallbackOn: ["500"] }), "fallbackOn[0]", /integer/],
    [base({}, { health: { windowMs: "1s" } }), "health.windowMs", /integer/],
  ];
  for (const [json, path, reason] of cases) {
    assert.throws(() => parseGatewayConfig(json), (error) => {
      assert.ok(error instanceof GatewayConfigError);
      assert.equal(error.path, path);
      assert.match(error.message, reason);
      return true;
    });
  }
  const config = parseGatewayConfig(
    base(
      { maxRetries: 0, health: { cooldownMs: 5 } },
      { fallbackOn: [429], health: { failures: 7 } },
    ),
  );
  const model = config.models.get("m")!;
  assert.deepEqual(model.fallbackOn, [429]);
  assert.equal(model.maxRetries, 0);
  assert.deepEqual(model.health, { failures: 7, windowMs: 10_000, cooldownMs: 5 });
});

Deno.test("routing: a stream whose first byte is later than firstByteTimeoutMs falls back", async () => {
  await using stalled = upstream(() =>
    new Response(
      new ReadableStream({
        async pull() {
          await delay(20);
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  await using ok = upstream(() =>
    new Response(streamOf("from ok"), { headers: { "content-type": "text/event-stream" } })
  );
  await using gw = gatewayOf({
    models: {
      m: {
        instances: [
          instance(stalled.baseUrl, { name: "stalled", firstByteTimeoutMs: 80 }),
          instance(ok.baseUrl, { name: "ok" }),
        ],
      },
    },
  });
  const response = await chat(gw, true);
  assert.equal(response.status, 200);
  assert.equal(textOf(await eventsOf("openai", response)), "from ok");
  const tries = gw.last().tries;
  assert.deepEqual(tries.map((t: { reason: string | null }) => t.reason), [
    "first_byte_timeout",
    null,
  ]);
  assert.ok(tries[0].ms >= 75 && tries[0].ms < 1000, `${tries[0].ms}`);
});
