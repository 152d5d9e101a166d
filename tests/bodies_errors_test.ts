/**
 * Every LlmConversionError path names the right field: malformed bodies, and features the target
 * protocol cannot express.
 */
import assert from "node:assert/strict";
import {
  createUsage,
  LlmConversionError,
  type LlmRequest,
  type LlmResponse,
  parseAnthropicMessagesRequest,
  parseAnthropicMessagesResponse,
  parseBedrockConverseRequest,
  parseBedrockConverseResponse,
  parseOpenAIChatRequest,
  parseOpenAIChatResponse,
  toAnthropicMessagesRequest,
  toAnthropicMessagesResponse,
  toBedrockConverseRequest,
  toBedrockConverseResponse,
  toOpenAIChatRequest,
  toOpenAIChatResponse,
} from "../mod.ts";

interface Case {
  name: string;
  run: () => unknown;
  field: string;
  message: RegExp;
}

const user = (text: string) => ({ role: "user", content: text });
const openai = (extra: Record<string, unknown>) => ({
  model: "m",
  messages: [user("hi")],
  ...extra,
});
const anthropic = (extra: Record<string, unknown>) => ({
  model: "c",
  max_tokens: 10,
  messages: [user("hi")],
  ...extra,
});
const request = (extra: Partial<LlmRequest>): LlmRequest => ({
  model: "m",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  ...extra,
});

const PARSE_CASES: Case[] = [
  // OpenAI requests
  {
    name: "OpenAI body not an object",
    run: () => parseOpenAIChatRequest("hi"),
    field: "body",
    message: /must be an object, got a string/,
  },
  {
    name: "OpenAI model missing",
    run: () => parseOpenAIChatRequest({ messages: [] }),
    field: "model",
    message: /must be a string, got undefined/,
  },
  {
    name: "OpenAI messages missing",
    run: () => parseOpenAIChatRequest({ model: "m" }),
    field: "messages",
    message: /must be an array/,
  },
  {
    name: "OpenAI message content missing",
    run: () => parseOpenAIChatRequest({ model: "m", messages: [{ role: "user" }] }),
    field: "messages[0].content",
    message: /must be a string or an array, got undefined/,
  },
  {
    name: "OpenAI image_url not an object",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [
          user("a"),
          user("b"),
          { role: "user", content: [{ type: "image_url", image_url: "https://x/y.png" }] },
        ],
      }),
    field: "messages[2].content[0].image_url",
    message: /must be an object, got a string/,
  },
  {
    name: "OpenAI image detail unknown",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [{
          role: "user",
          content: [{ type: "image_url", image_url: { url: "https://x", detail: "ultra" } }],
        }],
      }),
    field: "messages[0].content[0].image_url.detail",
    message: /auto, low, high or original/,
  },
  {
    name: "OpenAI tool-call arguments not JSON",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [user("a"), {
          role: "assistant",
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }],
        }],
      }),
    field: "messages[1].tool_calls[0].function.arguments",
    message: /is not valid JSON/,
  },
  {
    name: "OpenAI tool-call arguments not an object",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [{
          role: "assistant",
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[1]" } }],
        }],
      }),
    field: "messages[0].tool_calls[0].function.arguments",
    message: /must encode a JSON object, got an array/,
  },
  {
    name: "OpenAI function role",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [{ role: "function", name: "f", content: "" }],
      }),
    field: "messages[0].role",
    message: /deprecated/,
  },
  {
    name: "OpenAI unknown role",
    run: () => parseOpenAIChatRequest({ model: "m", messages: [{ role: "robot", content: "" }] }),
    field: "messages[0].role",
    message: /"robot"/,
  },
  {
    name: "OpenAI unsupported message field",
    run: () =>
      parseOpenAIChatRequest({
        model: "m",
        messages: [{ role: "assistant", content: "x", audio: { id: "a" } }],
      }),
    field: "messages[0].audio",
    message: /is not supported in an assistant message/,
  },
  {
    name: "OpenAI tool message without id",
    run: () => parseOpenAIChatRequest({ model: "m", messages: [{ role: "tool", content: "x" }] }),
    field: "messages[0].tool_call_id",
    message: /must be a string/,
  },
  {
    name: "OpenAI max_tokens conflicting with max_completion_tokens",
    run: () => parseOpenAIChatRequest(openai({ max_tokens: 5, max_completion_tokens: 6 })),
    field: "max_tokens",
    message: /conflicts with max_completion_tokens/,
  },
  {
    name: "OpenAI stop with a non-string",
    run: () => parseOpenAIChatRequest(openai({ stop: ["a", 1] })),
    field: "stop[1]",
    message: /must be a string, got number 1/,
  },
  {
    name: "OpenAI unknown tool_choice string",
    run: () => parseOpenAIChatRequest(openai({ tool_choice: "always" })),
    field: "tool_choice",
    message: /"always"/,
  },
  {
    name: "OpenAI temperature not a number",
    run: () => parseOpenAIChatRequest(openai({ temperature: "hot" })),
    field: "temperature",
    message: /must be a number/,
  },
  {
    name: "OpenAI tool without a name",
    run: () =>
      parseOpenAIChatRequest(
        openai({ tools: [{ type: "function", function: { parameters: {} } }] }),
      ),
    field: "tools[0].function.name",
    message: /must be a string/,
  },
  // Anthropic requests
  {
    name: "Anthropic max_tokens missing",
    run: () => parseAnthropicMessagesRequest({ model: "c", messages: [] }),
    field: "max_tokens",
    message: /must be a number, got undefined/,
  },
  {
    name: "Anthropic bad role",
    run: () =>
      parseAnthropicMessagesRequest(anthropic({ messages: [{ role: "tool", content: "x" }] })),
    field: "messages[0].role",
    message: /"tool"/,
  },
  {
    name: "Anthropic cache_control type",
    run: () =>
      parseAnthropicMessagesRequest(anthropic({
        messages: [{
          role: "user",
          content: [{ type: "text", text: "x", cache_control: { type: "forever" } }],
        }],
      })),
    field: "messages[0].content[0].cache_control.type",
    message: /must be "ephemeral"/,
  },
  {
    name: "Anthropic tool_use input not an object",
    run: () =>
      parseAnthropicMessagesRequest(anthropic({
        messages: [{
          role: "assistant",
          content: [{ type: "tool_use", id: "t", name: "f", input: "x" }],
        }],
      })),
    field: "messages[0].content[0].input",
    message: /must be an object/,
  },
  {
    name: "Anthropic unknown field on a known block",
    run: () =>
      parseAnthropicMessagesRequest(anthropic({
        messages: [{
          role: "assistant",
          content: [{ type: "tool_use", id: "t", name: "f", input: {}, caller: { type: "x" } }],
        }],
      })),
    field: "messages[0].content[0].caller",
    message: /is not supported in a tool_use block/,
  },
  {
    name: "Anthropic tool_choice tool without a name",
    run: () => parseAnthropicMessagesRequest(anthropic({ tool_choice: { type: "tool" } })),
    field: "tool_choice.name",
    message: /must be a string/,
  },
  {
    name: "Anthropic thinking budget not a number",
    run: () =>
      parseAnthropicMessagesRequest(
        anthropic({ thinking: { type: "enabled", budget_tokens: "1k" } }),
      ),
    field: "thinking.budget_tokens",
    message: /must be a number/,
  },
  // Bedrock requests
  {
    name: "Bedrock block with two members",
    run: () =>
      parseBedrockConverseRequest({
        messages: [{ role: "user", content: [{ text: "a", image: {} }] }],
      }),
    field: "messages[0].content[0]",
    message: /exactly one member/,
  },
  {
    name: "Bedrock cachePoint with nothing before it",
    run: () =>
      parseBedrockConverseRequest({
        messages: [{ role: "user", content: [{ cachePoint: { type: "default" } }] }],
      }),
    field: "messages[0].content[0].cachePoint",
    message: /must follow the block it caches/,
  },
  {
    name: "Bedrock toolResult status",
    run: () =>
      parseBedrockConverseRequest({
        messages: [{
          role: "user",
          content: [{ toolResult: { toolUseId: "t", content: [], status: "failed" } }],
        }],
      }),
    field: "messages[0].content[0].toolResult.status",
    message: /"success" or "error"/,
  },
  {
    name: "Bedrock unknown tool choice",
    run: () =>
      parseBedrockConverseRequest({
        messages: [],
        toolConfig: { tools: [], toolChoice: { none: {} } },
      }),
    field: "toolConfig.toolChoice.none",
    message: /auto, any, tool/,
  },
  {
    name: "Bedrock unknown inferenceConfig field",
    run: () => parseBedrockConverseRequest({ messages: [], inferenceConfig: { topK: 3 } }),
    field: "inferenceConfig.topK",
    message: /is not supported in inferenceConfig/,
  },
  {
    name: "Bedrock redactedContent not base64",
    run: () =>
      parseBedrockConverseRequest({
        messages: [{
          role: "assistant",
          content: [{ reasoningContent: { redactedContent: "*" } }],
        }],
      }),
    field: "messages[0].content[0].reasoningContent.redactedContent",
    message: /not valid base64/,
  },
  // Responses
  {
    name: "OpenAI response with two choices",
    run: () =>
      parseOpenAIChatResponse({
        choices: [{ message: { content: "a" } }, { message: { content: "b" } }],
      }),
    field: "choices",
    message: /holds 2 choices; only one \(n = 1\)/,
  },
  {
    name: "OpenAI response without choices",
    run: () => parseOpenAIChatResponse({ id: "x" }),
    field: "choices",
    message: /must be an array/,
  },
  {
    name: "Anthropic error body",
    run: () =>
      parseAnthropicMessagesResponse({
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" },
      }),
    field: "error",
    message: /overloaded_error: Overloaded/,
  },
  {
    name: "Anthropic response tool_use without input",
    run: () =>
      parseAnthropicMessagesResponse({
        id: "m",
        model: "c",
        content: [{ type: "tool_use", id: "t", name: "f" }],
      }),
    field: "content[0].input",
    message: /is missing/,
  },
  {
    name: "Bedrock error body",
    run: () => parseBedrockConverseResponse({ message: "Too many requests" }),
    field: "output",
    message: /error response \(Too many requests\)/,
  },
  {
    name: "Bedrock response usage ill-typed",
    run: () =>
      parseBedrockConverseResponse({
        output: { message: { role: "assistant", content: [] } },
        usage: { inputTokens: "13" },
      }),
    field: "usage.inputTokens",
    message: /must be a number/,
  },
];

const url = request({
  messages: [
    { role: "user", content: [{ type: "text", text: "hi" }] },
    { role: "assistant", content: [{ type: "text", text: "hello" }] },
    {
      role: "user",
      content: [
        { type: "text", text: "look" },
        { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
      ],
    },
  ],
});

const CONVERT_CASES: Case[] = [
  {
    name: "Bedrock needs image bytes",
    run: () => toBedrockConverseRequest(url),
    field: "messages[2].content[1].source",
    message: /needs image bytes, not a URL/,
  },
  {
    name: "Bedrock image in a tool result from a URL",
    run: () =>
      toBedrockConverseRequest(request({
        messages: [{
          role: "user",
          content: [{
            type: "tool_result",
            toolUseId: "t",
            content: [{ type: "image", source: { type: "url", url: "https://x" } }],
          }],
        }],
      })),
    field: "messages[0].content[0].content[0].source",
    message: /needs image bytes/,
  },
  {
    name: "Bedrock image media type",
    run: () =>
      toBedrockConverseRequest(request({
        messages: [{
          role: "user",
          content: [{
            type: "image",
            source: { type: "base64", mediaType: "image/bmp", data: "Qk0=" },
          }],
        }],
      })),
    field: "messages[0].content[0].source",
    message: /png, jpeg, gif and webp images, not image\/bmp/,
  },
  {
    name: "Bedrock tool choice none with tool history",
    run: () =>
      toBedrockConverseRequest(request({
        messages: [
          { role: "user", content: [{ type: "text", text: "hi" }] },
          { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] },
          {
            role: "user",
            content: [{
              type: "tool_result",
              toolUseId: "t",
              content: [{ type: "text", text: "1" }],
            }],
          },
        ],
        tools: [{ type: "function", name: "f", inputSchema: { type: "object" } }],
        toolChoice: { type: "none" },
      })),
    field: "toolChoice",
    message: /no tool choice "none"/,
  },
  {
    name: "Bedrock parallel tool calls off",
    run: () =>
      toBedrockConverseRequest(request({
        tools: [{ type: "function", name: "f", inputSchema: { type: "object" } }],
        parallelToolCalls: false,
      })),
    field: "parallelToolCalls",
    message: /cannot limit the model to one tool call/,
  },
  {
    name: "Bedrock system message inside the conversation",
    run: () =>
      toBedrockConverseRequest(request({
        messages: [
          { role: "user", content: [{ type: "text", text: "hi" }] },
          { role: "assistant", content: [{ type: "text", text: "yo" }] },
          { role: "system", content: [{ type: "text", text: "be terse" }] },
        ],
      })),
    field: "messages[2].role",
    message: /no system messages inside the conversation/,
  },
  {
    name: "Bedrock effort unknown",
    run: () => toBedrockConverseRequest(request({ reasoning: { effort: "turbo" } })),
    field: "reasoning.effort",
    message: /"turbo" is not an effort Bedrock Converse accepts/,
  },
  {
    name: "Bedrock cache ttl",
    run: () =>
      toBedrockConverseRequest(request({
        system: [{ type: "text", text: "s", cache: { ttl: "2d" } }],
      })),
    field: "system[0].cache.ttl",
    message: /"2d" is not a Bedrock cache ttl/,
  },
  {
    name: "OpenAI response_format into Bedrock",
    run: () =>
      toBedrockConverseRequest(
        parseOpenAIChatRequest(openai({ response_format: { type: "json_object" } })),
      ),
    field: "response_format",
    message:
      /OpenAI Chat Completions field "response_format" has no equivalent in Bedrock Converse/,
  },
  {
    name: "OpenAI n > 1 into Anthropic",
    run: () => toAnthropicMessagesRequest(parseOpenAIChatRequest(openai({ n: 2 }))),
    field: "n",
    message: /field "n" has no equivalent in Anthropic Messages/,
  },
  {
    name: "OpenAI logprobs into Anthropic",
    run: () => toAnthropicMessagesRequest(parseOpenAIChatRequest(openai({ logprobs: true }))),
    field: "logprobs",
    message: /field "logprobs"/,
  },
  {
    name: "OpenAI audio into Bedrock",
    run: () =>
      toBedrockConverseRequest(
        parseOpenAIChatRequest(openai({ audio: { voice: "alloy", format: "wav" } })),
      ),
    field: "audio",
    message: /field "audio" has no equivalent in Bedrock Converse/,
  },
  {
    name: "OpenAI input_audio part into Anthropic",
    run: () =>
      toAnthropicMessagesRequest(parseOpenAIChatRequest({
        model: "m",
        messages: [{
          role: "user",
          content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }],
        }],
      })),
    field: "messages[0].content[0]",
    message: /the "input_audio" block from OpenAI Chat Completions has no equivalent in Anthropic/,
  },
  {
    name: "Anthropic document block into OpenAI",
    run: () =>
      toOpenAIChatRequest(parseAnthropicMessagesRequest(anthropic({
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "read" },
            { type: "document", source: { type: "url", url: "https://x/a.pdf" } },
          ],
        }],
      }))),
    field: "messages[0].content[1]",
    message: /the "document" block from Anthropic Messages has no equivalent in OpenAI/,
  },
  {
    name: "Anthropic server tool into Bedrock",
    run: () =>
      toBedrockConverseRequest(parseAnthropicMessagesRequest(anthropic({
        tools: [{ type: "web_search_20250305", name: "web_search" }],
      }))),
    field: "tools[0]",
    message: /a provider-specific tool from Anthropic Messages has no equivalent in Bedrock/,
  },
  {
    name: "Anthropic container into OpenAI",
    run: () => toOpenAIChatRequest(parseAnthropicMessagesRequest(anthropic({ container: "c1" }))),
    field: "container",
    message: /field "container"/,
  },
  {
    name: "Bedrock guardrailConfig into Anthropic",
    run: () =>
      toAnthropicMessagesRequest(
        parseBedrockConverseRequest({
          messages: [],
          guardrailConfig: { guardrailIdentifier: "g", guardrailVersion: "1" },
        }),
      ),
    field: "guardrailConfig",
    message: /Bedrock Converse field "guardrailConfig" has no equivalent in Anthropic/,
  },
  {
    name: "Bedrock model-specific fields into OpenAI",
    run: () =>
      toOpenAIChatRequest(
        parseBedrockConverseRequest({
          messages: [],
          additionalModelRequestFields: { reasoningConfig: { type: "enabled" } },
        }),
      ),
    field: "additionalModelRequestFields",
    message: /field "additionalModelRequestFields"/,
  },
  {
    name: "OpenAI top-k",
    run: () => toOpenAIChatRequest(request({ topK: 5 })),
    field: "topK",
    message: /no top-k/,
  },
  {
    name: "OpenAI image in a tool result",
    run: () =>
      toOpenAIChatRequest(request({
        messages: [{
          role: "user",
          content: [{
            type: "tool_result",
            toolUseId: "t",
            content: [
              { type: "text", text: "chart:" },
              { type: "image", source: { type: "base64", mediaType: "image/png", data: "AA==" } },
            ],
          }],
        }],
      })),
    field: "messages[0].content[0].content[1]",
    message: /tool messages cannot carry images/,
  },
  {
    name: "OpenAI effort unknown",
    run: () => toOpenAIChatRequest(request({ reasoning: { effort: "turbo" } })),
    field: "reasoning.effort",
    message: /"turbo" is not a Chat Completions reasoning_effort/,
  },
  {
    name: "Anthropic image media type",
    run: () =>
      toAnthropicMessagesRequest(request({
        messages: [{
          role: "user",
          content: [{
            type: "image",
            source: { type: "base64", mediaType: "image/tiff", data: "AA==" },
          }],
        }],
      })),
    field: "messages[0].content[0].source",
    message: /not image\/tiff/,
  },
  {
    name: "Anthropic cache ttl",
    run: () =>
      toAnthropicMessagesRequest(request({
        messages: [{ role: "user", content: [{ type: "text", text: "x", cache: { ttl: "30m" } }] }],
      })),
    field: "messages[0].content[0].cache.ttl",
    message: /"30m" is not an Anthropic cache ttl/,
  },
  {
    name: "Anthropic effort unknown",
    run: () => toAnthropicMessagesRequest(request({ reasoning: { effort: "extreme" } })),
    field: "reasoning.effort",
    message:
      /"extreme" is not an effort Anthropic Messages accepts \(low, medium, high, xhigh, max\)/,
  },
];

const errored: LlmResponse = {
  id: "m",
  model: "x",
  content: [],
  stopReason: "error",
  rawStopReason: null,
  usage: createUsage({}),
  error: { type: "error", kind: "rate_limit", message: "throttled", status: 429 },
};

const RESPONSE_CASES: Case[] = [
  {
    name: "OpenAI response from an errored stream",
    run: () => toOpenAIChatResponse(errored),
    field: "error",
    message: /ended in an error \(throttled\)/,
  },
  {
    name: "Anthropic response from an errored stream",
    run: () => toAnthropicMessagesResponse(errored),
    field: "error",
    message: /throttled/,
  },
  {
    name: "Bedrock response from an errored stream",
    run: () => toBedrockConverseResponse(errored),
    field: "error",
    message: /throttled/,
  },
];

for (const { name, run, field, message } of [...PARSE_CASES, ...CONVERT_CASES, ...RESPONSE_CASES]) {
  Deno.test(`LlmConversionError names ${field}: ${name}`, () => {
    assert.throws(run, (error) => {
      assert.ok(error instanceof LlmConversionError, `not an LlmConversionError: ${error}`);
      assert.equal(error.field, field);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`${field}: `));
      return true;
    });
  });
}
