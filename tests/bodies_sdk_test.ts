/**
 * The converted bodies against the real SDKs (pinned): at compile time they are assignable to the
 * SDKs' own request and response types; at run time each SDK sends our converted request to a
 * loopback `Deno.serve`, whose parser gets the normalized request back, and reads our converted
 * response as its answer.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7.57.0";
import type {
  ChatCompletion,
  ChatCompletionCreateParams,
} from "npm:openai@7.57.0/resources/chat/completions";
import Anthropic from "npm:@anthropic-ai/sdk@1.13.0";
import type {
  Message,
  MessageCreateParamsBase,
} from "npm:@anthropic-ai/sdk@1.13.0/resources/messages";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from "npm:@aws-sdk/client-bedrock-runtime@3.1164.0";
import {
  type AnthropicResponseBlock,
  createUsage,
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
import { fromBase64 } from "./_helpers.ts";

/** Bedrock's SDK types with blobs as the base64 strings of the JSON wire format. */
type Wire<T> = T extends Uint8Array ? string
  : T extends Date ? string
  : T extends readonly (infer U)[] ? Wire<U>[]
  : T extends object ? { [K in keyof T]: Wire<T[K]> }
  : T;

/** Every property optional, recursively: the SDKs' response types require fields the APIs omit. */
type DeepPartial<T> = T extends readonly (infer U)[] ? DeepPartial<U>[]
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> }
  : T;

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

/** A request every protocol can express without loss. */
const REQUEST: LlmRequest = {
  model: "model-x",
  system: [{ type: "text", text: "You are a weather bot." }],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Weather in Paris and Rome? Here is a map." },
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
        { type: "tool_result", toolUseId: "call_1", content: [{ type: "text", text: "18°C" }] },
        { type: "tool_result", toolUseId: "call_2", content: [{ type: "text", text: "21°C" }] },
      ],
    },
    { role: "assistant", content: [{ type: "text", text: "Paris 18°C, Rome 21°C." }] },
    { role: "user", content: [{ type: "text", text: "And tomorrow?" }] },
  ],
  tools: [{
    type: "function",
    name: "get_weather",
    description: "Current weather for a city",
    inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  }],
  toolChoice: { type: "any" },
  maxTokens: 1024,
  temperature: 0.5,
  topP: 0.9,
  stopSequences: ["END"],
  reasoning: { effort: "high" },
};

/** An answer: signed reasoning, redacted reasoning, text, a tool call, cache usage. */
const RESPONSE: LlmResponse = {
  id: "msg_01",
  model: "model-x",
  content: [
    { type: "reasoning", text: "Call the tool.", signature: "EqQBCkgIARAB" },
    { type: "redacted_reasoning", data: "EtkECkgIBxAB" },
    { type: "text", text: "Checking Paris." },
    { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
  ],
  stopReason: "tool_use",
  rawStopReason: "tool_use",
  usage: createUsage({
    inputTokens: 350,
    outputTokens: 40,
    cacheReadTokens: 200,
    cacheWriteTokens: 100,
  }),
};

function assignable<T>(_value: T): void {}

Deno.test("converted bodies are assignable to the SDKs' request and response types", () => {
  assignable<ChatCompletionCreateParams>(toOpenAIChatRequest(REQUEST));
  assignable<ChatCompletion>(toOpenAIChatResponse(RESPONSE));
  assignable<MessageCreateParamsBase>(toAnthropicMessagesRequest(REQUEST));
  const anthropic = toAnthropicMessagesResponse(RESPONSE);
  // Server tool names are whatever the provider called them; the SDK lists Anthropic's own.
  assignable<DeepPartial<Message>>({
    ...anthropic,
    content: anthropic.content.filter((block): block is Exclude<
      AnthropicResponseBlock,
      { type: "server_tool_use" }
    > => block.type !== "server_tool_use"),
  });
  assignable<Pick<Message, "id" | "type" | "role" | "model" | "stop_reason" | "stop_sequence">>(
    toAnthropicMessagesResponse(RESPONSE),
  );
  assignable<Wire<Omit<ConverseCommandInput, "modelId">>>(toBedrockConverseRequest(REQUEST));
  assignable<Wire<Omit<ConverseCommandOutput, "$metadata">>>(toBedrockConverseResponse(RESPONSE));
});

interface Received {
  path: string;
  body: unknown;
}

/** Serves one JSON answer, runs `call` against the server, returns what the server received. */
async function loopback(
  answer: unknown,
  call: (baseUrl: string) => Promise<void>,
): Promise<Received> {
  let received: Received | undefined;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    received = { path: new URL(request.url).pathname, body: await request.json() };
    return Response.json(answer);
  });
  try {
    await call(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
  assert.ok(received, "the SDK called the server");
  return received;
}

Deno.test("OpenAI SDK: sends our converted request, reads our converted response", async () => {
  let completion: ChatCompletion | undefined;
  const received = await loopback(toOpenAIChatResponse(RESPONSE, { created: 1 }), async (url) => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "test", maxRetries: 0 });
    completion = await client.chat.completions.create({
      ...toOpenAIChatRequest(REQUEST),
      stream: false,
    });
  });
  assert.equal(received.path, "/v1/chat/completions");
  assert.deepEqual(parseOpenAIChatRequest(received.body), { ...REQUEST, stream: false });
  assert.ok(completion);
  assert.equal(completion.choices[0]?.message.content, "Checking Paris.");
  assert.deepEqual(completion.choices[0]?.message.tool_calls, [{
    id: "toolu_1",
    type: "function",
    function: { name: "get_weather", arguments: '{"city":"Paris"}' },
  }]);
  assert.equal(completion.usage?.prompt_tokens, 350);
  assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 200);
  // OpenAI Chat carries no reasoning: what comes back is the text and the tool call.
  assert.deepEqual(parseOpenAIChatResponse(completion), {
    ...RESPONSE,
    content: RESPONSE.content.slice(2),
    rawStopReason: "tool_calls",
  });
});

Deno.test("Anthropic SDK: sends our converted request, reads our converted response", async () => {
  let message: Message | undefined;
  const received = await loopback(toAnthropicMessagesResponse(RESPONSE), async (url) => {
    const client = new Anthropic({ baseURL: url, apiKey: "test", maxRetries: 0 });
    message = await client.messages.create({
      ...toAnthropicMessagesRequest(REQUEST),
      stream: false,
    });
  });
  assert.equal(received.path, "/v1/messages");
  assert.deepEqual(parseAnthropicMessagesRequest(received.body), { ...REQUEST, stream: false });
  assert.ok(message);
  assert.equal(message.usage.input_tokens, 50);
  assert.equal(message.usage.cache_read_input_tokens, 200);
  assert.equal(message.usage.cache_creation_input_tokens, 100);
  assert.deepEqual(parseAnthropicMessagesResponse(message), RESPONSE);
});

/** The SDK input for a JSON body: base64 blobs become bytes. */
function withBlobs(value: unknown, key = ""): unknown {
  if (typeof value === "string" && (key === "bytes" || key === "redactedContent")) {
    return fromBase64(value);
  }
  if (Array.isArray(value)) return value.map((item) => withBlobs(item));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBlobs(v, k)]));
  }
  return value;
}

Deno.test("AWS SDK ConverseCommand: sends our converted request, reads our converted response", async () => {
  const modelId = "anthropic.claude-sonnet-4-5-20250929-v1:0";
  let output: ConverseCommandOutput | undefined;
  const received = await loopback(toBedrockConverseResponse(RESPONSE), async (url) => {
    const client = new BedrockRuntimeClient({
      region: "us-east-1",
      endpoint: url,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "llmwire-test-secret" },
      maxAttempts: 1,
      defaultUserAgentProvider: () => Promise.resolve([["llmwire-test"]]),
    });
    try {
      const input = {
        modelId,
        ...withBlobs(toBedrockConverseRequest(REQUEST)) as object,
      } as ConverseCommandInput;
      output = await client.send(new ConverseCommand(input));
    } finally {
      client.destroy();
    }
  });
  assert.equal(received.path, `/model/${encodeURIComponent(modelId)}/converse`);
  // What the SDK put on the wire is what our parser reads (images as base64 bytes).
  assert.deepEqual(parseBedrockConverseRequest(received.body, { modelId: "model-x" }), REQUEST);
  assert.ok(output?.output?.message?.content);
  const content = output.output.message.content;
  assert.deepEqual(content[0], {
    reasoningContent: { reasoningText: { text: "Call the tool.", signature: "EqQBCkgIARAB" } },
  });
  // The SDK decoded redactedContent into the bytes of Anthropic's opaque string.
  const redacted = content[1]?.reasoningContent;
  assert.ok(redacted !== undefined && "redactedContent" in redacted);
  assert.deepEqual(redacted.redactedContent, new TextEncoder().encode("EtkECkgIBxAB"));
  assert.deepEqual(content.slice(2), [
    { text: "Checking Paris." },
    { toolUse: { toolUseId: "toolu_1", name: "get_weather", input: { city: "Paris" } } },
  ]);
  assert.equal(output.stopReason, "tool_use");
  assert.deepEqual(output.usage, {
    inputTokens: 50,
    outputTokens: 40,
    totalTokens: 390,
    cacheReadInputTokens: 200,
    cacheWriteInputTokens: 100,
  });
  assert.deepEqual(
    parseBedrockConverseResponse(
      { ...output, output: { message: { ...output.output.message, content: [] } } },
      { id: "msg_01", model: "model-x" },
    ).usage,
    RESPONSE.usage,
  );
});
