/**
 * Request bodies: the same rich conversation written in each protocol parses to one normalized
 * request, round-trips within its protocol, and converts into the two others field by field.
 */
import assert from "node:assert/strict";
import {
  type LlmRequest,
  parseAnthropicMessagesRequest,
  parseBedrockConverseRequest,
  parseOpenAIChatRequest,
  toAnthropicMessagesRequest,
  toBedrockConverseRequest,
  toOpenAIChatRequest,
} from "../mod.ts";

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
const SCHEMA = {
  type: "object",
  properties: { city: { type: "string", description: "City name" } },
  required: ["city"],
};
const ASK = "What's the weather in Paris and Rome? Here is a map.";
const ANSWER = "Paris is 18°C and sunny; Rome is 21°C and cloudy.";

/**
 * One conversation — system prompt; a user turn with text and an image; an assistant turn with
 * text and two tool calls; the two tool results (consecutive); an assistant answer; a follow-up —
 * with one tool, a forced tool choice, stop sequences, temperature, top_p, a token limit and
 * reasoning (OpenAI: effort low; Anthropic/Bedrock: a 2048-token thinking budget, which OpenAI
 * writes as effort low).
 */
const OPENAI = {
  model: "gpt-4o",
  messages: [
    { role: "system", content: "You are a weather bot." },
    {
      role: "user",
      content: [
        { type: "text", text: ASK },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
      ],
    },
    {
      role: "assistant",
      content: "Let me check both.",
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
    { role: "tool", tool_call_id: "call_1", content: "18°C, sunny" },
    { role: "tool", tool_call_id: "call_2", content: "21°C, cloudy" },
    { role: "assistant", content: ANSWER },
    { role: "user", content: "Thanks! And tomorrow?" },
  ],
  max_completion_tokens: 1024,
  temperature: 0.5,
  top_p: 0.9,
  stop: ["END", "STOP"],
  tools: [{
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: SCHEMA,
    },
  }],
  tool_choice: "required",
  reasoning_effort: "low",
};

const ANTHROPIC = {
  model: "claude-sonnet-4-5",
  max_tokens: 1024,
  system: "You are a weather bot.",
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: ASK },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check both." },
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: "18°C, sunny" },
        { type: "tool_result", tool_use_id: "call_2", content: "21°C, cloudy" },
      ],
    },
    { role: "assistant", content: ANSWER },
    { role: "user", content: "Thanks! And tomorrow?" },
  ],
  stop_sequences: ["END", "STOP"],
  temperature: 0.5,
  top_p: 0.9,
  tools: [{
    name: "get_weather",
    description: "Current weather for a city",
    input_schema: SCHEMA,
  }],
  tool_choice: { type: "any" },
  thinking: { type: "enabled", budget_tokens: 2048 },
};

const BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const BEDROCK = {
  system: [{ text: "You are a weather bot." }],
  messages: [
    {
      role: "user",
      content: [{ text: ASK }, { image: { format: "png", source: { bytes: PNG } } }],
    },
    {
      role: "assistant",
      content: [
        { text: "Let me check both." },
        { toolUse: { toolUseId: "call_1", name: "get_weather", input: { city: "Paris" } } },
        { toolUse: { toolUseId: "call_2", name: "get_weather", input: { city: "Rome" } } },
      ],
    },
    {
      role: "user",
      content: [
        { toolResult: { toolUseId: "call_1", content: [{ text: "18°C, sunny" }] } },
        { toolResult: { toolUseId: "call_2", content: [{ text: "21°C, cloudy" }] } },
      ],
    },
    { role: "assistant", content: [{ text: ANSWER }] },
    { role: "user", content: [{ text: "Thanks! And tomorrow?" }] },
  ],
  inferenceConfig: { maxTokens: 1024, temperature: 0.5, topP: 0.9, stopSequences: ["END", "STOP"] },
  toolConfig: {
    tools: [{
      toolSpec: {
        name: "get_weather",
        description: "Current weather for a city",
        inputSchema: { json: SCHEMA },
      },
    }],
    toolChoice: { any: {} },
  },
  additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 2048 } },
};

/** The normalized form all three share (model and reasoning aside). */
const NORMALIZED: Omit<LlmRequest, "model" | "reasoning"> = {
  system: [{ type: "text", text: "You are a weather bot." }],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: ASK },
        { type: "image", source: { type: "base64", mediaType: "image/png", data: PNG } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check both." },
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          toolUseId: "call_1",
          content: [{ type: "text", text: "18°C, sunny" }],
        },
        {
          type: "tool_result",
          toolUseId: "call_2",
          content: [{ type: "text", text: "21°C, cloudy" }],
        },
      ],
    },
    { role: "assistant", content: [{ type: "text", text: ANSWER }] },
    { role: "user", content: [{ type: "text", text: "Thanks! And tomorrow?" }] },
  ],
  tools: [{
    type: "function",
    name: "get_weather",
    description: "Current weather for a city",
    inputSchema: SCHEMA,
  }],
  toolChoice: { type: "any" },
  maxTokens: 1024,
  temperature: 0.5,
  topP: 0.9,
  stopSequences: ["END", "STOP"],
};

Deno.test("the rich conversation parses to one normalized request in all three protocols", () => {
  assert.deepEqual(parseOpenAIChatRequest(OPENAI), {
    ...NORMALIZED,
    model: "gpt-4o",
    reasoning: { effort: "low" },
  });
  assert.deepEqual(parseAnthropicMessagesRequest(ANTHROPIC), {
    ...NORMALIZED,
    model: "claude-sonnet-4-5",
    reasoning: { budgetTokens: 2048 },
  });
  assert.deepEqual(parseBedrockConverseRequest(BEDROCK, { modelId: BEDROCK_MODEL }), {
    ...NORMALIZED,
    model: BEDROCK_MODEL,
    reasoning: { budgetTokens: 2048 },
  });
});

Deno.test("requests round-trip within each protocol", () => {
  assert.deepEqual(toOpenAIChatRequest(parseOpenAIChatRequest(OPENAI)), OPENAI);
  assert.deepEqual(toAnthropicMessagesRequest(parseAnthropicMessagesRequest(ANTHROPIC)), ANTHROPIC);
  assert.deepEqual(
    toBedrockConverseRequest(parseBedrockConverseRequest(BEDROCK, { modelId: BEDROCK_MODEL })),
    BEDROCK,
  );
});

Deno.test("OpenAI → Anthropic: the rich request", () => {
  const body = toAnthropicMessagesRequest(parseOpenAIChatRequest(OPENAI));
  assert.equal(body.model, "gpt-4o");
  assert.equal(body.max_tokens, 1024);
  assert.equal(body.system, "You are a weather bot.");
  assert.deepEqual(body.messages[0], {
    role: "user",
    content: [
      { type: "text", text: ASK },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
    ],
  });
  assert.deepEqual(body.messages[1], {
    role: "assistant",
    content: [
      { type: "text", text: "Let me check both." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
    ],
  });
  // The two consecutive tool messages are ONE user turn with two tool_result blocks.
  assert.deepEqual(body.messages[2], {
    role: "user",
    content: [
      { type: "tool_result", tool_use_id: "call_1", content: "18°C, sunny" },
      { type: "tool_result", tool_use_id: "call_2", content: "21°C, cloudy" },
    ],
  });
  assert.deepEqual(body.messages.slice(3), [
    { role: "assistant", content: ANSWER },
    { role: "user", content: "Thanks! And tomorrow?" },
  ]);
  assert.equal(body.messages.length, 5);
  assert.deepEqual(body.stop_sequences, ["END", "STOP"]);
  assert.equal(body.temperature, 0.5);
  assert.equal(body.top_p, 0.9);
  assert.deepEqual(body.tools, [{
    name: "get_weather",
    description: "Current weather for a city",
    input_schema: SCHEMA,
  }]);
  assert.deepEqual(body.tool_choice, { type: "any" });
  assert.equal(body.thinking, undefined);
  assert.deepEqual(body.output_config, { effort: "low" });
  assert.deepEqual(Object.keys(body).sort(), [
    "max_tokens",
    "messages",
    "model",
    "output_config",
    "stop_sequences",
    "system",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
  ]);
});

Deno.test("OpenAI → Bedrock: the rich request", () => {
  const body = toBedrockConverseRequest(parseOpenAIChatRequest(OPENAI));
  assert.deepEqual(body.system, [{ text: "You are a weather bot." }]);
  assert.deepEqual(body.messages, BEDROCK.messages);
  assert.deepEqual(body.messages[2], {
    role: "user",
    content: [
      { toolResult: { toolUseId: "call_1", content: [{ text: "18°C, sunny" }] } },
      { toolResult: { toolUseId: "call_2", content: [{ text: "21°C, cloudy" }] } },
    ],
  });
  assert.deepEqual(body.inferenceConfig, {
    maxTokens: 1024,
    temperature: 0.5,
    topP: 0.9,
    stopSequences: ["END", "STOP"],
  });
  assert.deepEqual(body.toolConfig, BEDROCK.toolConfig);
  assert.equal(body.additionalModelRequestFields, undefined);
  assert.deepEqual(body.outputConfig, { effort: "low" });
  assert.deepEqual(Object.keys(body).sort(), [
    "inferenceConfig",
    "messages",
    "outputConfig",
    "system",
    "toolConfig",
  ]);
});

Deno.test("Anthropic → OpenAI: the rich request", () => {
  const body = toOpenAIChatRequest(parseAnthropicMessagesRequest(ANTHROPIC));
  assert.equal(body.model, "claude-sonnet-4-5");
  assert.deepEqual(body.messages, OPENAI.messages);
  // The one user turn with two tool results is split into two tool messages.
  assert.deepEqual(body.messages.slice(3, 5), [
    { role: "tool", tool_call_id: "call_1", content: "18°C, sunny" },
    { role: "tool", tool_call_id: "call_2", content: "21°C, cloudy" },
  ]);
  assert.equal(body.max_completion_tokens, 1024);
  assert.equal(body.temperature, 0.5);
  assert.equal(body.top_p, 0.9);
  assert.deepEqual(body.stop, ["END", "STOP"]);
  assert.deepEqual(body.tools, OPENAI.tools);
  assert.equal(body.tool_choice, "required");
  assert.equal(body.reasoning_effort, "low"); // budget 2048 < 4096
  assert.deepEqual(Object.keys(body).sort(), Object.keys(OPENAI).sort());
});

Deno.test("Anthropic → Bedrock: the rich request", () => {
  assert.deepEqual(toBedrockConverseRequest(parseAnthropicMessagesRequest(ANTHROPIC)), BEDROCK);
});

Deno.test("Bedrock → OpenAI: the rich request", () => {
  const body = toOpenAIChatRequest(parseBedrockConverseRequest(BEDROCK, { modelId: "m" }));
  assert.deepEqual(body, { ...OPENAI, model: "m" });
});

Deno.test("Bedrock → Anthropic: the rich request", () => {
  const body = toAnthropicMessagesRequest(
    parseBedrockConverseRequest(BEDROCK, { modelId: BEDROCK_MODEL }),
  );
  assert.deepEqual(body, { ...ANTHROPIC, model: BEDROCK_MODEL });
  assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 2048 });
});

Deno.test("Anthropic → Bedrock → Anthropic and Bedrock → Anthropic → Bedrock are lossless", () => {
  const anthropic = parseAnthropicMessagesRequest(ANTHROPIC);
  assert.deepEqual(
    toAnthropicMessagesRequest(
      parseBedrockConverseRequest(toBedrockConverseRequest(anthropic), {
        modelId: "claude-sonnet-4-5",
      }),
    ),
    ANTHROPIC,
  );
  assert.deepEqual(
    toBedrockConverseRequest(
      parseAnthropicMessagesRequest(
        toAnthropicMessagesRequest(parseBedrockConverseRequest(BEDROCK, { modelId: "x" })),
      ),
    ),
    BEDROCK,
  );
});

Deno.test("OpenAI: documented normalizations of a request", () => {
  const request = parseOpenAIChatRequest({
    model: "o3",
    messages: [
      { role: "developer", content: [{ type: "text", text: "A" }, { type: "text", text: "B" }] },
      { role: "user", content: [{ type: "text", text: "hi" }], name: "alice" },
    ],
    max_tokens: 50,
    stop: "END",
    user: "user-42",
    n: 1,
    store: true,
    seed: 7,
    stream: true,
    stream_options: { include_usage: true },
  });
  assert.deepEqual(request, {
    model: "o3",
    system: [{ type: "text", text: "A" }, { type: "text", text: "B" }],
    messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    maxTokens: 50,
    stopSequences: ["END"],
    stream: true,
    includeUsage: true,
    userId: "user-42",
    providerFields: { protocol: "openai", fields: { n: 1, store: true, seed: 7 } },
  });
  // developer → system (one message per part), max_tokens → max_completion_tokens, stop → array,
  // a single text part → a string; OpenAI-only fields come back.
  assert.deepEqual(toOpenAIChatRequest(request), {
    model: "o3",
    messages: [
      { role: "system", content: "A" },
      { role: "system", content: "B" },
      { role: "user", content: "hi" },
    ],
    max_completion_tokens: 50,
    stop: ["END"],
    stream: true,
    stream_options: { include_usage: true },
    user: "user-42",
    n: 1,
    store: true,
    seed: 7,
  });
  assert.equal(toOpenAIChatRequest(request, { maxTokensField: "max_tokens" }).max_tokens, 50);
});

Deno.test("OpenAI hints are dropped for other protocols; fields that change the answer are not", () => {
  const hinted = parseOpenAIChatRequest({
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    store: false,
    metadata: { a: "b" },
    service_tier: "auto",
    n: 1,
    logprobs: false,
    frequency_penalty: 0,
    presence_penalty: 0,
    modalities: ["text"],
    seed: null,
    user: "u1",
    stream: true,
    stream_options: { include_usage: true },
  });
  assert.deepEqual(toAnthropicMessagesRequest(hinted), {
    model: "m",
    max_tokens: 4096,
    messages: [{ role: "user", content: "hi" }],
    stream: true,
    metadata: { user_id: "u1" },
  });
  assert.deepEqual(toBedrockConverseRequest(hinted), {
    messages: [{ role: "user", content: [{ text: "hi" }] }],
  });
});

Deno.test("OpenAI tool messages then a user message: one Bedrock user turn, two Anthropic turns", () => {
  const request = parseOpenAIChatRequest({
    model: "m",
    messages: [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "a", type: "function", function: { name: "w", arguments: '{"c":"Paris"}' } },
          { id: "b", type: "function", function: { name: "w", arguments: '{"c":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "a", content: [{ type: "text", text: "18" }] },
      { role: "tool", tool_call_id: "b", content: "21" },
      { role: "user", content: "Which is warmer?" },
      { role: "tool", tool_call_id: "stray", content: "a new tool turn after the user turn" },
    ],
  });
  assert.deepEqual(request.messages.map((m) => [m.role, m.content.map((p) => p.type)]), [
    ["user", ["text"]],
    ["assistant", ["tool_use", "tool_use"]],
    ["user", ["tool_result", "tool_result"]],
    ["user", ["text"]],
    ["user", ["tool_result"]],
  ]);
  assert.deepEqual(toAnthropicMessagesRequest(request).messages.slice(1, 4), [
    {
      role: "assistant",
      content: [
        { type: "tool_use", id: "a", name: "w", input: { c: "Paris" } },
        { type: "tool_use", id: "b", name: "w", input: { c: "Rome" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "a", content: "18" },
        { type: "tool_result", tool_use_id: "b", content: "21" },
      ],
    },
    { role: "user", content: "Which is warmer?" },
  ]);
  // Bedrock requires alternating roles: the consecutive user turns are merged.
  assert.deepEqual(toBedrockConverseRequest(request).messages.slice(2), [
    {
      role: "user",
      content: [
        { toolResult: { toolUseId: "a", content: [{ text: "18" }] } },
        { toolResult: { toolUseId: "b", content: [{ text: "21" }] } },
        { text: "Which is warmer?" },
        {
          toolResult: {
            toolUseId: "stray",
            content: [{ text: "a new tool turn after the user turn" }],
          },
        },
      ],
    },
  ]);
  // And back to OpenAI: the assistant turn with only tool calls has content null.
  assert.deepEqual(toOpenAIChatRequest(request).messages.slice(1), [
    {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "a", type: "function", function: { name: "w", arguments: '{"c":"Paris"}' } },
        { id: "b", type: "function", function: { name: "w", arguments: '{"c":"Rome"}' } },
      ],
    },
    { role: "tool", tool_call_id: "a", content: "18" },
    { role: "tool", tool_call_id: "b", content: "21" },
    { role: "user", content: "Which is warmer?" },
    { role: "tool", tool_call_id: "stray", content: "a new tool turn after the user turn" },
  ]);
});

Deno.test("A user turn with text before its tool results: tool messages first for OpenAI and Anthropic", () => {
  const request = parseBedrockConverseRequest({
    messages: [
      { role: "user", content: [{ text: "go" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "t", name: "f", input: {} } }] },
      {
        role: "user",
        content: [
          { text: "Here you go:" },
          {
            toolResult: {
              toolUseId: "t",
              content: [{ json: { temp: 18 } }, { text: "ok" }],
              status: "error",
            },
          },
        ],
      },
    ],
  });
  assert.deepEqual(toOpenAIChatRequest(request).messages.slice(2), [
    {
      role: "tool",
      tool_call_id: "t",
      content: [{ type: "text", text: '{"temp":18}' }, { type: "text", text: "ok" }],
    },
    { role: "user", content: "Here you go:" },
  ]);
  assert.deepEqual(toAnthropicMessagesRequest(request).messages[2], {
    role: "user",
    content: [
      {
        type: "tool_result",
        tool_use_id: "t",
        content: [{ type: "text", text: '{"temp":18}' }, { type: "text", text: "ok" }],
        is_error: true,
      },
      { type: "text", text: "Here you go:" },
    ],
  });
});

Deno.test("Cache hints: Anthropic cache_control ⇄ Bedrock cachePoint; OpenAI drops them", () => {
  const anthropic = {
    model: "claude",
    max_tokens: 100,
    system: [{ type: "text", text: "long context", cache_control: { type: "ephemeral" } }],
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "doc", cache_control: { type: "ephemeral", ttl: "1h" } },
        { type: "text", text: "question" },
      ],
    }],
    tools: [
      { name: "a", input_schema: { type: "object" } },
      { name: "b", input_schema: { type: "object" }, cache_control: { type: "ephemeral" } },
    ],
  };
  const request = parseAnthropicMessagesRequest(anthropic);
  const bedrock = toBedrockConverseRequest(request);
  assert.deepEqual(bedrock, {
    system: [{ text: "long context" }, { cachePoint: { type: "default" } }],
    messages: [{
      role: "user",
      content: [
        { text: "doc" },
        { cachePoint: { type: "default", ttl: "1h" } },
        { text: "question" },
      ],
    }],
    inferenceConfig: { maxTokens: 100 },
    toolConfig: {
      tools: [
        { toolSpec: { name: "a", inputSchema: { json: { type: "object" } } } },
        { toolSpec: { name: "b", inputSchema: { json: { type: "object" } } } },
        { cachePoint: { type: "default" } },
      ],
    },
  });
  assert.deepEqual(
    toAnthropicMessagesRequest(parseBedrockConverseRequest(bedrock, { modelId: "claude" })),
    anthropic,
  );
  const openai = toOpenAIChatRequest(request);
  assert.deepEqual(openai.messages, [
    { role: "system", content: "long context" },
    { role: "user", content: [{ type: "text", text: "doc" }, { type: "text", text: "question" }] },
  ]);
});

Deno.test("Images: a URL goes to OpenAI and Anthropic as a URL; media types map to Bedrock formats", () => {
  const request = parseOpenAIChatRequest({
    model: "m",
    messages: [{
      role: "user",
      content: [
        { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
        { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
      ],
    }],
  });
  assert.deepEqual(request.messages[0]?.content, [
    { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" }, detail: "high" },
    { type: "image", source: { type: "base64", mediaType: "image/jpeg", data: "/9j/4AAQ" } },
  ]);
  assert.deepEqual(toAnthropicMessagesRequest(request).messages[0]?.content, [
    { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQ" } },
  ]);
  assert.deepEqual(toOpenAIChatRequest(request).messages[0]?.content, [
    { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
    { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
  ]);
  const webp = parseBedrockConverseRequest({
    messages: [{
      role: "user",
      content: [{ image: { format: "webp", source: { bytes: "UklG" } } }],
    }],
  });
  assert.deepEqual(toAnthropicMessagesRequest(webp).messages[0]?.content, [
    { type: "image", source: { type: "base64", media_type: "image/webp", data: "UklG" } },
  ]);
  assert.deepEqual(toOpenAIChatRequest(webp).messages[0]?.content, [
    { type: "image_url", image_url: { url: "data:image/webp;base64,UklG" } },
  ]);
});

Deno.test("Tool choice and parallel tool calls across protocols", () => {
  const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
  const named = parseOpenAIChatRequest({
    ...base,
    tools,
    tool_choice: { type: "function", function: { name: "f" } },
    parallel_tool_calls: false,
  });
  assert.deepEqual(named.toolChoice, { type: "tool", name: "f" });
  assert.deepEqual(toAnthropicMessagesRequest(named).tool_choice, {
    type: "tool",
    name: "f",
    disable_parallel_tool_use: true,
  });
  const back = toOpenAIChatRequest(
    parseAnthropicMessagesRequest(toAnthropicMessagesRequest(named)),
  );
  assert.deepEqual(back.tool_choice, { type: "function", function: { name: "f" } });
  assert.equal(back.parallel_tool_calls, false);

  const onlyParallel = parseOpenAIChatRequest({ ...base, tools, parallel_tool_calls: false });
  assert.deepEqual(toAnthropicMessagesRequest(onlyParallel).tool_choice, {
    type: "auto",
    disable_parallel_tool_use: true,
  });
  const parallelOk = parseOpenAIChatRequest({ ...base, tools, parallel_tool_calls: true });
  assert.equal(toAnthropicMessagesRequest(parallelOk).tool_choice, undefined);
  assert.equal(toBedrockConverseRequest(parallelOk).toolConfig?.toolChoice, undefined);

  const none = parseOpenAIChatRequest({ ...base, tools, tool_choice: "none" });
  assert.deepEqual(toAnthropicMessagesRequest(none).tool_choice, { type: "none" });
  assert.equal(toOpenAIChatRequest(none).tool_choice, "none");
  // Bedrock has no "none": without tool history the tools are simply not offered.
  assert.deepEqual(toBedrockConverseRequest(none), {
    messages: [{ role: "user", content: [{ text: "hi" }] }],
  });
  const auto = parseOpenAIChatRequest({ ...base, tools, tool_choice: "auto" });
  assert.deepEqual(toBedrockConverseRequest(auto).toolConfig?.toolChoice, { auto: {} });
  assert.deepEqual(toAnthropicMessagesRequest(auto).tool_choice, { type: "auto" });
});

Deno.test("Reasoning: budgets, efforts and adaptive thinking across protocols", () => {
  const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
  const effort = (value: string) => parseOpenAIChatRequest({ ...base, reasoning_effort: value });
  assert.deepEqual(toAnthropicMessagesRequest(effort("high")).output_config, { effort: "high" });
  assert.deepEqual(toAnthropicMessagesRequest(effort("minimal")).output_config, { effort: "low" });
  assert.equal(toAnthropicMessagesRequest(effort("none")).output_config, undefined);
  assert.deepEqual(toBedrockConverseRequest(effort("medium")).outputConfig, { effort: "medium" });

  const budget = (tokens: number) =>
    parseAnthropicMessagesRequest({
      model: "c",
      max_tokens: 64000,
      messages: [{ role: "user", content: "hi" }],
      thinking: { type: "enabled", budget_tokens: tokens },
    });
  assert.equal(toOpenAIChatRequest(budget(1024)).reasoning_effort, "low");
  assert.equal(toOpenAIChatRequest(budget(4096)).reasoning_effort, "medium");
  assert.equal(toOpenAIChatRequest(budget(16384)).reasoning_effort, "high");

  const adaptive = parseAnthropicMessagesRequest({
    model: "c",
    max_tokens: 100,
    messages: [{ role: "user", content: "hi" }],
    thinking: { type: "adaptive" },
    output_config: { effort: "max" },
  });
  assert.deepEqual(adaptive.reasoning, { adaptive: true, effort: "max" });
  assert.deepEqual(toBedrockConverseRequest(adaptive).additionalModelRequestFields, {
    thinking: { type: "adaptive" },
  });
  assert.deepEqual(toBedrockConverseRequest(adaptive).outputConfig, { effort: "max" });
  assert.equal(toOpenAIChatRequest(adaptive).reasoning_effort, "max");
  const disabled = parseAnthropicMessagesRequest({
    model: "c",
    max_tokens: 100,
    messages: [],
    thinking: { type: "disabled" },
  });
  assert.equal(disabled.reasoning, undefined);
});

Deno.test("Anthropic max_tokens: the request's, else the default, raised above a thinking budget", () => {
  const request: LlmRequest = { model: "m", system: [], messages: [] };
  assert.equal(toAnthropicMessagesRequest(request).max_tokens, 4096);
  assert.equal(toAnthropicMessagesRequest(request, { defaultMaxTokens: 1000 }).max_tokens, 1000);
  assert.equal(
    toAnthropicMessagesRequest({ ...request, reasoning: { budgetTokens: 8192 } }).max_tokens,
    8192 + 4096,
  );
  assert.equal(
    toAnthropicMessagesRequest({ ...request, maxTokens: 300, reasoning: { budgetTokens: 8192 } })
      .max_tokens,
    300,
  );
});

Deno.test("Reasoning history: signed thinking and redacted thinking between Anthropic and Bedrock", () => {
  // Bedrock's redactedContent (from a real Claude capture) is the base64 of Anthropic's data.
  const redactedBytes = "RXRrRUNrZ0lCeEFCR0FJcVFKVGZx";
  const bedrock = {
    messages: [
      { role: "user", content: [{ text: "hi" }] },
      {
        role: "assistant",
        content: [
          { reasoningContent: { reasoningText: { text: "thinking…", signature: "sig" } } },
          { reasoningContent: { redactedContent: redactedBytes } },
          { text: "Hello" },
        ],
      },
    ],
  };
  const request = parseBedrockConverseRequest(bedrock);
  assert.deepEqual(request.messages[1]?.content.slice(0, 2), [
    { type: "reasoning", text: "thinking…", signature: "sig" },
    { type: "redacted_reasoning", data: "EtkECkgIBxABGAIqQJTfq" },
  ]);
  const anthropic = toAnthropicMessagesRequest(request);
  assert.deepEqual(anthropic.messages[1], {
    role: "assistant",
    content: [
      { type: "thinking", thinking: "thinking…", signature: "sig" },
      { type: "redacted_thinking", data: "EtkECkgIBxABGAIqQJTfq" },
      { type: "text", text: "Hello" },
    ],
  });
  assert.deepEqual(
    toBedrockConverseRequest(parseAnthropicMessagesRequest(anthropic)),
    { ...bedrock, inferenceConfig: { maxTokens: 4096 } },
  );
  // OpenAI has no reasoning in requests: dropped, or written as reasoning_content on request.
  assert.deepEqual(toOpenAIChatRequest(request).messages[1], {
    role: "assistant",
    content: "Hello",
  });
  assert.deepEqual(toOpenAIChatRequest(request, { reasoningContent: true }).messages[1], {
    role: "assistant",
    content: "Hello",
    reasoning_content: "thinking…",
  });
  // Unsigned reasoning (OpenAI-style reasoning_content) cannot go to Anthropic: dropped.
  const unsigned = parseOpenAIChatRequest({
    model: "m",
    messages: [
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello", reasoning_content: "hmm" },
    ],
  });
  assert.deepEqual(unsigned.messages[1]?.content[0], { type: "reasoning", text: "hmm" });
  assert.deepEqual(toAnthropicMessagesRequest(unsigned).messages[1], {
    role: "assistant",
    content: "Hello",
  });
});

Deno.test("Provider fields and parts come back in their own protocol", () => {
  const openai = {
    model: "m",
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "listen" },
        { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
      ],
    }],
    response_format: { type: "json_object" },
    tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [] } },
  };
  assert.deepEqual(toOpenAIChatRequest(parseOpenAIChatRequest(openai)), openai);

  const anthropic = {
    model: "c",
    max_tokens: 10,
    system: "s",
    messages: [{
      role: "user",
      content: [
        { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } },
        { type: "text", text: "summarize" },
      ],
    }],
    tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 3 }],
    container: "container_1",
    thinking: { type: "enabled", budget_tokens: 2048, display: "omitted" },
    output_config: { effort: "high", format: { type: "json_schema", schema: { type: "object" } } },
  };
  const parsed = parseAnthropicMessagesRequest(anthropic);
  assert.deepEqual(parsed.reasoning, { effort: "high" });
  assert.deepEqual(parsed.providerFields, {
    protocol: "anthropic",
    fields: {
      container: "container_1",
      thinking: { type: "enabled", budget_tokens: 2048, display: "omitted" },
      output_config: { format: { type: "json_schema", schema: { type: "object" } } },
    },
  });
  assert.deepEqual(toAnthropicMessagesRequest(parsed), anthropic);

  const bedrock = {
    messages: [{
      role: "user",
      content: [
        { text: "read" },
        { document: { format: "txt", name: "d", source: { bytes: "ZG9j" } } },
      ],
    }],
    guardrailConfig: { guardrailIdentifier: "g", guardrailVersion: "1" },
    additionalModelRequestFields: { top_k: 40, anthropic_beta: ["x"] },
    requestMetadata: { team: "a" },
  };
  const parsedBedrock = parseBedrockConverseRequest(bedrock);
  assert.equal(parsedBedrock.topK, 40);
  assert.deepEqual(toBedrockConverseRequest(parsedBedrock), bedrock);
  // A thinking object of another shape stays a Bedrock field.
  const odd = { messages: [], additionalModelRequestFields: { thinking: { type: "enabled" } } };
  const parsedOdd = parseBedrockConverseRequest(odd);
  assert.equal(parsedOdd.reasoning, undefined);
  assert.deepEqual(parsedOdd.providerFields, {
    protocol: "bedrock",
    fields: { additionalModelRequestFields: { thinking: { type: "enabled" } } },
  });
  assert.deepEqual(toBedrockConverseRequest(parsedOdd), odd);
});

Deno.test("Mid-conversation system messages and user ids", () => {
  const request = parseOpenAIChatRequest({
    model: "m",
    messages: [
      { role: "system", content: "first" },
      { role: "user", content: "hi" },
      { role: "system", content: "now be terse" },
      { role: "user", content: "again" },
    ],
    user: "u-1",
  });
  assert.deepEqual(request.system, [{ type: "text", text: "first" }]);
  assert.deepEqual(request.messages[1], {
    role: "system",
    content: [{ type: "text", text: "now be terse" }],
  });
  assert.deepEqual(toAnthropicMessagesRequest(request).messages[1], {
    role: "system",
    content: "now be terse",
  });
  assert.deepEqual(toAnthropicMessagesRequest(request).metadata, { user_id: "u-1" });
  assert.deepEqual(toOpenAIChatRequest(request).messages[2], {
    role: "system",
    content: "now be terse",
  });
});
