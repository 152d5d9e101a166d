/**
 * Every non-streaming Chat Completions / Messages / Converse body of the APISIX fixtures parses to
 * the values written down here (read off the files), and survives conversion into each protocol
 * and back.
 */
import assert from "node:assert/strict";
import {
  createUsage,
  LlmConversionError,
  type LlmResponse,
  parseAnthropicMessagesResponse,
  parseBedrockConverseResponse,
  parseOpenAIChatResponse,
  toAnthropicMessagesResponse,
  toBedrockConverseResponse,
  toOpenAIChatResponse,
} from "../mod.ts";
import { corporaPresent, listCorpus, readCorpusText } from "./_helpers.ts";

const ignore = !corporaPresent("APISIX non-streaming bodies");
const MODEL = "model-under-test";

function readJson(path: string): unknown {
  return JSON.parse(readCorpusText(`apisix/${path}`).replaceAll("{{model}}", MODEL));
}

type Expected = Omit<LlmResponse, "id"> & { id?: string };

const OPENAI: Record<string, Expected | { fails: string; message: RegExp }> = {
  "chat-basic.json": {
    id: "chatcmpl-9wiSIg5LYrrpxwsr2PubSQnbtod1P",
    model: "gpt-4o-2024-05-13",
    content: [{ type: "text", text: "1 + 1 = 2." }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({ inputTokens: 23, outputTokens: 8 }),
  },
  "chat-injection.json": {
    id: "chatcmpl-9wiSIg5LYrrpxwsr2PubSQnbtod1P",
    model: "gpt-4o-2024-05-13",
    content: [{ type: "text", text: "Here is the injection payload you requested." }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({ inputTokens: 23, outputTokens: 8 }),
  },
  // The file claims total_tokens 10 for 8 + 5: the normalized total is recomputed (13).
  "chat-model-echo.json": {
    id: "chatcmpl-9wiSIg5LYrrpxwsr2PubSQnbtod1P",
    model: MODEL,
    content: [{ type: "text", text: "1 + 1 = 2." }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({ inputTokens: 8, outputTokens: 5 }),
  },
  "chat-tools.json": {
    id: "chatcmpl-tool",
    model: "gpt-4o",
    content: [{
      type: "tool_use",
      id: "call_abc123",
      name: "get_weather",
      input: { location: "Paris" },
    }],
    stopReason: "tool_use",
    rawStopReason: "tool_calls",
    usage: createUsage({ inputTokens: 20, outputTokens: 10 }),
  },
  "chat-with-multiple-tool-calls.json": {
    id: "chatcmpl-multi-tools",
    model: "gpt-4o",
    content: [
      { type: "text", text: "Let me check both." },
      { type: "tool_use", id: "call_111", name: "get_weather", input: { location: "NYC" } },
      { type: "tool_use", id: "call_222", name: "get_time", input: { timezone: "EST" } },
    ],
    stopReason: "tool_use",
    rawStopReason: "tool_calls",
    usage: createUsage({ inputTokens: 60, outputTokens: 30 }),
  },
  "chat-with-reasoning.json": {
    id: "chatcmpl-reason1",
    model: "o1-preview",
    content: [
      { type: "reasoning", text: "Let me think step by step about this problem." },
      { type: "text", text: "The answer is 42." },
    ],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({
      inputTokens: 30,
      outputTokens: 15,
      cacheReadTokens: 10,
      cacheWriteTokens: 5,
    }),
  },
  "chat-with-tool-calls.json": {
    id: "chatcmpl-tool1",
    model: "gpt-4o",
    content: [{
      type: "tool_use",
      id: "call_abc123",
      name: "get_weather",
      input: { location: "San Francisco" },
    }],
    stopReason: "tool_use",
    rawStopReason: "tool_calls",
    usage: createUsage({ inputTokens: 50, outputTokens: 20 }),
  },
  // No id, content null, usage null: what OpenAI-compatible servers send.
  "null-content.json": {
    id: "",
    model: "gpt-3.5-turbo",
    content: [],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({}),
  },
  "null-details.json": {
    id: "chatcmpl-null-test",
    model: "test-model",
    content: [{ type: "text", text: "Hello!" }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({ inputTokens: 10, outputTokens: 5 }),
  },
  "null-usage.json": {
    id: "chatcmpl-null-usage",
    model: "test-model",
    content: [{ type: "text", text: "Hello!" }],
    stopReason: "end_turn",
    rawStopReason: "stop",
    usage: createUsage({}),
  },
  // A tool call without a function, a choice without a message: nothing to convert.
  "null-function.json": {
    fails: "choices[0].message.tool_calls[0].function",
    message: /must be an object, got null/,
  },
  "null-message.json": { fails: "choices[0].message", message: /must be an object, got null/ },
  "chat-error.json": {
    fails: "error",
    message: /invalid_request_error: The model does not exist\./,
  },
};

/** Not Chat Completions bodies (embeddings, images, the Responses API). */
const OPENAI_SKIPPED = [
  "embeddings-capital-city.json",
  "embeddings-capital.json",
  "embeddings-largest-city.json",
  "embeddings-list.json",
  "embeddings-tire.json",
  "images-generation.json",
  "responses-basic.json",
  "responses-with-cache.json",
];

Deno.test({
  name: "APISIX fixtures: every openai/*.json is either checked here or not a chat completion",
  ignore,
  fn() {
    const json = listCorpus("apisix/openai").filter((name) => name.endsWith(".json"));
    assert.deepEqual(json, [...Object.keys(OPENAI), ...OPENAI_SKIPPED].sort());
    assert.deepEqual(listCorpus("apisix/anthropic").filter((n) => n.endsWith(".json")), [
      "messages-basic.json",
      "messages-with-cache.json",
    ]);
    assert.deepEqual(listCorpus("apisix/bedrock").filter((n) => n.endsWith(".json")), [
      "converse-basic.json",
    ]);
    assert.deepEqual(
      listCorpus("apisix/protocol-conversion").filter((n) => n.endsWith(".json")),
      ["system-prompt-ok.json"],
    );
  },
});

for (const [name, expected] of Object.entries(OPENAI)) {
  Deno.test({
    name: "fails" in expected
      ? `APISIX openai/${name} is refused, naming ${expected.fails}`
      : `APISIX openai/${name} parses as a Chat Completions response`,
    ignore,
    fn() {
      const body = readJson(`openai/${name}`);
      if ("fails" in expected) {
        const { fails: field, message } = expected;
        assert.throws(
          () => parseOpenAIChatResponse(body),
          (error) =>
            error instanceof LlmConversionError && error.field === field &&
            message.test(error.message),
        );
        return;
      }
      assert.deepEqual(parseOpenAIChatResponse(body), expected);
    },
  });
}

Deno.test({
  name: "APISIX protocol-conversion/system-prompt-ok.json parses as a Chat Completions response",
  ignore,
  fn() {
    assert.deepEqual(
      parseOpenAIChatResponse(readJson("protocol-conversion/system-prompt-ok.json")),
      {
        id: "chatcmpl-sys",
        model: "gpt-4o",
        content: [{ type: "text", text: "system prompt ok" }],
        stopReason: "end_turn",
        rawStopReason: "stop",
        usage: createUsage({ inputTokens: 10, outputTokens: 5 }),
      },
    );
  },
});

Deno.test({
  name: "APISIX anthropic/messages-basic.json parses as a Messages response",
  ignore,
  fn() {
    assert.deepEqual(parseAnthropicMessagesResponse(readJson("anthropic/messages-basic.json")), {
      id: "msg_abc123",
      model: "claude-3-5-sonnet-20241022",
      content: [{ type: "text", text: "Hello! How can I help you?" }],
      stopReason: "end_turn",
      rawStopReason: "end_turn",
      usage: createUsage({ inputTokens: 10, outputTokens: 8 }),
    });
  },
});

Deno.test({
  name: "APISIX anthropic/messages-with-cache.json: cache tokens count as input, in every protocol",
  ignore,
  fn() {
    const response = parseAnthropicMessagesResponse(readJson("anthropic/messages-with-cache.json"));
    assert.deepEqual(response, {
      id: "msg_test456",
      model: MODEL,
      content: [{ type: "text", text: "Hello from Claude!" }],
      stopReason: "end_turn",
      rawStopReason: "end_turn",
      usage: {
        inputTokens: 350, // 50 + 100 written + 200 read
        outputTokens: 30,
        totalTokens: 380,
        cacheReadTokens: 200,
        cacheWriteTokens: 100,
        reasoningTokens: 0,
      },
    });
    assert.deepEqual(toOpenAIChatResponse(response, { created: 1 }).usage, {
      prompt_tokens: 350,
      completion_tokens: 30,
      total_tokens: 380,
      prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    assert.deepEqual(toBedrockConverseResponse(response).usage, {
      inputTokens: 50,
      outputTokens: 30,
      totalTokens: 380,
      cacheReadInputTokens: 200,
      cacheWriteInputTokens: 100,
    });
    assert.deepEqual(toAnthropicMessagesResponse(response).usage, {
      input_tokens: 50,
      output_tokens: 30,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 200,
    });
  },
});

Deno.test({
  name: "APISIX bedrock/converse-basic.json parses as a Converse response",
  ignore,
  fn() {
    const body = readJson("bedrock/converse-basic.json");
    assert.deepEqual(parseBedrockConverseResponse(body, { id: "msg_x", model: "nova" }), {
      id: "msg_x",
      model: "nova",
      content: [{ type: "text", text: "Hello!" }],
      stopReason: "end_turn",
      rawStopReason: "end_turn",
      usage: createUsage({ inputTokens: 13, outputTokens: 5 }),
      latencyMs: 252,
    });
    assert.match(parseBedrockConverseResponse(body).id, /^msg_[0-9a-f]{32}$/);
  },
});

/** Every parsed corpus response, converted to each protocol and parsed back, keeps its meaning. */
Deno.test({
  name: "APISIX responses survive conversion into every protocol and back",
  ignore,
  fn() {
    const responses: LlmResponse[] = [
      parseAnthropicMessagesResponse(readJson("anthropic/messages-basic.json")),
      parseAnthropicMessagesResponse(readJson("anthropic/messages-with-cache.json")),
      parseBedrockConverseResponse(readJson("bedrock/converse-basic.json"), {
        id: "m",
        model: "x",
      }),
      ...Object.entries(OPENAI).filter(([, e]) => !("fails" in e)).map(([name]) =>
        parseOpenAIChatResponse(readJson(`openai/${name}`))
      ),
    ];
    for (const response of responses) {
      const viaOpenAI = parseOpenAIChatResponse(
        toOpenAIChatResponse(response, { created: 1, reasoningContent: true }),
      );
      const viaAnthropic = parseAnthropicMessagesResponse(toAnthropicMessagesResponse(response));
      const viaBedrock = parseBedrockConverseResponse(toBedrockConverseResponse(response), {
        id: response.id,
        model: response.model,
      });
      for (
        const [via, back] of [["OpenAI", viaOpenAI], ["Anthropic", viaAnthropic], [
          "Bedrock",
          viaBedrock,
        ]] as const
      ) {
        const context = `${response.id} via ${via}`;
        assert.deepEqual(back.usage, response.usage, context);
        assert.equal(back.stopReason, response.stopReason, context);
        assert.deepEqual(
          back.content.filter((part) => part.type === "text" || part.type === "tool_use"),
          response.content.filter((part) => part.type === "text" || part.type === "tool_use"),
          context,
        );
      }
    }
  },
});
