/**
 * Response bodies: one answer (reasoning, text, two tool calls, cache usage) in each protocol
 * parses to one normalized response, round-trips, and converts into the others with usage numbers
 * and stop reasons checked.
 */
import assert from "node:assert/strict";
import {
  ANTHROPIC_MESSAGES_STOP_REASONS,
  BEDROCK_CONVERSE_STOP_REASONS,
  createUsage,
  LlmConversionError,
  type LlmEvent,
  type LlmResponse,
  LlmResponseAccumulator,
  OPENAI_CHAT_FINISH_REASONS,
  OpenAIChatDecoder,
  parseAnthropicMessagesResponse,
  parseAnthropicMessagesStopReason,
  parseAnthropicMessagesUsage,
  parseBedrockConverseResponse,
  parseBedrockConverseStopReason,
  parseBedrockConverseUsage,
  parseOpenAIChatFinishReason,
  parseOpenAIChatResponse,
  parseOpenAIChatUsage,
  responseToEvents,
  type StopReason,
  toAnthropicMessagesResponse,
  toAnthropicMessagesStopReason,
  toBedrockConverseResponse,
  toBedrockConverseStopReason,
  toOpenAIChatFinishReason,
  toOpenAIChatResponse,
} from "../mod.ts";

const ANTHROPIC = {
  id: "msg_01",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5",
  content: [
    { type: "thinking", thinking: "Two cities: two calls.", signature: "EqQBCkgIARAB" },
    { type: "text", text: "Checking both." },
    { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
    { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } },
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  usage: {
    input_tokens: 50,
    output_tokens: 40,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 200,
  },
};

const BEDROCK = {
  output: {
    message: {
      role: "assistant",
      content: [
        {
          reasoningContent: {
            reasoningText: { text: "Two cities: two calls.", signature: "EqQBCkgIARAB" },
          },
        },
        { text: "Checking both." },
        { toolUse: { toolUseId: "toolu_1", name: "get_weather", input: { city: "Paris" } } },
        { toolUse: { toolUseId: "toolu_2", name: "get_weather", input: { city: "Rome" } } },
      ],
    },
  },
  stopReason: "tool_use",
  usage: {
    inputTokens: 50,
    outputTokens: 40,
    totalTokens: 390,
    cacheReadInputTokens: 200,
    cacheWriteInputTokens: 100,
  },
  metrics: { latencyMs: 812 },
};

const OPENAI = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1700000000,
  model: "gpt-4o",
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content: "Checking both.",
      refusal: null,
      tool_calls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        },
        {
          id: "call_2",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Rome"}' },
        },
      ],
    },
    finish_reason: "tool_calls",
    logprobs: null,
  }],
  usage: {
    prompt_tokens: 350,
    completion_tokens: 40,
    total_tokens: 390,
    prompt_tokens_details: { cached_tokens: 200 },
    completion_tokens_details: { reasoning_tokens: 12 },
  },
};

const CACHED_USAGE = createUsage({
  inputTokens: 350,
  outputTokens: 40,
  cacheReadTokens: 200,
  cacheWriteTokens: 100,
});

const NORMALIZED_ANTHROPIC: LlmResponse = {
  id: "msg_01",
  model: "claude-sonnet-4-5",
  content: [
    { type: "reasoning", text: "Two cities: two calls.", signature: "EqQBCkgIARAB" },
    { type: "text", text: "Checking both." },
    { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
    { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } },
  ],
  stopReason: "tool_use",
  rawStopReason: "tool_use",
  usage: CACHED_USAGE,
};

Deno.test("the same answer parses to one normalized response from Anthropic and Bedrock", () => {
  assert.deepEqual(parseAnthropicMessagesResponse(ANTHROPIC), NORMALIZED_ANTHROPIC);
  assert.deepEqual(
    parseBedrockConverseResponse(BEDROCK, { id: "msg_01", model: "claude-sonnet-4-5" }),
    { ...NORMALIZED_ANTHROPIC, latencyMs: 812 },
  );
  assert.deepEqual(parseOpenAIChatResponse(OPENAI), {
    id: "chatcmpl-1",
    model: "gpt-4o",
    content: [
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
    ],
    stopReason: "tool_use",
    rawStopReason: "tool_calls",
    usage: createUsage({
      inputTokens: 350,
      outputTokens: 40,
      cacheReadTokens: 200,
      reasoningTokens: 12,
    }),
  });
});

Deno.test("responses round-trip within each protocol", () => {
  assert.deepEqual(
    toAnthropicMessagesResponse(parseAnthropicMessagesResponse(ANTHROPIC)),
    ANTHROPIC,
  );
  assert.deepEqual(toBedrockConverseResponse(parseBedrockConverseResponse(BEDROCK)), BEDROCK);
  assert.deepEqual(
    toOpenAIChatResponse(parseOpenAIChatResponse(OPENAI), { created: 1700000000 }),
    OPENAI,
  );
});

Deno.test("Anthropic → OpenAI response: text joined, tool calls, cache tokens in prompt_tokens", () => {
  const body = toOpenAIChatResponse(parseAnthropicMessagesResponse(ANTHROPIC), { created: 5 });
  assert.deepEqual(body, {
    id: "msg_01",
    object: "chat.completion",
    created: 5,
    model: "claude-sonnet-4-5",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "Checking both.",
        refusal: null,
        tool_calls: [
          {
            id: "toolu_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          {
            id: "toolu_2",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Rome"}' },
          },
        ],
      },
      finish_reason: "tool_calls",
      logprobs: null,
    }],
    usage: {
      prompt_tokens: 350, // 50 + 200 read + 100 written
      completion_tokens: 40,
      total_tokens: 390,
      prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  });
  const withReasoning = toOpenAIChatResponse(parseAnthropicMessagesResponse(ANTHROPIC), {
    created: 5,
    reasoningContent: true,
  });
  assert.equal(withReasoning.choices[0]?.message.reasoning_content, "Two cities: two calls.");
});

Deno.test("Anthropic → Bedrock response and back", () => {
  const body = toBedrockConverseResponse(parseAnthropicMessagesResponse(ANTHROPIC));
  assert.deepEqual(body, { ...BEDROCK, metrics: { latencyMs: 0 } });
  assert.deepEqual(
    toAnthropicMessagesResponse(
      parseBedrockConverseResponse(BEDROCK, { id: "msg_01", model: "claude-sonnet-4-5" }),
    ),
    ANTHROPIC,
  );
});

Deno.test("OpenAI → Anthropic and Bedrock responses: cached tokens leave input_tokens", () => {
  const response = parseOpenAIChatResponse(OPENAI);
  assert.deepEqual(toAnthropicMessagesResponse(response), {
    id: "chatcmpl-1",
    type: "message",
    role: "assistant",
    model: "gpt-4o",
    content: [
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
    ],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: {
      input_tokens: 150, // 350 prompt tokens - 200 cached
      output_tokens: 40,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 200,
      output_tokens_details: { thinking_tokens: 12 }, // OpenAI's reasoning_tokens
    },
  });
  assert.deepEqual(toBedrockConverseResponse(response), {
    output: {
      message: {
        role: "assistant",
        content: [
          { text: "Checking both." },
          { toolUse: { toolUseId: "call_1", name: "get_weather", input: { city: "Paris" } } },
          { toolUse: { toolUseId: "call_2", name: "get_weather", input: { city: "Rome" } } },
        ],
      },
    },
    stopReason: "tool_use",
    usage: { inputTokens: 150, outputTokens: 40, totalTokens: 390, cacheReadInputTokens: 200 },
    metrics: { latencyMs: 0 },
  });
});

Deno.test("Bedrock → OpenAI response", () => {
  const body = toOpenAIChatResponse(
    parseBedrockConverseResponse(BEDROCK, { id: "b1", model: "m" }),
    {
      created: 9,
    },
  );
  assert.equal(body.id, "b1");
  assert.equal(body.choices[0]?.message.content, "Checking both.");
  assert.deepEqual(body.choices[0]?.message.tool_calls?.map((call) => call.function), [
    { name: "get_weather", arguments: '{"city":"Paris"}' },
    { name: "get_weather", arguments: '{"city":"Rome"}' },
  ]);
  assert.equal(body.choices[0]?.finish_reason, "tool_calls");
  assert.deepEqual(body.usage, {
    prompt_tokens: 350,
    completion_tokens: 40,
    total_tokens: 390,
    prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 100 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
});

Deno.test("stop-reason tables: every raw value survives normalize → write in its own protocol", () => {
  for (const raw of Object.keys(ANTHROPIC_MESSAGES_STOP_REASONS)) {
    assert.equal(toAnthropicMessagesStopReason(parseAnthropicMessagesStopReason(raw), raw), raw);
  }
  for (const raw of Object.keys(BEDROCK_CONVERSE_STOP_REASONS)) {
    assert.equal(toBedrockConverseStopReason(parseBedrockConverseStopReason(raw), raw), raw);
  }
  for (const raw of Object.keys(OPENAI_CHAT_FINISH_REASONS)) {
    if (raw === "error") continue; // OpenRouter's, read but never written
    assert.equal(toOpenAIChatFinishReason(parseOpenAIChatFinishReason(raw), raw), raw);
  }
  assert.equal(parseOpenAIChatFinishReason("error"), "error");
  assert.equal(toOpenAIChatFinishReason("error", "error"), "stop");
  assert.equal(parseAnthropicMessagesStopReason("brand_new"), "other");
  assert.equal(parseBedrockConverseStopReason(undefined), "other");
});

Deno.test("stop reasons across protocols", () => {
  const table: Array<[string, StopReason, string, string, string]> = [
    // [source raw, normalized, Anthropic, Bedrock, OpenAI]
    ["end_turn", "end_turn", "end_turn", "end_turn", "stop"],
    ["stop_sequence", "stop_sequence", "stop_sequence", "stop_sequence", "stop"],
    ["max_tokens", "max_tokens", "max_tokens", "max_tokens", "length"],
    ["tool_use", "tool_use", "tool_use", "tool_use", "tool_calls"],
    ["refusal", "content_filter", "refusal", "content_filtered", "content_filter"],
    ["guardrail_intervened", "guardrail", "refusal", "guardrail_intervened", "content_filter"],
    [
      "model_context_window_exceeded",
      "context_window_exceeded",
      "model_context_window_exceeded",
      "model_context_window_exceeded",
      "length",
    ],
    ["malformed_tool_use", "error", "end_turn", "malformed_tool_use", "stop"],
    ["pause_turn", "other", "pause_turn", "end_turn", "stop"],
  ];
  for (const [raw, normalized, anthropic, bedrock, openai] of table) {
    const reason = raw in ANTHROPIC_MESSAGES_STOP_REASONS
      ? parseAnthropicMessagesStopReason(raw)
      : parseBedrockConverseStopReason(raw);
    assert.equal(reason, normalized, raw);
    assert.equal(toAnthropicMessagesStopReason(reason, raw), anthropic, raw);
    assert.equal(toBedrockConverseStopReason(reason, raw), bedrock, raw);
    assert.equal(toOpenAIChatFinishReason(reason, raw), openai, raw);
  }
  assert.equal(parseOpenAIChatFinishReason("content_filter"), "content_filter");
  assert.equal(
    toAnthropicMessagesStopReason(parseOpenAIChatFinishReason("length"), "length"),
    "max_tokens",
  );
  const stopped = parseAnthropicMessagesResponse({
    ...ANTHROPIC,
    content: [{ type: "text", text: "1, 2, 3" }],
    stop_reason: "stop_sequence",
    stop_sequence: "4",
  });
  assert.equal(stopped.stopSequence, "4");
  assert.equal(toAnthropicMessagesResponse(stopped).stop_sequence, "4");
  assert.equal(toOpenAIChatResponse(stopped).choices[0]?.finish_reason, "stop");
});

Deno.test("a tool call cut mid-JSON: OpenAI gets the raw arguments, Anthropic and Bedrock the raw text", () => {
  const accumulator = new LlmResponseAccumulator();
  const events: LlmEvent[] = [
    { type: "message_start", id: "msg_cut", model: "claude", role: "assistant" },
    { type: "tool_call_start", index: 0, id: "toolu_x", name: "write_file" },
    { type: "tool_call_delta", index: 0, arguments: '{"path":"a.txt","content":"hel' },
    { type: "block_stop", index: 0 },
    { type: "message_stop", stopReason: "max_tokens", rawStopReason: "max_tokens" },
    { type: "usage", usage: createUsage({ inputTokens: 5, outputTokens: 100 }) },
  ];
  for (const event of events) accumulator.push(event);
  const response = accumulator.response();
  const part = response.content[0];
  assert.ok(part?.type === "tool_use" && part.inputError !== undefined);
  assert.deepEqual(
    toOpenAIChatResponse(response, { created: 0 }).choices[0]?.message.tool_calls?.[0]?.function,
    { name: "write_file", arguments: '{"path":"a.txt","content":"hel' },
  );
  assert.deepEqual(toAnthropicMessagesResponse(response).content[0], {
    type: "tool_use",
    id: "toolu_x",
    name: "write_file",
    input: '{"path":"a.txt","content":"hel',
  });
  assert.equal(toOpenAIChatResponse(response, { created: 0 }).choices[0]?.finish_reason, "length");
  assert.deepEqual(toBedrockConverseResponse(response).output.message.content[0], {
    toolUse: { toolUseId: "toolu_x", name: "write_file", input: '{"path":"a.txt","content":"hel' },
  });
});

Deno.test("server tools, provider blocks, citations and redacted thinking", () => {
  const anthropic = {
    id: "msg_ws",
    type: "message",
    role: "assistant",
    model: "claude",
    content: [
      { type: "redacted_thinking", data: "EtkECkgIBxAB" },
      { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "llm" } },
      {
        type: "web_search_tool_result",
        tool_use_id: "srvtoolu_1",
        content: [{ type: "web_search_result", url: "https://e.com", title: "E" }],
      },
      {
        type: "text",
        text: "LLMs are models.",
        citations: [{
          type: "web_search_result_location",
          url: "https://e.com",
          title: "E",
          cited_text: "LLMs are…",
          encrypted_index: "abc",
        }],
      },
    ],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: 10,
      output_tokens: 20,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  };
  const response = parseAnthropicMessagesResponse(anthropic);
  assert.deepEqual(response.content[1], {
    type: "tool_use",
    id: "srvtoolu_1",
    name: "web_search",
    input: { query: "llm" },
    serverSide: true,
  });
  assert.equal(response.content[2]?.type, "provider");
  const text = response.content[3];
  assert.ok(text?.type === "text");
  assert.deepEqual(
    text.citations?.map(({ title, url, citedText }) => ({ title, url, citedText })),
    [
      { title: "E", url: "https://e.com", citedText: "LLMs are…" },
    ],
  );
  assert.deepEqual(toAnthropicMessagesResponse(response), anthropic);

  // OpenAI: the client runs none of it — only the text, with a URL citation annotation.
  assert.deepEqual(toOpenAIChatResponse(response, { created: 0 }).choices[0]?.message, {
    role: "assistant",
    content: "LLMs are models.",
    refusal: null,
    annotations: [{
      type: "url_citation",
      url_citation: { start_index: 0, end_index: 16, title: "E", url: "https://e.com" },
    }],
  });
  // Bedrock: redacted reasoning as base64 bytes, the server tool call kept, the Anthropic block skipped.
  assert.deepEqual(toBedrockConverseResponse(response).output.message.content, [
    { reasoningContent: { redactedContent: btoa("EtkECkgIBxAB") } },
    {
      toolUse: {
        toolUseId: "srvtoolu_1",
        name: "web_search",
        input: { query: "llm" },
        type: "server_tool_use",
      },
    },
    { text: "LLMs are models." },
  ]);
  const back = parseBedrockConverseResponse(toBedrockConverseResponse(response));
  assert.deepEqual(back.content[0], { type: "redacted_reasoning", data: "EtkECkgIBxAB" });
});

Deno.test("OpenAI response: refusal, reasoning_content and url_citation annotations", () => {
  const response = parseOpenAIChatResponse({
    id: "c",
    model: "m",
    choices: [{
      message: {
        role: "assistant",
        content: "See the docs.",
        reasoning_content: "The user wants docs.",
        annotations: [{
          type: "url_citation",
          url_citation: { start_index: 0, end_index: 13, title: "Docs", url: "https://d.io" },
        }],
      },
      finish_reason: "stop",
    }],
  });
  assert.deepEqual(response.content, [
    { type: "reasoning", text: "The user wants docs." },
    {
      type: "text",
      text: "See the docs.",
      citations: [{
        title: "Docs",
        url: "https://d.io",
        raw: {
          type: "url_citation",
          url_citation: { start_index: 0, end_index: 13, title: "Docs", url: "https://d.io" },
        },
      }],
    },
  ]);
  const refusal = parseOpenAIChatResponse({
    choices: [{
      message: { content: null, refusal: "I can't help with that." },
      finish_reason: "stop",
    }],
  });
  assert.deepEqual(refusal.content, [{ type: "text", text: "I can't help with that." }]);
  // A thinking block needs a signature in Anthropic's schema: unsigned reasoning gets "".
  assert.deepEqual(toAnthropicMessagesResponse(response).content[0], {
    type: "thinking",
    thinking: "The user wants docs.",
    signature: "",
  });
});

Deno.test("a parsed response streams as events that accumulate back to it", () => {
  for (
    const response of [
      parseAnthropicMessagesResponse(ANTHROPIC),
      parseBedrockConverseResponse(BEDROCK, { id: "x", model: "y" }),
      parseOpenAIChatResponse(OPENAI),
    ]
  ) {
    const accumulator = new LlmResponseAccumulator();
    for (const event of responseToEvents(response)) accumulator.push(event);
    assert.deepEqual(accumulator.response(), response);
  }
});

Deno.test("usage: one reader per provider, strict for bodies and lenient for streams", () => {
  // Bodies read every field variant the stream decoders read.
  const deepSeek = parseOpenAIChatUsage({ prompt_tokens: 9, prompt_cache_hit_tokens: 4 });
  assert.equal(deepSeek.cacheReadTokens, 4);
  assert.equal(parseOpenAIChatUsage({ prompt_tokens: 9, total_tokens: 12 }).outputTokens, 3);
  const thinking = parseAnthropicMessagesUsage({
    input_tokens: 1,
    output_tokens: 5,
    output_tokens_details: { thinking_tokens: 2 },
  });
  assert.equal(thinking.reasoningTokens, 2);
  // Bodies throw naming the field; absent and null counts read as 0.
  const fieldOf = (read: () => unknown) => {
    try {
      read();
    } catch (error) {
      if (error instanceof LlmConversionError) return error.field;
    }
    return undefined;
  };
  assert.equal(fieldOf(() => parseOpenAIChatUsage({ prompt_tokens: "9" })), "usage.prompt_tokens");
  assert.equal(
    fieldOf(() => parseAnthropicMessagesUsage({ output_tokens_details: [] })),
    "usage.output_tokens_details",
  );
  assert.equal(fieldOf(() => parseBedrockConverseUsage(7, "x.usage")), "x.usage");
  assert.deepEqual(parseBedrockConverseUsage({ inputTokens: null }), createUsage({}));
  // Streams read the same fields, but a count of the wrong type reads as absent.
  const [, usage] = new OpenAIChatDecoder().push({
    data: JSON.stringify({ choices: [], usage: { prompt_tokens: "9", completion_tokens: 2 } }),
  });
  assert.deepEqual(usage, { type: "usage", usage: createUsage({ outputTokens: 2 }) });
});
