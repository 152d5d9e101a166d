/**
 * OpenAI Chat Completions streaming: the decoder and encoder on hand-made inputs, on every
 * recorded chat stream of the shared corpora (real OpenAI captures and Apache APISIX's gateway
 * fixtures, at many chunkings), on the project's fixtures, and decode → encode → decode round
 * trips. Corpus tests are skipped with a notice when `../shared/corpora` is absent.
 */
import assert from "node:assert/strict";
import {
  encodeSseEvent,
  SseDecoder,
  type SseDecoderOptions,
  SseDecoderStream,
  SseEncoderStream,
  type SseEvent,
} from "../src/framing/mod.ts";
import {
  createUsage,
  type LlmErrorEvent,
  type LlmEvent,
  type Usage,
} from "../src/protocols/events.ts";
import {
  OpenAIChatDecoder,
  OpenAIChatDecoderStream,
  OpenAIChatEncoder,
  type OpenAIChatEncoderOptions,
  OpenAIChatEncoderStream,
  parseOpenAIChatError,
} from "../src/protocols/openai_chat.ts";
import {
  chunkings,
  collect,
  corporaPresent,
  listCorpus,
  readCorpusBytes,
  readCorpusText,
} from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const SSE_OPTIONS: SseDecoderOptions = { flushIncompleteEvent: true };

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

interface Summary {
  id?: string;
  model?: string;
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  stopReason?: string;
  rawStopReason?: string | null;
  usage?: Usage;
  error?: { kind: string; status: number; message: string; providerType?: string };
}

function summarize(events: LlmEvent[]): Summary {
  const summary: Summary = { text: "", reasoning: "", toolCalls: [] };
  const calls = new Map<number, ToolCall>();
  for (const event of events) {
    switch (event.type) {
      case "message_start":
        summary.id = event.id;
        summary.model = event.model;
        break;
      case "text_delta":
        summary.text += event.text;
        break;
      case "reasoning_delta":
        if (event.kind === "text") summary.reasoning += event.text;
        break;
      case "tool_call_start": {
        const call = { id: event.id, name: event.name, arguments: "" };
        calls.set(event.index, call);
        summary.toolCalls.push(call);
        break;
      }
      case "tool_call_delta":
        calls.get(event.index)!.arguments += event.arguments;
        break;
      case "message_stop":
        summary.stopReason = event.stopReason;
        summary.rawStopReason = event.rawStopReason;
        break;
      case "usage":
        summary.usage = event.usage;
        break;
      case "error": {
        const { kind, status, message, providerType } = event;
        summary.error = { kind, status, message };
        if (providerType !== undefined) summary.error.providerType = providerType;
        break;
      }
    }
  }
  return summary;
}

/**
 * The contract every decoder output keeps: `message_start` first, block indices numbered 0, 1, 2…
 * in order of first appearance, no fragment after its block's `block_stop`, every open block
 * closed before the one `message_stop`, nothing after an `error`, and a stream that did not fail
 * has a `message_stop`.
 */
function assertWellFormed(events: LlmEvent[]): void {
  const open = new Set<number>();
  const closed = new Set<number>();
  let nextIndex = 0;
  let started = false;
  let stopped = false;
  let failed = false;
  for (const [i, event] of events.entries()) {
    assert.ok(!failed, `event ${i} (${event.type}) follows an error`);
    switch (event.type) {
      case "message_start":
        assert.equal(i, 0, "message_start comes first");
        started = true;
        break;
      case "error":
        failed = true;
        break;
      case "usage":
        assert.ok(started, "usage after message_start");
        break;
      case "message_stop":
        assert.ok(started && !stopped, "one message_stop, after message_start");
        assert.deepEqual([...open], [], "every block is closed before message_stop");
        stopped = true;
        break;
      case "block_stop":
        assert.ok(open.delete(event.index), `block_stop ${event.index} closes an open block`);
        closed.add(event.index);
        break;
      default:
        assert.ok(started && !stopped, `${event.type} inside the message`);
        assert.ok(!closed.has(event.index), `${event.type} after block_stop ${event.index}`);
        if (!open.has(event.index)) {
          assert.equal(event.index, nextIndex++, "blocks are numbered in order of appearance");
          assert.notEqual(event.type, "tool_call_delta", "a tool call starts with its start");
          open.add(event.index);
        } else {
          assert.notEqual(event.type, "tool_call_start", "a block starts once");
        }
    }
  }
  if (!failed) assert.ok(stopped, "a stream without error has a message_stop");
}

/** Frames and decodes with the synchronous cores (fast enough for every chunking). */
function decodeSync(chunks: Iterable<Uint8Array | string>, sse = SSE_OPTIONS): LlmEvent[] {
  const framing = new SseDecoder(sse);
  const decoder = new OpenAIChatDecoder();
  const out: LlmEvent[] = [];
  for (const chunk of chunks) {
    for (const event of framing.push(chunk)) out.push(...decoder.push(event));
  }
  for (const event of framing.end()) out.push(...decoder.push(event));
  out.push(...decoder.end());
  return out;
}

/** Frames and decodes with the web streams. */
function decodeStream(
  chunks: Iterable<Uint8Array | string>,
  sse = SSE_OPTIONS,
): Promise<LlmEvent[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks)
      .pipeThrough(new SseDecoderStream(sse))
      .pipeThrough(new OpenAIChatDecoderStream()),
  );
}

/** Decodes SSE events given as chunk objects (`data: JSON`), then `[DONE]` unless told not to. */
function decodeChunks(chunks: unknown[], done = true): LlmEvent[] {
  const decoder = new OpenAIChatDecoder();
  const out: LlmEvent[] = [];
  for (const chunk of chunks) {
    out.push(...decoder.push(typeof chunk === "string" ? { data: chunk } : { data: json(chunk) }));
  }
  if (done) out.push(...decoder.push({ data: "[DONE]" }));
  out.push(...decoder.end());
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function chunk(delta: Record<string, unknown>, finishReason: string | null = null, extra = {}) {
  return {
    id: "chatcmpl-t",
    object: "chat.completion.chunk",
    created: 1700000000,
    model: "gpt-test",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...extra,
  };
}

function encodeAll(events: LlmEvent[], options: OpenAIChatEncoderOptions = {}): SseEvent[] {
  const encoder = new OpenAIChatEncoder(options);
  return [...events.flatMap((event) => encoder.push(event)), ...encoder.end()];
}

function withoutProviderType(events: LlmEvent[]): LlmEvent[] {
  return events.map((event) => {
    if (event.type !== "error") return event;
    const { providerType: _, ...rest } = event;
    return rest;
  });
}

/** decode → encode (stream) → SSE bytes → decode (stream). */
async function roundTrip(events: LlmEvent[]): Promise<LlmEvent[]> {
  return await Array.fromAsync(
    ReadableStream.from(events)
      .pipeThrough(new OpenAIChatEncoderStream({ includeUsage: true }))
      .pipeThrough(new SseEncoderStream())
      .pipeThrough(new SseDecoderStream())
      .pipeThrough(new OpenAIChatDecoderStream()),
  );
}

const START = {
  type: "message_start",
  id: "chatcmpl-t",
  model: "gpt-test",
  role: "assistant",
} as const;

// ---------------------------------------------------------------------------------------------
// Decoder: hand-made streams

Deno.test("OpenAIChatDecoder decodes role, content, finish_reason and the usage chunk", () => {
  const usage = {
    prompt_tokens: 40,
    completion_tokens: 9,
    total_tokens: 49,
    prompt_tokens_details: { cached_tokens: 32, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 4, audio_tokens: 0 },
  };
  const events = decodeChunks([
    chunk({ role: "assistant", content: "", refusal: null }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }),
    chunk({}, "stop"),
    { ...chunk({}), choices: [], usage, obfuscation: "abc" },
  ]);
  assert.deepEqual(events, [
    START,
    { type: "text_delta", index: 0, text: "Hel" },
    { type: "text_delta", index: 0, text: "lo" },
    { type: "block_stop", index: 0 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" },
    {
      type: "usage",
      usage: {
        inputTokens: 40,
        outputTokens: 9,
        totalTokens: 49,
        cacheReadTokens: 32,
        cacheWriteTokens: 0,
        reasoningTokens: 4,
      },
    },
  ]);
});

Deno.test("OpenAIChatDecoder numbers interleaved tool calls as blocks in order of appearance", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", content: "Checking both." }),
    // The first fragment of call 0 already carries arguments.
    chunk({
      tool_calls: [{
        index: 0,
        id: "call_a",
        type: "function",
        function: { name: "get_weather", arguments: '{"ci' },
      }],
    }),
    chunk({
      tool_calls: [{
        index: 1,
        id: "call_b",
        type: "function",
        function: { name: "get_time", arguments: "" },
      }],
    }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: '{"tz":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Lisbon"}' } }] }),
    // Two fragments in one chunk.
    chunk({
      tool_calls: [
        { index: 1, function: { arguments: '"UTC"' } },
        { index: 1, function: { arguments: "}" } },
      ],
    }),
    chunk({}, "tool_calls"),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events, [
    START,
    { type: "text_delta", index: 0, text: "Checking both." },
    { type: "block_stop", index: 0 },
    { type: "tool_call_start", index: 1, id: "call_a", name: "get_weather" },
    { type: "tool_call_delta", index: 1, arguments: '{"ci' },
    { type: "tool_call_start", index: 2, id: "call_b", name: "get_time" },
    { type: "tool_call_delta", index: 2, arguments: '{"tz":' },
    { type: "tool_call_delta", index: 1, arguments: 'ty":"Lisbon"}' },
    { type: "tool_call_delta", index: 2, arguments: '"UTC"' },
    { type: "tool_call_delta", index: 2, arguments: "}" },
    { type: "block_stop", index: 1 },
    { type: "block_stop", index: 2 },
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
  ]);
});

Deno.test("OpenAIChatDecoder: text and reasoning blocks close when another kind starts", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", reasoning_content: "a" }),
    chunk({ content: "b" }),
    chunk({ reasoning_content: "c" }),
    chunk({ tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "{}" } }] }),
    chunk({ content: "d" }),
    chunk({}, "tool_calls"),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events.slice(1), [
    { type: "reasoning_delta", index: 0, kind: "text", text: "a" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "b" },
    { type: "block_stop", index: 1 },
    { type: "reasoning_delta", index: 2, kind: "text", text: "c" },
    { type: "block_stop", index: 2 },
    { type: "tool_call_start", index: 3, id: "call_1", name: "f" },
    { type: "tool_call_delta", index: 3, arguments: "{}" },
    // Tool-call blocks stay open until finish_reason (fragments may interleave).
    { type: "text_delta", index: 4, text: "d" },
    { type: "block_stop", index: 3 },
    { type: "block_stop", index: 4 },
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
  ]);
});

Deno.test("OpenAIChatDecoder: a new id at a reused tool-call index is a new call", () => {
  const events = decodeChunks([
    chunk({
      role: "assistant",
      tool_calls: [{ index: 0, id: "call_1", function: { name: "a", arguments: "{}" } }],
    }),
    // Repeating the same id is the same call.
    chunk({ tool_calls: [{ index: 0, id: "call_1", function: { arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 0, id: "call_2", function: { name: "b", arguments: "{}" } }] }),
    chunk({}, "tool_calls"),
  ]);
  assertWellFormed(events);
  assert.deepEqual(summarize(events).toolCalls, [
    { id: "call_1", name: "a", arguments: "{}" },
    { id: "call_2", name: "b", arguments: "{}" },
  ]);
});

Deno.test("OpenAIChatDecoder reads legacy function_call deltas as a tool call", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", function_call: { name: "lookup", arguments: "" } }),
    chunk({ function_call: { arguments: '{"q":' } }),
    chunk({ function_call: { arguments: '"x"}' } }),
    chunk({}, "function_call"),
  ]);
  assertWellFormed(events);
  const summary = summarize(events);
  assert.equal(summary.toolCalls.length, 1);
  assert.equal(summary.toolCalls[0]!.name, "lookup");
  assert.equal(summary.toolCalls[0]!.arguments, '{"q":"x"}');
  assert.match(summary.toolCalls[0]!.id, /^call_/);
  assert.equal(summary.stopReason, "tool_use");
});

Deno.test("OpenAIChatDecoder: reasoning_content and reasoning deltas are reasoning text", () => {
  // DeepSeek style.
  const deepseek = decodeChunks([
    chunk({ role: "assistant", content: null, reasoning_content: "" }),
    chunk({ content: null, reasoning_content: "2+2: " }),
    chunk({ content: null, reasoning_content: "four." }),
    chunk({ content: "4", reasoning_content: null }),
    chunk({ content: "" }, "stop", {
      usage: {
        prompt_tokens: 10,
        completion_tokens: 20,
        total_tokens: 30,
        prompt_cache_hit_tokens: 6,
        prompt_cache_miss_tokens: 4,
        completion_tokens_details: { reasoning_tokens: 15 },
      },
    }),
  ]);
  assertWellFormed(deepseek);
  assert.deepEqual(deepseek, [
    START,
    { type: "reasoning_delta", index: 0, kind: "text", text: "2+2: " },
    { type: "reasoning_delta", index: 0, kind: "text", text: "four." },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "4" },
    { type: "block_stop", index: 1 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" },
    {
      type: "usage",
      usage: createUsage({
        inputTokens: 10,
        outputTokens: 20,
        cacheReadTokens: 6,
        reasoningTokens: 15,
      }),
    },
  ]);

  // OpenRouter style: reasoning plus reasoning_details (which repeat the text and carry the
  // signature / encrypted reasoning).
  const openrouter = decodeChunks([
    chunk({
      role: "assistant",
      content: "",
      reasoning: "Think",
      reasoning_details: [{ type: "reasoning.text", text: "Think", index: 0 }],
    }),
    chunk({
      content: "",
      reasoning: "ing.",
      reasoning_details: [{ type: "reasoning.text", text: "ing.", signature: "sig==", index: 0 }],
    }),
    chunk({
      content: "",
      reasoning_details: [{ type: "reasoning.encrypted", data: "opaque", index: 1 }],
    }),
    chunk({ content: "Done." }, "stop"),
  ]);
  assertWellFormed(openrouter);
  assert.deepEqual(openrouter.slice(1, 6), [
    { type: "reasoning_delta", index: 0, kind: "text", text: "Think" },
    { type: "reasoning_delta", index: 0, kind: "text", text: "ing." },
    { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig==" },
    { type: "reasoning_delta", index: 0, kind: "redacted", data: "opaque" },
    { type: "block_stop", index: 0 },
  ]);
  assert.equal(summarize(openrouter).text, "Done.");
  assert.equal(summarize(openrouter).reasoning, "Thinking.");
});

Deno.test("OpenAIChatDecoder: a refusal is text", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", content: null, refusal: "" }),
    chunk({ refusal: "I can't help" }),
    chunk({ refusal: " with that." }),
    chunk({}, "stop"),
  ]);
  assertWellFormed(events);
  assert.equal(summarize(events).text, "I can't help with that.");
});

Deno.test("OpenAIChatDecoder turns url_citation annotations into citations", () => {
  const annotation = {
    type: "url_citation",
    url_citation: { start_index: 0, end_index: 5, title: "Example", url: "https://example.com/" },
  };
  const events = decodeChunks([
    chunk({ role: "assistant", content: "Hello" }),
    chunk({ annotations: [annotation] }),
    chunk({}, "stop"),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events[2], {
    type: "citation",
    index: 0,
    citation: { title: "Example", url: "https://example.com/", raw: annotation },
  });
});

Deno.test("OpenAIChatDecoder maps every finish_reason", () => {
  const cases: [string, string][] = [
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["function_call", "tool_use"],
    ["content_filter", "content_filter"],
    ["error", "error"],
    ["eos", "other"],
    ["end_turn", "other"],
  ];
  for (const [raw, stopReason] of cases) {
    const events = decodeChunks([chunk({ content: "x" }, raw)]);
    assert.deepEqual(events.at(-1), { type: "message_stop", stopReason, rawStopReason: raw });
  }
});

Deno.test("OpenAIChatDecoder emits message_stop once and ignores content after it", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", content: "Hi" }),
    chunk({ content: "" }, "stop"),
    chunk({ content: "late" }, "stop", { usage: { prompt_tokens: 3, completion_tokens: 1 } }),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events.map((e) => e.type), [
    "message_start",
    "text_delta",
    "block_stop",
    "message_stop",
    "usage",
  ]);
  assert.equal(summarize(events).text, "Hi");
  assert.equal(summarize(events).usage?.totalTokens, 4);
});

Deno.test("OpenAIChatDecoder: usage before the finish and usage inside it", () => {
  // Some servers send cumulative usage on every chunk: each is a usage event when it arrives.
  const events = decodeChunks([
    chunk({ role: "assistant", content: "a" }, null, {
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    }),
    chunk({ content: "b" }, "stop", {
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events.map((e) => e.type), [
    "message_start",
    "text_delta",
    "usage",
    "text_delta",
    "block_stop",
    "message_stop",
    "usage",
  ]);
  assert.equal(summarize(events).usage?.outputTokens, 2);
});

Deno.test("OpenAIChatDecoder skips Azure's leading prompt_filter_results chunk", () => {
  const events = decodeChunks([
    {
      choices: [],
      created: 0,
      id: "",
      model: "",
      object: "",
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    },
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hi" }, "stop"),
  ]);
  assertWellFormed(events);
  assert.deepEqual(events[0], START);
});

Deno.test("OpenAIChatDecoder uses the options' id and model when the chunks have none", () => {
  const decoder = new OpenAIChatDecoder({ id: "req-9", model: "fallback" });
  const [start] = decoder.push({
    data: json({ choices: [{ index: 0, delta: { content: "x" } }] }),
  });
  assert.deepEqual(start, {
    type: "message_start",
    id: "req-9",
    model: "fallback",
    role: "assistant",
  });
  const generated = new OpenAIChatDecoder().push({ data: json({ choices: [{ delta: {} }] }) });
  assert.equal(generated[0]?.type, "message_start");
  assert.match((generated[0] as { id: string }).id, /^msg_[0-9a-f]{32}$/);
  assert.equal((generated[0] as { model: string }).model, "");
});

Deno.test("OpenAIChatDecoder ignores choices other than 0", () => {
  const events = decodeChunks([
    {
      ...chunk({}),
      choices: [
        { index: 1, delta: { role: "assistant", content: "second" }, finish_reason: null },
        { index: 0, delta: { role: "assistant", content: "first" }, finish_reason: null },
      ],
    },
    { ...chunk({}), choices: [{ index: 1, delta: {}, finish_reason: "length" }] },
    chunk({}, "stop"),
  ]);
  assertWellFormed(events);
  assert.equal(summarize(events).text, "first");
  assert.equal(summarize(events).rawStopReason, "stop");
});

Deno.test("OpenAIChatDecoder turns error chunks into error events", () => {
  const cases: [unknown, Omit<LlmErrorEvent, "type" | "message">][] = [
    [
      { message: "m", type: "tokens", param: null, code: "rate_limit_exceeded" },
      { kind: "rate_limit", status: 429, providerType: "rate_limit_exceeded" },
    ],
    [
      { message: "m", type: "insufficient_quota", param: null, code: "insufficient_quota" },
      { kind: "rate_limit", status: 429, providerType: "insufficient_quota" },
    ],
    [
      { message: "m", type: "server_error", param: null, code: null },
      { kind: "server_error", status: 500, providerType: "server_error" },
    ],
    [
      { message: "m", type: "invalid_request_error", code: "context_length_exceeded" },
      { kind: "invalid_request", status: 400, providerType: "context_length_exceeded" },
    ],
    [
      { message: "m", type: "invalid_request_error", code: "invalid_api_key" },
      { kind: "authentication", status: 401, providerType: "invalid_api_key" },
    ],
    // OpenRouter: numeric codes are HTTP statuses.
    [{ code: 429, message: "m" }, { kind: "rate_limit", status: 429 }],
    [{ code: 502, message: "m", metadata: {} }, { kind: "protocol_error", status: 502 }],
    [{ code: "503", message: "m" }, { kind: "overloaded", status: 503, providerType: "503" }],
    [{ message: "m", type: "overloaded_error" }, {
      kind: "overloaded",
      status: 503,
      providerType: "overloaded_error",
    }],
    [{ message: "m", type: "something_new" }, {
      kind: "server_error",
      status: 500,
      providerType: "something_new",
    }],
  ];
  for (const [error, expected] of cases) {
    assert.deepEqual(
      parseOpenAIChatError(error),
      { type: "error", message: "m", ...expected },
      json(error),
    );
    const events = decodeChunks([chunk({ role: "assistant", content: "x" }), { error }], false);
    assert.deepEqual(events.at(-1), { type: "error", message: "m", ...expected });
    assertWellFormed(events);
  }
  assert.equal(
    parseOpenAIChatError({ type: "server_error" }).message,
    'OpenAI error {"type":"server_error"}',
  );
  assert.deepEqual(parseOpenAIChatError("boom"), {
    type: "error",
    kind: "server_error",
    message: "boom",
    status: 500,
  });
});

Deno.test("OpenAIChatDecoder: an SSE error event is an error, and nothing follows an error", () => {
  const decoder = new OpenAIChatDecoder();
  assert.equal(decoder.push({ data: json(chunk({ content: "x" })) }).length, 2);
  assert.deepEqual(
    decoder.push({
      event: "error",
      data: json({ error: { message: "gone", type: "server_error" } }),
    }),
    [{
      type: "error",
      kind: "server_error",
      message: "gone",
      status: 500,
      providerType: "server_error",
    }],
  );
  assert.deepEqual(decoder.push({ data: json(chunk({ content: "more" }, "stop")) }), []);
  assert.deepEqual(decoder.end(), []);

  const plain = new OpenAIChatDecoder();
  assert.deepEqual(plain.push({ event: "error", data: "upstream timed out" }), [
    { type: "error", kind: "server_error", message: "upstream timed out", status: 500 },
  ]);
});

Deno.test("OpenAIChatDecoder: data that is not a chat chunk is a protocol_error", () => {
  const cases: [SseEvent, RegExp][] = [
    [{ data: "not json" }, /expected a JSON chat\.completion\.chunk, got "not json"/],
    [{ data: "[1,2]" }, /expected a JSON chat\.completion\.chunk/],
    [{ data: "{}" }, /protocol mismatch/],
    [{ data: json({ choices: "nope" }) }, /protocol mismatch/],
    [
      { data: json({ type: "content_block_delta", index: 0, delta: {} }) },
      /"content_block_delta".*Anthropic Messages/,
    ],
    [{ event: "response.created", data: "{}" }, /"response\.created".*OpenAI Responses API/],
    [{ event: "ping", data: "{}" }, /"ping".*Anthropic/],
    [
      { data: json({ object: "text_completion", choices: [{ text: "x", index: 0 }] }) },
      /text_completion.*\/v1\/completions/,
    ],
  ];
  for (const [event, pattern] of cases) {
    const decoder = new OpenAIChatDecoder();
    const [error, ...rest] = decoder.push(event);
    assert.equal(rest.length, 0);
    assert.equal(error?.type, "error");
    assert.equal((error as LlmErrorEvent).kind, "protocol_error");
    assert.equal((error as LlmErrorEvent).status, 502);
    assert.match((error as LlmErrorEvent).message, pattern);
    assert.deepEqual(decoder.end(), []);
  }
});

Deno.test("OpenAIChatDecoder: a stream that ends without finish_reason is a protocol_error", () => {
  const cut = decodeChunks([chunk({ role: "assistant", content: "Hel" })], false);
  assertWellFormed(cut);
  assert.deepEqual(cut.at(-1), {
    type: "error",
    kind: "protocol_error",
    status: 502,
    message: "OpenAI chat stream ended without a finish_reason (the response was cut off)",
  });
  const done = decodeChunks([chunk({ role: "assistant", content: "Hel" })], true);
  assert.match((done.at(-1) as LlmErrorEvent).message, /reached \[DONE\] without a finish_reason/);
  assert.match(
    (decodeChunks([], false)[0] as LlmErrorEvent).message,
    /ended before its first chunk/,
  );
  assert.match((decodeChunks([], true)[0] as LlmErrorEvent).message, /no chunk before \[DONE\]/);
  // A finish_reason without [DONE] is complete.
  const noDone = decodeChunks([chunk({ content: "x" }, "stop")], false);
  assertWellFormed(noDone);
  assert.equal(noDone.at(-1)?.type, "message_stop");
});

Deno.test("OpenAIChatDecoder skips empty data frames and ignores everything after [DONE]", () => {
  const decoder = new OpenAIChatDecoder();
  assert.deepEqual(decoder.push({ data: "" }), []);
  assert.deepEqual(decoder.push({ data: " " }), []);
  assert.equal(decoder.push({ data: json(chunk({ content: "x" }, "stop")) }).length, 4);
  assert.deepEqual(decoder.push({ data: "[DONE]" }), []);
  assert.deepEqual(decoder.push({ data: "garbage after done" }), []);
  assert.deepEqual(decoder.end(), []);
});

Deno.test("OpenAI framing: flushIncompleteEvent keeps a last event that lacks its blank line", async () => {
  const body = `data: ${json(chunk({ role: "assistant", content: "Hi" }))}\n\n` +
    `data: ${json(chunk({}, "stop"))}\n`;
  const flushed = await decodeStream([body]);
  assertWellFormed(flushed);
  assert.equal(flushed.at(-1)?.type, "message_stop");
  // Without the option the SSE decoder drops the unterminated finish chunk, as the WHATWG
  // algorithm says, and the decoder reports the cut.
  const strict = await decodeStream([body], {});
  assert.equal(strict.at(-1)?.type, "error");
  assert.equal((strict.at(-1) as LlmErrorEvent).kind, "protocol_error");
});

Deno.test("OpenAIChatDecoderStream passes framing errors through as stream errors", async () => {
  const body = ReadableStream.from([`data: ${"x".repeat(100)}\n\n`])
    .pipeThrough(new SseDecoderStream({ maxEventBytes: 10 }))
    .pipeThrough(new OpenAIChatDecoderStream());
  await assert.rejects(Array.fromAsync(body), (error: Error) => error.name === "SseError");
});

// ---------------------------------------------------------------------------------------------
// Encoder

const ENCODER_OPTIONS = { created: 1700000000, includeUsage: true } as const;
const PREFIX = '{"id":"chatcmpl-e","object":"chat.completion.chunk","created":1700000000,' +
  '"model":"gpt-e",';

const TOOL_EVENTS: LlmEvent[] = [
  { type: "message_start", id: "chatcmpl-e", model: "gpt-e", role: "assistant" },
  { type: "reasoning_delta", index: 0, kind: "text", text: "Plan." },
  { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig" },
  { type: "block_stop", index: 0 },
  { type: "text_delta", index: 1, text: "On it." },
  { type: "block_stop", index: 1 },
  { type: "tool_call_start", index: 2, id: "call_1", name: "f" },
  { type: "tool_call_delta", index: 2, arguments: '{"a":' },
  { type: "tool_call_start", index: 3, id: "call_2", name: "g" },
  { type: "tool_call_delta", index: 3, arguments: "{}" },
  { type: "tool_call_delta", index: 2, arguments: "1}" },
  { type: "block_stop", index: 2 },
  { type: "block_stop", index: 3 },
  { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
  {
    type: "usage",
    usage: createUsage({
      inputTokens: 100,
      outputTokens: 20,
      cacheReadTokens: 64,
      reasoningTokens: 5,
    }),
  },
];

Deno.test("OpenAIChatEncoder writes the chunks OpenAI writes", () => {
  const frames = encodeAll(TOOL_EVENTS, ENCODER_OPTIONS);
  const delta = (d: string) =>
    `${PREFIX}"choices":[{"index":0,"delta":${d},"logprobs":null,"finish_reason":null}],"usage":null}`;
  assert.deepEqual(frames.map((f) => f.data), [
    delta('{"role":"assistant","content":""}'),
    delta('{"reasoning_content":"Plan."}'),
    delta('{"content":"On it."}'),
    delta(
      '{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}',
    ),
    delta('{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":"}}]}'),
    delta(
      '{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"g","arguments":""}}]}',
    ),
    delta('{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}'),
    delta('{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}'),
    `${PREFIX}"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}`,
    `${PREFIX}"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,` +
    `"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":5}}}`,
    "[DONE]",
  ]);
  assert.ok(frames.every((f) => f.event === undefined && f.id === undefined));
});

Deno.test("OpenAIChatEncoder without includeUsage writes no usage field and no usage chunk", () => {
  const frames = encodeAll(TOOL_EVENTS, { created: 1700000000 });
  assert.equal(frames.length, 10);
  for (const frame of frames.slice(0, -1)) {
    const parsed = JSON.parse(frame.data);
    assert.ok(!("usage" in parsed));
    assert.equal(parsed.choices.length, 1);
  }
  assert.deepEqual(frames.at(-1), { data: "[DONE]" });
});

Deno.test("OpenAIChatEncoder holds usage that arrives before message_stop until the end", () => {
  const frames = encodeAll([
    { type: "message_start", id: "chatcmpl-e", model: "gpt-e", role: "assistant" },
    { type: "usage", usage: createUsage({ inputTokens: 7, outputTokens: 0 }) },
    { type: "text_delta", index: 0, text: "x" },
    { type: "block_stop", index: 0 },
    { type: "usage", usage: createUsage({ inputTokens: 7, outputTokens: 1 }) },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
    { type: "usage", usage: createUsage({ inputTokens: 7, outputTokens: 3, cacheWriteTokens: 2 }) },
  ], ENCODER_OPTIONS);
  const parsed = frames.slice(0, -1).map((f) => JSON.parse(f.data));
  assert.deepEqual(parsed.map((p) => p.choices.length ? p.choices[0].finish_reason : "usage"), [
    null,
    null,
    "stop",
    "usage",
  ]);
  assert.deepEqual(parsed[3].usage, {
    prompt_tokens: 7,
    completion_tokens: 3,
    total_tokens: 10,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 2 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  assert.deepEqual(frames.at(-1), { data: "[DONE]" });
});

Deno.test("OpenAIChatEncoder maps every stop reason", () => {
  const cases: [LlmEvent & { type: "message_stop" }, string][] = [
    [{ type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" }, "stop"],
    [{ type: "message_stop", stopReason: "stop_sequence", rawStopReason: "x" }, "stop"],
    [{ type: "message_stop", stopReason: "max_tokens", rawStopReason: "x" }, "length"],
    [{ type: "message_stop", stopReason: "context_window_exceeded", rawStopReason: "x" }, "length"],
    [{ type: "message_stop", stopReason: "tool_use", rawStopReason: "x" }, "tool_calls"],
    [{ type: "message_stop", stopReason: "content_filter", rawStopReason: "x" }, "content_filter"],
    [{ type: "message_stop", stopReason: "guardrail", rawStopReason: "x" }, "content_filter"],
    [{ type: "message_stop", stopReason: "error", rawStopReason: "x" }, "stop"],
    [{ type: "message_stop", stopReason: "other", rawStopReason: null }, "stop"],
  ];
  for (const [stop, finishReason] of cases) {
    const events: LlmEvent[] = [START, stop];
    if (stop.stopReason === "tool_use") {
      events.splice(1, 0, { type: "tool_call_start", index: 0, id: "c", name: "n" }, {
        type: "block_stop",
        index: 0,
      });
    }
    const frames = encodeAll(events);
    assert.equal(JSON.parse(frames.at(-2)!.data).choices[0].finish_reason, finishReason);
  }
});

Deno.test("OpenAIChatEncoder: ids, model, created and fingerprint are stable; options win", () => {
  const before = Math.floor(Date.now() / 1000);
  const frames = encodeAll([
    { type: "message_start", id: "msg_01", model: "claude-x", role: "assistant" },
    { type: "text_delta", index: 0, text: "a" },
    { type: "text_delta", index: 0, text: "b" },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
  const after = Math.floor(Date.now() / 1000);
  const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
  assert.equal(chunks.length, 4);
  const created = chunks[0].created;
  assert.ok(created >= before && created <= after);
  for (const c of chunks) {
    assert.equal(c.id, "msg_01");
    assert.equal(c.model, "claude-x");
    assert.equal(c.created, created);
    assert.equal(c.object, "chat.completion.chunk");
    assert.ok(!("system_fingerprint" in c));
  }
  const overridden = encodeAll([
    { type: "message_start", id: "msg_01", model: "claude-x", role: "assistant" },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ], { id: "chatcmpl-own", model: "gpt-alias", created: 5, systemFingerprint: "fp_1" });
  for (const frame of overridden.slice(0, -1)) {
    const c = JSON.parse(frame.data);
    assert.deepEqual([c.id, c.model, c.created, c.system_fingerprint], [
      "chatcmpl-own",
      "gpt-alias",
      5,
      "fp_1",
    ]);
  }
});

Deno.test("OpenAIChatEncoder skips what Chat Completions cannot say", () => {
  const frames = encodeAll([
    START,
    { type: "reasoning_delta", index: 0, kind: "redacted", data: "opaque" },
    { type: "block_stop", index: 0 },
    { type: "tool_call_start", index: 1, id: "srvtoolu_1", name: "web_search", serverSide: true },
    { type: "tool_call_delta", index: 1, arguments: '{"q":"x"}' },
    { type: "block_stop", index: 1 },
    {
      type: "provider_block",
      index: 2,
      protocol: "anthropic",
      blockType: "web_search_tool_result",
      content: {},
    },
    { type: "block_stop", index: 2 },
    { type: "text_delta", index: 3, text: "Found" },
    {
      type: "citation",
      index: 3,
      citation: { url: "https://example.com/", title: "Ex", citedText: "t", raw: {} },
    },
    { type: "citation", index: 3, citation: { citedText: "no url", raw: {} } },
    { type: "block_stop", index: 3 },
    // Only a server-side tool ran: the client has no call to answer.
    { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
  ]);
  const deltas = frames.slice(0, -1).map((f) => JSON.parse(f.data).choices[0]);
  assert.deepEqual(deltas.map((c) => c.delta), [
    { role: "assistant", content: "" },
    { content: "Found" },
    {
      annotations: [{
        type: "url_citation",
        url_citation: { url: "https://example.com/", title: "Ex", start_index: 5, end_index: 5 },
      }],
    },
    {},
  ]);
  assert.equal(deltas.at(-1).finish_reason, "stop");
});

Deno.test("OpenAIChatEncoder writes an error chunk and then nothing, not even [DONE]", () => {
  const frames = encodeAll([
    START,
    { type: "text_delta", index: 0, text: "partial" },
    {
      type: "error",
      kind: "rate_limit",
      message: "Too many tokens",
      status: 429,
      providerType: "throttlingException",
    },
    { type: "text_delta", index: 0, text: "ignored" },
  ]);
  assert.equal(frames.length, 3);
  assert.deepEqual(JSON.parse(frames[2]!.data), {
    error: {
      message: "Too many tokens",
      type: "rate_limit_error",
      param: null,
      code: "throttlingException",
    },
  });
  // Input that ends before message_stop is reported the same way.
  const cut = encodeAll([START, { type: "text_delta", index: 0, text: "Hel" }]);
  assert.deepEqual(JSON.parse(cut.at(-1)!.data), {
    error: {
      message: "the upstream response ended before the model finished",
      type: "upstream_error",
      param: null,
      code: null,
    },
  });
  assert.ok(cut.every((f) => f.data !== "[DONE]"));
});

Deno.test("OpenAIChatEncoderStream output decodes back to the same events", async () => {
  // TOOL_EVENTS without what OpenAI cannot carry (the reasoning signature).
  const events = TOOL_EVENTS.filter((e) => !(e.type === "reasoning_delta" && e.kind !== "text"));
  const decoded = await roundTrip(events);
  assertWellFormed(decoded);
  assert.deepEqual(decoded, events);
});

Deno.test("error events survive a round trip with their kind, status and message", async () => {
  const kinds: LlmErrorEvent[] = [
    { type: "error", kind: "invalid_request", message: "bad", status: 400 },
    { type: "error", kind: "authentication", message: "who", status: 401 },
    { type: "error", kind: "permission", message: "no", status: 403 },
    { type: "error", kind: "not_found", message: "where", status: 404 },
    { type: "error", kind: "rate_limit", message: "slow", status: 429, providerType: "x" },
    { type: "error", kind: "overloaded", message: "busy", status: 503 },
    { type: "error", kind: "timeout", message: "late", status: 504 },
    { type: "error", kind: "model_error", message: "model", status: 424 },
    { type: "error", kind: "server_error", message: "oops", status: 500 },
    { type: "error", kind: "protocol_error", message: "garbled", status: 502 },
  ];
  for (const error of kinds) {
    const [decoded] = await roundTrip([START, error]).then((events) => events.slice(1));
    assert.deepEqual(withoutProviderType([decoded!]), withoutProviderType([error]));
    if (error.providerType !== undefined) {
      assert.equal((decoded as LlmErrorEvent).providerType, error.providerType);
    }
  }
});

Deno.test("OpenAIChatDecoder reads cache writes and derives missing completion tokens", () => {
  const events = decodeChunks([
    chunk({ role: "assistant", content: "x" }, "stop", {
      usage: {
        prompt_tokens: 30,
        total_tokens: 45,
        prompt_tokens_details: { cached_tokens: 10, cache_write_tokens: 5 },
      },
    }),
    // "usage": "12" is not a usage object: ignored.
    { ...chunk({}), choices: [], usage: "12" },
  ]);
  assert.deepEqual(
    summarize(events).usage,
    createUsage({ inputTokens: 30, outputTokens: 15, cacheReadTokens: 10, cacheWriteTokens: 5 }),
  );
  assert.equal(events.filter((e) => e.type === "usage").length, 1);
});

// ---------------------------------------------------------------------------------------------
// Corpora: recorded OpenAI streams and APISIX fixtures

interface CorpusCase {
  file: string;
  expected: Summary;
}

const usage = (
  inputTokens: number,
  outputTokens: number,
  more: Partial<Omit<Usage, "totalTokens">> = {},
) => createUsage({ inputTokens, outputTokens, ...more });

const CORPUS_CASES: CorpusCase[] = [
  {
    file: "recorded/openai/envoy-ai-gateway/chat-streaming-detailed-usage.sse",
    expected: {
      id: "chatcmpl-C4Hq5a6K3RaPMymUv70btQNYv6SvY",
      model: "gpt-5-nano-2025-08-07",
      text: "",
      reasoning: "",
      toolCalls: [],
      stopReason: "max_tokens",
      rawStopReason: "length",
      usage: usage(12, 100, { reasoningTokens: 100 }),
    },
  },
  {
    file: "recorded/openai/envoy-ai-gateway/chat-streaming-web-search.sse",
    expected: {
      id: "chatcmpl-aa331686-f58a-449a-9105-aa37cd2def51",
      model: "gpt-4o-mini-search-preview-2025-03-11",
      text: 'The URL https://httpbin.org/base64/dGVzdA== returns the decoded string "test".  ',
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
    },
  },
  {
    file: "recorded/openai/envoy-ai-gateway/chat-streaming.sse",
    expected: {
      id: "chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp",
      model: "gpt-5-nano-2025-08-07",
      text: "Hi there! How can I help today? I can answer questions, explain concepts, help with " +
        "writing or brainstorming, code, plan something, and more. Tell me what you’d like to " +
        "work on or a topic you’re curious about.",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
    },
  },
  {
    file: "recorded/openai/pydantic-ai/test_openai_moderation_stream.sse",
    expected: {
      id: "chatcmpl-E4Rjs6IxaJVge9Ntk5keJsaeDy6vS",
      model: "gpt-5-2025-08-07",
      text: "Paris.",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(13, 11),
    },
  },
  {
    file: "recorded/openai/pydantic-ai/test_run_stream_sync_streams_real_model.0.sse",
    expected: {
      id: "chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl",
      model: "gpt-4o-mini-2024-07-18",
      text: "",
      reasoning: "",
      toolCalls: [{
        id: "call_ZR5UUuTt3pf61kjwAJIYdVMj",
        name: "get_capital",
        arguments: '{"country":"UK"}',
      }],
      stopReason: "tool_use",
      rawStopReason: "tool_calls",
      usage: usage(53, 15),
    },
  },
  {
    file: "recorded/openai/pydantic-ai/test_run_stream_sync_streams_real_model.1.sse",
    expected: {
      id: "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc",
      model: "gpt-4o-mini-2024-07-18",
      text: "The capital of the UK is London.",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(78, 9),
    },
  },
  {
    file: "apisix/openai/chat-multi-chunk.sse",
    expected: {
      id: "chatcmpl-1",
      model: "",
      text: "hello world",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(10, 2),
    },
  },
  {
    file: "apisix/openai/chat-streaming-injection.sse",
    expected: {
      id: "chatcmpl-inj123",
      model: "gpt-4o-2024-05-13",
      text: "Here is an injection payload",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(10, 8),
    },
  },
  {
    file: "apisix/openai/chat-streaming-lakera-error.sse",
    expected: {
      id: "chatcmpl-err123",
      model: "gpt-4o-2024-05-13",
      text: "trigger lakera-error here",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(10, 8),
    },
  },
  {
    // Cut off: no finish_reason, no [DONE].
    file: "apisix/openai/chat-streaming-many-chunks-no-usage.sse",
    expected: {
      id: "abort",
      model: "gpt-4o",
      text: Array.from({ length: 20 }, (_, i) => `chunk-${String(i).padStart(2, "0")} `).join(""),
      reasoning: "",
      toolCalls: [],
      error: {
        kind: "protocol_error",
        status: 502,
        message: "OpenAI chat stream ended without a finish_reason (the response was cut off)",
      },
    },
  },
  {
    file: "apisix/openai/chat-streaming-no-usage.sse",
    expected: {
      id: "chatcmpl-nousage",
      model: "gpt-4o-2024-05-13",
      text: "Hello!",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
    },
  },
  {
    file: "apisix/openai/chat-streaming-with-cache.sse",
    expected: {
      id: "chatcmpl-cache1",
      model: "",
      text: "Hi",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(30, 15, { cacheReadTokens: 10, cacheWriteTokens: 5, reasoningTokens: 7 }),
    },
  },
  {
    // finish_reason in the chunk of the last argument fragment; usage in a later chunk whose
    // choice has finish_reason null; [DONE] without its blank line.
    file: "apisix/openai/chat-streaming-with-tool-calls.sse",
    expected: {
      id: "chatcmpl-1",
      model: "",
      text: "",
      reasoning: "",
      toolCalls: [{ id: "call_1", name: "get_weather", arguments: "{}" }],
      stopReason: "tool_use",
      rawStopReason: "tool_calls",
      usage: usage(15, 10),
    },
  },
  {
    file: "apisix/openai/chat-streaming.sse",
    expected: {
      id: "chatcmpl-abc123",
      model: "gpt-4o-2024-05-13",
      text: "Hello!",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(10, 8),
    },
  },
  {
    file: "apisix/protocol-conversion/anthropic-mismatch.sse",
    expected: {
      text: "",
      reasoning: "",
      toolCalls: [],
      error: {
        kind: "protocol_error",
        status: 502,
        message: "protocol mismatch: expected OpenAI Chat Completions chunks, got an SSE event " +
          'named "message_start"; it looks like an Anthropic Messages stream',
      },
    },
  },
  {
    file: "apisix/protocol-conversion/deepseek-usage-null.sse",
    expected: {
      id: "ds-1",
      model: "deepseek-chat",
      text: "Hi!",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(5, 2),
    },
  },
  {
    file: "apisix/protocol-conversion/empty-sse-frames.sse",
    expected: {
      id: "chatcmpl-empty",
      model: "gpt-4o",
      text: "Hi",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(3, 1),
    },
  },
  {
    file: "apisix/protocol-conversion/null-finish-reason.sse",
    expected: {
      id: "chatcmpl-null",
      model: "gpt-4o",
      text: "Hi!",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(5, 3),
    },
  },
  {
    file: "apisix/protocol-conversion/openai-to-anthropic-stream.sse",
    expected: {
      id: "chatcmpl-123",
      model: "gpt-4o",
      text: "Hello world",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(5, 5),
    },
  },
  {
    file: "apisix/protocol-conversion/openrouter-double-finish.sse",
    expected: {
      id: "gen-1",
      model: "openai/gpt-4o",
      text: "Hi!",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(8, 2),
    },
  },
  {
    file: "apisix/protocol-conversion/openrouter-first-chunk.sse",
    expected: {
      id: "gen-1",
      model: "openai/gpt-4o",
      text: "hello world",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(8, 2),
    },
  },
  {
    file: "apisix/protocol-conversion/usage-only-final-chunk.sse",
    expected: {
      id: "cmpl-1",
      model: "gpt-4o",
      text: "Hi",
      reasoning: "",
      toolCalls: [],
      stopReason: "end_turn",
      rawStopReason: "stop",
      usage: usage(10, 5),
    },
  },
];

const HAS_CORPORA = corporaPresent("OpenAI chat corpus tests");

Deno.test({
  name: "the corpus cases cover every chat-completions stream of the corpora",
  ignore: !HAS_CORPORA,
  fn() {
    const listed = new Set(CORPUS_CASES.map((c) => c.file));
    const expected: string[] = [];
    for (const source of ["envoy-ai-gateway", "pydantic-ai"]) {
      const index = JSON.parse(readCorpusText(`recorded/openai/${source}/index.json`)) as {
        file: string;
        request_uri: string;
      }[];
      for (const entry of index) {
        // Responses API and legacy Completions streams are other protocols.
        if (new URL(entry.request_uri).pathname === "/v1/chat/completions") {
          expected.push(`recorded/openai/${source}/${entry.file}`);
        }
      }
    }
    for (const dir of ["apisix/openai", "apisix/protocol-conversion"]) {
      for (const name of listCorpus(dir)) {
        if (name.endsWith(".sse") && !name.startsWith("responses-")) {
          expected.push(`${dir}/${name}`);
        }
      }
    }
    assert.deepEqual([...listed].sort(), expected.sort());
  },
});

for (const { file, expected } of CORPUS_CASES) {
  Deno.test({
    name: `OpenAIChatDecoderStream decodes ${file} at every chunking`,
    ignore: !HAS_CORPORA,
    async fn() {
      const bytes = readCorpusBytes(file);
      const whole = await decodeStream([bytes]);
      assertWellFormed(whole);
      assert.deepEqual(summarize(whole), expected);
      const byteByByte = [...bytes].map((_, i) => bytes.subarray(i, i + 1));
      assert.deepEqual(await decodeStream(byteByByte), whole, "stream, byte by byte");
      for (const { name, chunks } of chunkings(bytes, 256)) {
        assert.deepEqual(decodeSync(chunks), whole, name);
      }
    },
  });
}

Deno.test({
  name: "OpenAIChatDecoder: the exact events of the APISIX tool-call and double-finish streams",
  ignore: !HAS_CORPORA,
  async fn() {
    assert.deepEqual(
      await decodeStream([readCorpusBytes("apisix/openai/chat-streaming-with-tool-calls.sse")]),
      [
        { type: "message_start", id: "chatcmpl-1", model: "", role: "assistant" },
        { type: "tool_call_start", index: 0, id: "call_1", name: "get_weather" },
        { type: "tool_call_delta", index: 0, arguments: "{}" },
        { type: "block_stop", index: 0 },
        { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
        { type: "usage", usage: usage(15, 10) },
      ],
    );
    assert.deepEqual(
      await decodeStream([
        readCorpusBytes("apisix/protocol-conversion/openrouter-double-finish.sse"),
      ]),
      [
        { type: "message_start", id: "gen-1", model: "openai/gpt-4o", role: "assistant" },
        { type: "text_delta", index: 0, text: "Hi" },
        { type: "text_delta", index: 0, text: "!" },
        { type: "block_stop", index: 0 },
        { type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" },
        { type: "usage", usage: usage(8, 2) },
      ],
    );
  },
});

Deno.test({
  name: "the APISIX stream that lacks its last blank line decodes the same with either framing",
  ignore: !HAS_CORPORA,
  async fn() {
    const bytes = readCorpusBytes("apisix/openai/chat-streaming-with-tool-calls.sse");
    // Only "data: [DONE]" is unterminated, and [DONE] is optional once finish_reason was seen.
    assert.deepEqual(await decodeStream([bytes], {}), await decodeStream([bytes]));
  },
});

Deno.test({
  name: "legacy Completions streams are reported as a protocol mismatch",
  ignore: !HAS_CORPORA,
  async fn() {
    for (const file of ["completion-streaming.sse", "completion-streaming-usage.sse"]) {
      const events = await decodeStream([
        readCorpusBytes(`recorded/openai/envoy-ai-gateway/${file}`),
      ]);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "error");
      assert.match((events[0] as LlmErrorEvent).message, /text_completion.*\/v1\/completions/);
    }
  },
});

Deno.test({
  name: "decode → encode → decode gives the same events for every corpus stream",
  ignore: !HAS_CORPORA,
  async fn() {
    for (const { file } of CORPUS_CASES) {
      const events = await decodeStream([readCorpusBytes(file)]);
      const again = await roundTrip(events);
      assertWellFormed(again);
      // An error's providerType is the OpenAI error type the encoder chose; the rest survives.
      assert.deepEqual(withoutProviderType(again), withoutProviderType(events), file);
    }
  },
});

Deno.test({
  name: "re-encoding a corpus stream with the same id, model and created keeps its chunks' meaning",
  ignore: !HAS_CORPORA,
  async fn() {
    const file = "recorded/openai/pydantic-ai/test_run_stream_sync_streams_real_model.0.sse";
    const original = (await collect(
      [readCorpusBytes(file)],
      new SseDecoderStream(),
    )).filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
    const events = await decodeStream([readCorpusBytes(file)]);
    const encoded = encodeAll(events, { created: original[0].created, includeUsage: true })
      .filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
    // Compare what matters to a client; drop the provider's extra fields.
    const strip = (c: Record<string, unknown>) => {
      const { id, object, created, model, choices, usage } = structuredClone(c);
      return { id, object, created, model, choices, usage };
    };
    const normalize = (c: Record<string, unknown>) => {
      const s = strip(c) as { choices: { delta: Record<string, unknown> }[]; usage: unknown };
      for (const choice of s.choices) {
        delete choice.delta.refusal;
        if (choice.delta.content === null) choice.delta.content = "";
        delete choice.delta.tool_calls;
      }
      if (isRecord(s.usage)) {
        // Keep the counts; the recorded usage has more detail fields (audio, predictions).
        const { prompt_tokens_details: p, completion_tokens_details: c, ...counts } = s.usage;
        s.usage = {
          ...counts,
          cached: (p as Record<string, unknown>).cached_tokens,
          reasoning: (c as Record<string, unknown>).reasoning_tokens,
        };
      }
      return s;
    };
    // The recorded first chunk carries role and the first tool call together; ours splits them.
    assert.equal(original.length + 1, encoded.length);
    assert.deepEqual(normalize(encoded[0]), normalize(original[0]));
    assert.deepEqual(encoded.slice(1).map((c) => c.choices[0]?.delta.tool_calls), [
      original[0].choices[0].delta.tool_calls,
      ...original.slice(1, 6).map((c) => c.choices[0].delta.tool_calls),
      undefined,
      undefined,
    ]);
    assert.deepEqual(encoded.slice(-2).map(normalize), original.slice(-2).map(normalize));
  },
});

// ---------------------------------------------------------------------------------------------
// The project's fixtures

interface FixtureEntry {
  file: string;
  frames: number;
  text: string;
  toolCalls?: ToolCall[];
  stopReason?: string;
  usage?: { input: number; output: number; total: number };
}

Deno.test("OpenAIChatDecoderStream decodes fixtures/openai/*.sse as fixtures/index.json says", async () => {
  const index = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/index.json", import.meta.url)),
  ) as FixtureEntry[];
  const entries = index.filter((e) => e.file.startsWith("openai/"));
  assert.ok(entries.length >= 2);
  for (const entry of entries) {
    const bytes = await Deno.readFile(new URL(`../fixtures/${entry.file}`, import.meta.url));
    const events = await decodeStream([bytes]);
    assertWellFormed(events);
    const summary = summarize(events);
    assert.equal(summary.text, entry.text, entry.file);
    assert.deepEqual(summary.toolCalls, entry.toolCalls ?? [], entry.file);
    assert.equal(summary.rawStopReason, entry.stopReason, entry.file);
    assert.deepEqual(
      summary.usage &&
        {
          input: summary.usage.inputTokens,
          output: summary.usage.outputTokens,
          total: summary.usage.totalTokens,
        },
      entry.usage,
      entry.file,
    );
    for (const { name, chunks } of chunkings(bytes, 128)) {
      assert.deepEqual(decodeSync(chunks), events, `${entry.file}: ${name}`);
    }
    const again = await roundTrip(events);
    assert.deepEqual(again, events, `${entry.file}: round trip`);
    // Re-encoded with the fixture's own id/created, the SSE text has the same events count.
    const reencoded = encodeAll(events, { created: 1764057600, includeUsage: true })
      .map(encodeSseEvent).join("");
    assert.equal(
      (reencoded.match(/\n\n/g) ?? []).length,
      entry.frames + (entry.toolCalls?.length ? 1 : 0),
      entry.file,
    );
  }
});
