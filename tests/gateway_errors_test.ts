import assert from "node:assert/strict";
import type { LlmProtocol } from "../src/protocols/bodies.ts";
import type { LlmEvent } from "../src/protocols/events.ts";
import { ADAPTERS } from "../src/gateway/_protocols.ts";
import { createGateway, type Gateway } from "../src/gateway/handler.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";
import { clientRequest as request } from "./_gateway_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const SECRET_KEY = "sk-ant-api03-SECRET-canary-value";
const AWS_SECRET = "aws/secret/CANARY/value";
const CREDENTIALS = { accessKeyId: "AKIDCANARY", secretAccessKey: AWS_SECRET };
const encoder = new TextEncoder();
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface UpstreamRequest {
  url: string;
  headers: Headers;
  body: string;
  /** When the upstream saw the request end (abort or cancel), on performance.now(). */
  aborted: Promise<number>;
}

function upstreamServer(
  reply: (request: Request, seen: UpstreamRequest) => Response | Promise<Response>,
) {
  const requests: UpstreamRequest[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    let resolveAborted!: (at: number) => void;
    const aborted = new Promise<number>((resolve) => resolveAborted = resolve);
    request.signal.addEventListener("abort", () => resolveAborted(performance.now()));
    const seen = {
      url: request.url,
      headers: request.headers,
      body: await request.text(),
      aborted,
    };
    requests.push(seen);
    return await reply(request, seen);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function gatewayServer(json: unknown) {
  const lines: string[] = [];
  const gateway: Gateway = createGateway(parseGatewayConfig(json), {
    logger: (line) => lines.push(line),
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => gateway.fetch(request),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gateway,
    lines,
    logs: () => lines.map((line) => JSON.parse(line)),
    async [Symbol.asyncDispose]() {
      await gateway.close();
      await server.shutdown();
    },
  };
}

function instanceFor(protocol: LlmProtocol, url: string, limits: Record<string, number> = {}) {
  switch (protocol) {
    case "openai":
      return { type: "openai-compatible", baseUrl: url, apiKey: SECRET_KEY, ...limits };
    case "anthropic":
      return { type: "anthropic", baseUrl: url, apiKey: SECRET_KEY, ...limits };
    case "bedrock":
      return {
        type: "bedrock",
        region: "us-east-1",
        endpoint: url,
        credentials: CREDENTIALS,
        ...limits,
      };
  }
}

function send(gw: { url: string }, protocol: LlmProtocol, stream: boolean, model = "m") {
  const { path, body } = clientRequest(protocol, model, stream);
  return fetch(gw.url + path, { method: "POST", body: JSON.stringify(body) });
}

/** The error a client sees in a non-streaming error response. */
async function errorOf(protocol: LlmProtocol, response: Response) {
  const text = await response.text();
  const body = JSON.parse(text);
  if (protocol === "openai") return { type: body.error.type, message: body.error.message, text };
  if (protocol === "anthropic") {
    assert.equal(body.type, "error");
    return { type: body.error.type, message: body.error.message, text };
  }
  const type = response.headers.get("x-amzn-errortype")?.split(":")[0];
  return { type, message: body.message, text };
}

async function eventsOf(protocol: LlmProtocol, response: Response): Promise<LlmEvent[]> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const d = ADAPTERS[protocol].decoder({ id: "x", model: "x" });
  return d.push(bytes).concat(d.end());
}

const PROTOCOLS: LlmProtocol[] = ["openai", "anthropic", "bedrock"];

/** A stream that sends `first`, then stalls until cancelled. */
function stalling(first: Uint8Array[] = []): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent < first.length) controller.enqueue(first[sent++]!);
      else await delay(20);
    },
  });
}

function streamType(protocol: LlmProtocol): string {
  return protocol === "bedrock" ? "application/vnd.amazon.eventstream" : "text/event-stream";
}

const FIXTURE_FILES: Record<LlmProtocol, string> = {
  openai: "openai/chat_stream_text.sse",
  anthropic: "anthropic/messages_stream_text.sse",
  bedrock: "bedrock/converse_stream_text.bin",
};

Deno.test("errors: invalid JSON, not an object, no model, unknown model — in the client's shape", async () => {
  await using gw = gatewayServer({
    models: { m: { instances: [{ type: "mock", protocol: "openai", firstTokenDelayMs: 0 }] } },
  });
  const expected = {
    openai: ["invalid_request_error", "not_found_error"],
    anthropic: ["invalid_request_error", "not_found_error"],
    bedrock: ["ValidationException", "ResourceNotFoundException"],
  };
  for (const protocol of PROTOCOLS) {
    const { path } = clientRequest(protocol, "m", false);
    const bad = await fetch(gw.url + path, { method: "POST", body: '{"model": "m", ' });
    assert.equal(bad.status, 400, protocol);
    const error = await errorOf(protocol, bad);
    assert.equal(error.type, expected[protocol][0], protocol);
    assert.match(error.message, /not valid JSON/, protocol);
    const array = await fetch(gw.url + path, { method: "POST", body: "[1]" });
    assert.equal(array.status, 400);
    assert.match((await errorOf(protocol, array)).message, /must be a JSON object/);
    const unknown = await send(gw, protocol, true, "no-such-model");
    assert.equal(unknown.status, 404, protocol);
    const notFound = await errorOf(protocol, unknown);
    assert.equal(notFound.type, expected[protocol][1], protocol);
    assert.match(notFound.message, /model "no-such-model" is not configured/);
  }
  const noModel = await fetch(`${gw.url}/v1/messages`, { method: "POST", body: '{"messages":[]}' });
  assert.equal(noModel.status, 400);
  assert.match((await errorOf("anthropic", noModel)).message, /model: required/);
  // A body the client protocol cannot express upstream: 400 naming the field.
  await using gw2 = gatewayServer({
    models: { m: { instances: [{ type: "mock", protocol: "bedrock", firstTokenDelayMs: 0 }] } },
  });
  const seed = await fetch(`${gw2.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({ model: "m", seed: 7, messages: [{ role: "user", content: "Hi" }] }),
  });
  assert.equal(seed.status, 400);
  assert.match((await errorOf("openai", seed)).message, /seed/);
  assert.deepEqual(gw.logs().map((log) => log.status), [
    400,
    400,
    404,
    400,
    400,
    404,
    400,
    400,
    404,
    400,
  ]);
});

Deno.test("errors: a body over maxRequestBytes is 413, by Content-Length and while reading", async () => {
  await using gw = gatewayServer({
    models: { m: { instances: [{ type: "mock", protocol: "openai", firstTokenDelayMs: 0 }] } },
    maxRequestBytes: 1024,
  });
  const big = JSON.stringify({
    model: "m",
    messages: [{ role: "user", content: "x".repeat(2000) }],
  });
  const declared = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", body: big });
  assert.equal(declared.status, 413);
  assert.match(
    (await errorOf("openai", declared)).message,
    /larger than maxRequestBytes \(1024 bytes\)/,
  );
  const chunked = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    body: ReadableStream.from([
      encoder.encode(big.slice(0, 1000)),
      encoder.encode(big.slice(1000)),
    ]),
  });
  assert.equal(chunked.status, 413);
  assert.equal((await errorOf("anthropic", chunked)).type, "request_too_large");
  const small = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    body: ReadableStream.from([
      encoder.encode('{"model":"m","messages":[{"role":"user",'),
      encoder.encode('"content":"Hi"}]}'),
    ]),
  });
  assert.equal(small.status, 200);
  await small.body?.cancel();
});

Deno.test("errors: connect and first-byte timeouts are 504; the upstream call is cancelled", async () => {
  await using upstream = upstreamServer(async (_request, seen) => {
    if (seen.body.includes("headers-never")) {
      await seen.aborted;
      return new Response(null);
    }
    return new Response(stalling(), { headers: { "content-type": "text/event-stream" } });
  });
  await using gw = gatewayServer({
    models: {
      m: {
        instances: [
          instanceFor("openai", upstream.url, { connectTimeoutMs: 150, firstByteTimeoutMs: 150 }),
        ],
      },
    },
  });
  const started = performance.now();
  const noHeaders = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "headers-never" }],
    }),
  });
  assert.equal(noHeaders.status, 504);
  assert.ok(performance.now() - started < 1000);
  assert.match((await errorOf("openai", noHeaders)).message, /connectTimeoutMs \(150 ms\)/);
  await upstream.requests[0]!.aborted;

  const noBytes = await send(gw, "openai", true);
  assert.equal(noBytes.status, 504);
  const error = await errorOf("openai", noBytes);
  assert.equal(error.type, "timeout_error");
  assert.match(error.message, /firstByteTimeoutMs \(150 ms\)/);
  await upstream.requests[1]!.aborted;
  const noJson = await send(gw, "anthropic", false);
  assert.equal(noJson.status, 504);
  assert.match((await errorOf("anthropic", noJson)).message, /firstByteTimeoutMs \(150 ms\)/);
  assert.deepEqual(gw.logs().map((log) => log.abort_reason), [
    "connect_timeout",
    "first_byte_timeout",
    "first_byte_timeout",
  ]);
});

Deno.test("errors: an upstream 4xx/5xx keeps its status; body as is, or in the client's shape", async () => {
  const errors: Record<LlmProtocol, () => Response> = {
    openai: () =>
      Response.json(
        {
          error: {
            message: "Rate limit reached",
            type: "requests",
            param: null,
            code: "rate_limit_exceeded",
          },
        },
        { status: 429 },
      ),
    anthropic: () =>
      Response.json({
        type: "error",
        error: { type: "rate_limit_error", message: "Rate limit reached" },
      }, {
        status: 429,
      }),
    bedrock: () =>
      Response.json({ message: "Rate limit reached" }, {
        status: 429,
        headers: {
          "x-amzn-errortype":
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        },
      }),
  };
  const clientTypes = {
    openai: "rate_limit_error",
    anthropic: "rate_limit_error",
    bedrock: "ThrottlingException",
  };
  for (const upstreamProtocol of PROTOCOLS) {
    await using upstream = upstreamServer(errors[upstreamProtocol]);
    await using gw = gatewayServer({
      models: { m: { instances: [instanceFor(upstreamProtocol, upstream.url)] } },
    });
    const upstreamText = await errors[upstreamProtocol]().text();
    for (const client of PROTOCOLS) {
      for (const stream of [true, false]) {
        const what = `${client} client, ${upstreamProtocol} upstream, stream ${stream}`;
        const response = await send(gw, client, stream);
        assert.equal(response.status, 429, what);
        const error = await errorOf(client, response);
        if (client === upstreamProtocol) assert.equal(error.text, upstreamText, what);
        // OpenAI's own body passes through unchanged (its type is "requests").
        const type = client === "openai" && upstreamProtocol === "openai"
          ? "requests"
          : clientTypes[client];
        assert.equal(error.type, type, what);
        assert.equal(error.message, "Rate limit reached", what);
      }
    }
    assert.ok(
      gw.logs().every((log) => log.status === 429 && log.abort_reason === "upstream_error"),
    );
  }
});

Deno.test("errors: an upstream failing mid-stream ends the client's stream with its terminal error", async () => {
  for (const upstreamProtocol of PROTOCOLS) {
    const fixture = await Deno.readFile(new URL(FIXTURE_FILES[upstreamProtocol], FIXTURES));
    await using upstream = upstreamServer(() =>
      new Response(
        new ReadableStream({
          async start(controller) {
            // Half the stream, cut inside a frame, then the connection fails.
            controller.enqueue(fixture.slice(0, Math.floor(fixture.length / 2)));
            await delay(30);
            controller.error(new Error("upstream connection reset"));
          },
        }),
        { headers: { "content-type": streamType(upstreamProtocol) } },
      )
    );
    await using gw = gatewayServer({
      models: { m: { instances: [instanceFor(upstreamProtocol, upstream.url)] } },
    });
    for (const client of PROTOCOLS) {
      const what = `${client} client, ${upstreamProtocol} upstream`;
      const response = await send(gw, client, true);
      assert.equal(response.status, 200, what);
      const events = await eventsOf(client, response);
      assert.ok(events.some((event) => event.type === "text_delta"), what);
      const last = events.at(-1)!;
      assert.equal(last.type, "error", what);
      // A well-formed error in the client's protocol, not a decoder's complaint about the bytes.
      assert.notEqual(last.type === "error" && last.kind, "protocol_error", what);
      assert.ok(!events.some((event) => event.type === "message_stop"), what);
      const log = gw.logs().at(-1);
      assert.equal(log.abort_reason, "upstream_error", what);
    }
  }
});

Deno.test("errors: an exception frame mid-stream becomes the client's terminal error", async () => {
  const fixture = await Deno.readFile(new URL("bedrock/converse_stream_throttling.bin", FIXTURES));
  await using upstream = upstreamServer(() =>
    new Response(fixture, { headers: { "content-type": "application/vnd.amazon.eventstream" } })
  );
  await using gw = gatewayServer({
    models: { m: { instances: [instanceFor("bedrock", upstream.url)] } },
  });
  const openai = await (await send(gw, "openai", true)).text();
  assert.ok(openai.includes('"content":"Sure, here is'), openai);
  assert.ok(
    openai.endsWith(
      'data: {"error":{"message":"Too many tokens, please wait before trying again.","type":"rate_limit_error","param":null,"code":"throttlingException"}}\n\n',
    ),
    openai,
  );
  assert.ok(!openai.includes("[DONE]"));
  const anthropic = await (await send(gw, "anthropic", true)).text();
  assert.ok(
    anthropic.endsWith(
      'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Too many tokens, please wait before trying again."}}\n\n',
    ),
    anthropic,
  );
  const bedrock = new Uint8Array(await (await send(gw, "bedrock", true)).arrayBuffer());
  assert.deepEqual(bedrock, fixture);
});

Deno.test("errors: a stream that is only an exception answers with the exception's status", async () => {
  const fixture = await Deno.readFile(new URL("bedrock/converse_stream_throttling.bin", FIXTURES));
  // The last frame of the throttling fixture is the exception.
  const frames: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < fixture.length;) {
    const length = new DataView(fixture.buffer, fixture.byteOffset + i).getUint32(0);
    frames.push(fixture.slice(i, i + length));
    i += length;
  }
  await using upstream = upstreamServer(() =>
    new Response(frames.at(-1)!, {
      headers: { "content-type": "application/vnd.amazon.eventstream" },
    })
  );
  await using gw = gatewayServer({
    models: { m: { instances: [instanceFor("bedrock", upstream.url)] } },
  });
  for (const stream of [false, true]) {
    const response = await send(gw, "openai", stream);
    assert.equal(response.status, 429, `stream ${stream}`);
    const error = await errorOf("openai", response);
    assert.equal(error.type, "rate_limit_error");
    assert.equal(error.message, "Too many tokens, please wait before trying again.");
  }
});

Deno.test("errors: maxStreamDurationMs and maxResponseBytes cut a stream (504 / 502 before the first byte)", async () => {
  const fixture = await Deno.readFile(new URL("bedrock/converse_stream_text.bin", FIXTURES));
  const firstFrames = fixture.slice(0, 600);
  await using upstream = upstreamServer((_request, seen) => {
    const body = seen.body.includes("stall-now") ? stalling() : stalling([firstFrames]);
    const pieces = Array.from(
      { length: Math.ceil(fixture.length / 200) },
      (_, i) => fixture.slice(i * 200, i * 200 + 200),
    );
    return new Response(seen.body.includes("whole") ? ReadableStream.from(pieces) : body, {
      headers: { "content-type": "application/vnd.amazon.eventstream" },
    });
  });
  await using gw = gatewayServer({
    models: {
      slow: { instances: [instanceFor("bedrock", upstream.url, { maxStreamDurationMs: 200 })] },
      small: { instances: [instanceFor("bedrock", upstream.url, { maxResponseBytes: 1000 })] },
      tiny: { instances: [instanceFor("bedrock", upstream.url, { maxResponseBytes: 100 })] },
    },
  });
  const messages = (text: string) =>
    JSON.stringify({ messages: [{ role: "user", content: [{ text }] }] });
  // Cut after the first frames: the stream ends with an exception frame.
  for (const client of ["bedrock", "openai"] as const) {
    const cut = client === "bedrock"
      ? await fetch(`${gw.url}/model/slow/converse-stream`, {
        method: "POST",
        body: messages("go"),
      })
      : await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({
          model: "slow",
          stream: true,
          messages: [{ role: "user", content: "go" }],
        }),
      });
    assert.equal(cut.status, 200);
    const events = await eventsOf(client, cut);
    const last = events.at(-1)!;
    assert.equal(last.type === "error" && last.kind, "timeout", client);
    assert.match(last.type === "error" ? last.message : "", /maxStreamDurationMs \(200 ms\)/);
  }
  // Nothing sent yet: 504.
  const stalled = await fetch(`${gw.url}/model/slow/converse-stream`, {
    method: "POST",
    body: messages("stall-now"),
  });
  assert.equal(stalled.status, 504);
  await stalled.body?.cancel();
  // Too many bytes mid-stream: the frames before the limit, then the exception.
  const big = await fetch(`${gw.url}/model/small/converse-stream`, {
    method: "POST",
    body: messages("whole"),
  });
  const events = await eventsOf("bedrock", big);
  assert.ok(events.some((event) => event.type === "text_delta"));
  const last = events.at(-1)!;
  // Bedrock has no 502 exception: the frame is an internalServerException.
  assert.equal(last.type === "error" && last.providerType, "internalServerException");
  assert.match(last.type === "error" ? last.message : "", /maxResponseBytes \(1000 bytes\)/);
  // Over the limit before a whole frame: 502.
  const tiny = await fetch(`${gw.url}/model/tiny/converse-stream`, {
    method: "POST",
    body: messages("whole"),
  });
  assert.equal(tiny.status, 502);
  assert.match((await errorOf("bedrock", tiny)).message, /maxResponseBytes \(100 bytes\)/);
  assert.deepEqual(gw.logs().map((log) => log.abort_reason), [
    "max_stream_duration",
    "max_stream_duration",
    "max_stream_duration",
    "max_response_bytes",
    "max_response_bytes",
  ]);
});

Deno.test("errors: a converted stream that says nothing in its protocol is a 502 naming the mismatch", async () => {
  const fixture = await Deno.readFile(new URL("bedrock/converse_stream_text.bin", FIXTURES));
  await using upstream = upstreamServer(() =>
    new Response(fixture, { headers: { "content-type": "text/event-stream" } })
  );
  // The instance says OpenAI-compatible, the server speaks Bedrock.
  await using gw = gatewayServer({
    models: { m: { instances: [instanceFor("openai", upstream.url)] } },
  });
  for (
    const [client, stream] of [["anthropic", true], ["bedrock", true], [
      "anthropic",
      false,
    ]] as const
  ) {
    const response = await send(gw, client, stream);
    assert.equal(response.status, 502, client);
    const error = await errorOf(client, response);
    assert.match(
      error.message,
      /produced no OpenAI Chat Completions \(text\/event-stream\) events/,
    );
    assert.match(error.message, /does the instance type match/);
  }
});

Deno.test("errors: a client disconnect cancels the upstream request within 100 ms", async () => {
  for (const client of ["bedrock", "openai"] as const) {
    const fixture = await Deno.readFile(new URL(FIXTURE_FILES.bedrock, FIXTURES));
    await using upstream = upstreamServer(() =>
      new Response(stalling([fixture.slice(0, 400)]), {
        headers: { "content-type": "application/vnd.amazon.eventstream" },
      })
    );
    await using gw = gatewayServer({
      models: { m: { instances: [instanceFor("bedrock", upstream.url)] } },
    });
    const response = await send(gw, client, true);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.length > 0);
    assert.equal(gw.gateway.activeStreams, 1);
    const cancelled = performance.now();
    await reader.cancel();
    const aborted = await upstream.requests[0]!.aborted;
    assert.ok(
      aborted - cancelled < 100,
      `${client}: upstream saw the abort after ${aborted - cancelled} ms`,
    );
    for (let i = 0; i < 50 && gw.logs().length === 0; i++) await delay(5);
    assert.equal(gw.logs()[0].abort_reason, "client_disconnect");
    assert.equal(gw.gateway.activeStreams, 0);
  }
  // Before the upstream answered.
  await using upstream = upstreamServer(async (_request, seen) => {
    await seen.aborted;
    return new Response(null);
  });
  await using gw = gatewayServer({
    models: { m: { instances: [instanceFor("anthropic", upstream.url)] } },
  });
  const controller = new AbortController();
  const { path, body } = clientRequest("anthropic", "m", true);
  const pending = fetch(gw.url + path, {
    method: "POST",
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  while (upstream.requests.length === 0) await delay(5);
  const cancelled = performance.now();
  controller.abort();
  await assert.rejects(pending);
  const aborted = await upstream.requests[0]!.aborted;
  assert.ok(aborted - cancelled < 100, `upstream saw the abort after ${aborted - cancelled} ms`);
});

Deno.test("errors: close() ends in-flight streams with their protocol's terminal error", async () => {
  await using gw = gatewayServer({
    models: {
      m: {
        instances: [{ type: "mock", protocol: "bedrock", firstTokenDelayMs: 0, tokenDelayMs: 200 }],
      },
    },
  });
  const responses = await Promise.all(PROTOCOLS.map((client) => send(gw, client, true)));
  assert.equal(gw.gateway.activeStreams, 3);
  await gw.gateway.close();
  assert.equal(gw.gateway.activeStreams, 0);
  for (const [i, client] of PROTOCOLS.entries()) {
    const events = await eventsOf(client, responses[i]!);
    const last = events.at(-1)!;
    assert.equal(last.type, "error", client);
    assert.match(last.type === "error" ? last.message : "", /shutting down/, client);
  }
  const after = await send(gw, "openai", false);
  assert.equal(after.status, 503);
  await after.body?.cancel();
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 503);
});

Deno.test("errors: no secret, Authorization header or payload text in logs or error bodies", async () => {
  await using upstream = upstreamServer((request) =>
    new URL(request.url).pathname.includes("/model/")
      ? Response.json({ message: "The security token included in the request is invalid." }, {
        status: 403,
        headers: { "x-amzn-errortype": "UnrecognizedClientException" },
      })
      : Response.json({
        type: "error",
        error: { type: "authentication_error", message: "invalid x-api-key" },
      }, {
        status: 401,
      })
  );
  await using gw = gatewayServer({
    models: {
      m: { instances: [instanceFor("anthropic", upstream.url)] },
      b: { instances: [instanceFor("bedrock", upstream.url)] },
      t: { instances: [instanceFor("anthropic", upstream.url, { connectTimeoutMs: 1 })] },
    },
  });
  const bodies: string[] = [];
  for (const client of PROTOCOLS) {
    for (const model of ["m", "b", "t", "nope"]) {
      const response = await send(gw, client, true, model);
      assert.ok(response.status >= 400);
      bodies.push(await response.text());
    }
  }
  assert.equal(upstream.requests[0]!.headers.get("x-api-key"), SECRET_KEY);
  const authorization = upstream.requests.find((r) => r.headers.has("authorization"))!.headers.get(
    "authorization",
  )!;
  assert.match(authorization, /^AWS4-HMAC-SHA256 Credential=AKIDCANARY\//);
  const everything = bodies.join("\n") + gw.lines.join("\n");
  for (
    const secret of [
      SECRET_KEY,
      AWS_SECRET,
      authorization,
      authorization.slice(-64),
      "PROMPT-CANARY",
    ]
  ) {
    assert.ok(!everything.includes(secret), `leaked: ${secret}`);
  }
  assert.equal(gw.lines.length, 12);
});

/** A client request carrying a recognizable prompt, which must never reach a log line. */
function clientRequest(protocol: LlmProtocol, model: string, stream: boolean) {
  return request(protocol, model, { stream, prompt: "PROMPT-CANARY", maxTokens: 50 });
}
