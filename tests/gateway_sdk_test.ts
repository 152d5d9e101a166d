/**
 * Real clients through the gateway on loopback: the AWS SDK, OpenAI's and Anthropic's SDKs, to
 * upstreams on loopback — a strict Bedrock that recomputes every SigV4 signature and replays the
 * fixtures, and an Anthropic that replays its fixture.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7.57.0";
import Anthropic from "npm:@anthropic-ai/sdk@1.13.0";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from "npm:@aws-sdk/client-bedrock-runtime@3.1164.0";
import { SigV4Signer } from "../src/sigv4/signer.ts";
import { createGateway } from "../src/gateway/handler.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const BEDROCK_STREAM = await Deno.readFile(new URL("bedrock/converse_stream_text.bin", FIXTURES));
const THROTTLED_STREAM = await Deno.readFile(
  new URL("bedrock/converse_stream_throttling.bin", FIXTURES),
);
const ANTHROPIC_STREAM = await Deno.readFile(
  new URL("anthropic/messages_stream_text.sse", FIXTURES),
);
const TEXT =
  "Hello! llmwire decodes AWS EventStream and Server-Sent Events as web streams — frame by frame, byte for byte.";
const MODEL = "anthropic.claude-3-haiku-20240307-v1:0";
const GATEWAY_CREDENTIALS = {
  accessKeyId: "AKIDGATEWAY",
  secretAccessKey: "gateway-upstream-secret/KEY",
};
const CLIENT_CREDENTIALS = { accessKeyId: "AKIDCLIENT", secretAccessKey: "client-secret" };

interface Seen {
  path: string;
  body: string;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks a request's SigV4 signature against the gateway's credentials: the scope, the payload
 * hash, and the signature recomputed from the signed headers, the raw path and the body.
 */
async function verifySignature(request: Request, body: Uint8Array): Promise<string | undefined> {
  const authorization = request.headers.get("authorization") ?? "";
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/
      .exec(authorization);
  if (match === null) return "malformed authorization";
  const [, keyId, date, region, service, signedHeaders, signature] = match;
  if (keyId !== GATEWAY_CREDENTIALS.accessKeyId) return `unknown access key ${keyId}`;
  if (region !== "us-east-1" || service !== "bedrock") return `wrong scope ${region}/${service}`;
  const amzDate = request.headers.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(date!)) return "x-amz-date does not match the scope";
  const skew = Math.abs(
    Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z")) -
      Date.now(),
  );
  if (!(skew < 5 * 60_000)) return "x-amz-date is not now";
  if (request.headers.get("x-amz-content-sha256") !== await sha256Hex(body)) {
    return "payload hash mismatch";
  }
  const names = signedHeaders!.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-content-sha256", "content-type"]) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  const url = new URL(request.url);
  const signer = new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: GATEWAY_CREDENTIALS,
  });
  const details = await signer.signParts(
    {
      method: request.method,
      path: url.pathname,
      query: [...url.searchParams],
      headers: names.filter((name) => name !== "x-amz-date").map((name) => [
        name,
        request.headers.get(name) ?? "",
      ]),
      body,
    },
    {
      signingDate: new Date(
        Date.parse(
          amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"),
        ),
      ),
    },
  );
  if (details.signedHeaders !== signedHeaders) return "signed headers differ";
  if (details.signature !== signature) return "signature mismatch";
  return undefined;
}

/** A strict Bedrock runtime on loopback: checks signatures, replays the text fixture. */
function strictBedrock() {
  const seen: Seen[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const path = new URL(request.url).pathname;
    seen.push({ path, body: new TextDecoder().decode(body) });
    const problem = await verifySignature(request, body);
    if (problem !== undefined) {
      return Response.json({ message: `signature check failed: ${problem}` }, {
        status: 403,
        headers: { "x-amzn-errortype": "InvalidSignatureException" },
      });
    }
    if (path.includes("throttled")) {
      return new Response(THROTTLED_STREAM, {
        headers: { "content-type": "application/vnd.amazon.eventstream" },
      });
    }
    if (path.endsWith("/converse-stream")) {
      return new Response(
        ReadableStream.from([BEDROCK_STREAM.slice(0, 333), BEDROCK_STREAM.slice(333)]),
        {
          headers: { "content-type": "application/vnd.amazon.eventstream" },
        },
      );
    }
    return Response.json({
      output: { message: { role: "assistant", content: [{ text: TEXT }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 14, outputTokens: 23, totalTokens: 37 },
      metrics: { latencyMs: 120 },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** An Anthropic Messages API on loopback that replays its text fixture. */
function anthropicUpstream() {
  const seen: (Seen & { apiKey: string | null })[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.text();
    seen.push({
      path: new URL(request.url).pathname,
      body,
      apiKey: request.headers.get("x-api-key"),
    });
    if (JSON.parse(body).stream === true) {
      return new Response(ANTHROPIC_STREAM, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json({
      id: "msg_01",
      type: "message",
      role: "assistant",
      model: "claude-3-5-haiku-20241022",
      content: [{ type: "text", text: TEXT }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 14, output_tokens: 23 },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function gatewayServer(bedrockUrl: string, anthropicUrl: string) {
  const lines: string[] = [];
  const bedrock = {
    type: "bedrock",
    region: "us-east-1",
    endpoint: bedrockUrl,
    credentials: GATEWAY_CREDENTIALS,
  };
  const gateway = createGateway(
    parseGatewayConfig({
      models: {
        [MODEL]: { instances: [bedrock] },
        "claude-haiku": { instances: [{ ...bedrock, options: { model: MODEL } }] },
        throttled: { instances: [bedrock] },
        "claude-direct": {
          instances: [{
            type: "anthropic",
            apiKey: "sk-ant-gateway",
            baseUrl: anthropicUrl,
            options: { model: "claude-3-5-haiku-20241022" },
          }],
        },
      },
      routes: [{ path: "/v1/llm/converse", model: MODEL }],
    }),
    { logger: (line) => lines.push(line) },
  );
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => gateway.fetch(request),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    logs: () => lines.map((line) => JSON.parse(line)),
    async [Symbol.asyncDispose]() {
      await gateway.close();
      await server.shutdown();
    },
  };
}

function bedrockClient(endpoint: string) {
  return new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint,
    credentials: CLIENT_CREDENTIALS,
    maxAttempts: 1,
    defaultUserAgentProvider: () => Promise.resolve([["llmwire-test"]]),
  });
}

const MESSAGES = [{ role: "user" as const, content: [{ text: "Say hello" }] }];

Deno.test("gateway SDK: AWS SDK ConverseStream and Converse through the gateway to a strict Bedrock", async () => {
  await using bedrock = strictBedrock();
  await using anthropic = anthropicUpstream();
  await using gw = gatewayServer(bedrock.url, anthropic.url);
  const client = bedrockClient(gw.url);
  try {
    const stream = await client.send(
      new ConverseStreamCommand({ modelId: MODEL, messages: MESSAGES }),
    );
    let text = "";
    let stopReason: string | undefined;
    let usage: unknown;
    for await (const event of stream.stream!) {
      if (event.contentBlockDelta?.delta?.text !== undefined) {
        text += event.contentBlockDelta.delta.text;
      }
      if (event.messageStop) stopReason = event.messageStop.stopReason;
      if (event.metadata) usage = event.metadata.usage;
    }
    assert.equal(text, TEXT);
    assert.equal(stopReason, "end_turn");
    assert.deepEqual(usage, { inputTokens: 14, outputTokens: 23, totalTokens: 37 });

    const converse = await client.send(
      new ConverseCommand({ modelId: "claude-haiku", messages: MESSAGES }),
    );
    assert.equal(converse.output?.message?.content?.[0]?.text, TEXT);
    assert.equal(converse.stopReason, "end_turn");
    assert.deepEqual(converse.usage, { inputTokens: 14, outputTokens: 23, totalTokens: 37 });
  } finally {
    client.destroy();
  }
  assert.deepEqual(bedrock.seen.map((s) => s.path), [
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
  ]);
  assert.deepEqual(JSON.parse(bedrock.seen[0]!.body).messages, MESSAGES);
  const [streamLog, converseLog] = gw.logs();
  assert.deepEqual(
    [streamLog.route, streamLog.status, streamLog.input_tokens, streamLog.output_tokens],
    ["bedrock.converse-stream", 200, 14, 23],
  );
  assert.deepEqual([converseLog.model, converseLog.upstream_model], ["claude-haiku", MODEL]);
});

Deno.test("gateway SDK: the strict upstream refuses a bad signature, and the SDK sees its error", async () => {
  await using bedrock = strictBedrock();
  const gateway = createGateway(
    parseGatewayConfig({
      models: {
        m: {
          instances: [{
            type: "bedrock",
            region: "us-east-1",
            endpoint: bedrock.url,
            credentials: { accessKeyId: GATEWAY_CREDENTIALS.accessKeyId, secretAccessKey: "wrong" },
          }],
        },
      },
    }),
    { logger: () => {} },
  );
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (r) => gateway.fetch(r),
  );
  const client = bedrockClient(`http://127.0.0.1:${server.addr.port}`);
  try {
    await assert.rejects(
      client.send(new ConverseCommand({ modelId: "m", messages: MESSAGES })),
      (error: Error) => {
        assert.equal(error.name, "InvalidSignatureException");
        assert.match(error.message, /signature mismatch/);
        return true;
      },
    );
  } finally {
    client.destroy();
    await server.shutdown();
  }
});

Deno.test("gateway SDK: openai streaming and non-streaming to Bedrock and to Anthropic", async () => {
  await using bedrock = strictBedrock();
  await using anthropic = anthropicUpstream();
  await using gw = gatewayServer(bedrock.url, anthropic.url);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-client", maxRetries: 0 });
  for (const model of [MODEL, "claude-direct"]) {
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Say hello" }],
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, TEXT, model);
    assert.equal(finish, "stop", model);
    assert.equal(usage?.prompt_tokens, 14, model);
    assert.equal(usage?.completion_tokens, 23, model);
    assert.equal(usage?.total_tokens, 37, model);

    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Say hello" }],
    });
    assert.equal(completion.choices[0]?.message.content, TEXT, model);
    assert.equal(completion.choices[0]?.finish_reason, "stop", model);
    assert.equal(completion.usage?.total_tokens, 37, model);
  }
  assert.deepEqual(anthropic.seen.map((s) => [s.path, s.apiKey]), [
    ["/v1/messages", "sk-ant-gateway"],
    ["/v1/messages", "sk-ant-gateway"],
  ]);
  const sent = JSON.parse(anthropic.seen[0]!.body);
  assert.equal(sent.model, "claude-3-5-haiku-20241022");
  assert.equal(sent.stream, true);
  assert.deepEqual(sent.messages, [{ role: "user", content: "Say hello" }]);
  assert.ok(gw.logs().every((log) => log.status === 200 && log.output_tokens === 23));
});

Deno.test("gateway SDK: @anthropic-ai/sdk streaming and non-streaming to Bedrock", async () => {
  await using bedrock = strictBedrock();
  await using anthropic = anthropicUpstream();
  await using gw = gatewayServer(bedrock.url, anthropic.url);
  const client = new Anthropic({ baseURL: gw.url, apiKey: "sk-ant-client", maxRetries: 0 });
  const stream = client.messages.stream({
    model: "claude-haiku",
    max_tokens: 256,
    messages: [{ role: "user", content: "Say hello" }],
  });
  let text = "";
  stream.on("text", (delta) => text += delta);
  const final = await stream.finalMessage();
  assert.equal(text, TEXT);
  assert.equal(final.stop_reason, "end_turn");
  assert.equal(final.usage.input_tokens, 14);
  assert.equal(final.usage.output_tokens, 23);

  const message = await client.messages.create({
    model: "claude-haiku",
    max_tokens: 256,
    messages: [{ role: "user", content: "Say hello" }],
  });
  assert.deepEqual(message.content, [{ type: "text", text: TEXT }]);
  assert.equal(message.stop_reason, "end_turn");
  assert.equal(message.usage.output_tokens, 23);
  const sent = JSON.parse(bedrock.seen[0]!.body);
  assert.deepEqual(sent.messages, [{ role: "user", content: [{ text: "Say hello" }] }]);
  assert.deepEqual(sent.inferenceConfig, { maxTokens: 256 });
  assert.deepEqual(bedrock.seen.map((s) => s.path.split("/").at(-1)), [
    "converse-stream",
    "converse",
  ]);
});

Deno.test("gateway SDK: APISIX route — stream flag, stripped body, %3A, identical bytes, usage logged", async () => {
  await using bedrock = strictBedrock();
  await using anthropic = anthropicUpstream();
  await using gw = gatewayServer(bedrock.url, anthropic.url);
  const streamed = await fetch(`${gw.url}/v1/llm/converse`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: MESSAGES, stream: true }),
  });
  assert.equal(streamed.status, 200);
  assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), BEDROCK_STREAM);
  const control = await fetch(`${gw.url}/v1/llm/converse`, {
    method: "POST",
    body: JSON.stringify({ messages: MESSAGES }),
  });
  assert.equal((await control.json()).output.message.content[0].text, TEXT);
  assert.deepEqual(bedrock.seen.map((s) => s.path), [
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
    "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
  ]);
  assert.equal(bedrock.seen[0]!.body, JSON.stringify({ messages: MESSAGES }));
  assert.equal(bedrock.seen[1]!.body, JSON.stringify({ messages: MESSAGES }));
  const [streamLog, controlLog] = gw.logs();
  assert.equal(streamLog.route, "apisix");
  assert.equal(streamLog.stream, true);
  assert.deepEqual([streamLog.input_tokens, streamLog.output_tokens, streamLog.status], [
    14,
    23,
    200,
  ]);
  assert.equal(typeof streamLog.ttft_ms, "number");
  assert.equal(controlLog.stream, false);
  assert.deepEqual([controlLog.input_tokens, controlLog.output_tokens], [14, 23]);
});

Deno.test("gateway SDK: each SDK sees a mid-stream exception, and a gateway 404, as its own error", async () => {
  await using bedrock = strictBedrock();
  await using anthropic = anthropicUpstream();
  await using gw = gatewayServer(bedrock.url, anthropic.url);
  const message = "Too many tokens, please wait before trying again.";

  const aws = bedrockClient(gw.url);
  try {
    const response = await aws.send(
      new ConverseStreamCommand({ modelId: "throttled", messages: MESSAGES }),
    );
    let text = "";
    await assert.rejects(
      async () => {
        for await (const event of response.stream!) {
          text += event.contentBlockDelta?.delta?.text ?? "";
        }
      },
      (error: Error) => error.name === "ThrottlingException" && error.message === message,
    );
    assert.equal(text, "Sure, here is the first part");
    await assert.rejects(
      aws.send(new ConverseCommand({ modelId: "no-such-model", messages: MESSAGES })),
      (error: Error) =>
        error.name === "ResourceNotFoundException" &&
        /"no-such-model" is not configured/.test(error.message),
    );
  } finally {
    aws.destroy();
  }

  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-client", maxRetries: 0 });
  const stream = await openai.chat.completions.create({
    model: "throttled",
    stream: true,
    messages: [{ role: "user", content: "Say hello" }],
  });
  let text = "";
  await assert.rejects(
    async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    },
    (error: Error) => error instanceof OpenAI.APIError && error.message.includes(message),
  );
  assert.equal(text, "Sure, here is the first part");
  await assert.rejects(
    openai.chat.completions.create({
      model: "no-such-model",
      messages: [{ role: "user", content: "Hi" }],
    }),
    (error: Error) => error instanceof OpenAI.NotFoundError,
  );

  const claude = new Anthropic({ baseURL: gw.url, apiKey: "sk-ant-client", maxRetries: 0 });
  const messages = claude.messages.stream({
    model: "throttled",
    max_tokens: 64,
    messages: [{ role: "user", content: "Say hello" }],
  });
  await assert.rejects(
    messages.finalMessage(),
    (error: Error) => error instanceof Anthropic.APIError && error.message.includes(message),
  );
  await assert.rejects(
    claude.messages.create({
      model: "no-such-model",
      max_tokens: 8,
      messages: [{ role: "user", content: "Hi" }],
    }),
    (error: Error) => error instanceof Anthropic.NotFoundError,
  );
});
