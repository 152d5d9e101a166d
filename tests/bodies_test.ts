import assert from "node:assert/strict";
import {
  createUsage,
  LlmConversionError,
  type LlmEvent,
  type LlmResponse,
  LlmResponseAccumulator,
  responseToEvents,
} from "../mod.ts";

function accumulate(events: readonly LlmEvent[]): LlmResponse {
  const accumulator = new LlmResponseAccumulator();
  for (const event of events) accumulator.push(event);
  return accumulator.response();
}

const citation = { title: "Doc", url: "https://example.com/doc", citedText: "x", raw: { a: 1 } };

/**
 * A hand-written stream: reasoning (text + signature in fragments), text with a citation, two
 * tool calls whose argument fragments interleave (OpenAI parallel calls), one with invalid JSON
 * arguments (cut at max_tokens), a redacted reasoning block, a provider block, usage twice.
 */
const RICH_EVENTS: LlmEvent[] = [
  { type: "message_start", id: "msg_rich", model: "claude-test", role: "assistant" },
  { type: "usage", usage: createUsage({ inputTokens: 10, outputTokens: 1 }) },
  { type: "reasoning_delta", index: 0, kind: "text", text: "Let me " },
  { type: "reasoning_delta", index: 0, kind: "text", text: "think." },
  { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig-" },
  { type: "reasoning_delta", index: 0, kind: "signature", signature: "123" },
  { type: "block_stop", index: 0 },
  { type: "text_delta", index: 1, text: "Checking " },
  { type: "citation", index: 1, citation },
  { type: "text_delta", index: 1, text: "both." },
  { type: "block_stop", index: 1 },
  { type: "tool_call_start", index: 2, id: "call_a", name: "get_weather" },
  { type: "tool_call_start", index: 3, id: "call_b", name: "get_time" },
  { type: "tool_call_delta", index: 2, arguments: '{"loc' },
  { type: "tool_call_delta", index: 3, arguments: '{"tz":' },
  { type: "tool_call_delta", index: 2, arguments: 'ation":"Paris"}' },
  { type: "tool_call_delta", index: 3, arguments: '"CE' },
  { type: "block_stop", index: 2 },
  { type: "block_stop", index: 3 },
  { type: "reasoning_delta", index: 4, kind: "redacted", data: "EtkE" },
  { type: "reasoning_delta", index: 4, kind: "redacted", data: "Ckg=" },
  { type: "block_stop", index: 4 },
  {
    type: "provider_block",
    index: 5,
    protocol: "anthropic",
    blockType: "web_search_tool_result",
    content: { type: "web_search_tool_result", tool_use_id: "srv_1", content: [] },
  },
  { type: "block_stop", index: 5 },
  { type: "tool_call_start", index: 6, id: "srv_1", name: "web_search", serverSide: true },
  { type: "block_stop", index: 6 },
  { type: "message_stop", stopReason: "max_tokens", rawStopReason: "max_tokens" },
  { type: "usage", usage: createUsage({ inputTokens: 10, outputTokens: 42 }), latencyMs: 99 },
];

Deno.test("LlmConversionError names the field in its message and property", () => {
  const error = new LlmConversionError("messages[2].content[0].image_url", "must be an object");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "LlmConversionError");
  assert.equal(error.field, "messages[2].content[0].image_url");
  assert.equal(error.message, "messages[2].content[0].image_url: must be an object");
});

Deno.test("LlmResponseAccumulator joins text, reasoning, interleaved tool calls; keeps invalid JSON raw", () => {
  const response = accumulate(RICH_EVENTS);
  const invalid = response.content[3];
  assert.ok(invalid?.type === "tool_use");
  assert.equal(invalid.input, '{"tz":"CE');
  assert.match(
    invalid.inputError ?? "",
    /^the tool-call arguments are not valid JSON \(.+\); input is the raw text$/,
  );
  assert.deepEqual(response, {
    id: "msg_rich",
    model: "claude-test",
    content: [
      { type: "reasoning", text: "Let me think.", signature: "sig-123" },
      { type: "text", text: "Checking both.", citations: [citation] },
      { type: "tool_use", id: "call_a", name: "get_weather", input: { location: "Paris" } },
      {
        type: "tool_use",
        id: "call_b",
        name: "get_time",
        input: '{"tz":"CE',
        inputError: invalid.inputError,
      },
      { type: "redacted_reasoning", data: "EtkECkg=" },
      {
        type: "provider",
        protocol: "anthropic",
        blockType: "web_search_tool_result",
        content: { type: "web_search_tool_result", tool_use_id: "srv_1", content: [] },
      },
      { type: "tool_use", id: "srv_1", name: "web_search", input: {}, serverSide: true },
    ],
    stopReason: "max_tokens",
    rawStopReason: "max_tokens",
    usage: createUsage({ inputTokens: 10, outputTokens: 42 }),
    latencyMs: 99,
  });
});

Deno.test("LlmResponseAccumulator orders blocks by index, not by arrival", () => {
  const response = accumulate([
    { type: "message_start", id: "m", model: "x", role: "assistant" },
    { type: "tool_call_start", index: 1, id: "t", name: "f" },
    { type: "text_delta", index: 0, text: "late text, first block" },
    { type: "tool_call_delta", index: 1, arguments: "" },
    {
      type: "message_stop",
      stopReason: "stop_sequence",
      rawStopReason: "stop_sequence",
      stopSequence: "END",
    },
  ]);
  assert.deepEqual(response.content, [
    { type: "text", text: "late text, first block" },
    { type: "tool_use", id: "t", name: "f", input: {} },
  ]);
  assert.equal(response.stopSequence, "END");
  assert.deepEqual(response.usage, createUsage({}));
});

Deno.test("LlmResponseAccumulator keeps the first error and ignores what follows", () => {
  const accumulator = new LlmResponseAccumulator();
  const error: LlmEvent = {
    type: "error",
    kind: "rate_limit",
    message: "slow down",
    status: 429,
    providerType: "throttlingException",
  };
  for (
    const event of [
      { type: "message_start", id: "m", model: "x", role: "assistant" },
      { type: "text_delta", index: 0, text: "partial" },
      error,
      { type: "text_delta", index: 0, text: " ignored" },
      { type: "error", kind: "other", message: "second", status: 500 },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
    ] satisfies LlmEvent[]
  ) accumulator.push(event);
  assert.equal(accumulator.error, error);
  assert.equal(accumulator.stopped, false);
  const response = accumulator.response();
  assert.deepEqual(response.content, [{ type: "text", text: "partial" }]);
  assert.equal(response.stopReason, "error");
  assert.equal(response.rawStopReason, null);
  assert.equal(response.error, error);
});

Deno.test("LlmResponseAccumulator reports a stream that ended before message_stop", () => {
  const response = accumulate([
    { type: "message_start", id: "m", model: "x", role: "assistant" },
    { type: "text_delta", index: 0, text: "cut" },
  ]);
  assert.deepEqual(response.error, {
    type: "error",
    kind: "protocol_error",
    message: "the stream ended before message_stop",
    status: 502,
  });
  assert.equal(response.stopReason, "error");
});

Deno.test("LlmResponseAccumulator.push never parses JSON; response() does", () => {
  const original = JSON.parse;
  let calls = 0;
  JSON.parse = ((text: string, reviver?: Parameters<typeof original>[1]) => {
    calls++;
    return original(text, reviver);
  }) as typeof JSON.parse;
  try {
    const accumulator = new LlmResponseAccumulator();
    for (const event of RICH_EVENTS) accumulator.push(event);
    assert.equal(calls, 0);
    accumulator.response();
    assert.equal(calls, 2); // the two tool calls with arguments
  } finally {
    JSON.parse = original;
  }
});

const RESPONSES: Record<string, LlmResponse> = {
  rich: accumulate(RICH_EVENTS),
  empty: {
    id: "",
    model: "",
    content: [],
    stopReason: "other",
    rawStopReason: null,
    usage: createUsage({}),
  },
  "empty text and reasoning without signature": {
    id: "a",
    model: "b",
    content: [{ type: "text", text: "" }, { type: "reasoning", text: "" }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({ inputTokens: 1, cacheReadTokens: 1 }),
  },
  "error after content": {
    id: "a",
    model: "b",
    content: [{ type: "text", text: "so far" }],
    stopReason: "error",
    rawStopReason: null,
    usage: createUsage({ inputTokens: 3 }),
    error: { type: "error", kind: "overloaded", message: "busy", status: 529 },
  },
  "error after message_stop": {
    id: "a",
    model: "b",
    content: [],
    stopReason: "end_turn",
    rawStopReason: "end_turn",
    usage: createUsage({}),
    error: { type: "error", kind: "server_error", message: "late", status: 500 },
  },
};

for (const [name, response] of Object.entries(RESPONSES)) {
  Deno.test(`accumulate(responseToEvents(response)) is the response: ${name}`, () => {
    assert.deepEqual(accumulate(responseToEvents(response)), response);
  });
}

Deno.test("responseToEvents writes one block per part, closed, then message_stop and usage", () => {
  const events = responseToEvents(RESPONSES.rich!);
  assert.deepEqual(events.slice(0, 8), [
    { type: "message_start", id: "msg_rich", model: "claude-test", role: "assistant" },
    { type: "reasoning_delta", index: 0, kind: "text", text: "Let me think." },
    { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig-123" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "Checking both." },
    { type: "citation", index: 1, citation },
    { type: "block_stop", index: 1 },
    { type: "tool_call_start", index: 2, id: "call_a", name: "get_weather" },
  ]);
  assert.deepEqual(events[8], {
    type: "tool_call_delta",
    index: 2,
    arguments: '{"location":"Paris"}',
  });
  // Invalid arguments are re-emitted as the raw text, not as a JSON string of it.
  assert.deepEqual(events[11], { type: "tool_call_delta", index: 3, arguments: '{"tz":"CE' });
  assert.deepEqual(events.slice(-2), [
    { type: "message_stop", stopReason: "max_tokens", rawStopReason: "max_tokens" },
    { type: "usage", usage: createUsage({ inputTokens: 10, outputTokens: 42 }), latencyMs: 99 },
  ]);
  for (const [index] of RESPONSES.rich!.content.entries()) {
    assert.equal(events.filter((e) => e.type === "block_stop" && e.index === index).length, 1);
  }
});

Deno.test("responseToEvents ends an errored response with its error and no message_stop", () => {
  const events = responseToEvents(RESPONSES["error after content"]!);
  assert.deepEqual(events.map((event) => event.type), [
    "message_start",
    "text_delta",
    "block_stop",
    "usage",
    "error",
  ]);
});
