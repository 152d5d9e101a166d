/**
 * The protocol layer of the built npm package under Node: every fixture decoded to LlmEvents,
 * encoded back in its own protocol and decoded again (the same events), and re-spoken in the
 * other two protocols (the same text, tool calls, usage and stop reason).
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  EventStreamDecoderStream,
  EventStreamEncoderStream,
  SseDecoderStream,
  SseEncoderStream,
} from "llmwire/framing";
import {
  AnthropicMessagesDecoderStream,
  AnthropicMessagesEncoderStream,
  BedrockConverseDecoderStream,
  BedrockConverseEncoderStream,
  OpenAIChatDecoderStream,
  OpenAIChatEncoderStream,
} from "llmwire/protocols";
import { chunkings, concat, fixtureBytes, FIXTURES, readAll, streamOf } from "./_helpers.mjs";

const OPTIONS = { id: "msg_node", model: "node-model" };

/** Provider bytes → LlmEvents. */
function decode(protocol, chunks) {
  const body = streamOf(chunks);
  return readAll(
    protocol === "bedrock"
      ? body.pipeThrough(new EventStreamDecoderStream()).pipeThrough(
        new BedrockConverseDecoderStream(OPTIONS),
      )
      : protocol === "openai"
      ? body.pipeThrough(new SseDecoderStream({ flushIncompleteEvent: true })).pipeThrough(
        new OpenAIChatDecoderStream(OPTIONS),
      )
      : body.pipeThrough(new SseDecoderStream()).pipeThrough(
        new AnthropicMessagesDecoderStream(OPTIONS),
      ),
  );
}

/** LlmEvents → client bytes; `options` for the OpenAI encoder (its id and model). */
async function encode(protocol, events, options = OPTIONS) {
  const source = streamOf(events);
  return concat(
    await readAll(
      protocol === "bedrock"
        ? source.pipeThrough(new BedrockConverseEncoderStream()).pipeThrough(
          new EventStreamEncoderStream(),
        )
        : protocol === "openai"
        ? source.pipeThrough(new OpenAIChatEncoderStream({ ...options, includeUsage: true }))
          .pipeThrough(new SseEncoderStream())
        : source.pipeThrough(new AnthropicMessagesEncoderStream(OPTIONS)).pipeThrough(
          new SseEncoderStream(),
        ),
    ),
  );
}

/** What a client sees: text, reasoning, tool calls, usage, stop reason, error. */
function summarize(events) {
  const summary = { text: "", reasoning: "", toolCalls: [] };
  const calls = new Map();
  for (const event of events) {
    switch (event.type) {
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
        calls.get(event.index).arguments += event.arguments;
        break;
      case "message_stop":
        summary.stopReason = event.stopReason;
        break;
      case "usage":
        summary.usage = { input: event.usage.inputTokens, output: event.usage.outputTokens };
        break;
      case "error":
        summary.error = { kind: event.kind, status: event.status };
        break;
    }
  }
  return summary;
}

const STOP_REASONS = {
  end_turn: "end_turn",
  stop: "end_turn",
  tool_use: "tool_use",
  tool_calls: "tool_use",
};

function protocolOf(file) {
  return file.startsWith("bedrock/")
    ? "bedrock"
    : file.startsWith("openai/")
    ? "openai"
    : "anthropic";
}

/** The fixture's description (fixtures/index.json) as a summary. */
function described(description) {
  const summary = {
    text: description.text,
    reasoning: description.reasoning ?? "",
    toolCalls: description.toolCalls ?? [],
  };
  if (description.stopReason) summary.stopReason = STOP_REASONS[description.stopReason];
  if (description.usage) {
    summary.usage = { input: description.usage.input, output: description.usage.output };
  }
  if (description.error) summary.error = { kind: "rate_limit", status: 429 };
  return summary;
}

const fixtures = JSON.parse(readFileSync(join(FIXTURES, "index.json"), "utf8"));

for (const description of fixtures) {
  const protocol = protocolOf(description.file);
  test(`${protocol}: fixtures/${description.file} decodes, encodes and decodes to the same events`, async () => {
    const bytes = fixtureBytes(description.file);
    const events = await decode(protocol, [bytes]);
    assert.deepEqual(summarize(events), described(description));
    // An OpenAI chunk names its id and model; the encoder writes the ones it is given.
    const start = events.find((e) => e.type === "message_start");
    assert.ok(start);
    const again = await encode(protocol, events, { id: start.id, model: start.model });
    for (const [how, chunks] of chunkings(again)) {
      assert.deepEqual(await decode(protocol, chunks), events, how);
    }
  });
}

for (
  const [source, target] of [["bedrock", "openai"], ["openai", "anthropic"], [
    "anthropic",
    "bedrock",
  ]]
) {
  const file = fixtures.find((d) => protocolOf(d.file) === source && d.toolCalls !== undefined);
  test(`${source} → ${target}: fixtures/${file.file} re-spoken keeps text, tool calls, usage and stop reason`, async () => {
    const events = await decode(source, [fixtureBytes(file.file)]);
    const converted = await encode(target, events);
    const seen = summarize(await decode(target, [converted]));
    const expected = described(file);
    assert.equal(seen.text, expected.text);
    assert.deepEqual(seen.toolCalls, expected.toolCalls);
    assert.equal(seen.stopReason, "tool_use");
    assert.deepEqual(seen.usage, expected.usage);
  });
}
