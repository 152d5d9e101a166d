/**
 * The real AWS SDK (`@aws-sdk/client-bedrock-runtime`'s `ConverseStreamCommand`) reads what
 * `BedrockConverseEncoderStream` writes, served by a loopback `Deno.serve`.
 * @module
 */
import assert from "node:assert/strict";
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from "npm:@aws-sdk/client-bedrock-runtime@3.1164.0";
import {
  BedrockConverseEncoderStream,
  createUsage,
  EventStreamEncoderStream,
  type LlmEvent,
} from "../mod.ts";

interface Served {
  method: string;
  path: string;
  authorization: string;
  body: unknown;
}

/** Serves `events` encoded as a Bedrock ConverseStream body to one SDK call; returns what the
 * SDK yielded (or threw) and the request the server saw. */
async function converseStream(events: LlmEvent[]): Promise<{
  outputs: ConverseStreamOutput[];
  error: unknown;
  request: Served;
}> {
  let request: Served | undefined;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    request = {
      method: req.method,
      path: new URL(req.url).pathname,
      authorization: req.headers.get("authorization") ?? "",
      body: await req.json(),
    };
    const body = ReadableStream.from(events)
      .pipeThrough(new BedrockConverseEncoderStream())
      .pipeThrough(new EventStreamEncoderStream());
    return new Response(body, {
      headers: { "content-type": "application/vnd.amazon.eventstream" },
    });
  });
  const client = new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "llmwire-test-secret" },
    maxAttempts: 1,
    // The default user agent reads os.release(), which would need --allow-sys.
    defaultUserAgentProvider: () => Promise.resolve([["llmwire-test"]]),
  });
  const outputs: ConverseStreamOutput[] = [];
  let error: unknown;
  try {
    const response = await client.send(
      new ConverseStreamCommand({
        modelId: "anthropic.claude-sonnet-4-5",
        messages: [{ role: "user", content: [{ text: "Weather in Lisbon?" }] }],
      }),
    );
    assert.ok(response.stream);
    for await (const output of response.stream) outputs.push(output);
  } catch (e) {
    error = e;
  } finally {
    client.destroy();
    await server.shutdown();
  }
  assert.ok(request, `the SDK called the server (${error})`);
  return { outputs, error, request };
}

const START: LlmEvent = { type: "message_start", id: "msg_1", model: "m", role: "assistant" };

Deno.test("AWS SDK ConverseStreamCommand reads our encoder's stream", async () => {
  const { outputs, error, request } = await converseStream([
    START,
    { type: "reasoning_delta", index: 0, kind: "text", text: "The user wants " },
    { type: "reasoning_delta", index: 0, kind: "text", text: "the weather." },
    { type: "reasoning_delta", index: 0, kind: "signature", signature: "EqQBCkYIBxgCIkB" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "Let me check " },
    { type: "text_delta", index: 1, text: "Lisbon." },
    { type: "block_stop", index: 1 },
    { type: "tool_call_start", index: 2, id: "tooluse_abc123", name: "get_weather" },
    { type: "tool_call_delta", index: 2, arguments: '{"city"' },
    { type: "tool_call_delta", index: 2, arguments: ': "Lisb' },
    { type: "tool_call_delta", index: 2, arguments: 'on", "unit": ' },
    { type: "tool_call_delta", index: 2, arguments: '"celsius"}' },
    { type: "block_stop", index: 2 },
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
    {
      type: "usage",
      usage: createUsage({
        inputTokens: 1391,
        outputTokens: 58,
        cacheReadTokens: 1000,
        cacheWriteTokens: 200,
      }),
      latencyMs: 980,
    },
  ]);
  assert.equal(error, undefined);
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/model/anthropic.claude-sonnet-4-5/converse-stream");
  assert.match(
    request.authorization,
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, /,
  );
  assert.deepEqual(request.body, {
    messages: [{ role: "user", content: [{ text: "Weather in Lisbon?" }] }],
  });

  assert.deepEqual(outputs[0], { messageStart: { role: "assistant" } });
  let reasoning = "";
  let signature = "";
  let text = "";
  let input = "";
  for (const output of outputs) {
    const delta = output.contentBlockDelta?.delta;
    if (delta?.reasoningContent?.text !== undefined) reasoning += delta.reasoningContent.text;
    if (delta?.reasoningContent?.signature !== undefined) {
      signature += delta.reasoningContent.signature;
    }
    if (delta?.text !== undefined) text += delta.text;
    if (delta?.toolUse?.input !== undefined) input += delta.toolUse.input;
  }
  assert.equal(reasoning, "The user wants the weather.");
  assert.equal(signature, "EqQBCkYIBxgCIkB");
  assert.equal(text, "Let me check Lisbon.");
  assert.equal(input, '{"city": "Lisbon", "unit": "celsius"}');
  assert.deepEqual(JSON.parse(input), { city: "Lisbon", unit: "celsius" });

  const starts = outputs.flatMap((o) => o.contentBlockStart ? [o.contentBlockStart] : []);
  assert.deepEqual(starts, [{
    contentBlockIndex: 2,
    start: { toolUse: { toolUseId: "tooluse_abc123", name: "get_weather" } },
  }]);
  const stops = outputs.flatMap((o) =>
    o.contentBlockStop ? [o.contentBlockStop.contentBlockIndex] : []
  );
  assert.deepEqual(stops, [0, 1, 2]);

  assert.deepEqual(outputs.at(-2), { messageStop: { stopReason: "tool_use" } });
  assert.deepEqual(outputs.at(-1), {
    metadata: {
      usage: {
        inputTokens: 191,
        outputTokens: 58,
        totalTokens: 1449,
        cacheReadInputTokens: 1000,
        cacheWriteInputTokens: 200,
      },
      metrics: { latencyMs: 980 },
    },
  });
  assert.equal(outputs.length, 16);
});

Deno.test("AWS SDK ConverseStreamCommand gets redacted reasoning bytes and citations", async () => {
  const { outputs, error } = await converseStream([
    START,
    { type: "reasoning_delta", index: 0, kind: "redacted", data: "EtkECkgIBxAB" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "Lisbon is sunny." },
    {
      type: "citation",
      index: 1,
      citation: {
        title: "Forecast",
        url: "https://weather.example/lisbon",
        citedText: "Sunny, 24 °C",
        raw: { type: "web_search_result_location" },
      },
    },
    { type: "block_stop", index: 1 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
  assert.equal(error, undefined);
  const redacted = outputs[1]?.contentBlockDelta?.delta?.reasoningContent?.redactedContent;
  // The SDK decodes the base64 blob: the bytes are the data we were given.
  assert.ok(redacted instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(redacted), "EtkECkgIBxAB");
  assert.deepEqual(outputs[4]?.contentBlockDelta, {
    contentBlockIndex: 1,
    delta: {
      citation: {
        title: "Forecast",
        source: "https://weather.example/lisbon",
        sourceContent: [{ text: "Sunny, 24 °C" }],
        location: { web: { url: "https://weather.example/lisbon" } },
      },
    },
  });
  // No usage event was given, so no metadata: the stream ends at messageStop.
  assert.deepEqual(outputs.at(-1), { messageStop: { stopReason: "end_turn" } });
});

Deno.test("AWS SDK ConverseStreamCommand throws our throttlingException as ThrottlingException", async () => {
  const { outputs, error } = await converseStream([
    START,
    { type: "text_delta", index: 0, text: "Sure, here is" },
    { type: "text_delta", index: 0, text: " the first part" },
    {
      type: "error",
      kind: "rate_limit",
      message: "Too many tokens, please wait before trying again.",
      status: 429,
      providerType: "rate_limit_error",
    },
  ]);
  assert.deepEqual(outputs, [
    { messageStart: { role: "assistant" } },
    { contentBlockDelta: { contentBlockIndex: 0, delta: { text: "Sure, here is" } } },
    { contentBlockDelta: { contentBlockIndex: 0, delta: { text: " the first part" } } },
  ]);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ThrottlingException");
  assert.equal(error.constructor.name, "ThrottlingException");
  assert.equal(error.message, "Too many tokens, please wait before trying again.");
  assert.equal((error as Error & { $fault?: string }).$fault, "client");
});

Deno.test("AWS SDK ConverseStreamCommand: each error kind surfaces as its exception", async () => {
  const cases: [LlmEvent & { type: "error" }, string][] = [
    [
      { type: "error", kind: "overloaded", message: "busy", status: 529 },
      "ServiceUnavailableException",
    ],
    [
      { type: "error", kind: "model_error", message: "bad", status: 424 },
      "ModelStreamErrorException",
    ],
    [{ type: "error", kind: "invalid_request", message: "no", status: 400 }, "ValidationException"],
    [
      { type: "error", kind: "protocol_error", message: "?", status: 502 },
      "InternalServerException",
    ],
    // Not one of ConverseStream's modeled in-stream errors: the SDK names it by the raw type.
    [{ type: "error", kind: "timeout", message: "slow", status: 408 }, "modelTimeoutException"],
  ];
  for (const [event, name] of cases) {
    const { error } = await converseStream([START, event]);
    assert.ok(error instanceof Error, name);
    assert.equal(error.name, name);
    assert.match(error.message, new RegExp(event.message.replace("?", "\\?")));
  }
});
