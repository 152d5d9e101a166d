/**
 * The official OpenAI SDK (`npm:openai`) reads what OpenAIChatEncoderStream writes: a loopback
 * server answers `POST /v1/chat/completions` with our encoder's output for a fixed LlmEvent
 * sequence, and the SDK's `create({ stream: true })`, `stream()` helper and error handling are
 * asserted on.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@7.57.0";
import { SseEncoderStream } from "../src/framing/mod.ts";
import { createUsage, type LlmEvent } from "../src/protocols/events.ts";
import { OpenAIChatEncoderStream } from "../src/protocols/openai_chat.ts";

const CREATED = 1764057600;

const TOOL_EVENTS: LlmEvent[] = [
  { type: "message_start", id: "chatcmpl-sdk1", model: "llmwire-test", role: "assistant" },
  { type: "text_delta", index: 0, text: "Let me check " },
  { type: "text_delta", index: 0, text: "both." },
  { type: "block_stop", index: 0 },
  { type: "tool_call_start", index: 1, id: "call_weather1", name: "get_weather" },
  { type: "tool_call_delta", index: 1, arguments: '{"city":' },
  { type: "tool_call_delta", index: 1, arguments: '"Lisbon",' },
  { type: "tool_call_start", index: 2, id: "call_time2", name: "get_time" },
  { type: "tool_call_delta", index: 2, arguments: '{"tz":' },
  { type: "tool_call_delta", index: 1, arguments: '"unit":"celsius"}' },
  { type: "tool_call_delta", index: 2, arguments: '"Europe/Lisbon"}' },
  { type: "block_stop", index: 1 },
  { type: "block_stop", index: 2 },
  { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
  {
    type: "usage",
    usage: createUsage({ inputTokens: 420, outputTokens: 37, cacheReadTokens: 384 }),
  },
];

const ERROR_EVENTS: LlmEvent[] = [
  { type: "message_start", id: "chatcmpl-sdk2", model: "llmwire-test", role: "assistant" },
  { type: "text_delta", index: 0, text: "Sure, here is the first part" },
  {
    type: "error",
    kind: "rate_limit",
    message: "Too many tokens, please wait before trying again.",
    status: 429,
    providerType: "throttlingException",
  },
];

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      parameters: { type: "object", properties: { tz: { type: "string" } } },
    },
  },
];

interface Received {
  path: string;
  authorization: string | null;
  body: Record<string, unknown>;
}

/** Serves our encoder's output; the request's `model` picks the event sequence. */
async function withServer(
  fn: (client: OpenAI, received: Received[]) => Promise<void>,
): Promise<void> {
  const received: Received[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (request) => {
      const body = await request.json() as Record<string, unknown>;
      received.push({
        path: new URL(request.url).pathname,
        authorization: request.headers.get("authorization"),
        body,
      });
      const events = body.model === "error" ? ERROR_EVENTS : TOOL_EVENTS;
      const options = body.stream_options as { include_usage?: boolean } | undefined;
      const stream = ReadableStream.from(events)
        .pipeThrough(
          new OpenAIChatEncoderStream({
            created: CREATED,
            includeUsage: options?.include_usage === true,
          }),
        )
        .pipeThrough(new SseEncoderStream());
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  );
  try {
    const client = new OpenAI({
      baseURL: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: "test",
      maxRetries: 0,
    });
    await fn(client, received);
  } finally {
    await server.shutdown();
  }
}

Deno.test("openai SDK create({ stream: true }) reads text, two tool calls, finish and usage", async () => {
  await withServer(async (client, received) => {
    const stream = await client.chat.completions.create({
      model: "llmwire-test",
      messages: [{ role: "user", content: "Weather and time in Lisbon?" }],
      tools: TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    const finishReasons: string[] = [];
    const ids = new Set<string>();
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      ids.add(chunk.id);
      assert.equal(chunk.object, "chat.completion.chunk");
      assert.equal(chunk.model, "llmwire-test");
      assert.equal(chunk.created, CREATED);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      content += choice.delta.content ?? "";
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = calls[call.index] ??= { arguments: "" };
        if (call.id !== undefined) slot.id = call.id;
        if (call.function?.name !== undefined) slot.name = call.function.name;
        slot.arguments += call.function?.arguments ?? "";
      }
      if (choice.finish_reason) finishReasons.push(choice.finish_reason);
    }
    assert.equal(chunks, 12); // role, 2 text, 2 tool starts, 5 argument fragments, finish, usage
    assert.deepEqual([...ids], ["chatcmpl-sdk1"]);
    assert.equal(content, "Let me check both.");
    assert.deepEqual(calls, [
      { id: "call_weather1", name: "get_weather", arguments: '{"city":"Lisbon","unit":"celsius"}' },
      { id: "call_time2", name: "get_time", arguments: '{"tz":"Europe/Lisbon"}' },
    ]);
    assert.deepEqual(finishReasons, ["tool_calls"]);
    assert.deepEqual(usage, {
      prompt_tokens: 420,
      completion_tokens: 37,
      total_tokens: 457,
      prompt_tokens_details: { cached_tokens: 384 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });

    assert.equal(received.length, 1);
    assert.equal(received[0]!.path, "/v1/chat/completions");
    assert.equal(received[0]!.authorization, "Bearer test");
    assert.equal(received[0]!.body.stream, true);
    assert.deepEqual(received[0]!.body.stream_options, { include_usage: true });
  });
});

Deno.test("openai SDK stream() helper accumulates the final chat completion", async () => {
  await withServer(async (client) => {
    const stream = client.chat.completions.stream({
      model: "llmwire-test",
      messages: [{ role: "user", content: "Weather and time in Lisbon?" }],
      tools: TOOLS,
      stream_options: { include_usage: true },
    });
    let contentEvents = "";
    stream.on("content", (delta) => contentEvents += delta);
    const completion = await stream.finalChatCompletion();
    assert.equal(completion.id, "chatcmpl-sdk1");
    assert.equal(completion.model, "llmwire-test");
    assert.equal(completion.created, CREATED);
    assert.equal(contentEvents, "Let me check both.");
    const [choice] = completion.choices;
    assert.equal(choice?.finish_reason, "tool_calls");
    assert.equal(choice?.message.role, "assistant");
    assert.equal(choice?.message.content, "Let me check both.");
    assert.deepEqual(
      choice?.message.tool_calls?.map((call) => {
        assert.equal(call.type, "function");
        return call.type === "function"
          ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
          : undefined;
      }),
      [
        {
          id: "call_weather1",
          name: "get_weather",
          arguments: '{"city":"Lisbon","unit":"celsius"}',
        },
        { id: "call_time2", name: "get_time", arguments: '{"tz":"Europe/Lisbon"}' },
      ],
    );
    assert.equal(completion.usage?.prompt_tokens, 420);
    assert.equal(completion.usage?.completion_tokens, 37);
    assert.equal(completion.usage?.total_tokens, 457);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 384);
  });
});

Deno.test("openai SDK without include_usage sees no usage and still finishes", async () => {
  await withServer(async (client) => {
    const stream = await client.chat.completions.create({
      model: "llmwire-test",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let sawUsage = false;
    let finish: string | null = null;
    for await (const chunk of stream) {
      if ("usage" in chunk) sawUsage = true;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(sawUsage, false);
    assert.equal(finish, "tool_calls");
  });
});

Deno.test("openai SDK throws an APIError for our error chunk", async () => {
  await withServer(async (client) => {
    const stream = await client.chat.completions.create({
      model: "error",
      messages: [{ role: "user", content: "Tell me a long story" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    await assert.rejects(
      async () => {
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
      },
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.message, "Too many tokens, please wait before trying again.");
        assert.equal(error.type, "rate_limit_error");
        assert.equal(error.code, "throttlingException");
        return true;
      },
    );
    assert.equal(content, "Sure, here is the first part");

    const helper = client.chat.completions.stream({
      model: "error",
      messages: [{ role: "user", content: "Tell me a long story" }],
    });
    await assert.rejects(
      helper.finalChatCompletion(),
      (error: unknown) =>
        error instanceof OpenAI.APIError &&
        error.message === "Too many tokens, please wait before trying again.",
    );
  });
});
