import assert from "node:assert/strict";
import { encodeRfc3986 } from "../src/sigv4/canonical.ts";
import type { LlmProtocol } from "../src/protocols/bodies.ts";
import type { LlmEvent } from "../src/protocols/events.ts";
import { ADAPTERS } from "../src/gateway/_protocols.ts";
import { createGateway, type Gateway, type GatewayOptions } from "../src/gateway/handler.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";
import { bedrockUrl } from "../src/gateway/providers/bedrock.ts";
import { FrameBoundary } from "../src/gateway/_stream.ts";
import { clientRequest as request } from "./_gateway_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const CREDENTIALS = { accessKeyId: "AKIDGATEWAYTEST", secretAccessKey: "gateway/test/secret/KEY" };
const REPLY = 'Hello from the llmwire mock model. You said: "Hello there"';

interface Recorded {
  method: string;
  url: string;
  headers: Headers;
  body: Uint8Array;
}

/** A loopback upstream that records requests and answers with `reply`. */
function upstreamServer(reply: (request: Request, recorded: Recorded) => Response) {
  const requests: Recorded[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (request) => {
      const recorded = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: new Uint8Array(await request.arrayBuffer()),
      };
      requests.push(recorded);
      return reply(request, recorded);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** The gateway served on loopback. */
function gatewayServer(json: unknown, options: GatewayOptions = {}) {
  const lines: string[] = [];
  const gateway: Gateway = createGateway(parseGatewayConfig(json), {
    logger: (line) => lines.push(line),
    ...options,
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => gateway.fetch(request),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gateway,
    logs: () => lines.map((line) => JSON.parse(line)),
    async [Symbol.asyncDispose]() {
      await gateway.close();
      await server.shutdown();
    },
  };
}

/** Splits bytes into uneven chunks, so frames span chunks. */
function chunked(bytes: Uint8Array, sizes = [7, 1, 50, 3, 200]): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0, n = 0; i < bytes.length; n++) {
    const size = sizes[n % sizes.length]!;
    chunks.push(bytes.slice(i, i + size));
    i += size;
  }
  return ReadableStream.from(chunks);
}

function mock(protocol: LlmProtocol) {
  return { instances: [{ type: "mock", protocol, firstTokenDelayMs: 0, tokenDelayMs: 0 }] };
}

const MOCKS = { bedrock: mock("bedrock"), openai: mock("openai"), anthropic: mock("anthropic") };

/** The events of a client-protocol response, decoded with the library. */
async function clientEvents(protocol: LlmProtocol, response: Response): Promise<LlmEvent[]> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const decoder = ADAPTERS[protocol].decoder({ id: "x", model: "x" });
  return decoder.push(bytes).concat(decoder.end());
}

function textOf(events: LlmEvent[]): string {
  return events.map((event) => event.type === "text_delta" ? event.text : "").join("");
}

Deno.test("gateway: healthz, models, metrics, unknown routes and methods", async () => {
  await using gw = gatewayServer({ models: MOCKS });
  const health = await fetch(`${gw.url}/healthz`);
  assert.deepEqual(await health.json(), { status: "ok" });
  const models = await (await fetch(`${gw.url}/v1/models`)).json();
  assert.deepEqual(models.data.map((m: { id: string }) => m.id), [
    "bedrock",
    "openai",
    "anthropic",
  ]);
  assert.equal(models.data[0].owned_by, "mock");

  const missing = await fetch(`${gw.url}/v2/nothing`, { method: "POST", body: "{}" });
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error.message, /no route for POST \/v2\/nothing/);
  const wrongMethod = await fetch(`${gw.url}/v1/chat/completions`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get("allow"), "POST");
  await wrongMethod.body?.cancel();
  const bedrockMissing = await fetch(`${gw.url}/model/x/invoke`, { method: "POST", body: "{}" });
  assert.equal(bedrockMissing.status, 404);
  assert.equal(bedrockMissing.headers.get("x-amzn-errortype"), "ResourceNotFoundException");
  await bedrockMissing.body?.cancel();

  const ok = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify(clientRequest("openai", "bedrock", true).body),
  });
  assert.equal(textOf(await clientEvents("openai", ok)), REPLY);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /^llmwire_gateway_requests_total\{route="openai.chat",status="200"\} 1$/m);
  assert.match(metrics, /^llmwire_gateway_requests_total\{route="none",status="404"\} 2$/m);
  assert.match(metrics, /^llmwire_gateway_tokens_total\{direction="input"\} 2$/m);
  assert.match(metrics, /^llmwire_gateway_tokens_total\{direction="output"\} 10$/m);
  assert.match(metrics, /^llmwire_gateway_ttft_seconds_count\{route="openai.chat"\} 1$/m);
  assert.match(
    metrics,
    /^llmwire_gateway_request_duration_seconds_bucket\{route="openai.chat",le="\+Inf"\} 1$/m,
  );
  assert.match(metrics, /^llmwire_gateway_active_streams 0$/m);
});

Deno.test("gateway: every client protocol from every upstream protocol, streaming or not", async () => {
  await using gw = gatewayServer({ models: MOCKS });
  const protocols: LlmProtocol[] = ["openai", "anthropic", "bedrock"];
  for (const client of protocols) {
    for (const upstream of protocols) {
      for (const stream of [true, false]) {
        const what = `${client} client, ${upstream} upstream, stream ${stream}`;
        const { path, body } = clientRequest(client, upstream, stream);
        const response = await fetch(gw.url + path, { method: "POST", body: JSON.stringify(body) });
        assert.equal(response.status, 200, what);
        const contentType = response.headers.get("content-type") ?? "";
        if (stream) {
          assert.match(
            contentType,
            client === "bedrock" ? /amazon\.eventstream/ : /event-stream/,
            what,
          );
          const events = await clientEvents(client, response);
          assert.equal(textOf(events), REPLY, what);
          const stop = events.find((event) => event.type === "message_stop");
          assert.equal(stop?.type === "message_stop" && stop.stopReason, "end_turn", what);
          const usage = events.findLast((event) => event.type === "usage");
          assert.equal(usage?.type === "usage" && usage.usage.outputTokens, 10, what);
        } else {
          assert.match(contentType, /application\/json/, what);
          const json = await response.json();
          const parsed = ADAPTERS[client].parseResponse(json, { id: "x", model: "x" });
          assert.deepEqual(parsed.content, [{ type: "text", text: REPLY }], what);
          assert.equal(parsed.stopReason, "end_turn", what);
          assert.equal(parsed.usage.outputTokens, 10, what);
        }
        const log = gw.logs().at(-1);
        assert.equal(log.provider, "mock", what);
        assert.equal(log.model, upstream, what);
        assert.equal(log.stream, stream, what);
        assert.equal(log.status, 200, what);
        // Usage is known except for an OpenAI passthrough stream whose client asked for none.
        assert.equal(log.output_tokens, 10, what);
        assert.equal(log.input_tokens, 2, what);
        if (stream) assert.equal(typeof log.ttft_ms, "number", what);
      }
    }
  }
  assert.equal(gw.gateway.activeStreams, 0);
});

for (
  const [protocol, file, contentType] of [
    ["openai", "openai/chat_stream_text.sse", "text/event-stream"],
    ["anthropic", "anthropic/messages_stream_text.sse", "text/event-stream; charset=utf-8"],
    ["bedrock", "bedrock/converse_stream_text.bin", "application/vnd.amazon.eventstream"],
  ] as const
) {
  Deno.test(`gateway: ${protocol} passthrough is byte-identical both ways`, async () => {
    const fixture = await Deno.readFile(new URL(file, FIXTURES));
    await using upstream = upstreamServer(() =>
      new Response(chunked(fixture), { headers: { "content-type": contentType } })
    );
    const instance = protocol === "openai"
      ? { type: "openai-compatible", baseUrl: `${upstream.url}/v1` }
      : protocol === "anthropic"
      ? { type: "anthropic", apiKey: "sk-ant-test", baseUrl: upstream.url }
      : { type: "bedrock", region: "us-east-1", endpoint: upstream.url, credentials: CREDENTIALS };
    const alias = protocol === "bedrock" ? "amazon.nova-lite-v1:0" : "model-1";
    await using gw = gatewayServer({ models: { [alias]: { instances: [instance] } } });
    const { path, body } = clientRequest(protocol, alias, true);
    // Odd spacing: forwarded as is, since nothing needs to change.
    const sent = JSON.stringify(body, null, 3) + "\n";
    const response = await fetch(gw.url + path, { method: "POST", body: sent });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), contentType);
    const received = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual(received, fixture);
    assert.equal(upstream.requests.length, 1);
    assert.equal(new TextDecoder().decode(upstream.requests[0]!.body), sent);
    const log = gw.logs()[0];
    assert.equal(log.provider, protocol === "openai" ? "openai-compatible" : protocol);
    assert.equal(log.stream, true);
    assert.equal(typeof log.ttft_ms, "number");
    if (protocol !== "openai") {
      assert.equal(log.input_tokens, protocol === "bedrock" ? 14 : log.input_tokens);
      assert.ok(log.output_tokens > 0);
    }
    assert.equal(log.response_text, undefined);
  });
}

Deno.test("gateway: the alias's model id and options rewrite the same-protocol body", async () => {
  await using upstream = upstreamServer(() =>
    Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    })
  );
  await using gw = gatewayServer({
    models: {
      fast: {
        instances: [{
          type: "openai",
          apiKey: "sk-test-rewrite",
          baseUrl: upstream.url,
          options: { model: "gpt-4o-mini", maxTokens: 77 },
        }],
      },
    },
    logging: { payloads: true },
  });
  const response = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "Hi" }] }),
  });
  assert.equal((await response.json()).choices[0].message.content, "ok");
  const forwarded = JSON.parse(new TextDecoder().decode(upstream.requests[0]!.body));
  assert.deepEqual(forwarded, {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Hi" }],
    max_completion_tokens: 77,
  });
  assert.equal(new URL(upstream.requests[0]!.url).pathname, "/chat/completions");
  assert.equal(upstream.requests[0]!.headers.get("authorization"), "Bearer sk-test-rewrite");
  const log = gw.logs()[0];
  assert.equal(log.upstream_model, "gpt-4o-mini");
  assert.equal(log.input_tokens, 3);
  assert.equal(log.response_text, "ok");
  assert.match(log.request_body, /"model":"fast"/);
});

Deno.test("gateway: a model id never changes the Bedrock host or path structure", async () => {
  await using upstream = upstreamServer(() =>
    Response.json({
      output: { message: { role: "assistant", content: [{ text: "ok" }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    })
  );
  const aliases = [
    "../../admin",
    "a?b=1#frag",
    "x%2Fy",
    "a/b/../c",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "@evil.example.com",
  ];
  const instance = {
    type: "bedrock",
    region: "us-east-1",
    endpoint: upstream.url,
    credentials: CREDENTIALS,
  };
  await using gw = gatewayServer({
    models: Object.fromEntries(aliases.map((alias) => [alias, { instances: [instance] }])),
  });
  for (const alias of aliases) {
    const response = await fetch(`${gw.url}/model/${encodeURIComponent(alias)}/converse`, {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
    });
    assert.equal(response.status, 200, alias);
    assert.equal((await response.json()).output.message.content[0].text, "ok");
    const seen = upstream.requests.at(-1)!;
    const url = new URL(seen.url);
    assert.equal(url.pathname, `/model/${encodeRfc3986(alias)}/converse`, alias);
    assert.equal(url.search, "", alias);
    assert.equal(seen.headers.get("host"), new URL(upstream.url).host, alias);
    assert.match(
      seen.headers.get("authorization") ?? "",
      /Credential=AKIDGATEWAYTEST\/\d{8}\/us-east-1\/bedrock\//,
    );
  }
  assert.equal(
    new URL(upstream.requests[4]!.url).pathname,
    "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
  );
  // A traversal attempt from the client side names no configured alias.
  const count = upstream.requests.length;
  for (
    const path of [
      "/model/..%2F..%2Fadmin%2Fx/converse",
      "/model/%2E%2E%2Fadmin/converse",
      "/model/%2E%2E/converse",
    ]
  ) {
    const response = await fetch(gw.url + path, { method: "POST", body: '{"messages":[]}' });
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
  assert.equal(upstream.requests.length, count);
});

Deno.test("gateway: APISIX route — stream flag to /converse-stream, stripped; control to /converse", async () => {
  const fixture = await Deno.readFile(new URL("bedrock/converse_stream_text.bin", FIXTURES));
  await using upstream = upstreamServer((request) =>
    new URL(request.url).pathname.endsWith("/converse-stream")
      ? new Response(chunked(fixture), {
        headers: { "content-type": "application/vnd.amazon.eventstream" },
      })
      : Response.json({
        output: { message: { role: "assistant", content: [{ text: "Hello!" }] } },
        stopReason: "end_turn",
        usage: { inputTokens: 13, outputTokens: 5, totalTokens: 18 },
      })
  );
  const model = "anthropic.claude-3-haiku-20240307-v1:0";
  await using gw = gatewayServer({
    models: {
      [model]: {
        instances: [{
          type: "bedrock",
          region: "us-west-2",
          endpoint: upstream.url,
          credentials: CREDENTIALS,
        }],
      },
    },
    routes: [{ path: "/v1/llm/converse", model }],
  });
  const messages = [{ role: "user", content: [{ text: "Hi" }] }];
  const streamed = await fetch(`${gw.url}/v1/llm/converse`, {
    method: "POST",
    body: JSON.stringify({ stream: true, messages }),
  });
  assert.equal(streamed.headers.get("content-type"), "application/vnd.amazon.eventstream");
  assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), fixture);
  const first = upstream.requests[0]!;
  assert.equal(
    new URL(first.url).pathname,
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
  );
  assert.deepEqual(JSON.parse(new TextDecoder().decode(first.body)), { messages });

  const control = await fetch(`${gw.url}/v1/llm/converse`, {
    method: "POST",
    body: JSON.stringify({ messages }),
  });
  const controlBody = await control.text();
  assert.equal(JSON.parse(controlBody).usage.totalTokens, 18);
  const second = upstream.requests[1]!;
  assert.equal(
    new URL(second.url).pathname,
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
  );
  assert.equal(new TextDecoder().decode(second.body), JSON.stringify({ messages }));

  const [streamLog, controlLog] = gw.logs();
  assert.equal(streamLog.route, "apisix");
  assert.equal(streamLog.stream, true);
  assert.deepEqual(
    [streamLog.input_tokens, streamLog.output_tokens, streamLog.status],
    [14, 23, 200],
  );
  assert.equal(controlLog.stream, false);
  assert.deepEqual([controlLog.input_tokens, controlLog.output_tokens], [13, 5]);
});

Deno.test("bedrockUrl: escaped segments, and dot-only model ids refused", () => {
  assert.equal(
    bedrockUrl("https://bedrock-runtime.us-east-1.amazonaws.com", "a/../b?c#d", true),
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/a%2F..%2Fb%3Fc%23d/converse-stream",
  );
  assert.equal(
    bedrockUrl("http://127.0.0.1:9/prefix", "m:0", false),
    "http://127.0.0.1:9/prefix/model/m%3A0/converse",
  );
  assert.equal(
    bedrockUrl("http://127.0.0.1:9", "...", false),
    "http://127.0.0.1:9/model/.../converse",
  );
  for (const id of [".", ".."]) {
    assert.throws(() => bedrockUrl("http://127.0.0.1:9", id, false), TypeError, id);
  }
});

Deno.test("gateway: failover to the next instance when one is unreachable or failing", async () => {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const closedPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using overloaded = upstreamServer(() =>
    Response.json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, {
      status: 529,
    })
  );
  await using gw = gatewayServer({
    models: {
      m: {
        instances: [
          { type: "openai-compatible", baseUrl: `http://127.0.0.1:${closedPort}/v1` },
          { type: "anthropic", apiKey: "sk-ant-x", baseUrl: overloaded.url },
          { type: "mock", protocol: "bedrock", firstTokenDelayMs: 0, tokenDelayMs: 0 },
        ],
      },
      last: { instances: [{ type: "anthropic", apiKey: "sk-ant-x", baseUrl: overloaded.url }] },
    },
  });
  const { path, body } = clientRequest("openai", "m", true);
  const response = await fetch(gw.url + path, { method: "POST", body: JSON.stringify(body) });
  assert.equal(response.status, 200);
  assert.equal(textOf(await clientEvents("openai", response)), REPLY);
  assert.equal(overloaded.requests.length, 1);
  const log = gw.logs()[0];
  assert.deepEqual([log.attempts, log.provider, log.status], [3, "mock", 200]);
  // The last instance's error is the answer.
  const failing = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    body: JSON.stringify(clientRequest("anthropic", "last", false).body),
  });
  assert.equal(failing.status, 529);
  assert.equal((await failing.json()).error.type, "overloaded_error");
});

Deno.test("gateway: upstream authentication headers; payload logging of a stream when enabled", async () => {
  const anthropicFixture = await Deno.readFile(
    new URL("anthropic/messages_stream_text.sse", FIXTURES),
  );
  await using upstream = upstreamServer((request) =>
    new URL(request.url).pathname === "/v1/messages"
      ? new Response(anthropicFixture, { headers: { "content-type": "text/event-stream" } })
      : Response.json({
        output: { message: { role: "assistant", content: [{ text: "ok" }] } },
        stopReason: "end_turn",
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      })
  );
  await using gw = gatewayServer({
    models: {
      claude: {
        instances: [{
          type: "anthropic",
          apiKey: "sk-ant-header-test",
          version: "2024-10-22",
          baseUrl: upstream.url,
        }],
      },
      nova: {
        instances: [{
          type: "bedrock",
          region: "eu-central-1",
          endpoint: upstream.url,
          credentials: { ...CREDENTIALS, sessionToken: "session-token-value" },
        }],
      },
    },
    logging: { payloads: true },
  });
  const streamed = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: {
      "anthropic-beta": "prompt-caching-2024-07-31",
      authorization: "Bearer client-token",
    },
    body: JSON.stringify(clientRequest("anthropic", "claude", true).body),
  });
  assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), anthropicFixture);
  const anthropic = upstream.requests[0]!.headers;
  assert.equal(anthropic.get("x-api-key"), "sk-ant-header-test");
  assert.equal(anthropic.get("anthropic-version"), "2024-10-22");
  assert.equal(anthropic.get("anthropic-beta"), "prompt-caching-2024-07-31");
  // The client's own credentials are never forwarded.
  assert.equal(anthropic.get("authorization"), null);

  const converse = await fetch(`${gw.url}/model/nova/converse`, {
    method: "POST",
    headers: { authorization: "AWS4-HMAC-SHA256 Credential=CLIENT/..." },
    body: JSON.stringify(clientRequest("bedrock", "nova", false).body),
  });
  assert.equal(converse.status, 200);
  await converse.body?.cancel();
  const bedrock = upstream.requests[1]!.headers;
  assert.equal(bedrock.get("x-amz-security-token"), "session-token-value");
  assert.match(
    bedrock.get("authorization") ?? "",
    /^AWS4-HMAC-SHA256 Credential=AKIDGATEWAYTEST\/\d{8}\/eu-central-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-security-token/,
  );

  const [streamLog, converseLog] = gw.logs();
  assert.ok(streamLog.response_text.startsWith("Hello! llmwire decodes AWS EventStream"));
  assert.match(streamLog.request_body, /Hello there/);
  assert.equal(converseLog.response_text, "ok");
});

Deno.test("FrameBoundary: boundaries after whole frames and events, whatever the chunking", async () => {
  const cases: [string, "eventstream" | "sse"][] = [
    ["bedrock/converse_stream_text.bin", "eventstream"],
    ["bedrock/converse_stream_tool_use.bin", "eventstream"],
    ["openai/chat_stream_text.sse", "sse"],
    ["anthropic/messages_stream_tool_use.sse", "sse"],
  ];
  for (const [file, framing] of cases) {
    const bytes = await Deno.readFile(new URL(file, FIXTURES));
    // Every frame end, from one pass over the whole stream byte by byte.
    const ends: number[] = [];
    const reference = new FrameBoundary(framing);
    for (let i = 0; i < bytes.length; i++) {
      if (reference.push(bytes.subarray(i, i + 1)) === 1) ends.push(i + 1);
    }
    assert.equal(ends.at(-1), bytes.length, file);
    if (framing === "eventstream") {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const expected: number[] = [];
      for (let at = 0; at < bytes.length; at += view.getUint32(at)) {
        expected.push(at + view.getUint32(at));
      }
      assert.deepEqual(ends, expected, file);
    } else {
      const text = new TextDecoder().decode(bytes);
      assert.equal(ends.length, text.split("\n\n").length - 1, file);
    }
    // Split in two anywhere: the last boundary of each part is the last frame end before it.
    for (let split = 1; split < bytes.length; split++) {
      const boundary = new FrameBoundary(framing);
      const first = boundary.push(bytes.subarray(0, split));
      const second = boundary.push(bytes.subarray(split));
      const lastBefore = ends.filter((end) => end <= split).at(-1) ?? -1;
      assert.equal(first, lastBefore, `${file} split at ${split}`);
      const lastAfter = ends.at(-1)! - split;
      assert.equal(second, lastAfter > 0 ? lastAfter : -1, `${file} split at ${split}`);
    }
  }
  // CRLF and CR line ends.
  const crlf = new FrameBoundary("sse");
  assert.equal(crlf.push(new TextEncoder().encode("data: a\r\n\r\ndata: b\r\n")), 11);
  assert.equal(crlf.push(new TextEncoder().encode("\r\n")), 2);
  const cr = new FrameBoundary("sse");
  assert.equal(cr.push(new TextEncoder().encode("data: a\r\rdata: b")), 9);
});

/** A client request as these tests send it: "Hello there", usage asked for on OpenAI streams. */
function clientRequest(protocol: LlmProtocol, model: string, stream: boolean) {
  return request(protocol, model, { stream, includeUsage: true });
}
