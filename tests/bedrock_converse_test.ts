import assert from "node:assert/strict";
import {
  BedrockConverseDecoder,
  BedrockConverseDecoderStream,
  BedrockConverseEncoder,
  BedrockConverseEncoderStream,
  createUsage,
  decodeBedrockError,
  encodeBedrockError,
  encodeEventStreamMessage,
  EventStreamDecoderStream,
  type EventStreamMessage,
  type LlmEvent,
  parseBedrockConverseStopReason,
  toBedrockConverseStopReason,
} from "../mod.ts";
import { chunkings, collect, corporaPresent, readCorpusBytes, readCorpusText } from "./_helpers.ts";

const OPTIONS = { id: "msg_test", model: "test-model" };
const FIXTURES = new URL("../fixtures/", import.meta.url);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function frame(eventType: string, body: unknown): EventStreamMessage {
  return {
    headers: {
      ":event-type": { type: "string", value: eventType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    payload: textEncoder.encode(JSON.stringify(body)),
  };
}

function exceptionFrame(exceptionType: string, message: string): EventStreamMessage {
  return {
    headers: {
      ":exception-type": { type: "string", value: exceptionType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    payload: textEncoder.encode(JSON.stringify({ message })),
  };
}

function payloadOf(message: EventStreamMessage): unknown {
  return JSON.parse(textDecoder.decode(message.payload));
}

/** Messages → events with the synchronous decoder. */
function decodeMessages(messages: EventStreamMessage[]): LlmEvent[] {
  const decoder = new BedrockConverseDecoder(OPTIONS);
  return [...messages.flatMap((m) => decoder.push(m)), ...decoder.end()];
}

/** Bytes (in the given chunks) → framing decoder → Bedrock decoder. */
function decodeChunks(chunks: Uint8Array[]): Promise<LlmEvent[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks)
      .pipeThrough(new EventStreamDecoderStream())
      .pipeThrough(new BedrockConverseDecoderStream(OPTIONS)),
  );
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Events → Bedrock encoder stream → EventStream bytes. */
async function encodeToBytes(events: LlmEvent[]): Promise<Uint8Array> {
  const messages = await collect(events, new BedrockConverseEncoderStream());
  return concat(messages.map((m) => encodeEventStreamMessage(m)));
}

interface ToolCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
  serverSide?: boolean;
}

interface Summary {
  text: string;
  reasoning: string;
  signatures: string[];
  /** Lengths of the redacted reasoning data (long opaque strings, checked in full elsewhere). */
  redacted: number[];
  toolCalls: ToolCall[];
  stopReason?: string;
  rawStopReason?: string | null;
  usage?: { input: number; output: number; total: number; cacheRead: number; cacheWrite: number };
  latencyMs?: number;
  error?: { kind: string; status: number; providerType?: string; message: string };
}

/**
 * Summarizes an event sequence and checks the model's structural rules on the way: one
 * `message_start` first, blocks closed once and before `message_stop`, nothing after `error`.
 */
function summarize(events: LlmEvent[]): Summary {
  const summary: Summary = { text: "", reasoning: "", signatures: [], redacted: [], toolCalls: [] };
  const open = new Set<number>();
  const closed = new Set<number>();
  let stopped = false;
  assert.equal(
    events.filter((e) => e.type === "message_start").length,
    events[0]?.type === "error" ? 0 : 1,
  );
  events.forEach((event, i) => {
    if (event.type === "error") assert.equal(i, events.length - 1, "nothing follows an error");
    if ("index" in event) {
      assert.ok(!stopped, `${event.type} after message_stop`);
      assert.ok(!closed.has(event.index), `${event.type} for closed block ${event.index}`);
      if (event.type === "block_stop") {
        assert.ok(open.delete(event.index), `block_stop for a block never opened`);
        closed.add(event.index);
      } else {
        open.add(event.index);
      }
    }
    switch (event.type) {
      case "text_delta":
        summary.text += event.text;
        break;
      case "reasoning_delta":
        if (event.kind === "text") summary.reasoning += event.text;
        if (event.kind === "signature") summary.signatures.push(event.signature);
        if (event.kind === "redacted") summary.redacted.push(event.data.length);
        break;
      case "tool_call_start":
        summary.toolCalls.push({
          index: event.index,
          id: event.id,
          name: event.name,
          arguments: "",
          ...(event.serverSide ? { serverSide: true } : {}),
        });
        break;
      case "tool_call_delta": {
        const call = summary.toolCalls.find((c) => c.index === event.index);
        assert.ok(call, "tool_call_delta without tool_call_start");
        call.arguments += event.arguments;
        break;
      }
      case "message_stop":
        assert.equal(open.size, 0, "every block is closed before message_stop");
        stopped = true;
        summary.stopReason = event.stopReason;
        summary.rawStopReason = event.rawStopReason;
        break;
      case "usage":
        summary.usage = {
          input: event.usage.inputTokens,
          output: event.usage.outputTokens,
          total: event.usage.totalTokens,
          cacheRead: event.usage.cacheReadTokens,
          cacheWrite: event.usage.cacheWriteTokens,
        };
        if (event.latencyMs !== undefined) summary.latencyMs = event.latencyMs;
        break;
      case "error":
        summary.error = {
          kind: event.kind,
          status: event.status,
          message: event.message,
          ...(event.providerType !== undefined ? { providerType: event.providerType } : {}),
        };
        break;
    }
  });
  if (events[0]?.type === "message_start") {
    assert.deepEqual(events[0], {
      type: "message_start",
      id: "msg_test",
      model: "test-model",
      role: "assistant",
    });
  }
  return summary;
}

function usage(input: number, output: number, total: number) {
  return { input, output, total, cacheRead: 0, cacheWrite: 0 };
}

/**
 * Decodes `bytes` whole and at many chunkings (all must agree), checks the round trip
 * decode → encode → bytes → decode, and returns the events.
 */
async function decodeEverywhere(bytes: Uint8Array): Promise<LlmEvent[]> {
  const whole = await decodeChunks([bytes]);
  for (const { name, chunks } of chunkings(bytes, 256)) {
    assert.deepEqual(await decodeChunks(chunks), whole, `chunking: ${name}`);
  }
  const reencoded = await encodeToBytes(whole);
  assert.deepEqual(await decodeChunks([reencoded]), whole, "decode ∘ encode ∘ decode = decode");
  return whole;
}

// ---------------------------------------------------------------------------------------------
// Recorded Bedrock streams (../shared/corpora)
// ---------------------------------------------------------------------------------------------

const THE_CAPITAL = "The capital of France is Paris. Paris is not only the capital city but also " +
  "the most populous city in France, and it is a major center for culture, commerce, fashion, " +
  "and international diplomacy. Known for its historical landmarks, such as the Eiffel Tower, " +
  'the Louvre Museum, and Notre-Dame Cathedral, Paris is often referred to as "The City of ' +
  'Light"';

/** What every recorded `.bin` decodes to, read off its `.expected.json`. */
const RECORDED: Record<string, Summary> = {
  "recorded/bedrock/pydantic-ai/test_bedrock_model_code_execution_tool_stream.bin": {
    text: "",
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [
      {
        index: 0,
        id: "tooluse_VQNZJRUFMoqZzszVsRd4og",
        name: "nova_code_interpreter",
        arguments: '{"snippet":"1234 * 5678"}',
        serverSide: true,
      },
      {
        index: 2,
        id: "tooluse_ptgCcZ0uQu-UUMz0abqoWw",
        name: "final_result",
        arguments: '{"result":7006652.0}',
      },
    ],
    stopReason: "tool_use",
    rawStopReason: "tool_use",
    usage: usage(1002, 59, 1061),
    latencyMs: 1600,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_iter_stream.0.bin": {
    text: "<thinking> To find the temperature of the capital of France, I need to first " +
      "determine the capital of France and then get the current temperature in that city. The " +
      'capital of France is Paris. I will use the "get_temperature" tool to find the current ' +
      "temperature in Paris.</thinking>\n",
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [{
      index: 1,
      id: "tooluse_lAG_zP8QRHmSYOwZzzaCqA",
      name: "get_temperature",
      arguments: '{"city":"Paris"}',
    }],
    stopReason: "tool_use",
    rawStopReason: "tool_use",
    usage: usage(471, 91, 562),
    latencyMs: 422,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_iter_stream.1.bin": {
    text: "The current temperature in Paris, the capital of France, is 30°C.",
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(577, 18, 595),
    latencyMs: 223,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_stream.bin": {
    text: THE_CAPITAL + ' or "The City of Love."',
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(13, 82, 95),
    latencyMs: 522,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_stream_empty_text_delta.bin": {
    text: "Hello! How can I help you today?",
    reasoning: 'The user just says "Hi". We need to respond appropriately, friendly greeting. ' +
      "No special instructions. Should be short.",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(70, 43, 113),
    latencyMs: 753,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_stream_with_extra_headers.bin": {
    text: "Hello! How can I assist you today? Whether you have a question, need information, " +
      "or just want to chat, I'm here to help.",
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(2, 32, 34),
    latencyMs: 660,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_thinking_part_redacted_stream.bin": {
    text: "I notice you've sent what appears to be some kind of command or trigger string, but " +
      "I don't respond to special codes or triggers. That string doesn't have any special " +
      "meaning to me.\n\nIf you have a question you'd like to discuss or need assistance with " +
      "something, I'd be happy to help in a straightforward conversation. What would you like " +
      "to talk about today?",
    reasoning: "",
    signatures: [],
    redacted: [808, 564],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(92, 253, 345),
    latencyMs: 8069,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_model_thinking_part_stream.bin": {
    text: "Hello! It's nice to meet you. How can I help you today?",
    reasoning: 'The user has greeted me with a simple "Hello". I should respond in a friendly ' +
      "and welcoming manner. This is a straightforward greeting, so I'll respond warmly and ask " +
      "how I can help them today.",
    signatures: [
      "Eu0CCkgIBxABGAIqQJDccbDQkr81n7QjZ0Fi43umSvw0YvnGkMPEpaGAa2btYHyWw06KhwckvsnKzpKcxiRJT35m" +
      "eoG4/pdrTUiy2UISDPDaEWfOl3+HlRVsCxoMzfiqBp252RMvpmEyIjCbQ97Ac9Epkr5mgxeu1vGtJg+fDWIg0Unp" +
      "MM8NYknhhvJmsXpYrfquwGL1ZnlBslUq0gHtbAAPwlWPmiQXU7gDQCDW9IdMVyw42b4f5MrAlpWkPWOJc9H+yYv0" +
      "TpP/jY72SD1opqwkWnBgkzbi7A2jPmEFzIMQSO1KDXha5ADqQ3cLYMmVdNTSH9wlM7G7/JJ2/cqowqkwD6/q1AnY" +
      "zcPte9iC67fY1LYN0NMCOSABFojP1rmkv9YBEulx5Y6eQpeVXBQiIqcGoCmWSumpGBskS1KxGerUmzUB0JmJnTEN" +
      "v4x3fSGSUSEPqMiz6Ebao8sVkb1wCWuZEXWJGtiQLMIm1o471iEYAQ==",
    ],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(36, 73, 109),
    latencyMs: 1999,
  },
  "recorded/bedrock/pydantic-ai/test_bedrock_native_output_stream.bin": {
    text: '{"city":"Paris","country":"France","population":2161000}',
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(210, 18, 228),
    latencyMs: 3950,
  },
  "recorded/bedrock/pydantic-ai/test_stream_cancel.bin": {
    text: THE_CAPITAL + " and is a global hub for art and history.",
    reasoning: "",
    signatures: [],
    redacted: [],
    toolCalls: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: usage(13, 85, 98),
    latencyMs: 820,
  },
};

Deno.test({
  name: "Bedrock decoder: every recorded .bin has an expectation here",
  ignore: !corporaPresent("Bedrock recorded streams"),
  fn() {
    const names = [
      ...Deno.readDirSync(
        new URL("../../shared/corpora/recorded/bedrock/pydantic-ai/", import.meta.url),
      ),
    ]
      .map((e) => e.name)
      .filter((n) => n.endsWith(".bin"))
      .map((n) => `recorded/bedrock/pydantic-ai/${n}`)
      .sort();
    assert.deepEqual(names, Object.keys(RECORDED).sort());
  },
});

for (const [path, expected] of Object.entries(RECORDED)) {
  Deno.test({
    name: `Bedrock decoder: ${path.split("/").at(-1)} at every chunking, and round trip`,
    ignore: !corporaPresent("Bedrock recorded streams"),
    async fn() {
      const events = await decodeEverywhere(readCorpusBytes(path));
      assert.deepEqual(summarize(events), expected);
      // The frame count in .expected.json matches what the framing layer saw: every frame was
      // understood (none is skipped as unknown in these recordings).
      const recorded = JSON.parse(readCorpusText(path.replace(/\.bin$/, ".expected.json")));
      assert.equal(recorded.byte_length, readCorpusBytes(path).length);
    },
  });
}

Deno.test({
  name: "Bedrock decoder: APISIX's ConverseStream fixture, event by event",
  ignore: !corporaPresent("Bedrock APISIX stream"),
  async fn() {
    const expected: LlmEvent[] = [
      { type: "message_start", id: "msg_test", model: "test-model", role: "assistant" },
      { type: "text_delta", index: 0, text: "Hello" },
      { type: "text_delta", index: 0, text: "." },
      { type: "block_stop", index: 0 },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
      {
        type: "usage",
        usage: {
          inputTokens: 13,
          outputTokens: 5,
          totalTokens: 18,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
        },
        latencyMs: 255,
      },
    ];
    const recorded = readCorpusBytes("recorded/bedrock/apisix/bedrock-converse-streaming.bin");
    const gateway = readCorpusBytes("apisix/bedrock/bedrock-converse-streaming.bin");
    assert.deepEqual(await decodeEverywhere(recorded), expected);
    assert.deepEqual(await decodeEverywhere(gateway), expected);
  },
});

Deno.test({
  name: "Bedrock decoder: Nova's code interpreter result is a provider block, kept whole",
  ignore: !corporaPresent("Bedrock recorded streams"),
  async fn() {
    const events = await decodeChunks([
      readCorpusBytes(
        "recorded/bedrock/pydantic-ai/test_bedrock_model_code_execution_tool_stream.bin",
      ),
    ]);
    assert.deepEqual(events.map((e) => e.type), [
      "message_start",
      "tool_call_start",
      "tool_call_delta",
      "block_stop",
      "provider_block",
      "block_stop",
      "tool_call_start",
      "tool_call_delta",
      "block_stop",
      "message_stop",
      "usage",
    ]);
    assert.deepEqual(events[4], {
      type: "provider_block",
      index: 1,
      protocol: "bedrock",
      blockType: "toolResult",
      content: {
        toolResult: {
          status: "success",
          toolUseId: "tooluse_VQNZJRUFMoqZzszVsRd4og",
          type: "nova_code_interpreter_result",
          content: [{ json: { stdOut: "7006652", stdErr: "", exitCode: 0, isError: false } }],
        },
      },
    });
  },
});

Deno.test({
  name: "Bedrock decoder: redacted reasoning is the base64-decoded opaque data",
  ignore: !corporaPresent("Bedrock recorded streams"),
  async fn() {
    const events = await decodeChunks([
      readCorpusBytes(
        "recorded/bedrock/pydantic-ai/test_bedrock_model_thinking_part_redacted_stream.bin",
      ),
    ]);
    const redacted = events.flatMap((e) =>
      e.type === "reasoning_delta" && e.kind === "redacted"
        ? [{ index: e.index, data: e.data }]
        : []
    );
    assert.equal(redacted.length, 2);
    assert.equal(redacted[0]!.index, 0);
    assert.equal(redacted[1]!.index, 1);
    // Bedrock base64-encodes Claude's redacted_thinking data; decoded, it is that data again.
    assert.ok(redacted[0]!.data.startsWith("EtkECkgIBxABGAIqQJTfqS/PYuAFZe"));
    assert.ok(redacted[0]!.data.endsWith("OPOp8nsBgB"));
    assert.equal(redacted[0]!.data.length, 808);
    assert.ok(redacted[1]!.data.startsWith("EqADCkgIBxABGAIqQB3h5GyHJD4hoc"));
    assert.ok(redacted[1]!.data.endsWith("weJ8IYAQ=="));
    assert.equal(redacted[1]!.data.length, 564);
    // Re-encoded, the payload is the recorded base64 again.
    const encoder = new BedrockConverseEncoder();
    const [, delta] = encoder.push({
      type: "reasoning_delta",
      index: 0,
      kind: "redacted",
      data: redacted[0]!.data,
    });
    const recorded = JSON.parse(
      readCorpusText(
        "recorded/bedrock/pydantic-ai/test_bedrock_model_thinking_part_redacted_stream.expected.json",
      ),
    );
    assert.deepEqual(payloadOf(delta!), {
      contentBlockIndex: 0,
      delta: {
        reasoningContent: {
          redactedContent: recorded.messages[1].payload_json.delta.reasoningContent.redactedContent,
        },
      },
    });
  },
});

Deno.test({
  name: "Bedrock decoder: a stream cut before messageStop ends with a protocol_error",
  ignore: !corporaPresent("Bedrock recorded streams"),
  async fn() {
    const path = "recorded/bedrock/pydantic-ai/test_stream_cancel.bin";
    const bytes = readCorpusBytes(path);
    const recorded = JSON.parse(readCorpusText(path.replace(/\.bin$/, ".expected.json")));
    const stop = recorded.messages.find(
      (m: { headers: Record<string, string> }) => m.headers[":event-type"] === "messageStop",
    );
    // Cut at a frame boundary: the framing layer sees a clean end, the protocol does not.
    for (const at of [stop.offset, recorded.messages[10].offset, recorded.messages[1].offset]) {
      const events = await decodeChunks([bytes.subarray(0, at)]);
      assert.deepEqual(events.at(-1), {
        type: "error",
        kind: "protocol_error",
        message: "Bedrock ConverseStream: the stream ended before messageStop",
        status: 502,
      });
      assert.ok(!events.some((e) => e.type === "message_stop"));
      summarize(events);
    }
    // Cut inside a frame: the framing error propagates as a stream error.
    await assert.rejects(
      decodeChunks([bytes.subarray(0, stop.offset + 10)]),
      (error: Error) => error.name === "EventStreamError",
    );
  },
});

// ---------------------------------------------------------------------------------------------
// The project's fixtures
// ---------------------------------------------------------------------------------------------

interface FixtureEntry {
  file: string;
  text: string;
  reasoning?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  stopReason?: string;
  usage?: { input: number; output: number; total: number };
  error?: { type: string; message: string };
}

const FIXTURE_INDEX: FixtureEntry[] = JSON.parse(
  Deno.readTextFileSync(new URL("index.json", FIXTURES)),
);

for (const entry of FIXTURE_INDEX.filter((e) => e.file.startsWith("bedrock/"))) {
  Deno.test(`Bedrock decoder: fixtures/${entry.file} decodes to what index.json says`, async () => {
    const bytes = Deno.readFileSync(new URL(entry.file, FIXTURES));
    const summary = summarize(await decodeEverywhere(bytes));
    assert.equal(summary.text, entry.text);
    assert.equal(summary.reasoning, entry.reasoning ?? "");
    assert.deepEqual(
      summary.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
      entry.toolCalls ?? [],
    );
    assert.equal(summary.rawStopReason, entry.stopReason);
    if (entry.usage) {
      assert.deepEqual(
        summary.usage,
        usage(entry.usage.input, entry.usage.output, entry.usage.total),
      );
    } else {
      assert.equal(summary.usage, undefined);
    }
    if (entry.error) {
      assert.equal(summary.error?.providerType, entry.error.type);
      assert.equal(summary.error?.message, entry.error.message);
    } else {
      assert.equal(summary.error, undefined);
    }
  });
}

Deno.test("Bedrock decoder: the throttling fixture, event by event", async () => {
  const bytes = Deno.readFileSync(new URL("bedrock/converse_stream_throttling.bin", FIXTURES));
  assert.deepEqual(await decodeChunks([bytes]), [
    { type: "message_start", id: "msg_test", model: "test-model", role: "assistant" },
    { type: "text_delta", index: 0, text: "Sure, here is" },
    { type: "text_delta", index: 0, text: " the first part" },
    {
      type: "error",
      kind: "rate_limit",
      message: "Too many tokens, please wait before trying again.",
      status: 429,
      providerType: "throttlingException",
    },
  ]);
});

Deno.test("Bedrock decoder: the reasoning fixture keeps its signature and stop reasons", async () => {
  const bytes = Deno.readFileSync(new URL("bedrock/converse_stream_reasoning.bin", FIXTURES));
  const summary = summarize(await decodeChunks([bytes]));
  assert.deepEqual(summary.signatures, [
    "ErUBCkYIBRgCIkBxbG13aXJlIGZpeHR1cmUgc2lnbmF0dXJlIC0gbm90IGEgcmVhbCBvbmUAEgxsbG13aXJlLXRlc3Q=",
  ]);
  assert.equal(summary.stopReason, "end_turn");
  assert.equal(summary.latencyMs, 2210);
});

// ---------------------------------------------------------------------------------------------
// Decoder behaviour on synthetic streams
// ---------------------------------------------------------------------------------------------

const START = frame("messageStart", { role: "assistant" });
const STOP = frame("messageStop", { stopReason: "end_turn" });

Deno.test("Bedrock decoder: unknown event types are skipped and p is ignored", () => {
  const plain = decodeMessages([
    START,
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hi" } }),
    frame("contentBlockStop", { contentBlockIndex: 0 }),
    STOP,
  ]);
  const noisy = decodeMessages([
    frame("messageStart", { role: "assistant", p: "abcdefgh" }),
    frame("somethingNew", { contentBlockIndex: 0, whatever: true, p: "ab" }),
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hi" }, p: "abcdefghijk" }),
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { futureDelta: 1 }, p: "a" }),
    frame("contentBlockStop", { contentBlockIndex: 0, p: "abcdefghijklmnopqrstuvwxyz" }),
    frame("messageStop", { stopReason: "end_turn", p: "abc" }),
  ]);
  assert.deepEqual(noisy, plain);
  assert.deepEqual(plain.map((e) => e.type), [
    "message_start",
    "text_delta",
    "block_stop",
    "message_stop",
  ]);
});

Deno.test("Bedrock decoder: a block that carried nothing known is not opened", () => {
  const events = decodeMessages([
    START,
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { futureDelta: 1 } }),
    frame("contentBlockStop", { contentBlockIndex: 0 }),
    STOP,
  ]);
  assert.deepEqual(events.map((e) => e.type), ["message_start", "message_stop"]);
});

Deno.test("Bedrock decoder: stop reasons, normalized, with the stop sequence", () => {
  const cases: [string, string][] = [
    ["end_turn", "end_turn"],
    ["tool_use", "tool_use"],
    ["max_tokens", "max_tokens"],
    ["stop_sequence", "stop_sequence"],
    ["guardrail_intervened", "guardrail"],
    ["content_filtered", "content_filter"],
    ["model_context_window_exceeded", "context_window_exceeded"],
    ["malformed_model_output", "error"],
    ["malformed_tool_use", "error"],
    ["something_new", "other"],
  ];
  for (const [raw, normalized] of cases) {
    const events = decodeMessages([START, frame("messageStop", { stopReason: raw })]);
    assert.deepEqual(events.at(-1), {
      type: "message_stop",
      stopReason: normalized,
      rawStopReason: raw,
    });
    assert.equal(parseBedrockConverseStopReason(raw), normalized);
  }
  const withSequence = decodeMessages([
    START,
    frame("messageStop", {
      stopReason: "stop_sequence",
      additionalModelResponseFields: { stop_sequence: "\n\nHuman:" },
    }),
  ]);
  assert.deepEqual(withSequence.at(-1), {
    type: "message_stop",
    stopReason: "stop_sequence",
    rawStopReason: "stop_sequence",
    stopSequence: "\n\nHuman:",
  });
  assert.deepEqual(decodeMessages([START, frame("messageStop", {})]).at(-1), {
    type: "message_stop",
    stopReason: "other",
    rawStopReason: null,
  });
});

Deno.test("Bedrock decoder: a streamed toolResult adds up to a Converse ContentBlock", () => {
  const events = decodeMessages([
    START,
    frame("contentBlockStart", {
      contentBlockIndex: 0,
      start: { toolResult: { toolUseId: "tooluse_1", type: "nova_code_interpreter_result" } },
    }),
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { toolResult: [{ text: "a" }] } }),
    frame("contentBlockDelta", {
      contentBlockIndex: 0,
      delta: { toolResult: [{ text: "b" }, { json: { ok: true } }] },
    }),
    // No contentBlockStop: messageStop closes the block, and the provider block comes first.
    STOP,
  ]);
  assert.deepEqual(events.slice(1), [
    {
      type: "provider_block",
      index: 0,
      protocol: "bedrock",
      blockType: "toolResult",
      content: {
        toolResult: {
          toolUseId: "tooluse_1",
          type: "nova_code_interpreter_result",
          content: [{ text: "a" }, { text: "b" }, { json: { ok: true } }],
        },
      },
    },
    { type: "block_stop", index: 0 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
});

Deno.test("Bedrock decoder: usage adds cache reads and writes to the input", () => {
  const events = decodeMessages([
    START,
    STOP,
    frame("metadata", {
      usage: {
        inputTokens: 5,
        outputTokens: 40,
        totalTokens: 165,
        cacheReadInputTokens: 100,
        cacheWriteInputTokens: 20,
      },
      metrics: { latencyMs: 987 },
    }),
  ]);
  assert.deepEqual(events.at(-1), {
    type: "usage",
    usage: {
      inputTokens: 125,
      outputTokens: 40,
      totalTokens: 165,
      cacheReadTokens: 100,
      cacheWriteTokens: 20,
      reasoningTokens: 0,
    },
    latencyMs: 987,
  });
});

Deno.test("Bedrock decoder: metadata before messageStop, missing block stops synthesized", () => {
  const events = decodeMessages([
    START,
    frame("contentBlockDelta", {
      contentBlockIndex: 0,
      delta: { reasoningContent: { text: "r" } },
    }),
    frame("contentBlockDelta", { contentBlockIndex: 1, delta: { text: "t" } }),
    frame("metadata", { usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 } }),
    STOP,
  ]);
  assert.deepEqual(events, [
    { type: "message_start", id: "msg_test", model: "test-model", role: "assistant" },
    { type: "reasoning_delta", index: 0, kind: "text", text: "r" },
    { type: "text_delta", index: 1, text: "t" },
    { type: "usage", usage: createUsage({ inputTokens: 1, outputTokens: 2 }) },
    { type: "block_stop", index: 0 },
    { type: "block_stop", index: 1 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
});

Deno.test("Bedrock decoder: citations become citation events with title, url and text", () => {
  const web = {
    title: "Lisbon - Wikipedia",
    source: "https://en.wikipedia.org/wiki/Lisbon",
    sourceContent: [{ text: "Lisbon is the capital " }, { text: "of Portugal." }],
    location: { web: { url: "https://en.wikipedia.org/wiki/Lisbon", domain: "wikipedia.org" } },
  };
  const document = {
    title: "report.pdf",
    sourceContent: [{ text: "Revenue grew 12%." }],
    location: { documentChar: { documentIndex: 0, start: 10, end: 27 } },
  };
  const events = decodeMessages([
    START,
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Lisbon." } }),
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { citation: web } }),
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { citation: document } }),
    STOP,
  ]);
  assert.deepEqual(events.slice(2, 4), [
    {
      type: "citation",
      index: 0,
      citation: {
        title: "Lisbon - Wikipedia",
        url: "https://en.wikipedia.org/wiki/Lisbon",
        citedText: "Lisbon is the capital of Portugal.",
        raw: web,
      },
    },
    {
      type: "citation",
      index: 0,
      citation: { title: "report.pdf", citedText: "Revenue grew 12%.", raw: document },
    },
  ]);
});

Deno.test("Bedrock decoder: exception frames carry the status of their type", () => {
  const cases: [string, number, string][] = [
    ["throttlingException", 429, "rate_limit"],
    ["modelStreamErrorException", 424, "model_error"],
    ["validationException", 400, "invalid_request"],
    ["internalServerException", 500, "server_error"],
    ["serviceUnavailableException", 503, "overloaded"],
    ["accessDeniedException", 403, "permission"],
    ["resourceNotFoundException", 404, "not_found"],
    ["modelTimeoutException", 408, "timeout"],
    ["modelNotReadyException", 429, "rate_limit"],
    ["somethingNewException", 500, "server_error"],
  ];
  for (const [type, status, kind] of cases) {
    const events = decodeMessages([
      START,
      frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "a" } }),
      exceptionFrame(type, `${type} happened`),
      frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "ignored" } }),
    ]);
    assert.deepEqual(events.slice(2), [
      { type: "error", kind, message: `${type} happened`, status, providerType: type },
    ]);
    assert.deepEqual(decodeBedrockError(type, "m"), {
      type: "error",
      kind,
      message: "m",
      status,
      providerType: type,
    });
  }
  // HTTP-style names (x-amzn-ErrorType) resolve too.
  assert.equal(
    decodeBedrockError(
      "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
      "",
    )
      .status,
    429,
  );
});

Deno.test("Bedrock decoder: an exception before messageStart is the only event", () => {
  assert.deepEqual(decodeMessages([exceptionFrame("serviceUnavailableException", "later")]), [
    {
      type: "error",
      kind: "overloaded",
      message: "later",
      status: 503,
      providerType: "serviceUnavailableException",
    },
  ]);
});

Deno.test("Bedrock decoder: error frames use :error-code and :error-message", () => {
  const events = decodeMessages([START, {
    headers: {
      ":message-type": { type: "string", value: "error" },
      ":error-code": { type: "string", value: "InternalFailure" },
      ":error-message": { type: "string", value: "The request failed" },
    },
    payload: new Uint8Array(0),
  }]);
  assert.deepEqual(events.at(-1), {
    type: "error",
    kind: "server_error",
    message: "The request failed",
    status: 500,
    providerType: "InternalFailure",
  });
});

Deno.test("Bedrock decoder: malformed frames are protocol errors, and nothing follows", () => {
  const cases: [string, EventStreamMessage, string][] = [
    ["no :message-type", {
      headers: { ":event-type": { type: "string", value: "messageStart" } },
      payload: textEncoder.encode("{}"),
    }, "a message without a :message-type string header"],
    ["non-JSON payload", {
      headers: {
        ":event-type": { type: "string", value: "contentBlockDelta" },
        ":message-type": { type: "string", value: "event" },
      },
      payload: textEncoder.encode('data: {"text":"hi"}'),
    }, "a contentBlockDelta payload that is not JSON"],
    [
      "JSON that is not an object",
      frame("contentBlockDelta", ["text"]),
      "a contentBlockDelta payload that is not a JSON object",
    ],
    [
      "no block index",
      frame("contentBlockDelta", { delta: { text: "x" } }),
      "a contentBlockDelta without a valid contentBlockIndex",
    ],
    [
      "no :event-type",
      {
        headers: { ":message-type": { type: "string", value: "event" } },
        payload: new Uint8Array(),
      },
      "an event without an :event-type string header",
    ],
    [
      "unknown message type",
      {
        headers: { ":message-type": { type: "string", value: "weird" } },
        payload: new Uint8Array(),
      },
      'an unknown :message-type "weird"',
    ],
    [
      "toolUse delta without a start",
      frame("contentBlockDelta", { contentBlockIndex: 3, delta: { toolUse: { input: "{}" } } }),
      "a toolUse delta for block 3, which no toolUse start opened",
    ],
  ];
  for (const [name, bad, message] of cases) {
    const decoder = new BedrockConverseDecoder(OPTIONS);
    decoder.push(START);
    assert.deepEqual(decoder.push(bad), [{
      type: "error",
      kind: "protocol_error",
      message: `Bedrock ConverseStream: ${message}`,
      status: 502,
    }], name);
    assert.deepEqual(decoder.push(STOP), [], `${name}: nothing after the error`);
    assert.deepEqual(decoder.end(), [], `${name}: no second error at the end`);
  }
  // Content after messageStop is not Bedrock.
  const late = decodeMessages([
    START,
    STOP,
    frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "late" } }),
  ]);
  assert.equal(late.at(-1)?.type, "error");
});

Deno.test("Bedrock decoder: an empty stream is a protocol error too", async () => {
  assert.deepEqual(await decodeChunks([]), [{
    type: "error",
    kind: "protocol_error",
    message: "Bedrock ConverseStream: the stream ended before messageStop",
    status: 502,
  }]);
});

Deno.test("Bedrock decoder: default id is a generated msg_ id, default model empty", () => {
  const [a] = new BedrockConverseDecoder().push(START);
  const [b] = new BedrockConverseDecoder().push(START);
  assert.ok(a?.type === "message_start" && b?.type === "message_start");
  assert.match(a.id, /^msg_[0-9a-f]{32}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(a.model, "");
});

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

function encodeAll(events: LlmEvent[]): EventStreamMessage[] {
  const encoder = new BedrockConverseEncoder();
  return [...events.flatMap((e) => encoder.push(e)), ...encoder.end()];
}

function describe(messages: EventStreamMessage[]): [string, unknown][] {
  return messages.map((m) => {
    const type = m.headers[":message-type"]?.value === "exception"
      ? `exception:${m.headers[":exception-type"]?.value}`
      : String(m.headers[":event-type"]?.value);
    return [type, payloadOf(m)];
  });
}

const MESSAGE_START: LlmEvent = { type: "message_start", id: "x", model: "y", role: "assistant" };

Deno.test("Bedrock encoder: frames and payloads as Bedrock writes them; metadata last", () => {
  const messages = encodeAll([
    MESSAGE_START,
    {
      type: "usage",
      usage: createUsage({
        inputTokens: 500,
        outputTokens: 1,
        cacheReadTokens: 300,
        cacheWriteTokens: 100,
      }),
    },
    { type: "reasoning_delta", index: 0, kind: "text", text: "Think." },
    { type: "reasoning_delta", index: 0, kind: "signature", signature: "c2ln" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "Calling." },
    { type: "block_stop", index: 1 },
    { type: "tool_call_start", index: 2, id: "tooluse_1", name: "get_weather" },
    { type: "tool_call_delta", index: 2, arguments: '{"city":' },
    { type: "tool_call_delta", index: 2, arguments: ' "Lisbon"}' },
    { type: "block_stop", index: 2 },
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
    {
      type: "usage",
      usage: createUsage({
        inputTokens: 500,
        outputTokens: 61,
        cacheReadTokens: 300,
        cacheWriteTokens: 100,
      }),
      latencyMs: 1234,
    },
  ]);
  for (const message of messages) {
    assert.deepEqual(Object.keys(message.headers), [
      ":event-type",
      ":content-type",
      ":message-type",
    ]);
    assert.equal(message.headers[":content-type"]?.value, "application/json");
    assert.equal(message.headers[":message-type"]?.value, "event");
  }
  assert.deepEqual(describe(messages), [
    ["messageStart", { role: "assistant" }],
    ["contentBlockDelta", {
      contentBlockIndex: 0,
      delta: { reasoningContent: { text: "Think." } },
    }],
    [
      "contentBlockDelta",
      { contentBlockIndex: 0, delta: { reasoningContent: { signature: "c2ln" } } },
    ],
    ["contentBlockStop", { contentBlockIndex: 0 }],
    ["contentBlockDelta", { contentBlockIndex: 1, delta: { text: "Calling." } }],
    ["contentBlockStop", { contentBlockIndex: 1 }],
    [
      "contentBlockStart",
      { contentBlockIndex: 2, start: { toolUse: { toolUseId: "tooluse_1", name: "get_weather" } } },
    ],
    ["contentBlockDelta", { contentBlockIndex: 2, delta: { toolUse: { input: '{"city":' } } }],
    ["contentBlockDelta", { contentBlockIndex: 2, delta: { toolUse: { input: ' "Lisbon"}' } } }],
    ["contentBlockStop", { contentBlockIndex: 2 }],
    ["messageStop", { stopReason: "tool_use" }],
    ["metadata", {
      usage: {
        inputTokens: 100,
        outputTokens: 61,
        totalTokens: 561,
        cacheReadInputTokens: 300,
        cacheWriteInputTokens: 100,
      },
      metrics: { latencyMs: 1234 },
    }],
  ]);
});

Deno.test("Bedrock encoder: OpenAI-style input (block stops at the end) comes out sequential", () => {
  const messages = encodeAll([
    MESSAGE_START,
    { type: "text_delta", index: 0, text: "Checking." },
    { type: "tool_call_start", index: 1, id: "call_a", name: "a" },
    { type: "tool_call_delta", index: 1, arguments: "{}" },
    { type: "tool_call_start", index: 2, id: "call_b", name: "b" },
    { type: "tool_call_delta", index: 2, arguments: '{"x":1}' },
    { type: "block_stop", index: 0 },
    { type: "block_stop", index: 1 },
    { type: "block_stop", index: 2 },
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
  ]);
  assert.deepEqual(
    describe(messages).map((
      [type, body],
    ) => [type, (body as { contentBlockIndex?: number }).contentBlockIndex]),
    [
      ["messageStart", undefined],
      ["contentBlockDelta", 0],
      ["contentBlockStop", 0],
      ["contentBlockStart", 1],
      ["contentBlockDelta", 1],
      ["contentBlockStop", 1],
      ["contentBlockStart", 2],
      ["contentBlockDelta", 2],
      ["contentBlockStop", 2],
      ["messageStop", undefined],
    ],
  );
  // No usage arrived: no metadata event (unknown is not zero).
  assert.deepEqual(describe(messages).at(-1), ["messageStop", { stopReason: "tool_use" }]);
});

Deno.test("Bedrock encoder: other protocols' provider blocks are skipped, indices stay dense", () => {
  const messages = encodeAll([
    MESSAGE_START,
    { type: "tool_call_start", index: 0, id: "srvtoolu_1", name: "web_search", serverSide: true },
    { type: "tool_call_delta", index: 0, arguments: '{"query":"lisbon"}' },
    { type: "block_stop", index: 0 },
    {
      type: "provider_block",
      index: 1,
      protocol: "anthropic",
      blockType: "web_search_tool_result",
      content: { type: "web_search_tool_result", content: [] },
    },
    { type: "block_stop", index: 1 },
    { type: "text_delta", index: 2, text: "Sunny." },
    { type: "block_stop", index: 2 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
  assert.deepEqual(describe(messages).slice(1, 6), [
    [
      "contentBlockStart",
      {
        contentBlockIndex: 0,
        start: {
          toolUse: { toolUseId: "srvtoolu_1", name: "web_search", type: "server_tool_use" },
        },
      },
    ],
    [
      "contentBlockDelta",
      { contentBlockIndex: 0, delta: { toolUse: { input: '{"query":"lisbon"}' } } },
    ],
    ["contentBlockStop", { contentBlockIndex: 0 }],
    ["contentBlockDelta", { contentBlockIndex: 1, delta: { text: "Sunny." } }],
    ["contentBlockStop", { contentBlockIndex: 1 }],
  ]);
});

Deno.test("Bedrock encoder: errors become exception frames of the matching type", () => {
  const cases: [LlmEvent & { type: "error" }, string][] = [
    [{ type: "error", kind: "rate_limit", message: "m", status: 429 }, "throttlingException"],
    [
      { type: "error", kind: "model_error", message: "m", status: 424 },
      "modelStreamErrorException",
    ],
    [{ type: "error", kind: "invalid_request", message: "m", status: 400 }, "validationException"],
    [
      { type: "error", kind: "overloaded", message: "m", status: 529 },
      "serviceUnavailableException",
    ],
    [{ type: "error", kind: "timeout", message: "m", status: 504 }, "modelTimeoutException"],
    [{ type: "error", kind: "server_error", message: "m", status: 500 }, "internalServerException"],
    [
      { type: "error", kind: "protocol_error", message: "m", status: 502 },
      "internalServerException",
    ],
    [
      { type: "error", kind: "authentication", message: "m", status: 401 },
      "internalServerException",
    ],
    // A Bedrock type of the same kind and status is kept, so Bedrock errors survive unchanged.
    [
      {
        type: "error",
        kind: "permission",
        message: "m",
        status: 403,
        providerType: "accessDeniedException",
      },
      "accessDeniedException",
    ],
    [
      {
        type: "error",
        kind: "rate_limit",
        message: "m",
        status: 429,
        providerType: "modelNotReadyException",
      },
      "modelNotReadyException",
    ],
  ];
  for (const [error, exceptionType] of cases) {
    assert.equal(encodeBedrockError(error).exceptionType, exceptionType);
    const messages = encodeAll([
      MESSAGE_START,
      { type: "text_delta", index: 0, text: "partial" },
      { ...error, message: "Slow down, please." },
      { type: "text_delta", index: 0, text: "never written" },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
    ]);
    assert.equal(messages.length, 3);
    const exception = messages[2]!;
    assert.deepEqual(exception.headers, {
      ":exception-type": { type: "string", value: exceptionType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    });
    assert.deepEqual(payloadOf(exception), { message: "Slow down, please." });
  }
});

Deno.test("Bedrock encoder: stop reasons back to Bedrock's names", () => {
  const cases: [LlmEvent & { type: "message_stop" }, unknown][] = [
    [{ type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" }, {
      stopReason: "end_turn",
    }],
    [{ type: "message_stop", stopReason: "max_tokens", rawStopReason: "length" }, {
      stopReason: "max_tokens",
    }],
    [{ type: "message_stop", stopReason: "guardrail", rawStopReason: null }, {
      stopReason: "guardrail_intervened",
    }],
    [{ type: "message_stop", stopReason: "content_filter", rawStopReason: "refusal" }, {
      stopReason: "content_filtered",
    }],
    [{ type: "message_stop", stopReason: "context_window_exceeded", rawStopReason: null }, {
      stopReason: "model_context_window_exceeded",
    }],
    [{ type: "message_stop", stopReason: "error", rawStopReason: "malformed_tool_use" }, {
      stopReason: "malformed_tool_use",
    }],
    [{ type: "message_stop", stopReason: "other", rawStopReason: "pause_turn" }, {
      stopReason: "end_turn",
    }],
    [{ type: "message_stop", stopReason: "error", rawStopReason: "error" }, {
      stopReason: "malformed_model_output",
    }],
    [
      {
        type: "message_stop",
        stopReason: "stop_sequence",
        rawStopReason: "stop_sequence",
        stopSequence: "END",
      },
      { stopReason: "stop_sequence", additionalModelResponseFields: { stop_sequence: "END" } },
    ],
  ];
  for (const [event, body] of cases) {
    const messages = encodeAll([MESSAGE_START, event]);
    assert.deepEqual(describe(messages)[1], ["messageStop", body]);
    assert.equal(
      toBedrockConverseStopReason(event.stopReason, event.rawStopReason),
      (body as { stopReason: string }).stopReason,
    );
  }
});

Deno.test("Bedrock encoder: messageStart is synthesized; an input cut before message_stop ends in an exception", () => {
  assert.deepEqual(describe(encodeAll([{ type: "text_delta", index: 0, text: "x" }])), [
    ["messageStart", { role: "assistant" }],
    ["contentBlockDelta", { contentBlockIndex: 0, delta: { text: "x" } }],
    ["exception:internalServerException", {
      message: "the response stream ended before the message was complete",
    }],
  ]);
});

Deno.test("Bedrock encoder: no usage event, no metadata (unknown is not zero)", () => {
  assert.deepEqual(
    describe(encodeAll([
      MESSAGE_START,
      { type: "text_delta", index: 0, text: "x" },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" },
    ])).map(([type]) => type),
    ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop"],
  );
});

Deno.test("Bedrock encoder: citations from Bedrock pass through; others are rebuilt", () => {
  const bedrock = {
    title: "t",
    sourceContent: [{ text: "cited" }],
    location: { documentPage: { documentIndex: 0, start: 1, end: 2 } },
  };
  const anthropic = {
    type: "web_search_result_location",
    url: "https://example.com/a",
    title: "Example",
    cited_text: "quoted",
    encrypted_index: "abc",
  };
  const messages = encodeAll([
    MESSAGE_START,
    { type: "text_delta", index: 0, text: "x" },
    { type: "citation", index: 0, citation: { title: "t", citedText: "cited", raw: bedrock } },
    {
      type: "citation",
      index: 0,
      citation: {
        title: "Example",
        url: "https://example.com/a",
        citedText: "quoted",
        raw: anthropic,
      },
    },
  ]);
  assert.deepEqual(describe(messages).slice(2, 4), [
    ["contentBlockDelta", { contentBlockIndex: 0, delta: { citation: bedrock } }],
    ["contentBlockDelta", {
      contentBlockIndex: 0,
      delta: {
        citation: {
          title: "Example",
          source: "https://example.com/a",
          sourceContent: [{ text: "quoted" }],
          location: { web: { url: "https://example.com/a" } },
        },
      },
    }],
  ]);
});

Deno.test("Bedrock round trip: synthetic streams with every kind of event", async () => {
  const streams: LlmEvent[][] = [
    [
      { type: "message_start", id: "msg_test", model: "test-model", role: "assistant" },
      { type: "reasoning_delta", index: 0, kind: "redacted", data: "opaque\u0000\u00ff bytes" },
      { type: "block_stop", index: 0 },
      { type: "text_delta", index: 1, text: "Lisbon 🌞" },
      {
        type: "citation",
        index: 1,
        citation: {
          title: "W",
          url: "https://w.example/",
          citedText: "sun",
          raw: {
            title: "W",
            location: { web: { url: "https://w.example/" } },
            sourceContent: [{ text: "sun" }],
          },
        },
      },
      { type: "block_stop", index: 1 },
      { type: "tool_call_start", index: 2, id: "t", name: "code", serverSide: true },
      { type: "tool_call_delta", index: 2, arguments: "{}" },
      { type: "block_stop", index: 2 },
      {
        type: "provider_block",
        index: 3,
        protocol: "bedrock",
        blockType: "toolResult",
        content: {
          toolResult: {
            toolUseId: "t",
            status: "success",
            content: [{ text: "ok" }, { json: { a: 1 } }],
          },
        },
      },
      { type: "block_stop", index: 3 },
      {
        type: "provider_block",
        index: 4,
        protocol: "bedrock",
        blockType: "image",
        content: { image: { format: "png" }, deltas: [{ image: { source: { bytes: "iVBO" } } }] },
      },
      { type: "block_stop", index: 4 },
      {
        type: "provider_block",
        index: 5,
        protocol: "bedrock",
        blockType: "somethingNew",
        content: { somethingNew: { a: 1 } },
      },
      { type: "block_stop", index: 5 },
      {
        type: "message_stop",
        stopReason: "stop_sequence",
        rawStopReason: "stop_sequence",
        stopSequence: "###",
      },
      {
        type: "usage",
        usage: createUsage({
          inputTokens: 1130,
          outputTokens: 7,
          cacheReadTokens: 1000,
          cacheWriteTokens: 100,
        }),
        latencyMs: 77,
      },
    ],
    [
      { type: "message_start", id: "msg_test", model: "test-model", role: "assistant" },
      {
        type: "error",
        kind: "timeout",
        message: "Model timed out",
        status: 408,
        providerType: "modelTimeoutException",
      },
    ],
  ];
  for (const events of streams) {
    const bytes = await encodeToBytes(events);
    for (const { name, chunks } of chunkings(bytes, 32)) {
      assert.deepEqual(await decodeChunks(chunks), events, name);
    }
  }
});

Deno.test("Bedrock encoder: a redacted string outside Latin-1 is encoded as UTF-8", () => {
  const [, delta] = new BedrockConverseEncoder().push({
    type: "reasoning_delta",
    index: 0,
    kind: "redacted",
    data: "€",
  });
  assert.deepEqual(payloadOf(delta!), {
    contentBlockIndex: 0,
    delta: { reasoningContent: { redactedContent: "4oKs" } },
  });
});
