/**
 * Every provider stream re-spoken in every other client protocol: provider bytes → framing
 * decoder → provider decoder → LlmEvent → client encoder → framing encoder → bytes, then decoded
 * again as the client would, asserting text, reasoning, tool calls, usage and stop reason.
 */
import assert from "node:assert/strict";
import {
  AnthropicMessagesDecoderStream,
  AnthropicMessagesEncoderStream,
  BedrockConverseDecoderStream,
  BedrockConverseEncoderStream,
  EventStreamDecoderStream,
  EventStreamEncoderStream,
  type LlmEvent,
  OpenAIChatDecoderStream,
  OpenAIChatEncoderStream,
  SseDecoderStream,
  SseEncoderStream,
  type StopReason,
} from "../mod.ts";
import type { FixtureDescription } from "../scripts/generate_fixtures.ts";
import { chunkings, corporaPresent, listCorpus, readCorpusBytes } from "./_helpers.ts";

type Protocol = "bedrock" | "openai" | "anthropic";
const PROTOCOLS: Protocol[] = ["bedrock", "openai", "anthropic"];
const OPTIONS = { id: "msg_cross", model: "cross-model" };

/** Provider bytes → LlmEvents, as a gateway reads an upstream. */
function decode(protocol: Protocol, chunks: Uint8Array[]): Promise<LlmEvent[]> {
  const body = ReadableStream.from(chunks);
  const events = protocol === "bedrock"
    ? body.pipeThrough(new EventStreamDecoderStream()).pipeThrough(
      new BedrockConverseDecoderStream(OPTIONS),
    )
    : protocol === "openai"
    ? body.pipeThrough(new SseDecoderStream({ flushIncompleteEvent: true })).pipeThrough(
      new OpenAIChatDecoderStream(OPTIONS),
    )
    : body.pipeThrough(new SseDecoderStream()).pipeThrough(
      new AnthropicMessagesDecoderStream(OPTIONS),
    );
  return Array.fromAsync(events);
}

/** LlmEvents → client bytes, as a gateway writes to a client of `protocol`. */
async function encode(protocol: Protocol, events: LlmEvent[]): Promise<Uint8Array> {
  const source = ReadableStream.from(events);
  const bytes = protocol === "bedrock"
    ? source.pipeThrough(new BedrockConverseEncoderStream()).pipeThrough(
      new EventStreamEncoderStream(),
    )
    : protocol === "openai"
    ? source.pipeThrough(new OpenAIChatEncoderStream({ ...OPTIONS, includeUsage: true }))
      .pipeThrough(new SseEncoderStream())
    : source.pipeThrough(new AnthropicMessagesEncoderStream(OPTIONS)).pipeThrough(
      new SseEncoderStream(),
    );
  return new Uint8Array(await new Response(bytes).arrayBuffer());
}

interface Summary {
  text: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  stopReason?: StopReason;
  tokens?: { input: number; output: number; cacheRead: number };
  error?: { kind: string; status: number };
}

/** What a client sees of a response: the parts every protocol can carry. */
function summarize(events: LlmEvent[]): Summary {
  const summary: Summary = { text: "", reasoning: "", toolCalls: [] };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for (const event of events) {
    switch (event.type) {
      case "text_delta":
        summary.text += event.text;
        break;
      case "reasoning_delta":
        if (event.kind === "text") summary.reasoning += event.text;
        break;
      case "tool_call_start":
        if (!event.serverSide) {
          const call = { id: event.id, name: event.name, arguments: "" };
          calls.set(event.index, call);
          summary.toolCalls.push(call);
        }
        break;
      case "tool_call_delta": {
        const call = calls.get(event.index);
        if (call) call.arguments += event.arguments;
        break;
      }
      case "message_stop":
        summary.stopReason = event.stopReason;
        break;
      case "usage":
        summary.tokens = {
          input: event.usage.inputTokens,
          output: event.usage.outputTokens,
          cacheRead: event.usage.cacheReadTokens,
        };
        break;
      case "error":
        summary.error = { kind: event.kind, status: event.status };
        break;
    }
  }
  return summary;
}

/**
 * What survives the trip into `target`: OpenAI has no reasoning signatures but keeps reasoning
 * text; stop reasons that a protocol cannot name collapse to the ones it can.
 */
function expectedAfter(target: Protocol, source: Summary): Summary {
  const expected = structuredClone(source);
  if (expected.stopReason !== undefined) {
    const collapse: Partial<Record<Protocol, Partial<Record<StopReason, StopReason>>>> = {
      openai: {
        stop_sequence: "end_turn",
        context_window_exceeded: "max_tokens",
        guardrail: "content_filter",
        other: "end_turn",
      },
      bedrock: { other: "end_turn", error: "end_turn" },
      anthropic: {
        guardrail: "content_filter",
        context_window_exceeded: "context_window_exceeded",
      },
    };
    expected.stopReason = collapse[target]?.[expected.stopReason] ?? expected.stopReason;
    // A message whose only tool calls are server-side is a plain stop for an OpenAI client.
    if (
      target === "openai" && expected.stopReason === "tool_use" && expected.toolCalls.length === 0
    ) {
      expected.stopReason = "end_turn";
    }
  }
  if (expected.error !== undefined) delete expected.error;
  // Anthropic's message_delta must carry usage: a source that reported none reads as zeros.
  if (target === "anthropic" && expected.tokens === undefined && expected.stopReason) {
    expected.tokens = { input: 0, output: 0, cacheRead: 0 };
  }
  return expected;
}

const FIXTURES = new URL("../fixtures/", import.meta.url);
const fixtureIndex: FixtureDescription[] = JSON.parse(
  Deno.readTextFileSync(new URL("index.json", FIXTURES)),
);

function protocolOf(file: string): Protocol {
  return file.startsWith("bedrock/")
    ? "bedrock"
    : file.startsWith("openai/")
    ? "openai"
    : "anthropic";
}

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: "end_turn",
  stop: "end_turn",
  tool_use: "tool_use",
  tool_calls: "tool_use",
};

for (const description of fixtureIndex) {
  const source = protocolOf(description.file);
  for (const target of PROTOCOLS) {
    if (target === source) continue;
    Deno.test(`fixtures/${description.file} re-spoken as ${target}`, async () => {
      const bytes = Deno.readFileSync(new URL(description.file, FIXTURES));
      const original = await decode(source, [bytes]);
      const converted = await encode(target, original);
      // The client side decodes at every chunking to the same events.
      let clientEvents: LlmEvent[] | undefined;
      for (const { name, chunks } of chunkings(converted, 64)) {
        const events = await decode(target, chunks);
        if (clientEvents === undefined) clientEvents = events;
        else assert.deepEqual(events, clientEvents, name);
      }
      const seen = summarize(clientEvents!);

      // The fixture's own description, in the client's terms.
      assert.equal(seen.text, description.text);
      assert.equal(seen.reasoning, description.reasoning ?? "");
      assert.deepEqual(
        seen.toolCalls.map(({ name, arguments: args }) => ({ name, arguments: args })),
        (description.toolCalls ?? []).map(({ name, arguments: args }) => ({
          name,
          arguments: args,
        })),
      );
      // Tool call ids pass through unchanged.
      assert.deepEqual(
        seen.toolCalls.map((c) => c.id),
        (description.toolCalls ?? []).map((c) => c.id),
      );
      if (description.usage) {
        assert.deepEqual(seen.tokens, {
          input: description.usage.input,
          output: description.usage.output,
          cacheRead: 0,
        });
      }
      if (description.stopReason) {
        assert.equal(seen.stopReason, STOP_REASONS[description.stopReason]);
      }
      if (description.error) {
        // An in-stream provider error reaches the client as its protocol's error: rate limited.
        assert.deepEqual(seen.error, { kind: "rate_limit", status: 429 });
        assert.equal(seen.stopReason, undefined);
      } else {
        assert.equal(seen.error, undefined);
      }
    });
  }
}

// Every real recording, re-spoken in both other protocols: what a client can see is unchanged.
const RECORDED: { protocol: Protocol; dir: string; ext: string }[] = [
  { protocol: "bedrock", dir: "recorded/bedrock/pydantic-ai/", ext: ".bin" },
  { protocol: "bedrock", dir: "recorded/bedrock/apisix/", ext: ".bin" },
  { protocol: "anthropic", dir: "recorded/anthropic/pydantic-ai/", ext: ".sse" },
  { protocol: "anthropic", dir: "apisix/anthropic/", ext: ".sse" },
  { protocol: "openai", dir: "apisix/openai/", ext: ".sse" },
];

Deno.test({
  name: "every recorded stream keeps its text, tool calls and usage in every client protocol",
  ignore: !corporaPresent("cross-protocol conversion of recorded streams"),
  async fn() {
    let conversions = 0;
    for (const { protocol, dir, ext } of RECORDED) {
      for (const file of listCorpus(dir).filter((f) => f.endsWith(ext))) {
        // OpenAI Responses API streams are another protocol.
        if (file.startsWith("responses-")) continue;
        const original = await decode(protocol, [readCorpusBytes(dir + file)]);
        const source = summarize(original);
        if (source.error !== undefined) continue;
        for (const target of PROTOCOLS) {
          if (target === protocol) continue;
          const seen = summarize(await decode(target, [await encode(target, original)]));
          const expected = expectedAfter(target, source);
          assert.deepEqual(seen, expected, `${dir}${file} → ${target}`);
          conversions++;
        }
      }
    }
    assert.ok(conversions >= 40, `only ${conversions} conversions ran`);
  },
});
