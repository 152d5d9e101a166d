/**
 * Writes the project's own provider streams to `fixtures/`, using llmwire's own encoders:
 * Bedrock ConverseStream bodies (AWS EventStream) and OpenAI / Anthropic SSE bodies, shaped like
 * the real services' output (Bedrock's `p` padding field, OpenAI's usage chunk and `[DONE]`,
 * Anthropic's `ping`), plus `fixtures/index.json` describing what each file must decode to.
 *
 * The output is deterministic (seeded padding, fixed ids and timestamps), so
 * `tests/fixtures_test.ts` regenerates everything in memory and asserts the committed files are
 * byte-identical.
 *
 * Run: `deno task fixtures`.
 * @module
 */
import { encodeEventStreamMessage, encodeSseEvent } from "../mod.ts";
import type { EventStreamMessage, SseEvent } from "../mod.ts";

/** What a fixture must decode to; written to `fixtures/index.json` for tests and later layers. */
export interface FixtureDescription {
  /** Path below `fixtures/`. */
  file: string;
  /** `application/vnd.amazon.eventstream` or `text/event-stream`. */
  contentType: string;
  /** Number of EventStream frames or SSE events. */
  frames: number;
  /** The assistant text the stream carries (all text deltas joined). */
  text: string;
  /** Reasoning text, when the stream carries any. */
  reasoning?: string;
  /** Tool calls: id, name and the joined argument JSON. */
  toolCalls?: { id: string; name: string; arguments: string }[];
  /** The provider's raw stop reason, when the stream reaches one. */
  stopReason?: string;
  /** Token usage as the provider reports it. */
  usage?: { input: number; output: number; total: number };
  /** The in-stream error, when the stream ends with one. */
  error?: { type: string; message: string };
}

/** One generated fixture: its description and its bytes. */
export interface Fixture {
  description: FixtureDescription;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();

// A small seeded PRNG (mulberry32) so padding lengths look random yet never change.
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PADDING_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Builds Bedrock ConverseStream frames the way the service does (with the `p` padding field). */
class BedrockStreamWriter {
  readonly frames: Uint8Array[] = [];
  #random: () => number;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  /** Bedrock pads every event payload with `p`, a prefix of the alphabet of random length. */
  #padding(): string {
    return PADDING_ALPHABET.slice(
      0,
      1 + Math.floor(this.#random() * (PADDING_ALPHABET.length - 1)),
    );
  }

  event(eventType: string, body: Record<string, unknown>): this {
    const message: EventStreamMessage = {
      headers: {
        ":event-type": { type: "string", value: eventType },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      payload: encoder.encode(JSON.stringify({ ...body, p: this.#padding() })),
    };
    this.frames.push(encodeEventStreamMessage(message));
    return this;
  }

  exception(exceptionType: string, message: string): this {
    this.frames.push(encodeEventStreamMessage({
      headers: {
        ":exception-type": { type: "string", value: exceptionType },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "exception" },
      },
      payload: encoder.encode(JSON.stringify({ message })),
    }));
    return this;
  }

  textDeltas(blockIndex: number, pieces: string[]): this {
    for (const text of pieces) {
      this.event("contentBlockDelta", { contentBlockIndex: blockIndex, delta: { text } });
    }
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const frame of this.frames) {
      out.set(frame, at);
      at += frame.length;
    }
    return out;
  }
}

function sseBytes(events: SseEvent[]): Uint8Array {
  return encoder.encode(events.map(encodeSseEvent).join(""));
}

const TEXT_PIECES = [
  "Hello",
  "! llmwire",
  " decodes",
  " AWS EventStream",
  " and Server-Sent",
  " Events as web",
  " streams — ",
  "frame by frame,",
  " byte for byte.",
];
const TEXT = TEXT_PIECES.join("");

function bedrockText(): Fixture {
  const w = new BedrockStreamWriter(1)
    .event("messageStart", { role: "assistant" })
    .textDeltas(0, TEXT_PIECES)
    .event("contentBlockStop", { contentBlockIndex: 0 })
    .event("messageStop", { stopReason: "end_turn" })
    .event("metadata", {
      usage: { inputTokens: 14, outputTokens: 23, totalTokens: 37 },
      metrics: { latencyMs: 412 },
    });
  return {
    bytes: w.bytes(),
    description: {
      file: "bedrock/converse_stream_text.bin",
      contentType: "application/vnd.amazon.eventstream",
      frames: w.frames.length,
      text: TEXT,
      stopReason: "end_turn",
      usage: { input: 14, output: 23, total: 37 },
    },
  };
}

const TOOL_PREAMBLE = ["Let me", " check the", " weather in Lisbon."];
const TOOL_INPUT = ['{"city"', ': "Lisb', 'on", "unit": ', '"celsius"}'];

function bedrockToolUse(): Fixture {
  const w = new BedrockStreamWriter(2)
    .event("messageStart", { role: "assistant" })
    .textDeltas(0, TOOL_PREAMBLE)
    .event("contentBlockStop", { contentBlockIndex: 0 })
    .event("contentBlockStart", {
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: "tooluse_Zk3xQ9vLTwWm1nYb2c4dEf", name: "get_weather" } },
    });
  for (const input of TOOL_INPUT) {
    w.event("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input } } });
  }
  w.event("contentBlockStop", { contentBlockIndex: 1 })
    .event("messageStop", { stopReason: "tool_use" })
    .event("metadata", {
      usage: { inputTokens: 391, outputTokens: 58, totalTokens: 449 },
      metrics: { latencyMs: 980 },
    });
  return {
    bytes: w.bytes(),
    description: {
      file: "bedrock/converse_stream_tool_use.bin",
      contentType: "application/vnd.amazon.eventstream",
      frames: w.frames.length,
      text: TOOL_PREAMBLE.join(""),
      toolCalls: [{
        id: "tooluse_Zk3xQ9vLTwWm1nYb2c4dEf",
        name: "get_weather",
        arguments: TOOL_INPUT.join(""),
      }],
      stopReason: "tool_use",
      usage: { input: 391, output: 58, total: 449 },
    },
  };
}

const REASONING_PIECES = [
  "The user",
  " asks for 17 × 23.",
  " 17 × 20 = 340, 17 × 3 = 51,",
  " so 391.",
];
const REASONING_ANSWER = ["17 × 23", " = **391**."];
const REASONING_SIGNATURE =
  "ErUBCkYIBRgCIkBxbG13aXJlIGZpeHR1cmUgc2lnbmF0dXJlIC0gbm90IGEgcmVhbCBvbmUAEgxsbG13aXJlLXRlc3Q=";

function bedrockReasoning(): Fixture {
  const w = new BedrockStreamWriter(3).event("messageStart", { role: "assistant" });
  for (const text of REASONING_PIECES) {
    w.event("contentBlockDelta", { contentBlockIndex: 0, delta: { reasoningContent: { text } } });
  }
  w.event("contentBlockDelta", {
    contentBlockIndex: 0,
    delta: { reasoningContent: { signature: REASONING_SIGNATURE } },
  })
    .event("contentBlockStop", { contentBlockIndex: 0 })
    .textDeltas(1, REASONING_ANSWER)
    .event("contentBlockStop", { contentBlockIndex: 1 })
    .event("messageStop", { stopReason: "end_turn" })
    .event("metadata", {
      usage: { inputTokens: 44, outputTokens: 96, totalTokens: 140 },
      metrics: { latencyMs: 2210 },
    });
  return {
    bytes: w.bytes(),
    description: {
      file: "bedrock/converse_stream_reasoning.bin",
      contentType: "application/vnd.amazon.eventstream",
      frames: w.frames.length,
      text: REASONING_ANSWER.join(""),
      reasoning: REASONING_PIECES.join(""),
      stopReason: "end_turn",
      usage: { input: 44, output: 96, total: 140 },
    },
  };
}

const THROTTLED_PIECES = ["Sure, here is", " the first part"];
const THROTTLING_MESSAGE = "Too many tokens, please wait before trying again.";

function bedrockThrottling(): Fixture {
  const w = new BedrockStreamWriter(4)
    .event("messageStart", { role: "assistant" })
    .textDeltas(0, THROTTLED_PIECES)
    .exception("throttlingException", THROTTLING_MESSAGE);
  return {
    bytes: w.bytes(),
    description: {
      file: "bedrock/converse_stream_throttling.bin",
      contentType: "application/vnd.amazon.eventstream",
      frames: w.frames.length,
      text: THROTTLED_PIECES.join(""),
      error: { type: "throttlingException", message: THROTTLING_MESSAGE },
    },
  };
}

const OPENAI_ID = "chatcmpl-LLMWIRE0000000000000000001";
const OPENAI_MODEL = "gpt-4o-mini-2024-07-18";
const OPENAI_CREATED = 1764057600;

function openaiChunk(
  choices: unknown[],
  usage: unknown = null,
): SseEvent {
  return {
    data: JSON.stringify({
      id: OPENAI_ID,
      object: "chat.completion.chunk",
      created: OPENAI_CREATED,
      model: OPENAI_MODEL,
      service_tier: "default",
      system_fingerprint: "fp_560af6e559",
      choices,
      usage,
    }),
  };
}

function openaiUsage(prompt: number, completion: number) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function openaiText(): Fixture {
  const events: SseEvent[] = [
    openaiChunk([{
      index: 0,
      delta: { role: "assistant", content: "", refusal: null },
      logprobs: null,
      finish_reason: null,
    }]),
    ...TEXT_PIECES.map((content) =>
      openaiChunk([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }])
    ),
    openaiChunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]),
    openaiChunk([], openaiUsage(14, 23)),
    { data: "[DONE]" },
  ];
  return {
    bytes: sseBytes(events),
    description: {
      file: "openai/chat_stream_text.sse",
      contentType: "text/event-stream",
      frames: events.length,
      text: TEXT,
      stopReason: "stop",
      usage: { input: 14, output: 23, total: 37 },
    },
  };
}

const OPENAI_TOOL_ARGS = ['{"', 'city":"', "Lisbon", '","unit":"celsius"}'];

function openaiToolCalls(): Fixture {
  const toolCallId = "call_LLMWIRE7fX2kq9Lm3Np0Qr";
  const events: SseEvent[] = [
    openaiChunk([{
      index: 0,
      delta: {
        role: "assistant",
        content: null,
        tool_calls: [{
          index: 0,
          id: toolCallId,
          type: "function",
          function: { name: "get_weather", arguments: "" },
        }],
        refusal: null,
      },
      logprobs: null,
      finish_reason: null,
    }]),
    ...OPENAI_TOOL_ARGS.map((args) =>
      openaiChunk([{
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: args } }] },
        logprobs: null,
        finish_reason: null,
      }])
    ),
    openaiChunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }]),
    openaiChunk([], openaiUsage(82, 17)),
    { data: "[DONE]" },
  ];
  return {
    bytes: sseBytes(events),
    description: {
      file: "openai/chat_stream_tool_calls.sse",
      contentType: "text/event-stream",
      frames: events.length,
      text: "",
      toolCalls: [{ id: toolCallId, name: "get_weather", arguments: OPENAI_TOOL_ARGS.join("") }],
      stopReason: "tool_calls",
      usage: { input: 82, output: 17, total: 99 },
    },
  };
}

const ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929";

function anthropicEvent(type: string, body: Record<string, unknown>): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...body }) };
}

function anthropicMessageStart(id: string, inputTokens: number): SseEvent {
  return anthropicEvent("message_start", {
    message: {
      model: ANTHROPIC_MODEL,
      id,
      type: "message",
      role: "assistant",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: inputTokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 1,
        service_tier: "standard",
      },
    },
  });
}

function anthropicText(): Fixture {
  const events: SseEvent[] = [
    anthropicMessageStart("msg_01LLMWIRE3dQ7Vx8Yt2Kp5Hs", 14),
    anthropicEvent("content_block_start", {
      index: 0,
      content_block: { type: "text", text: "" },
    }),
    anthropicEvent("ping", {}),
    ...TEXT_PIECES.map((text) =>
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text } })
    ),
    anthropicEvent("content_block_stop", { index: 0 }),
    anthropicEvent("message_delta", {
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 23 },
    }),
    anthropicEvent("message_stop", {}),
  ];
  return {
    bytes: sseBytes(events),
    description: {
      file: "anthropic/messages_stream_text.sse",
      contentType: "text/event-stream",
      frames: events.length,
      text: TEXT,
      stopReason: "end_turn",
      usage: { input: 14, output: 23, total: 37 },
    },
  };
}

function anthropicToolUse(): Fixture {
  const toolId = "toolu_01LLMWIRE9cV4bN6mQ2wE8rT";
  const events: SseEvent[] = [
    anthropicMessageStart("msg_01LLMWIRE8hJ2kL4mN6pQ8rS", 391),
    anthropicEvent("content_block_start", {
      index: 0,
      content_block: { type: "text", text: "" },
    }),
    ...TOOL_PREAMBLE.map((text) =>
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text } })
    ),
    anthropicEvent("content_block_stop", { index: 0 }),
    anthropicEvent("content_block_start", {
      index: 1,
      content_block: { type: "tool_use", id: toolId, name: "get_weather", input: {} },
    }),
    anthropicEvent("content_block_delta", {
      index: 1,
      delta: { type: "input_json_delta", partial_json: "" },
    }),
    ...TOOL_INPUT.map((partial_json) =>
      anthropicEvent("content_block_delta", {
        index: 1,
        delta: { type: "input_json_delta", partial_json },
      })
    ),
    anthropicEvent("content_block_stop", { index: 1 }),
    anthropicEvent("message_delta", {
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 58 },
    }),
    anthropicEvent("message_stop", {}),
  ];
  return {
    bytes: sseBytes(events),
    description: {
      file: "anthropic/messages_stream_tool_use.sse",
      contentType: "text/event-stream",
      frames: events.length,
      text: TOOL_PREAMBLE.join(""),
      toolCalls: [{ id: toolId, name: "get_weather", arguments: TOOL_INPUT.join("") }],
      stopReason: "tool_use",
      usage: { input: 391, output: 58, total: 449 },
    },
  };
}

/** Every fixture the project ships, in a stable order. */
export function buildFixtures(): Fixture[] {
  return [
    bedrockText(),
    bedrockToolUse(),
    bedrockReasoning(),
    bedrockThrottling(),
    openaiText(),
    openaiToolCalls(),
    anthropicText(),
    anthropicToolUse(),
  ];
}

/** The text of `fixtures/index.json` for the given fixtures. */
export function fixtureIndexJson(fixtures: Fixture[]): string {
  return JSON.stringify(fixtures.map((f) => f.description), null, 2) + "\n";
}

if (import.meta.main) {
  const root = new URL("../fixtures/", import.meta.url);
  const fixtures = buildFixtures();
  for (const { description, bytes } of fixtures) {
    const url = new URL(description.file, root);
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeFile(url, bytes);
    console.log(`wrote fixtures/${description.file} (${bytes.length} bytes)`);
  }
  await Deno.writeTextFile(new URL("index.json", root), fixtureIndexJson(fixtures));
  console.log("wrote fixtures/index.json");
}
