import assert from "node:assert/strict";
import { EventStreamDecoderStream, SseDecoderStream } from "../mod.ts";
import type { EventStreamMessage, SseEvent } from "../mod.ts";
import {
  buildFixtures,
  type FixtureDescription,
  fixtureIndexJson,
} from "../scripts/generate_fixtures.ts";
import { chunkings, collect } from "./_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const textDecoder = new TextDecoder();

Deno.test("fixtures/ holds exactly what scripts/generate_fixtures.ts writes", async () => {
  const fixtures = buildFixtures();
  for (const { description, bytes } of fixtures) {
    const onDisk = await Deno.readFile(new URL(description.file, FIXTURES));
    assert.deepEqual(
      onDisk,
      bytes,
      `fixtures/${description.file} is stale: run deno task fixtures`,
    );
  }
  assert.equal(
    await Deno.readTextFile(new URL("index.json", FIXTURES)),
    fixtureIndexJson(fixtures),
  );
});

interface Summary {
  frames: number;
  text: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  stopReason?: string;
  usage?: { input: number; output: number; total: number };
  error?: { type: string; message: string };
}

// Reads the Bedrock ConverseStream events directly (the protocol layer is tested on its own);
// this only proves the fixtures carry what their index claims.
function summarizeBedrock(messages: EventStreamMessage[]): Summary {
  const summary: Summary = { frames: messages.length, text: "", reasoning: "", toolCalls: [] };
  for (const { headers, payload } of messages) {
    const body = JSON.parse(textDecoder.decode(payload));
    if (headers[":message-type"]?.value === "exception") {
      summary.error = { type: String(headers[":exception-type"]?.value), message: body.message };
      continue;
    }
    assert.equal(typeof body.p, "string", "every Bedrock event carries the p padding field");
    switch (headers[":event-type"]?.value) {
      case "contentBlockStart":
        summary.toolCalls.push({
          id: body.start.toolUse.toolUseId,
          name: body.start.toolUse.name,
          arguments: "",
        });
        break;
      case "contentBlockDelta":
        if (body.delta.text !== undefined) summary.text += body.delta.text;
        if (body.delta.reasoningContent?.text) {
          summary.reasoning += body.delta.reasoningContent.text;
        }
        if (body.delta.toolUse) summary.toolCalls.at(-1)!.arguments += body.delta.toolUse.input;
        break;
      case "messageStop":
        summary.stopReason = body.stopReason;
        break;
      case "metadata":
        summary.usage = {
          input: body.usage.inputTokens,
          output: body.usage.outputTokens,
          total: body.usage.totalTokens,
        };
        break;
    }
  }
  return summary;
}

function summarizeOpenAI(events: SseEvent[]): Summary {
  const summary: Summary = { frames: events.length, text: "", reasoning: "", toolCalls: [] };
  assert.equal(events.at(-1)?.data, "[DONE]");
  for (const event of events.slice(0, -1)) {
    const chunk = JSON.parse(event.data);
    const choice = chunk.choices[0];
    if (chunk.usage) {
      const u = chunk.usage;
      summary.usage = {
        input: u.prompt_tokens,
        output: u.completion_tokens,
        total: u.total_tokens,
      };
    }
    if (!choice) continue;
    if (choice.delta.content) summary.text += choice.delta.content;
    for (const call of choice.delta.tool_calls ?? []) {
      if (call.id) summary.toolCalls.push({ id: call.id, name: call.function.name, arguments: "" });
      summary.toolCalls[call.index]!.arguments += call.function.arguments;
    }
    if (choice.finish_reason) summary.stopReason = choice.finish_reason;
  }
  return summary;
}

function summarizeAnthropic(events: SseEvent[]): Summary {
  const summary: Summary = { frames: events.length, text: "", reasoning: "", toolCalls: [] };
  let input = 0;
  for (const event of events) {
    const body = JSON.parse(event.data);
    assert.equal(body.type, event.event, "Anthropic repeats the event name in the data");
    if (body.type === "message_start") input = body.message.usage.input_tokens;
    if (body.type === "content_block_start" && body.content_block.type === "tool_use") {
      const { id, name } = body.content_block;
      summary.toolCalls.push({ id, name, arguments: "" });
    }
    if (body.type === "content_block_delta") {
      if (body.delta.type === "text_delta") summary.text += body.delta.text;
      if (body.delta.type === "input_json_delta") {
        summary.toolCalls.at(-1)!.arguments += body.delta.partial_json;
      }
    }
    if (body.type === "message_delta") {
      summary.stopReason = body.delta.stop_reason;
      const output = body.usage.output_tokens;
      summary.usage = { input, output, total: input + output };
    }
  }
  return summary;
}

function expectedSummary(d: FixtureDescription): Summary {
  const summary: Summary = {
    frames: d.frames,
    text: d.text,
    reasoning: d.reasoning ?? "",
    toolCalls: d.toolCalls ?? [],
  };
  if (d.stopReason !== undefined) summary.stopReason = d.stopReason;
  if (d.usage !== undefined) summary.usage = d.usage;
  if (d.error !== undefined) summary.error = d.error;
  return summary;
}

for (const { description, bytes } of buildFixtures()) {
  Deno.test(`fixtures/${description.file} decodes to its index entry at every chunking`, async () => {
    const expected = expectedSummary(description);
    for (const { name, chunks } of chunkings(bytes, 256)) {
      let actual: Summary;
      if (description.contentType === "application/vnd.amazon.eventstream") {
        actual = summarizeBedrock(await collect(chunks, new EventStreamDecoderStream()));
      } else {
        const events = await collect(chunks, new SseDecoderStream());
        actual = description.file.startsWith("openai/")
          ? summarizeOpenAI(events)
          : summarizeAnthropic(events);
      }
      assert.deepEqual(actual, expected, name);
    }
  });
}
