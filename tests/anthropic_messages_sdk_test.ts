/**
 * The official Anthropic TypeScript SDK reads what AnthropicMessagesEncoderStream writes: a
 * loopback server answers `POST /v1/messages` with our encoder's output for an event sequence
 * shaped like a Bedrock stream (usage only after message_stop, with cache counts).
 */
import assert from "node:assert/strict";
import Anthropic from "npm:@anthropic-ai/sdk@1.13.0";
import {
  AnthropicMessagesEncoderStream,
  createUsage,
  type LlmEvent,
  SseEncoderStream,
} from "../mod.ts";

const EVENTS: LlmEvent[] = [
  { type: "message_start", id: "msg_llmwire_1", model: "claude-sonnet-4-6", role: "assistant" },
  { type: "reasoning_delta", index: 0, kind: "text", text: "The user wants the weather; " },
  { type: "reasoning_delta", index: 0, kind: "text", text: "call get_weather." },
  { type: "reasoning_delta", index: 0, kind: "signature", signature: "EqQBCkYIBxgCKkB0c2ln" },
  { type: "block_stop", index: 0 },
  { type: "text_delta", index: 1, text: "Let me check " },
  { type: "text_delta", index: 1, text: "the weather in Lisbon." },
  { type: "block_stop", index: 1 },
  { type: "tool_call_start", index: 2, id: "tooluse_Zk3xQ9vLTwWm1nYb2c4dEf", name: "get_weather" },
  { type: "tool_call_delta", index: 2, arguments: '{"city": "Lis' },
  { type: "tool_call_delta", index: 2, arguments: 'bon", "unit"' },
  { type: "tool_call_delta", index: 2, arguments: ': "celsius"}' },
  { type: "block_stop", index: 2 },
  { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
  {
    type: "usage",
    usage: createUsage({
      inputTokens: 1391,
      outputTokens: 58,
      cacheReadTokens: 1000,
      cacheWriteTokens: 120,
    }),
    latencyMs: 640,
  },
];

const ERROR_EVENTS: LlmEvent[] = [
  { type: "message_start", id: "msg_llmwire_2", model: "claude-sonnet-4-6", role: "assistant" },
  { type: "text_delta", index: 0, text: "Sure, here is" },
  {
    type: "error",
    kind: "overloaded",
    message: "Overloaded",
    status: 529,
    providerType: "overloaded_error",
  },
];

/** Serves our encoder's output for `events` to every request, while `fn` runs. */
async function withServer(
  events: LlmEvent[],
  fn: (client: Anthropic, requests: unknown[]) => Promise<void>,
): Promise<void> {
  const requests: unknown[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    requests.push({ path: new URL(request.url).pathname, body: await request.json() });
    const body = ReadableStream.from(events)
      .pipeThrough(new AnthropicMessagesEncoderStream())
      .pipeThrough(new SseEncoderStream());
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    const client = new Anthropic({
      apiKey: "test",
      baseURL: `http://127.0.0.1:${server.addr.port}`,
      maxRetries: 0,
    });
    await fn(client, requests);
  } finally {
    await server.shutdown();
  }
}

const PARAMS = {
  model: "claude-sonnet-4-6",
  max_tokens: 1024,
  messages: [{ role: "user" as const, content: "Weather in Lisbon?" }],
};

Deno.test("@anthropic-ai/sdk messages.stream() accumulates our stream into the final message", async () => {
  await withServer(EVENTS, async (client, requests) => {
    const stream = client.messages.stream(PARAMS);
    const texts: string[] = [];
    stream.on("text", (delta) => texts.push(delta));
    const message = await stream.finalMessage();
    assert.equal((requests[0] as { path: string }).path, "/v1/messages");
    assert.equal((requests[0] as { body: { stream: boolean } }).body.stream, true);
    assert.deepEqual(texts, ["Let me check ", "the weather in Lisbon."]);
    assert.equal(message.id, "msg_llmwire_1");
    assert.equal(message.model, "claude-sonnet-4-6");
    assert.equal(message.role, "assistant");
    assert.equal(message.stop_reason, "tool_use");
    assert.equal(message.stop_sequence, null);
    assert.equal(message.content.length, 3);
    const [thinking, text, toolUse] = message.content;
    assert.ok(thinking?.type === "thinking");
    assert.equal(thinking.thinking, "The user wants the weather; call get_weather.");
    assert.equal(thinking.signature, "EqQBCkYIBxgCKkB0c2ln");
    assert.ok(text?.type === "text");
    assert.equal(text.text, "Let me check the weather in Lisbon.");
    assert.ok(toolUse?.type === "tool_use");
    assert.equal(toolUse.id, "tooluse_Zk3xQ9vLTwWm1nYb2c4dEf");
    assert.equal(toolUse.name, "get_weather");
    assert.deepEqual(toolUse.input, { city: "Lisbon", unit: "celsius" });
    // Usage came only after message_stop: message_start said 0, message_delta carries it all.
    assert.equal(message.usage.input_tokens, 271);
    assert.equal(message.usage.cache_read_input_tokens, 1000);
    assert.equal(message.usage.cache_creation_input_tokens, 120);
    assert.equal(message.usage.output_tokens, 58);
  });
});

Deno.test("@anthropic-ai/sdk messages.create({ stream: true }) reads the raw events", async () => {
  await withServer(EVENTS, async (client) => {
    const stream = await client.messages.create({ ...PARAMS, stream: true });
    const types: string[] = [];
    let partialJson = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") {
        partialJson += event.delta.partial_json;
      }
      if (event.type === "message_delta") {
        assert.equal(event.delta.stop_reason, "tool_use");
        assert.equal(event.usage.output_tokens, 58);
        assert.equal(event.usage.input_tokens, 271);
      }
    }
    assert.deepEqual(JSON.parse(partialJson), { city: "Lisbon", unit: "celsius" });
    assert.deepEqual(types, [
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });
});

Deno.test("@anthropic-ai/sdk throws the error our event: error carries", async () => {
  await withServer(ERROR_EVENTS, async (client) => {
    const stream = client.messages.stream(PARAMS);
    await assert.rejects(stream.finalMessage(), (error) => {
      assert.ok(error instanceof Anthropic.APIError, String(error));
      assert.equal(error.type, "overloaded_error");
      assert.equal(error.apiMessage, "Overloaded");
      assert.deepEqual(error.error, {
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" },
      });
      return true;
    });
    // The raw iterator throws the same way, after the events before the error.
    const raw = await client.messages.create({ ...PARAMS, stream: true });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of raw) seen.push(event.type);
      })(),
      (error) => error instanceof Anthropic.APIError && error.type === "overloaded_error",
    );
    assert.deepEqual(seen, ["message_start", "content_block_start", "content_block_delta"]);
  });
});
