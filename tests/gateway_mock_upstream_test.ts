/**
 * `createMockUpstream`: deterministic replies in all three protocols, decoded with the library's
 * own decoders; tool calls, limits, errors, pacing and aborts; and the real SDK clients
 * (openai, @anthropic-ai/sdk, @aws-sdk/client-bedrock-runtime) against it on loopback.
 * @module
 */
import assert from "node:assert/strict";
import Anthropic from "npm:@anthropic-ai/sdk@1.13.0";
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from "npm:@aws-sdk/client-bedrock-runtime@3.1164.0";
import { NodeHttpHandler } from "npm:@smithy/node-http-handler@4.14.2";
import OpenAI from "npm:openai@7.57.0";
import {
  AnthropicMessagesDecoderStream,
  BedrockConverseDecoderStream,
  createUsage,
  EventStreamDecoderStream,
  type LlmEvent,
  type LlmResponse,
  OpenAIChatDecoderStream,
  parseAnthropicMessagesResponse,
  parseBedrockConverseResponse,
  parseOpenAIChatResponse,
  SseDecoderStream,
  type Usage,
} from "../mod.ts";
import { createMockUpstream, defaultMockReply } from "../src/gateway/mock_upstream.ts";

const QUESTION = "What is the capital of France?";
/** The default reply to QUESTION: 14 word tokens. */
const ANSWER = 'Hello from the llmwire mock model. You said: "What is the capital of France?"';
/** 6 words of QUESTION + 2 of the system prompt "Be brief." */
const USAGE: Usage = createUsage({ inputTokens: 8, outputTokens: 14 });

const WEATHER_TOOL_SCHEMA = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer" },
  },
  required: ["city", "unit"],
};
const TOOL_QUESTION = "Use get_weather for Paris";
/** The reply text before the tool call: 12 word tokens; the arguments are 4 pieces. */
const TOOL_TEXT = 'Hello from the llmwire mock model. You said: "Use get_weather for Paris"';
const TOOL_ARGS = { city: "example", unit: "celsius" };

const upstream = createMockUpstream({ firstTokenDelayMs: 0, tokenDelayMs: 0 });

function post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return upstream(
    new Request(`http://mock.invalid${path}`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    }),
  );
}

function openAIBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "mock-openai",
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: QUESTION }],
    ...extra,
  };
}

function anthropicBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "mock-anthropic",
    max_tokens: 256,
    system: "Be brief.",
    messages: [{ role: "user", content: QUESTION }],
    ...extra,
  };
}

function bedrockBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    system: [{ text: "Be brief." }],
    messages: [{ role: "user", content: [{ text: QUESTION }] }],
    ...extra,
  };
}

interface Summary {
  start: LlmEvent | undefined;
  text: string;
  tools: Array<{ id: string; name: string; args: string }>;
  stop: LlmEvent | undefined;
  usage: Usage | undefined;
  errors: LlmEvent[];
  types: string[];
}

function summarize(events: LlmEvent[]): Summary {
  const summary: Summary = {
    start: undefined,
    text: "",
    tools: [],
    stop: undefined,
    usage: undefined,
    errors: [],
    types: events.map((event) => event.type),
  };
  for (const event of events) {
    switch (event.type) {
      case "message_start":
        summary.start = event;
        break;
      case "text_delta":
        summary.text += event.text;
        break;
      case "tool_call_start":
        summary.tools.push({ id: event.id, name: event.name, args: "" });
        break;
      case "tool_call_delta":
        summary.tools[summary.tools.length - 1]!.args += event.arguments;
        break;
      case "message_stop":
        summary.stop = event;
        break;
      case "usage":
        summary.usage = event.usage;
        break;
      case "error":
        summary.errors.push(event);
        break;
    }
  }
  return summary;
}

function decodeOpenAI(response: Response): Promise<LlmEvent[]> {
  return Array.fromAsync(
    response.body!.pipeThrough(new SseDecoderStream()).pipeThrough(new OpenAIChatDecoderStream()),
  );
}

function decodeAnthropic(response: Response): Promise<LlmEvent[]> {
  return Array.fromAsync(
    response.body!.pipeThrough(new SseDecoderStream()).pipeThrough(
      new AnthropicMessagesDecoderStream(),
    ),
  );
}

function decodeBedrock(response: Response): Promise<LlmEvent[]> {
  return Array.fromAsync(
    response.body!.pipeThrough(new EventStreamDecoderStream()).pipeThrough(
      new BedrockConverseDecoderStream({ id: "msg_test", model: "mock" }),
    ),
  );
}

function responseText(response: LlmResponse): string {
  return response.content.map((part) => part.type === "text" ? part.text : "").join("");
}

// ---------------------------------------------------------------------------------------------
// Streams

Deno.test("mock upstream: OpenAI stream with include_usage decodes to the deterministic reply", async () => {
  const response = await post(
    "/v1/chat/completions",
    openAIBody({ stream: true, stream_options: { include_usage: true } }),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const events = await decodeOpenAI(response);
  const summary = summarize(events);
  assert.equal(summary.text, ANSWER);
  assert.deepEqual(summary.stop, {
    type: "message_stop",
    stopReason: "end_turn",
    rawStopReason: "stop",
  });
  assert.deepEqual(summary.usage, USAGE);
  assert.deepEqual(summary.errors, []);
  assert.deepEqual(summary.start, {
    type: "message_start",
    id: summary.start?.type === "message_start" ? summary.start.id : "",
    model: "mock-openai",
    role: "assistant",
  });
  // One text delta per word token.
  assert.equal(events.filter((event) => event.type === "text_delta").length, 14);
});

Deno.test("mock upstream: OpenAI stream without include_usage has no usage chunk and ends with [DONE]", async () => {
  const response = await post("/v1/chat/completions", openAIBody({ stream: true }));
  const body = await response.text();
  assert.ok(body.endsWith("data: [DONE]\n\n"));
  assert.ok(!body.includes('"usage"'), "no usage field without include_usage");
  assert.equal(body.split("\n\n").filter((frame) => frame !== "").length, 1 + 14 + 1 + 1);
});

Deno.test("mock upstream: Anthropic stream decodes to the reply, usage and stop reason", async () => {
  const response = await post("/v1/messages", anthropicBody({ stream: true }));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const summary = summarize(await decodeAnthropic(response));
  assert.equal(summary.text, ANSWER);
  assert.deepEqual(summary.stop, {
    type: "message_stop",
    stopReason: "end_turn",
    rawStopReason: "end_turn",
  });
  assert.deepEqual(summary.usage, USAGE);
  assert.equal(summary.start?.type === "message_start" && summary.start.model, "mock-anthropic");
  assert.equal(
    summary.start?.type === "message_start" && summary.start.id.startsWith("msg_"),
    true,
  );
});

Deno.test("mock upstream: Bedrock converse-stream decodes to the reply, usage and stop reason", async () => {
  const response = await post("/model/mock/converse-stream", bedrockBody());
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/vnd.amazon.eventstream");
  const summary = summarize(await decodeBedrock(response));
  assert.equal(summary.text, ANSWER);
  assert.deepEqual(summary.stop, {
    type: "message_stop",
    stopReason: "end_turn",
    rawStopReason: "end_turn",
  });
  assert.deepEqual(summary.usage, USAGE);
  assert.deepEqual(summary.errors, []);
});

Deno.test("mock upstream: the same request gives the same bytes", async () => {
  for (
    const [path, body] of [
      ["/v1/chat/completions", openAIBody({ stream: true })],
      ["/v1/messages", anthropicBody({ stream: true })],
      ["/model/mock/converse-stream", bedrockBody()],
      ["/v1/chat/completions", openAIBody()],
    ] as const
  ) {
    const first = new Uint8Array(await (await post(path, body)).arrayBuffer());
    const second = new Uint8Array(await (await post(path, body)).arrayBuffer());
    assert.ok(first.length > 100);
    assert.deepEqual(second, first, path);
  }
});

// ---------------------------------------------------------------------------------------------
// Non-streaming bodies

Deno.test("mock upstream: the three non-streaming bodies", async () => {
  const openai = await post("/v1/chat/completions", openAIBody());
  assert.equal(openai.headers.get("content-type"), "application/json");
  const openaiBody = await openai.json();
  assert.equal(openaiBody.object, "chat.completion");
  assert.equal(openaiBody.model, "mock-openai");
  assert.equal(openaiBody.choices[0].message.content, ANSWER);
  assert.equal(openaiBody.choices[0].finish_reason, "stop");
  assert.deepEqual(
    {
      prompt: openaiBody.usage.prompt_tokens,
      completion: openaiBody.usage.completion_tokens,
      total: openaiBody.usage.total_tokens,
    },
    { prompt: 8, completion: 14, total: 22 },
  );
  const openaiResponse = parseOpenAIChatResponse(openaiBody);
  assert.equal(responseText(openaiResponse), ANSWER);
  assert.deepEqual(openaiResponse.usage, USAGE);

  const anthropic = await (await post("/v1/messages", anthropicBody())).json();
  assert.equal(anthropic.type, "message");
  assert.equal(anthropic.stop_reason, "end_turn");
  assert.deepEqual(anthropic.content, [{ type: "text", text: ANSWER }]);
  const anthropicResponse = parseAnthropicMessagesResponse(anthropic);
  assert.equal(anthropicResponse.stopReason, "end_turn");
  assert.deepEqual(anthropicResponse.usage, USAGE);

  const bedrock = await (await post("/model/mock/converse", bedrockBody())).json();
  assert.deepEqual(bedrock.output, {
    message: { role: "assistant", content: [{ text: ANSWER }] },
  });
  assert.equal(bedrock.stopReason, "end_turn");
  assert.deepEqual(bedrock.usage, { inputTokens: 8, outputTokens: 14, totalTokens: 22 });
  const bedrockResponse = parseBedrockConverseResponse(bedrock);
  assert.equal(responseText(bedrockResponse), ANSWER);
  assert.deepEqual(bedrockResponse.usage, USAGE);
});

Deno.test("mock upstream: the reply option and the model id from the Bedrock path", async () => {
  const echo = createMockUpstream({
    firstTokenDelayMs: 0,
    tokenDelayMs: 0,
    reply: (request) => `model ${request.model}, ${request.messages.length} message(s)`,
  });
  const response = await echo(
    new Request(
      "http://mock.invalid/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
      { method: "POST", body: JSON.stringify(bedrockBody()) },
    ),
  );
  const body = await response.json();
  assert.deepEqual(body.output.message.content, [{
    text: "model anthropic.claude-3-haiku-20240307-v1:0, 1 message(s)",
  }]);
  assert.equal(body.usage.outputTokens, 4);
});

Deno.test("mock upstream: defaultMockReply quotes the last user message, cut at 80 characters", () => {
  const long = "word ".repeat(30);
  assert.equal(
    defaultMockReply({
      model: "m",
      system: [],
      messages: [
        { role: "user", content: [{ type: "text", text: "first" }] },
        { role: "assistant", content: [{ type: "text", text: "ok" }] },
        { role: "user", content: [{ type: "text", text: long }] },
      ],
    }),
    `Hello from the llmwire mock model. You said: "${"word ".repeat(16).trimEnd()}…"`,
  );
  assert.equal(
    defaultMockReply({ model: "m", system: [], messages: [] }),
    "Hello from the llmwire mock model. You said nothing.",
  );
});

// ---------------------------------------------------------------------------------------------
// Tool calls and limits

Deno.test("mock upstream: a named tool gets a tool call, in all three protocols", async () => {
  const openai = summarize(
    await decodeOpenAI(
      await post("/v1/chat/completions", {
        model: "mock-openai",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: TOOL_QUESTION }],
        tools: [{
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather for a city",
            parameters: WEATHER_TOOL_SCHEMA,
          },
        }],
      }),
    ),
  );
  assert.equal(openai.text, TOOL_TEXT);
  assert.equal(openai.tools.length, 1);
  assert.equal(openai.tools[0]!.name, "get_weather");
  assert.match(openai.tools[0]!.id, /^call_mock[0-9a-f]{8}$/);
  assert.deepEqual(JSON.parse(openai.tools[0]!.args), TOOL_ARGS);
  assert.equal(openai.stop?.type === "message_stop" && openai.stop.stopReason, "tool_use");
  assert.equal(openai.stop?.type === "message_stop" && openai.stop.rawStopReason, "tool_calls");
  // 4 question words + "get_weather Weather for a city" (5 words) = 9
  assert.deepEqual(openai.usage, createUsage({ inputTokens: 9, outputTokens: 12 + 4 }));

  const anthropic = summarize(
    await decodeAnthropic(
      await post("/v1/messages", {
        model: "mock-anthropic",
        max_tokens: 256,
        stream: true,
        messages: [{ role: "user", content: TOOL_QUESTION }],
        tools: [{ name: "get_weather", input_schema: WEATHER_TOOL_SCHEMA }],
      }),
    ),
  );
  assert.equal(anthropic.text, TOOL_TEXT);
  assert.deepEqual(anthropic.tools.map((tool) => tool.name), ["get_weather"]);
  assert.match(anthropic.tools[0]!.id, /^toolu_mock[0-9a-f]{8}$/);
  assert.deepEqual(JSON.parse(anthropic.tools[0]!.args), TOOL_ARGS);
  assert.equal(anthropic.stop?.type === "message_stop" && anthropic.stop.rawStopReason, "tool_use");
  // 4 question words + the tool name
  assert.deepEqual(anthropic.usage, createUsage({ inputTokens: 5, outputTokens: 12 + 4 }));

  const bedrock = summarize(
    await decodeBedrock(
      await post("/model/mock/converse-stream", {
        messages: [{ role: "user", content: [{ text: TOOL_QUESTION }] }],
        toolConfig: {
          tools: [
            { toolSpec: { name: "get_time", inputSchema: { json: { type: "object" } } } },
            {
              toolSpec: {
                name: "get_weather",
                description: "Weather",
                inputSchema: { json: WEATHER_TOOL_SCHEMA },
              },
            },
          ],
        },
      }),
    ),
  );
  assert.equal(bedrock.text, TOOL_TEXT);
  assert.deepEqual(bedrock.tools.map((tool) => tool.name), ["get_weather"]);
  assert.deepEqual(JSON.parse(bedrock.tools[0]!.args), TOOL_ARGS);
  assert.equal(bedrock.stop?.type === "message_stop" && bedrock.stop.rawStopReason, "tool_use");
  // 4 question words + "get_time" + "get_weather Weather"
  assert.deepEqual(bedrock.usage, createUsage({ inputTokens: 7, outputTokens: 12 + 4 }));
});

Deno.test("mock upstream: no tool call when no tool is named, or tool_choice is none; forced by tool_choice", async () => {
  const tools = [{ type: "function", function: { name: "get_weather", parameters: {} } }];
  const unnamed = await (await post("/v1/chat/completions", openAIBody({ tools }))).json();
  assert.equal(unnamed.choices[0].finish_reason, "stop");
  assert.equal(unnamed.choices[0].message.tool_calls, undefined);

  const none = await (await post("/v1/chat/completions", {
    model: "m",
    messages: [{ role: "user", content: TOOL_QUESTION }],
    tools,
    tool_choice: "none",
  })).json();
  assert.equal(none.choices[0].finish_reason, "stop");

  const forced = await (await post("/v1/chat/completions", {
    model: "m",
    messages: [{ role: "user", content: QUESTION }],
    tools,
    tool_choice: { type: "function", function: { name: "get_weather" } },
  })).json();
  assert.equal(forced.choices[0].finish_reason, "tool_calls");
  assert.deepEqual(forced.choices[0].message.tool_calls, [{
    id: forced.choices[0].message.tool_calls[0].id,
    type: "function",
    function: { name: "get_weather", arguments: "{}" },
  }]);

  // A name inside a longer word is not a mention.
  const partial = await (await post("/v1/chat/completions", {
    model: "m",
    messages: [{ role: "user", content: "call get_weather_now" }],
    tools,
  })).json();
  assert.equal(partial.choices[0].finish_reason, "stop");
});

Deno.test("mock upstream: max_tokens and stop sequences cut the reply", async () => {
  const cut = summarize(
    await decodeAnthropic(
      await post("/v1/messages", anthropicBody({ stream: true, max_tokens: 3 })),
    ),
  );
  assert.equal(cut.text, "Hello from the");
  assert.equal(cut.stop?.type === "message_stop" && cut.stop.stopReason, "max_tokens");
  assert.equal(cut.usage?.outputTokens, 3);

  const stopped = await (await post(
    "/model/mock/converse",
    bedrockBody({
      inferenceConfig: { stopSequences: ["model."] },
    }),
  )).json();
  assert.deepEqual(stopped.output.message.content, [{ text: "Hello from the llmwire mock " }]);
  assert.equal(stopped.stopReason, "stop_sequence");
  assert.equal(stopped.usage.outputTokens, 6); // five words and the trailing space

  const openai = await (await post(
    "/v1/chat/completions",
    openAIBody({ max_completion_tokens: 2 }),
  )).json();
  assert.equal(openai.choices[0].message.content, "Hello from");
  assert.equal(openai.choices[0].finish_reason, "length");
});

// ---------------------------------------------------------------------------------------------
// Errors and routes

Deno.test("mock upstream: invalid JSON is a 400 in each provider's error shape", async () => {
  const openai = await post("/v1/chat/completions", "{not json");
  assert.equal(openai.status, 400);
  const openaiBody = await openai.json();
  assert.equal(openaiBody.error.type, "invalid_request_error");
  assert.match(openaiBody.error.message, /^invalid JSON body: /);

  const anthropic = await post("/v1/messages", "[");
  assert.equal(anthropic.status, 400);
  const anthropicBody = await anthropic.json();
  assert.equal(anthropicBody.type, "error");
  assert.equal(anthropicBody.error.type, "invalid_request_error");
  assert.match(anthropicBody.error.message, /^invalid JSON body: /);

  const bedrock = await post("/model/mock/converse-stream", "");
  assert.equal(bedrock.status, 400);
  assert.equal(bedrock.headers.get("x-amzn-errortype"), "ValidationException");
  assert.match((await bedrock.json()).message, /^invalid JSON body: /);
});

Deno.test("mock upstream: a malformed body is a 400 naming the field", async () => {
  const openai = await post("/v1/chat/completions", { model: "m", messages: [{ role: "user" }] });
  assert.equal(openai.status, 400);
  assert.match((await openai.json()).error.message, /^messages\[0\]\.content: /);

  const anthropic = await post("/v1/messages", { model: "m", messages: "hi", max_tokens: 5 });
  assert.equal(anthropic.status, 400);
  assert.match((await anthropic.json()).error.message, /^messages: /);

  const bedrock = await post("/model/mock/converse", { messages: [{ role: "user" }] });
  assert.equal(bedrock.status, 400);
  assert.match((await bedrock.json()).message, /^messages\[0\]\.content: /);
});

Deno.test("mock upstream: unknown paths are 404, wrong methods 405, GET /v1/models lists mock", async () => {
  const openai = await post("/v1/completions", {});
  assert.equal(openai.status, 404);
  assert.deepEqual(await openai.json(), {
    error: {
      message: "no route for POST /v1/completions",
      type: "not_found_error",
      param: null,
      code: null,
    },
  });

  const anthropic = await post("/v1/messages/batches", {});
  assert.equal(anthropic.status, 404);
  assert.deepEqual(await anthropic.json(), {
    type: "error",
    error: { type: "not_found_error", message: "no route for POST /v1/messages/batches" },
  });

  for (const path of ["/model/mock/invoke", "/model//converse", "/model/a/b/converse"]) {
    const bedrock = await post(path, {});
    assert.equal(bedrock.status, 404, path);
    assert.equal(bedrock.headers.get("x-amzn-errortype"), "UnknownOperationException");
    assert.deepEqual(await bedrock.json(), { message: `no route for POST ${path}` });
  }

  const get = await upstream(new Request("http://mock.invalid/v1/chat/completions"));
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  await get.body?.cancel();

  const models = await upstream(new Request("http://mock.invalid/v1/models"));
  assert.deepEqual(await models.json(), {
    object: "list",
    data: [{ id: "mock", object: "model", created: 1767225600, owned_by: "llmwire" }],
  });
});

Deno.test("mock upstream: negative delays are refused", () => {
  assert.throws(() => createMockUpstream({ tokenDelayMs: -1 }), RangeError);
  assert.throws(() => createMockUpstream({ firstTokenDelayMs: Number.NaN }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Pacing and aborts

Deno.test("mock upstream: token pacing — first token after firstTokenDelayMs, then tokenDelayMs each", async () => {
  const paced = createMockUpstream({ firstTokenDelayMs: 80, tokenDelayMs: 10 });
  const started = performance.now();
  const response = await paced(
    new Request("http://mock.invalid/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify(openAIBody({ stream: true })),
    }),
  );
  const headersAfter = performance.now() - started;
  let firstTextAt: number | undefined;
  let text = "";
  const decoded = response.body!.pipeThrough(new SseDecoderStream()).pipeThrough(
    new OpenAIChatDecoderStream(),
  );
  for await (const event of decoded) {
    if (event.type !== "text_delta") continue;
    firstTextAt ??= performance.now() - started;
    text += event.text;
  }
  const total = performance.now() - started;
  assert.equal(text, ANSWER);
  assert.ok(headersAfter < 80, `the response head comes at once (${headersAfter} ms)`);
  assert.ok(firstTextAt! >= 78, `first token after ${firstTextAt} ms`);
  assert.ok(total >= 78 + 13 * 10, `14 tokens took ${total} ms`);

  const whole = performance.now();
  const body = await (await paced(
    new Request("http://mock.invalid/v1/messages", {
      method: "POST",
      body: JSON.stringify(anthropicBody()),
    }),
  )).json();
  const wholeTook = performance.now() - whole;
  assert.equal(body.content[0].text, ANSWER);
  assert.ok(wholeTook >= 78 + 13 * 10, `a non-streaming reply waits as long (${wholeTook} ms)`);
});

Deno.test("mock upstream: aborting the request stops the stream and leaves no timer", async () => {
  const slow = createMockUpstream({ firstTokenDelayMs: 0, tokenDelayMs: 5_000 });
  const controller = new AbortController();
  const response = await slow(
    new Request("http://mock.invalid/model/mock/converse-stream", {
      method: "POST",
      body: JSON.stringify(bedrockBody()),
      signal: controller.signal,
    }),
  );
  const reader = response.body!.getReader();
  const first = await reader.read(); // messageStart
  const second = await reader.read(); // the first token, without delay
  assert.equal(first.done, false);
  assert.equal(second.done, false);
  const reason = new Error("client went away");
  const started = performance.now();
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(reader.read(), (error) => error === reason);
  assert.ok(performance.now() - started < 1_000, "the pending token wait ended at the abort");
});

Deno.test("mock upstream: abort during a non-streaming reply rejects; an aborted request is refused", async () => {
  const slow = createMockUpstream({ firstTokenDelayMs: 5_000 });
  const controller = new AbortController();
  const pending = slow(
    new Request("http://mock.invalid/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify(openAIBody()),
      signal: controller.signal,
    }),
  );
  const reason = new Error("gave up");
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(pending, (error) => error === reason);

  await assert.rejects(
    slow(
      new Request("http://mock.invalid/v1/chat/completions", {
        method: "POST",
        body: "{}",
        signal: AbortSignal.abort(reason),
      }),
    ),
    (error) => error === reason,
  );
});

Deno.test("mock upstream: cancelling the body stops the stream", async () => {
  const slow = createMockUpstream({ firstTokenDelayMs: 5_000 });
  const response = await slow(
    new Request("http://mock.invalid/v1/messages", {
      method: "POST",
      body: JSON.stringify(anthropicBody({ stream: true })),
    }),
  );
  const reader = response.body!.getReader();
  const start = await reader.read(); // message_start comes at once
  assert.match(new TextDecoder().decode(start.value), /^event: message_start\n/);
  const read = reader.read(); // waits for the first token
  await new Promise((resolve) => setTimeout(resolve, 10));
  await reader.cancel("not interested");
  assert.deepEqual(await read, { done: true, value: undefined });
});

// ---------------------------------------------------------------------------------------------
// Real clients on loopback

async function serving<T>(
  fn: (base: string) => Promise<T>,
  options = { firstTokenDelayMs: 0, tokenDelayMs: 0 },
): Promise<T> {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    createMockUpstream(options),
  );
  try {
    return await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("mock upstream: the openai SDK streams from it", async () => {
  await serving(async (base) => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "sk-test", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "mock-openai",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: QUESTION }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, ANSWER);
    assert.equal(finish, "stop");
    assert.deepEqual(usage, {
      prompt_tokens: 8,
      completion_tokens: 14,
      total_tokens: 22,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });

    const models = await client.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ["mock"]);
  });
});

Deno.test("mock upstream: the @anthropic-ai/sdk streams from it, tool call included", async () => {
  await serving(async (base) => {
    const client = new Anthropic({ baseURL: base, apiKey: "sk-ant-test", maxRetries: 0 });
    const stream = client.messages.stream({
      model: "mock-anthropic",
      max_tokens: 256,
      system: "Be brief.",
      messages: [{ role: "user", content: QUESTION }],
    });
    let streamed = "";
    stream.on("text", (delta) => {
      streamed += delta;
    });
    const message = await stream.finalMessage();
    assert.equal(streamed, ANSWER);
    assert.deepEqual(message.content.map((block) => block.type === "text" ? block.text : ""), [
      ANSWER,
    ]);
    assert.equal(message.stop_reason, "end_turn");
    assert.equal(message.usage.input_tokens, 8);
    assert.equal(message.usage.output_tokens, 14);

    const tool = await client.messages.stream({
      model: "mock-anthropic",
      max_tokens: 256,
      messages: [{ role: "user", content: TOOL_QUESTION }],
      tools: [{
        name: "get_weather",
        input_schema: WEATHER_TOOL_SCHEMA as Anthropic.Tool.InputSchema,
      }],
    }).finalMessage();
    assert.equal(tool.stop_reason, "tool_use");
    const call = tool.content.find((block) => block.type === "tool_use");
    assert.equal(call?.type === "tool_use" && call.name, "get_weather");
    assert.deepEqual(call?.type === "tool_use" && call.input, TOOL_ARGS);
  });
});

Deno.test("mock upstream: the AWS SDK ConverseStreamCommand streams from it", async () => {
  await serving(async (base) => {
    const client = new BedrockRuntimeClient({
      region: "us-east-1",
      endpoint: base,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "mock-secret" },
      maxAttempts: 1,
      // The default user agent reads os.release(), which would need --allow-sys.
      defaultUserAgentProvider: () => Promise.resolve([["llmwire-test"]]),
      // The default NodeHttp2Handler closes the HTTP/2 session right after the response head of
      // an event stream; Node lets the open stream finish, Deno 2.9.6's node:http2 cuts it, so
      // a paced stream would end silently after its first chunk. HTTP/1.1 is unaffected.
      requestHandler: new NodeHttpHandler(),
    });
    try {
      const response = await client.send(
        new ConverseStreamCommand({
          modelId: "anthropic.claude-3-haiku-20240307-v1:0",
          system: [{ text: "Be brief." }],
          messages: [{ role: "user", content: [{ text: QUESTION }] }],
        }),
      );
      const outputs: ConverseStreamOutput[] = [];
      for await (const output of response.stream!) outputs.push(output);
      const text = outputs.map((output) => output.contentBlockDelta?.delta?.text ?? "").join("");
      assert.equal(text, ANSWER);
      assert.deepEqual(outputs[0], { messageStart: { role: "assistant" } });
      assert.equal(outputs.find((o) => o.messageStop)?.messageStop?.stopReason, "end_turn");
      assert.deepEqual(outputs.at(-1)?.metadata?.usage, {
        inputTokens: 8,
        outputTokens: 14,
        totalTokens: 22,
      });
    } finally {
      client.destroy();
    }
  }, { firstTokenDelayMs: 5, tokenDelayMs: 1 });
});

Deno.test("mock upstream: a client that disconnects mid-stream over HTTP stops it", async () => {
  await serving(async (base) => {
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(openAIBody({ stream: true })),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /^data: \{"id":"chatcmpl-mock/);
    controller.abort();
    await assert.rejects(reader.read());
  }, { firstTokenDelayMs: 0, tokenDelayMs: 10_000 });
});
