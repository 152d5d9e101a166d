import assert from "node:assert/strict";
import type { LlmProtocol } from "../src/protocols/bodies.ts";
import { createGateway } from "../src/gateway/handler.ts";
import { GatewayConfigError, parseGatewayConfig } from "../src/gateway/config.ts";

const KEY_A = "gw-key-team-a-SECRET-canary";
const KEY_B = "gw-key-team-b-SECRET-canary";
const ENV = (name: string) => name === "TEAM_B_KEY" ? KEY_B : undefined;

function mock(protocol: LlmProtocol) {
  return { instances: [{ type: "mock", protocol, firstTokenDelayMs: 0, tokenDelayMs: 0 }] };
}

function gatewayOf(keys: unknown[] | undefined) {
  const lines: string[] = [];
  const gateway = createGateway(
    parseGatewayConfig({
      models: { m: mock("bedrock"), "m-openai": mock("openai") },
      routes: [{ path: "/v1/llm/converse", model: "m" }],
      ...(keys !== undefined ? { keys } : {}),
    }, ENV),
    { logger: (line) => lines.push(line) },
  );
  return {
    gateway,
    lines,
    last: () => JSON.parse(lines.at(-1)!),
    async [Symbol.asyncDispose]() {
      await gateway.close();
    },
  };
}

const KEYS = [{ name: "team-a", key: KEY_A }, { name: "team-b", key: { env: "TEAM_B_KEY" } }];

function request(protocol: LlmProtocol | "apisix", headers: Record<string, string>) {
  const messages = [{ role: "user", content: "Hi" }];
  switch (protocol) {
    case "openai":
      return new Request("http://gw/v1/chat/completions", {
        method: "POST",
        headers,
        body: JSON.stringify({ model: "m", messages }),
      });
    case "anthropic":
      return new Request("http://gw/v1/messages", {
        method: "POST",
        headers,
        body: JSON.stringify({ model: "m", max_tokens: 20, messages }),
      });
    case "bedrock":
      return new Request("http://gw/model/m/converse", {
        method: "POST",
        headers,
        body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
      });
    case "apisix":
      return new Request("http://gw/v1/llm/converse", {
        method: "POST",
        headers,
        body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
      });
  }
}

/** The error type a client of `protocol` reads from a 401. */
async function errorType(protocol: LlmProtocol | "apisix", response: Response): Promise<string> {
  const body = await response.json();
  if (protocol === "openai") return body.error.type;
  if (protocol === "anthropic") {
    assert.equal(body.type, "error");
    return body.error.type;
  }
  assert.equal(typeof body.message, "string");
  return response.headers.get("x-amzn-errortype")!;
}

const EXPECTED_401: Record<LlmProtocol | "apisix", string> = {
  openai: "authentication_error",
  anthropic: "authentication_error",
  bedrock: "UnrecognizedClientException",
  apisix: "UnrecognizedClientException",
};

Deno.test("auth: each client protocol presents its key its own way; the log names the key, never shows it", async () => {
  await using gw = gatewayOf(KEYS);
  const accepted: [LlmProtocol | "apisix", Record<string, string>, string][] = [
    ["openai", { authorization: `Bearer ${KEY_A}` }, "team-a"],
    ["anthropic", { "x-api-key": KEY_B }, "team-b"],
    ["anthropic", { authorization: `Bearer ${KEY_A}` }, "team-a"],
    ["bedrock", { authorization: `Bearer ${KEY_B}` }, "team-b"],
    ["apisix", { authorization: `bearer ${KEY_A}` }, "team-a"],
  ];
  for (const [protocol, headers, name] of accepted) {
    const response = await gw.gateway.fetch(request(protocol, headers));
    assert.equal(response.status, 200, `${protocol} ${JSON.stringify(Object.keys(headers))}`);
    await response.arrayBuffer();
    assert.equal(gw.last().key, name);
  }
  for (const line of gw.lines) {
    assert.ok(!line.includes(KEY_A) && !line.includes(KEY_B), line);
  }
});

Deno.test("auth: a missing or wrong key is a 401 in the client's protocol error shape", async () => {
  await using gw = gatewayOf(KEYS);
  const protocols: (LlmProtocol | "apisix")[] = ["openai", "anthropic", "bedrock", "apisix"];
  const wrong: Record<string, string>[] = [
    {},
    { authorization: `Bearer ${KEY_A}x` },
    { authorization: `Bearer ${KEY_A.slice(0, -1)}` },
    { authorization: KEY_A }, // no scheme
    { authorization: `Basic ${btoa(`u:${KEY_A}`)}` },
    { authorization: "Bearer " },
  ];
  for (const protocol of protocols) {
    for (const headers of wrong) {
      const response = await gw.gateway.fetch(request(protocol, headers));
      assert.equal(response.status, 401, `${protocol} ${JSON.stringify(headers)}`);
      assert.equal(await errorType(protocol, response), EXPECTED_401[protocol]);
      assert.equal(response.headers.get("www-authenticate"), "Bearer");
      const line = gw.last();
      assert.deepEqual([line.status, line.key, line.attempts], [401, null, 0]);
    }
  }
  // x-api-key is the Anthropic way only.
  const openai = await gw.gateway.fetch(request("openai", { "x-api-key": KEY_A }));
  assert.equal(openai.status, 401);
  await openai.arrayBuffer();
  const anthropic = await gw.gateway.fetch(request("anthropic", { "x-api-key": "nope" }));
  assert.equal(anthropic.status, 401);
  assert.match((await anthropic.json()).error.message, /x-api-key/);
  for (const line of gw.lines) assert.ok(!line.includes(KEY_A), line);
});

Deno.test("auth: without keys the gateway stays open; health, metrics and the model list stay open with them", async () => {
  {
    await using gw = gatewayOf(undefined);
    const response = await gw.gateway.fetch(request("openai", {}));
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.equal(gw.last().key, null);
  }
  await using gw = gatewayOf(KEYS);
  for (const path of ["/healthz", "/metrics", "/v1/models"]) {
    const response = await gw.gateway.fetch(new Request(`http://gw${path}`));
    assert.equal(response.status, 200, path);
    await response.arrayBuffer();
  }
});

Deno.test("auth config: keys validated with JSON paths, secret values never in errors", () => {
  const base = (keys: unknown) => ({ models: { m: mock("openai") }, keys });
  const cases: [unknown, string, RegExp][] = [
    [base({}), "keys", /array/],
    [base([{ key: KEY_A }]), "keys[0].name", /required/],
    [base([{ name: "a" }]), "keys[0].key", /required/],
    [base([{ name: "a", key: "" }]), "keys[0].key", /empty/],
    [base([{ name: "a", key: { env: "MISSING" } }]), "keys[0].key", /MISSING is not set/],
    [base([{ name: "a", key: KEY_A, extra: 1 }]), "keys[0].extra", /unknown field/],
    [base([{ name: "a", key: KEY_A }, { name: "a", key: KEY_B }]), "keys[1].name", /duplicate/],
    [base([{ name: "a", key: KEY_A }, { name: "b", key: KEY_A }]), "keys[1].key", /twice/],
    [base([{ name: "a", key: KEY_A, tokensPerMinute: 0 }]), "keys[0].tokensPerMinute", /≥ 1/],
    [base([{ name: "a", key: KEY_A, tokensPerDay: "1k" }]), "keys[0].tokensPerDay", /integer/],
  ];
  for (const [json, path, reason] of cases) {
    assert.throws(() => parseGatewayConfig(json, ENV), (error) => {
      assert.ok(error instanceof GatewayConfigError);
      assert.equal(error.path, path);
      assert.match(error.message, reason);
      assert.ok(!error.message.includes(KEY_A));
      return true;
    });
  }
  const config = parseGatewayConfig(
    base([{ name: "b", key: { env: "TEAM_B_KEY" }, tokensPerMinute: 10, tokensPerDay: 100 }]),
    ENV,
  );
  const [key] = config.keys;
  assert.equal(key!.key.reveal(), KEY_B);
  assert.deepEqual(key!.budget, { tokensPerMinute: 10, tokensPerDay: 100 });
  assert.ok(!JSON.stringify(config.keys).includes(KEY_B));
});
