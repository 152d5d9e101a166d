import assert from "node:assert/strict";
import {
  AnthropicMessagesDecoder,
  AnthropicMessagesDecoderStream,
  AnthropicMessagesEncoder,
  AnthropicMessagesEncoderStream,
  createUsage,
  encodeSseEvent,
  type LlmErrorKind,
  type LlmEvent,
  parseAnthropicMessagesError,
  SseDecoderStream,
  SseError,
  type SseEvent,
  type StopReason,
  toAnthropicMessagesError,
  type Usage,
} from "../mod.ts";
import { chunkings, corporaPresent, readCorpusBytes } from "./_helpers.ts";

/** Bytes → SSE (keeping an unterminated last event, as two APISIX fixtures need) → LlmEvents. */
function decode(
  chunks: Iterable<Uint8Array | string>,
  flushIncompleteEvent = true,
): Promise<LlmEvent[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks)
      .pipeThrough(new SseDecoderStream({ flushIncompleteEvent }))
      .pipeThrough(new AnthropicMessagesDecoderStream()),
  );
}

/** LlmEvents → Anthropic SSE events. */
function encode(events: LlmEvent[], options = {}): Promise<SseEvent[]> {
  return Array.fromAsync(
    ReadableStream.from(events).pipeThrough(new AnthropicMessagesEncoderStream(options)),
  );
}

/** LlmEvents → wire text → LlmEvents again. */
async function reencode(events: LlmEvent[]): Promise<LlmEvent[]> {
  const wire = (await encode(events)).map(encodeSseEvent).join("");
  return decode([wire], false);
}

/** Decodes SSE frames given as JSON bodies (the event name is taken from their type). */
function decodeFrames(frames: unknown[]): LlmEvent[] {
  const decoder = new AnthropicMessagesDecoder({ id: "msg_default" });
  const events: LlmEvent[] = [];
  for (const frame of frames) {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    const type = typeof frame === "object" && frame !== null && "type" in frame
      ? String(frame.type)
      : undefined;
    events.push(...decoder.push(type === undefined ? { data } : { event: type, data }));
  }
  events.push(...decoder.end());
  return events;
}

type BlockSummary =
  | { index: number; kind: "text"; text: string; citations?: string[] }
  | { index: number; kind: "thinking"; text: string; signature: string }
  | { index: number; kind: "redacted"; data: string }
  | {
    index: number;
    kind: "tool";
    id: string;
    name: string;
    arguments: string;
    serverSide?: boolean;
  }
  | { index: number; kind: "provider"; blockType: string };

interface Summary {
  id: string;
  model: string;
  blocks: BlockSummary[];
  stop: [StopReason, string | null];
  startUsage: number[] | null;
  usage: number[];
}

/** Long strings as `<code points>:<first 40>…<last 20>`. */
function clip(text: string): string {
  const points = Array.from(text);
  if (points.length <= 120) return text;
  return `${points.length}:${points.slice(0, 40).join("")}…${points.slice(-20).join("")}`;
}

function usageRow(u: Usage): number[] {
  assert.equal(u.totalTokens, u.inputTokens + u.outputTokens);
  return [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWriteTokens, u.reasoningTokens];
}

/**
 * Checks the event-model contract (message_start first; every block closed once, before
 * message_stop; nothing after an error) and summarizes the stream.
 */
function summarize(events: LlmEvent[]): Summary {
  const first = events[0];
  assert.equal(first?.type, "message_start", "a stream starts with message_start");
  const blocks = new Map<number, BlockSummary>();
  const open = new Set<number>();
  const closed = new Set<number>();
  let stop: Summary["stop"] | undefined;
  let startUsage: number[] | null = null;
  let usage: number[] | undefined;
  const block = <K extends BlockSummary["kind"]>(
    index: number,
    kind: K,
    init: () => BlockSummary,
  ) => {
    assert.ok(stop === undefined, "no content after message_stop");
    assert.ok(!closed.has(index), `block ${index} used after its block_stop`);
    let found = blocks.get(index);
    if (found === undefined) {
      found = init();
      blocks.set(index, found);
      open.add(index);
    }
    assert.equal(found.kind, kind, `block ${index} mixes kinds`);
    return found as Extract<BlockSummary, { kind: K }>;
  };
  for (const event of events.slice(1)) {
    switch (event.type) {
      case "message_start":
        assert.fail("a second message_start");
        break;
      case "usage":
        if (blocks.size === 0 && stop === undefined) startUsage = usageRow(event.usage);
        usage = usageRow(event.usage);
        break;
      case "text_delta":
        assert.notEqual(event.text, "", "empty fragments are dropped");
        block(event.index, "text", () => ({ index: event.index, kind: "text", text: "" })).text +=
          event.text;
        break;
      case "citation": {
        const b = block(
          event.index,
          "text",
          () => ({ index: event.index, kind: "text", text: "" }),
        );
        (b.citations ??= []).push(event.citation.url ?? "");
        break;
      }
      case "reasoning_delta":
        if (event.kind === "redacted") {
          block(event.index, "redacted", () => ({ index: event.index, kind: "redacted", data: "" }))
            .data += event.data;
        } else {
          const b = block(event.index, "thinking", () => ({
            index: event.index,
            kind: "thinking",
            text: "",
            signature: "",
          }));
          if (event.kind === "text") b.text += event.text;
          else b.signature += event.signature;
        }
        break;
      case "tool_call_start":
        assert.ok(!blocks.has(event.index), "tool_call_start opens its block");
        block(event.index, "tool", () => ({
          index: event.index,
          kind: "tool",
          id: event.id,
          name: event.name,
          arguments: "",
          ...(event.serverSide ? { serverSide: true } : {}),
        }));
        break;
      case "tool_call_delta":
        assert.ok(blocks.has(event.index), "tool_call_delta follows tool_call_start");
        block(event.index, "tool", () => assert.fail()).arguments += event.arguments;
        break;
      case "provider_block":
        assert.equal(event.protocol, "anthropic");
        assert.equal((event.content as { type: string }).type, event.blockType);
        block(event.index, "provider", () => ({
          index: event.index,
          kind: "provider",
          blockType: event.blockType,
        }));
        break;
      case "block_stop":
        // A block without content (an empty text block) shows up only as its block_stop.
        if (!blocks.has(event.index)) {
          block(event.index, "text", () => ({ index: event.index, kind: "text", text: "" }));
        }
        assert.ok(open.delete(event.index), `block_stop ${event.index} closes an open block`);
        closed.add(event.index);
        break;
      case "message_stop":
        assert.equal(open.size, 0, "every block is closed before message_stop");
        stop = [event.stopReason, event.rawStopReason];
        break;
      case "error":
        assert.fail(`unexpected error event: ${event.message}`);
    }
  }
  assert.ok(stop !== undefined, "the stream has a message_stop");
  assert.ok(usage !== undefined, "the stream reports usage");
  const summary: Summary = {
    id: first.id,
    model: first.model,
    blocks: [...blocks.values()],
    stop,
    startUsage,
    usage,
  };
  for (const b of summary.blocks) {
    if (b.kind === "text" || b.kind === "thinking") b.text = clip(b.text);
    if (b.kind === "thinking") b.signature = clip(b.signature);
    if (b.kind === "redacted") b.data = clip(b.data);
    if (b.kind === "tool") b.arguments = clip(b.arguments);
  }
  return summary;
}

/**
 * What each recorded stream decodes to, written from reading the files: blocks in order (long
 * strings clipped as `<length>:<start>…<end>`), [stop reason, raw stop reason], usage as
 * [input incl. cache, output, cache read, cache write, reasoning], first from message_start, then
 * the final cumulative one.
 */
const EXPECTED: Record<string, Summary> = {
  "apisix/anthropic/messages-streaming-with-cache.sse": {
    "id": "msg_test123",
    "model": "{{model}}",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Hello from Claude!",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      350,
      0,
      200,
      100,
      0,
    ],
    "usage": [
      350,
      30,
      200,
      100,
      0,
    ],
  },
  "apisix/anthropic/messages-streaming-with-tool-use.sse": {
    "id": "msg_123",
    "model": "",
    "blocks": [
      {
        "index": 0,
        "kind": "tool",
        "id": "toolu_1",
        "name": "get_weather",
        "arguments": "{}",
      },
    ],
    "stop": [
      "tool_use",
      "tool_use",
    ],
    "startUsage": [
      20,
      0,
      0,
      0,
      0,
    ],
    "usage": [
      20,
      5,
      0,
      0,
      0,
    ],
  },
  "apisix/anthropic/messages-streaming.sse": {
    "id": "msg_abc123",
    "model": "claude-3-5-sonnet-20241022",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Hello!",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      10,
      0,
      0,
      0,
      0,
    ],
    "usage": [
      10,
      8,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/fixtures/fable-fallback/stream-a-refusal.sse": {
    "id": "msg_fixture_a_0001",
    "model": "claude-fable-5",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "212:Simple educational question about what a…ll with it politely.",
        "signature": "c3ludGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU=",
      },
      {
        "index": 1,
        "kind": "text",
        "text": "Hi",
      },
    ],
    "stop": [
      "content_filter",
      "refusal",
    ],
    "startUsage": [
      28,
      5,
      0,
      0,
      0,
    ],
    "usage": [
      28,
      106,
      0,
      0,
      67,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/fixtures/fable-fallback/stream-a-toolrefusal.sse": {
    "id": "msg_fixture_atool_0001",
    "model": "claude-fable-5",
    "blocks": [
      {
        "index": 0,
        "kind": "tool",
        "id": "srvtoolu_fixture_a_0001",
        "name": "web_search",
        "arguments": '{"query": "solar eclipse viewing safety news 2026"}',
        "serverSide": true,
      },
      {
        "index": 1,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 2,
        "kind": "text",
        "text": "Here's a summary of this year's solar eclipses and how",
      },
    ],
    "stop": [
      "content_filter",
      "refusal",
    ],
    "startUsage": [
      612,
      63,
      0,
      0,
      0,
    ],
    "usage": [
      28,
      106,
      0,
      0,
      67,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/fixtures/fable-fallback/stream-b-fallback.sse": {
    "id": "msg_fixture_b_0001",
    "model": "claude-opus-4-8",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "1312: there! Happy to explain.\n\n**Solar eclip…rking your interest!",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      31,
      7,
      0,
      0,
      0,
    ],
    "usage": [
      31,
      547,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/lib/fixtures/basic_response.txt": {
    "id": "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
    "model": "claude-opus-4-8",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Hello there!",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      11,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      11,
      6,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/lib/fixtures/incomplete_partial_json_response.txt": {
    "id": "msg_01UdjYBBipA9omjYhicnevgq",
    "model": "claude-sonnet-4-5",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "135:I'll create a comprehensive tax guide fo…do that for you now.",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "toolu_01EKqbqmZrGRXy18eN7m9kvY",
        "name": "make_file",
        "arguments": '149:{"filename": "taxes.txt", "lines_of_text…",\n"",\n"Filing taxes',
      },
    ],
    "stop": [
      "max_tokens",
      "max_tokens",
    ],
    "startUsage": [
      450,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      450,
      124,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/anthropic-sdk-typescript/lib/fixtures/tool_use_response.txt": {
    "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr",
    "model": "claude-opus-4-8",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "I'll check the current weather in Paris for you.",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
        "name": "get_weather",
        "arguments": '{"location": "Paris"}',
      },
    ],
    "stop": [
      "tool_use",
      "tool_use",
    ],
    "startUsage": [
      377,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      377,
      65,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_advisor_tool_stream.sse": {
    "id": "msg_011CdD8kd2BCHcbXAHcYxvaf",
    "model": "claude-sonnet-5",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "",
        "signature": "540:EpADCokBCA8YAipAsfSSBF77IhHThF+yK0LNwHzS…aIml6BikVZhYFcZNzhgB",
      },
      {
        "index": 1,
        "kind": "text",
        "text": '170:The task asks "What\'s 2+2?" — a trivial …d before finalizing.',
      },
      {
        "index": 2,
        "kind": "tool",
        "id": "srvtoolu_01DgsKYsJWQfJxubLmaKLEj6",
        "name": "advisor",
        "arguments": "{}",
        "serverSide": true,
      },
      {
        "index": 3,
        "kind": "provider",
        "blockType": "advisor_tool_result",
      },
      {
        "index": 4,
        "kind": "text",
        "text": "The answer is **4**.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      1128,
      2,
      0,
      0,
      0,
    ],
    "usage": [
      2411,
      145,
      0,
      0,
      47,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_code_execution_tool_stream.sse": {
    "id": "msg_01Js8aWE7YbmiaUPneGiCskE",
    "model": "claude-sonnet-4-6",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "Let me calculate this mathematical expression.",
        "signature": "320:EusBClsIDRgCKkBpzetW9oKOZtFP6IeFJJr3gnQB…6QRNK5dDomrp4RcinBgB",
      },
      {
        "index": 1,
        "kind": "text",
        "text": "I'll calculate that expression for you right away!",
      },
      {
        "index": 2,
        "kind": "tool",
        "id": "srvtoolu_01MwXaweAHve88x6s3Fc8x6Q",
        "name": "bash_code_execution",
        "arguments": '{"command": "echo \\"65465-6544 * 65464-6+1.02255\\" | bc -l"}',
        "serverSide": true,
      },
      {
        "index": 3,
        "kind": "provider",
        "blockType": "bash_code_execution_tool_result",
      },
      {
        "index": 4,
        "kind": "text",
        "text": "451:Following the standard **order of operat…-428,330,955.97745**",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2293,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      4714,
      304,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_compaction_usage_with_cache_streaming.sse": {
    "id": "msg_011CduoCRono7pFKoTWpPAia",
    "model": "claude-sonnet-4-6",
    "blocks": [
      {
        "index": 0,
        "kind": "provider",
        "blockType": "compaction",
      },
      {
        "index": 1,
        "kind": "text",
        "text": "Hello! 👋",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      55196,
      7,
      55096,
      0,
      0,
    ],
    "usage": [
      181,
      8,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_mcp_servers_stream.sse": {
    "id": "msg_01Xf6SmUVY1mDrSwFc5RsY3n",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "192:The user is asking about the pydantic/py…out this repository.",
        "signature": "492:EuoCCkYICBgCKkDPqznnPHupi9rVXvaQQqrMprXo…FZd5kjtDkQ5dw/IYAQ==",
      },
      {
        "index": 1,
        "kind": "provider",
        "blockType": "mcp_tool_use",
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "mcp_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "806:**Pydantic-AI** is a framework for build…ecific complexities.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      690,
      8,
      0,
      0,
      0,
    ],
    "usage": [
      3042,
      354,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.sse": {
    "id": "msg_018XZkwvj9asBiffg3fXt88s",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "redacted",
        "data": "744:EqkECkYIBxgCKkA8AZ4noDfV5VcOJe/p3JTRB6Xz…XXjpot45vnBd4ewJ/hgB",
      },
      {
        "index": 1,
        "kind": "redacted",
        "data": "296:EtgBCkYIBxgCKkDQfGkwzflEJP5asG3oQfJXcTwJ…uab/DBV3yRYdZ1J0GAE=",
      },
      {
        "index": 2,
        "kind": "text",
        "text": "359:I notice that you've sent what appears t…te task or question?",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      92,
      88,
      0,
      0,
      0,
    ],
    "usage": [
      92,
      189,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_model_thinking_part_stream.sse": {
    "id": "msg_01ALwQ87pTS7hH1PjSdC9wJD",
    "model": "claude-sonnet-4-20250514",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "202:This is a straightforward question about…p prevent accidents.",
        "signature": "504:EvMCCkYICxgCKkCHP2cSuEdcJK/0rFwqES/ecn+V…gb7wwzDvP/UhjfQYAQ==",
      },
      {
        "index": 1,
        "kind": "text",
        "text": "1021:Here are the basic steps for safely cros…en crossing streets.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      43,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      43,
      282,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_model_web_search_tool_stream.sse": {
    "id": "msg_01QmxBSdEbD9ZeBWDVgFDoQ5",
    "model": "claude-sonnet-4-20250514",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "405:The user is asking about the weather in …current information.",
        "signature": "776:Er8ECkYIBxgCKkDp29haxwUos3j9hg3HNQI8e4jc…1M2IQ3Ok0kdt0RAYAQ==",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_01FYcUbzEaqqQh1WBRj1QX3h",
        "name": "web_search",
        "arguments": '{"query": "San Francisco weather today"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "250:Based on the search results, I can see t…current information.",
      },
      {
        "index": 4,
        "kind": "tool",
        "id": "srvtoolu_01FDqc7ruGpVRoNuD5G6jkUx",
        "name": "web_search",
        "arguments": '{"query": "San Francisco weather September 16 2025"}',
        "serverSide": true,
      },
      {
        "index": 5,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 6,
        "kind": "text",
        "text": "160:Based on the search results, I can provi…Weather's forecast, ",
      },
      {
        "index": 7,
        "kind": "text",
        "text": "today (September 16) shows a high of 76°F and low of 59°F",
        "citations": [
          "https://www.accuweather.com/en/us/san-francisco/94103/september-weather/347629",
        ],
      },
      {
        "index": 8,
        "kind": "text",
        "text": " for San Francisco.\n\nFrom the recent San Francisco Chronicle weather report, ",
      },
      {
        "index": 9,
        "kind": "text",
        "text": "average mid-September highs in San Francisco are around 70 degrees",
        "citations": [
          "https://www.sfchronicle.com/weather-forecast/article/weather-forecast-san-francisco-21043269.php",
          "https://www.sfchronicle.com/weather-forecast/article/weather-forecast-san-francisco-21043269.php",
        ],
      },
      {
        "index": 10,
        "kind": "text",
        "text": "167:, so today's forecast of 76°F is slightl…ptember includes:\n- ",
      },
      {
        "index": 11,
        "kind": "text",
        "text":
          "Daytime temperatures usually reach 22°C (72°F) in San Francisco in September, falling to 13°C (55°F) at night",
        "citations": [
          "https://www.weather2travel.com/california/san-francisco/september/",
          "https://www.weather2travel.com/california/san-francisco/september/",
        ],
      },
      {
        "index": 12,
        "kind": "text",
        "text": "\n- ",
      },
      {
        "index": 13,
        "kind": "text",
        "text":
          "There are normally 9 hours of bright sunshine each day in San Francisco in September",
        "citations": [
          "https://www.weather2travel.com/california/san-francisco/september/",
        ],
      },
      {
        "index": 14,
        "kind": "text",
        "text": "\n- ",
      },
      {
        "index": 15,
        "kind": "text",
        "text": "152:San Francisco experiences minimal rainfa…ys during this month",
        "citations": [
          "https://en.climate-data.org/north-america/united-states-of-america/california/san-francisco-385/t/september-9/",
        ],
      },
      {
        "index": 16,
        "kind": "text",
        "text": "207:\n\nSo for today, you can expect partly su…ay in San Francisco!",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2068,
      8,
      0,
      0,
      0,
    ],
    "usage": [
      22397,
      637,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_text_editor_code_execution_tool_stream.sse": {
    "id": "msg_01LEVZMk9TMqVchNa2WMgXtG",
    "model": "claude-sonnet-4-6",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text":
          "Sure! I'll do both steps simultaneously — creating the file and viewing it at the same time!",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_01Xd8YZU6yAcvd5JbLCTRfFi",
        "name": "text_editor_code_execution",
        "arguments":
          '{"command": "create", "path": "/tmp/hello.txt", "file_text": "Hello, world!"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "tool",
        "id": "srvtoolu_01F3VxYFjEyogm8Ynuc75zfs",
        "name": "text_editor_code_execution",
        "arguments": '{"command": "view", "path": "/tmp/hello.txt"}',
        "serverSide": true,
      },
      {
        "index": 3,
        "kind": "provider",
        "blockType": "text_editor_code_execution_tool_result",
      },
      {
        "index": 4,
        "kind": "provider",
        "blockType": "text_editor_code_execution_tool_result",
      },
      {
        "index": 5,
        "kind": "text",
        "text": "190:No worries — the `view` couldn't run in …ted, let me view it!",
      },
      {
        "index": 6,
        "kind": "tool",
        "id": "srvtoolu_01UZ1EtACaBJ87pPA9guaxHU",
        "name": "text_editor_code_execution",
        "arguments": '{"command": "view", "path": "/tmp/hello.txt"}',
        "serverSide": true,
      },
      {
        "index": 7,
        "kind": "provider",
        "blockType": "text_editor_code_execution_tool_result",
      },
      {
        "index": 8,
        "kind": "text",
        "text": "260:Here's a summary of what happened:\n\n1. *… text you specified.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2307,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      7621,
      384,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_text_parts_ahead_of_built_in_tool_call.1.sse": {
    "id": "msg_01GTUGFBnF2aWeZJjz8Ate5v",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Let me search for a significant historical event that occurred on September 18th.",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_01YLw6GUgmvf8St291AYNWPX",
        "name": "web_search",
        "arguments": '{"query": "significant historical events September 18 in history"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "Here's one notable historical event that occurred on September 18th: ",
      },
      {
        "index": 4,
        "kind": "text",
        "text": "185:On September 18, 1793, President George …struction personally",
        "citations": [
          "https://www.thefactsite.com/day/september-18/",
        ],
      },
      {
        "index": 5,
        "kind": "text",
        "text": ".",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2694,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      12957,
      152,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_text_parts_ahead_of_built_in_tool_call.2.sse": {
    "id": "msg_01WKN8L6d2uNmLVGUJapTdvN",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "122:Let me search for a historical event tha…September 17, 2025).",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_01Gzok8WnvsXvxFH9c5S2EXK",
        "name": "web_search",
        "arguments": '{"query": "what happened on September 16 in history significant events"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "Based on yesterday's date (September 16, 2025), ",
      },
      {
        "index": 4,
        "kind": "text",
        "text":
          "Asian markets rose higher as Federal Reserve rate cut hopes lifted global market sentiment",
        "citations": [
          "https://www.share-talk.com/what-happened-overnight-tuesday-16th-september-2025/",
        ],
      },
      {
        "index": 5,
        "kind": "text",
        "text": ". Additionally, ",
      },
      {
        "index": 6,
        "kind": "text",
        "text":
          "there were severe rain and gales impacting parts of New Zealand, and a notable court case involving a British aristocrat",
        "citations": [
          "https://www.1news.co.nz/2025/09/16/five-big-things-that-happened-today-tuesday-september-16/",
        ],
      },
      {
        "index": 7,
        "kind": "text",
        "text": ".",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2694,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      11665,
      186,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_text_parts_ahead_of_built_in_tool_call.3.sse": {
    "id": "msg_01W3dKMcvSKRtieRtwbG1rnM",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Let me search for historical events that occurred on September 19th.",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_0133VxpFRjJZfTonrvnVaeeA",
        "name": "web_search",
        "arguments": '{"query": "important historical events September 19 in history"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "Here's one significant historical event that occurred on September 19th: ",
      },
      {
        "index": 4,
        "kind": "text",
        "text": "197:New Zealand made history by becoming the…ined the same right.",
        "citations": [
          "https://www.history.com/this-day-in-history/september-19",
        ],
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2697,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      12251,
      153,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_web_fetch_tool_stream.sse": {
    "id": "msg_015eAVGKhBrs95jUkYb2BaDt",
    "model": "claude-sonnet-4-20250514",
    "blocks": [
      {
        "index": 0,
        "kind": "thinking",
        "text": "194:The user wants me to fetch the content f…ntent from this URL.",
        "signature": "492:EusCCkYICRgCKkAG/7zhRcmUoiMtml5iZUXVv3nq…xQTVFQ4Cj8D8XFZbGAE=",
      },
      {
        "index": 1,
        "kind": "tool",
        "id": "srvtoolu_018ADaxdJjyZ8HXtF3sTBPNk",
        "name": "web_fetch",
        "arguments": '{"url": "https://ai.pydantic.dev"}',
        "serverSide": true,
      },
      {
        "index": 2,
        "kind": "provider",
        "blockType": "web_fetch_tool_result",
      },
      {
        "index": 3,
        "kind": "text",
        "text": "167:Pydantic AI is a Python agent framework … with Generative AI.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      899,
      3,
      0,
      0,
      0,
    ],
    "usage": [
      7244,
      153,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_anthropic_web_search_tool_stream.sse": {
    "id": "msg_019ifek4sTha46JcCb2z2yPp",
    "model": "claude-sonnet-4-20250514",
    "blocks": [
      {
        "index": 0,
        "kind": "tool",
        "id": "srvtoolu_01NcU4XNwyxWK6a9tcJZ8wGY",
        "name": "web_search",
        "arguments": '{"query": "top world news today"}',
        "serverSide": true,
      },
      {
        "index": 1,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 2,
        "kind": "text",
        "text": "Let me search for more specific breaking news stories to get clearer headlines.",
      },
      {
        "index": 3,
        "kind": "tool",
        "id": "srvtoolu_01WiP3ZfXZXSykVQEL78XJ4T",
        "name": "web_search",
        "arguments": '{"query": "breaking news headlines August 14 2025"}',
        "serverSide": true,
      },
      {
        "index": 4,
        "kind": "provider",
        "blockType": "web_search_tool_result",
      },
      {
        "index": 5,
        "kind": "text",
        "text": "201:Based on the search results, I can ident…nd Ukraine Crisis**\n",
      },
      {
        "index": 6,
        "kind": "text",
        "text": "181:European leaders held a high-stakes meet…s U.S.-Russia summit",
        "citations": [
          "https://www.npr.org/sections/news/",
          "https://abcnews.go.com/",
        ],
      },
      {
        "index": 7,
        "kind": "text",
        "text": ". ",
      },
      {
        "index": 8,
        "kind": "text",
        "text":
          "The White House lowered its expectations surrounding the Trump-Putin summit on Friday",
        "citations": [
          "https://abcnews.go.com/",
        ],
      },
      {
        "index": 9,
        "kind": "text",
        "text": ". ",
      },
      {
        "index": 10,
        "kind": "text",
        "text": "192:In a surprise move just days before the …e's NATO and EU bids",
        "citations": [
          "https://www.cnn.com/2025/07/14/us/5-things-to-know-for-july-14-immigration-gaza-epstein-files-kentucky-shooting-texas-flooding",
        ],
      },
      {
        "index": 11,
        "kind": "text",
        "text": ".\n\n**2. Trump's Federal Takeover of Washington D.C.**\n",
      },
      {
        "index": 12,
        "kind": "text",
        "text": "166:Federal law enforcement's presence in Wa…ered its third night",
        "citations": [
          "https://www.cnn.com/",
        ],
      },
      {
        "index": 13,
        "kind": "text",
        "text": ". ",
      },
      {
        "index": 14,
        "kind": "text",
        "text": "171:National Guard troops arrived in Washing…the nation's capital",
        "citations": [
          "https://www.cbsnews.com/world/",
        ],
      },
      {
        "index": 15,
        "kind": "text",
        "text": ". ",
      },
      {
        "index": 16,
        "kind": "text",
        "text":
          "Over 100 arrests made as National Guard rolls into DC under Trump's federal takeover",
        "citations": [
          "https://edition.cnn.com/",
        ],
      },
      {
        "index": 17,
        "kind": "text",
        "text": ".\n\n**3. Air Canada Flight Disruption**\n",
      },
      {
        "index": 18,
        "kind": "text",
        "text":
          "Air Canada plans to lock out its flight attendants and cancel all flights starting this weekend",
        "citations": [
          "https://www.npr.org/sections/news/",
        ],
      },
      {
        "index": 19,
        "kind": "text",
        "text": ". ",
      },
      {
        "index": 20,
        "kind": "text",
        "text": "255:Air Canada says it will begin cancelling…ts flight attendants",
        "citations": [
          "https://abcnews.go.com/International",
        ],
      },
      {
        "index": 21,
        "kind": "text",
        "text": "180:.\n\nThese stories represent major interna…cting North America.",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      2050,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      31772,
      644,
      0,
      0,
      0,
    ],
  },
  "recorded/anthropic/pydantic-ai/test_request_stream_fallback_for_high_max_tokens.sse": {
    "id": "msg_018E1hg8GoVTGEKQY3ovMcSJ",
    "model": "claude-sonnet-4-5-20250929",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "2",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      20,
      1,
      0,
      0,
      0,
    ],
    "usage": [
      20,
      5,
      0,
      0,
      0,
    ],
  },
  "apisix/protocol-conversion/anthropic-mismatch.sse": {
    "id": "msg_123",
    "model": "test-model",
    "blocks": [
      {
        "index": 0,
        "kind": "text",
        "text": "Hello",
      },
    ],
    "stop": [
      "end_turn",
      "end_turn",
    ],
    "startUsage": [
      10,
      0,
      0,
      0,
      0,
    ],
    "usage": [
      10,
      5,
      0,
      0,
      0,
    ],
  },
};

const CORPUS_FILES = Object.keys(EXPECTED);

for (const file of CORPUS_FILES) {
  Deno.test({
    name: `AnthropicMessagesDecoderStream decodes ${file} at every chunking`,
    ignore: !corporaPresent("Anthropic recorded streams"),
    async fn() {
      const bytes = readCorpusBytes(file);
      const whole = await decode([bytes]);
      assert.deepEqual(summarize(whole), EXPECTED[file]);
      for (const { name, chunks } of chunkings(bytes, 8)) {
        assert.deepEqual(await decode(chunks), whole, name);
      }
    },
  });
}

Deno.test({
  name: "Anthropic decode → encode → decode gives the same events for every recorded stream",
  ignore: !corporaPresent("Anthropic round trip"),
  async fn() {
    for (const file of CORPUS_FILES) {
      const events = await decode([readCorpusBytes(file)]);
      assert.deepEqual(await reencode(events), events, file);
    }
  },
});

interface FixtureDescription {
  file: string;
  text: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  stopReason: string;
  usage: { input: number; output: number; total: number };
}

const FIXTURES = new URL("../fixtures/", import.meta.url);

Deno.test("fixtures/anthropic decode to what fixtures/index.json describes", async () => {
  const descriptions = (JSON.parse(
    await Deno.readTextFile(new URL("index.json", FIXTURES)),
  ) as FixtureDescription[]).filter((d) => d.file.startsWith("anthropic/"));
  assert.equal(descriptions.length, 2);
  for (const d of descriptions) {
    const bytes = await Deno.readFile(new URL(d.file, FIXTURES));
    const events = await decode([bytes], false);
    summarize(events); // the event-model contract
    for (const { name, chunks } of chunkings(bytes, 32)) {
      assert.deepEqual(await decode(chunks, false), events, `${d.file}: ${name}`);
    }
    let text = "";
    const toolCalls: { id: string; name: string; arguments: string }[] = [];
    const stops: LlmEvent[] = [];
    let usage: Usage | undefined;
    for (const e of events) {
      if (e.type === "text_delta") text += e.text;
      if (e.type === "tool_call_start") toolCalls.push({ id: e.id, name: e.name, arguments: "" });
      if (e.type === "tool_call_delta") toolCalls.at(-1)!.arguments += e.arguments;
      if (e.type === "message_stop") stops.push(e);
      if (e.type === "usage") usage = e.usage;
    }
    assert.equal(text, d.text, d.file);
    assert.deepEqual(toolCalls, d.toolCalls ?? [], d.file);
    assert.deepEqual(stops, [
      { type: "message_stop", stopReason: d.stopReason, rawStopReason: d.stopReason },
    ]);
    assert.deepEqual(
      { input: usage?.inputTokens, output: usage?.outputTokens, total: usage?.totalTokens },
      d.usage,
    );
    assert.deepEqual(await reencode(events), events, `${d.file} round trip`);
  }
});

// --- particular recorded streams -------------------------------------------------------------

function corpusTest(name: string, file: string, fn: (events: LlmEvent[]) => void): void {
  Deno.test({
    name,
    ignore: !corporaPresent("Anthropic recorded streams"),
    async fn() {
      fn(await decode([readCorpusBytes(file)]));
    },
  });
}

const SDK_FIXTURES = "recorded/anthropic/anthropic-sdk-typescript/";
const PYDANTIC = "recorded/anthropic/pydantic-ai/";

corpusTest(
  "a tool input cut at max_tokens passes through as fragments and its block is closed",
  `${SDK_FIXTURES}lib/fixtures/incomplete_partial_json_response.txt`,
  (events) => {
    const fragments = events.flatMap((e) => e.type === "tool_call_delta" ? [e.arguments] : []);
    assert.deepEqual(fragments, [
      '{"filename": "taxes.txt',
      '", "lines_of_text": [\n"# COMPREHENSIVE TAX GUIDE FOR INDIVIDUALS WITH MULTIPLE W-2s",\n"",\n"## INTRODUCTION",\n"",',
      '\n"Filing taxes',
    ]);
    assert.throws(() => JSON.parse(fragments.join("")));
    // The recording has no content_block_stop for block 1: message_stop closes it.
    assert.deepEqual(events.slice(-3), [
      { type: "block_stop", index: 1 },
      { type: "message_stop", stopReason: "max_tokens", rawStopReason: "max_tokens" },
      { type: "usage", usage: createUsage({ inputTokens: 450, outputTokens: 124 }) },
    ]);
  },
);

corpusTest(
  "ping between deltas is ignored and the event order is exact",
  `${SDK_FIXTURES}lib/fixtures/basic_response.txt`,
  (events) => {
    assert.deepEqual(events, [
      {
        type: "message_start",
        id: "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
        model: "claude-opus-4-8",
        role: "assistant",
      },
      { type: "usage", usage: createUsage({ inputTokens: 11, outputTokens: 1 }) },
      { type: "text_delta", index: 0, text: "Hello" },
      { type: "text_delta", index: 0, text: " there" },
      { type: "text_delta", index: 0, text: "!" },
      { type: "block_stop", index: 0 },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
      { type: "usage", usage: createUsage({ inputTokens: 11, outputTokens: 6 }) },
    ]);
  },
);

corpusTest(
  "refusal maps to content_filter and thinking_tokens to reasoningTokens",
  `${SDK_FIXTURES}fixtures/fable-fallback/stream-a-refusal.sse`,
  (events) => {
    assert.deepEqual(events.slice(-2), [
      { type: "message_stop", stopReason: "content_filter", rawStopReason: "refusal" },
      {
        type: "usage",
        usage: createUsage({ inputTokens: 28, outputTokens: 106, reasoningTokens: 67 }),
      },
    ]);
    const signature = events.find((e) => e.type === "reasoning_delta" && e.kind === "signature");
    assert.deepEqual(signature, {
      type: "reasoning_delta",
      index: 0,
      kind: "signature",
      signature: "c3ludGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU=",
    });
  },
);

corpusTest(
  "a server tool call and its web_search_tool_result block",
  `${SDK_FIXTURES}fixtures/fable-fallback/stream-a-toolrefusal.sse`,
  (events) => {
    assert.deepEqual(events[2], {
      type: "tool_call_start",
      index: 0,
      id: "srvtoolu_fixture_a_0001",
      name: "web_search",
      serverSide: true,
    });
    const block = events.find((e) => e.type === "provider_block");
    assert.ok(block?.type === "provider_block");
    assert.equal(block.index, 1);
    assert.equal(block.blockType, "web_search_tool_result");
    const content = block.content as {
      tool_use_id: string;
      content: { url: string }[];
      caller: unknown;
    };
    assert.equal(content.tool_use_id, "srvtoolu_fixture_a_0001");
    assert.deepEqual(content.content.map((r) => r.url), [
      "https://www.example.com/eclipse-viewing-safety",
      "https://www.example.com/eclipses-2026",
    ]);
    assert.deepEqual(content.caller, { type: "direct" });
    assert.deepEqual(events[events.indexOf(block) + 1], { type: "block_stop", index: 1 });
  },
);

corpusTest(
  "an mcp_tool_use block is kept whole with its streamed input parsed",
  `${PYDANTIC}test_anthropic_mcp_servers_stream.sse`,
  (events) => {
    const blocks = events.filter((e) => e.type === "provider_block");
    assert.deepEqual(blocks.map((b) => b.type === "provider_block" && b.blockType), [
      "mcp_tool_use",
      "mcp_tool_result",
    ]);
    const use = blocks[0]?.type === "provider_block" ? blocks[0].content : undefined;
    assert.deepEqual(use, {
      type: "mcp_tool_use",
      id: "mcptoolu_01FZmJ5UspaX5BB9uU339UT1",
      name: "ask_question",
      input: {
        repoName: "pydantic/pydantic-ai",
        question: (use as { input: { question: string } }).input.question,
      },
      server_name: "deepwiki",
    });
    assert.match((use as { input: { question: string } }).input.question, /purpose\?$/);
  },
);

corpusTest(
  "a compaction block takes the value of its compaction_delta; message_delta usage replaces",
  `${PYDANTIC}test_anthropic_compaction_usage_with_cache_streaming.sse`,
  (events) => {
    const block = events.find((e) => e.type === "provider_block");
    assert.ok(block?.type === "provider_block");
    const content = block.content as { type: string; content: string };
    assert.equal(content.type, "compaction");
    assert.match(content.content, /^The user provided a very long context/);
    assert.match(content.content, /Next step: Say hello to the user\.$/);
    const usages = events.flatMap((e) => e.type === "usage" ? [e.usage] : []);
    assert.deepEqual(usages, [
      createUsage({ inputTokens: 55196, outputTokens: 7, cacheReadTokens: 55096 }),
      createUsage({ inputTokens: 181, outputTokens: 8 }),
    ]);
  },
);

corpusTest(
  "citations_delta becomes a normalized citation",
  `${PYDANTIC}test_anthropic_text_parts_ahead_of_built_in_tool_call.1.sse`,
  (events) => {
    const citations = events.filter((e) => e.type === "citation");
    assert.equal(citations.length, 1);
    const [citation] = citations;
    assert.ok(citation?.type === "citation");
    assert.equal(citation.index, 4);
    assert.equal(citation.citation.url, "https://www.thefactsite.com/day/september-18/");
    assert.equal(
      citation.citation.title,
      "September 18: Facts & Historical Events On This Day - The Fact Site",
    );
    assert.match(citation.citation.citedText ?? "", /^Did you know that on this day, September 18/);
    assert.equal((citation.citation.raw as { type: string }).type, "web_search_result_location");
  },
);

corpusTest(
  "redacted thinking blocks carry their data",
  `${PYDANTIC}test_anthropic_model_thinking_part_redacted_stream.sse`,
  (events) => {
    const redacted = events.filter((e) => e.type === "reasoning_delta" && e.kind === "redacted");
    assert.deepEqual(redacted.map((e) => e.type === "reasoning_delta" && e.index), [0, 1]);
    const second = redacted[1];
    assert.ok(second?.type === "reasoning_delta" && second.kind === "redacted");
    assert.ok(second.data.startsWith("EtgBCkYIBxgCKkDQfGkwzflEJP5asG3oQfJXcTwJ"));
    assert.ok(second.data.endsWith("uab/DBV3yRYdZ1J0GAE="));
  },
);

Deno.test({
  name: "an Anthropic stream from APISIX's protocol-conversion set decodes; an OpenAI one does not",
  ignore: !corporaPresent("APISIX protocol-conversion"),
  async fn() {
    const openai = await decode([
      readCorpusBytes("apisix/protocol-conversion/openai-to-anthropic-stream.sse"),
    ]);
    assert.equal(openai.length, 1);
    const [error] = openai;
    assert.ok(error?.type === "error");
    assert.equal(error.kind, "protocol_error");
    assert.equal(error.status, 502);
    assert.match(error.message, /not an Anthropic Messages stream/);
    assert.match(error.message, /chat\.completion\.chunk/);
  },
});

Deno.test({
  name: "an APISIX stream without its final blank line is truncated unless flushed",
  ignore: !corporaPresent("APISIX Anthropic"),
  async fn() {
    const bytes = readCorpusBytes("apisix/anthropic/messages-streaming-with-tool-use.sse");
    const events = await decode([bytes], false);
    assert.deepEqual(events.at(-1), {
      type: "error",
      kind: "protocol_error",
      message: "the Anthropic stream ended before message_stop",
      status: 502,
    });
    assert.ok(!events.some((e) => e.type === "message_stop"));
  },
});

// --- decoder: errors, tolerance, protocol errors ---------------------------------------------

const START = {
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-test",
    content: [],
    usage: { input_tokens: 10, output_tokens: 1 },
  },
};
const TEXT_START = {
  type: "content_block_start",
  index: 0,
  content_block: { type: "text", text: "" },
};
const textDelta = (text: string, index = 0) => ({
  type: "content_block_delta",
  index,
  delta: { type: "text_delta", text },
});
const STOP_FRAMES = [
  { type: "content_block_stop", index: 0 },
  {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 3 },
  },
  { type: "message_stop" },
];

const ERROR_TYPES: [string, number, LlmErrorKind][] = [
  ["invalid_request_error", 400, "invalid_request"],
  ["authentication_error", 401, "authentication"],
  ["billing_error", 402, "invalid_request"],
  ["permission_error", 403, "permission"],
  ["not_found_error", 404, "not_found"],
  ["request_too_large", 413, "invalid_request"],
  ["rate_limit_error", 429, "rate_limit"],
  ["api_error", 500, "server_error"],
  ["timeout_error", 504, "timeout"],
  ["overloaded_error", 529, "overloaded"],
  ["some_future_error", 500, "server_error"],
];

Deno.test("event: error of each type becomes an error event with the matching status", () => {
  for (const [type, status, kind] of ERROR_TYPES) {
    const error = { type: "error", error: { type, message: `it was ${type}` } };
    // Mid-stream, after some text: the error ends the stream, nothing follows.
    const events = decodeFrames([START, TEXT_START, textDelta("Hi"), error, ...STOP_FRAMES]);
    assert.deepEqual(events.slice(2), [
      { type: "text_delta", index: 0, text: "Hi" },
      { type: "error", kind, message: `it was ${type}`, status, providerType: type },
    ], type);
    // First thing in the stream.
    assert.deepEqual(decodeFrames([error]), [
      { type: "error", kind, message: `it was ${type}`, status, providerType: type },
    ]);
  }
  assert.deepEqual(parseAnthropicMessagesError({ type: "error" }), {
    type: "error",
    kind: "server_error",
    message: "Anthropic reported an error without a message",
    status: 500,
  });
});

Deno.test("the overloaded error as Anthropic streams it", async () => {
  const events = await decode([
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
  ]);
  assert.deepEqual(events, [{
    type: "error",
    kind: "overloaded",
    message: "Overloaded",
    status: 529,
    providerType: "overloaded_error",
  }]);
});

Deno.test("ping, unknown event types and unknown delta types are skipped", () => {
  const plain = decodeFrames([START, TEXT_START, textDelta("Hi"), ...STOP_FRAMES]);
  const noisy = decodeFrames([
    { type: "ping" },
    START,
    { type: "ping" },
    { type: "future_event", stuff: [1, 2] },
    TEXT_START,
    { type: "content_block_delta", index: 0, delta: { type: "future_delta", x: 1 } },
    textDelta("Hi"),
    "",
    { type: "ping" },
    ...STOP_FRAMES,
  ]);
  assert.deepEqual(noisy, plain);
  assert.deepEqual(plain.map((e) => e.type), [
    "message_start",
    "usage",
    "text_delta",
    "block_stop",
    "message_stop",
    "usage",
  ]);
});

Deno.test("the data's type wins over the SSE event name; the name serves when data has none", () => {
  const decoder = new AnthropicMessagesDecoder();
  decoder.push({ event: "message_start", data: JSON.stringify(START) });
  assert.deepEqual(decoder.push({ event: "ping", data: JSON.stringify(TEXT_START) }), []);
  assert.deepEqual(
    decoder.push({ event: "content_block_delta", data: JSON.stringify(textDelta("A")) }),
    [
      { type: "text_delta", index: 0, text: "A" },
    ],
  );
  assert.deepEqual(decoder.push({ event: "message_stop", data: "{}" }).map((e) => e.type), [
    "block_stop",
    "message_stop",
  ]);
});

Deno.test("stop reasons: every Anthropic reason maps, stop_sequence carries its value", () => {
  const cases: [string | null, StopReason][] = [
    ["end_turn", "end_turn"],
    ["max_tokens", "max_tokens"],
    ["stop_sequence", "stop_sequence"],
    ["tool_use", "tool_use"],
    ["pause_turn", "other"],
    ["refusal", "content_filter"],
    ["model_context_window_exceeded", "context_window_exceeded"],
    ["a_new_reason", "other"],
    [null, "other"],
  ];
  for (const [raw, stopReason] of cases) {
    const events = decodeFrames([
      START,
      {
        type: "message_delta",
        delta: { stop_reason: raw, stop_sequence: null },
        usage: { output_tokens: 2 },
      },
      { type: "message_stop" },
    ]);
    assert.deepEqual(events.at(-2), { type: "message_stop", stopReason, rawStopReason: raw });
  }
  const events = decodeFrames([
    START,
    TEXT_START,
    textDelta("1, 2, 3"),
    { type: "content_block_stop", index: 0 },
    {
      type: "message_delta",
      delta: { stop_reason: "stop_sequence", stop_sequence: "4" },
      usage: { output_tokens: 6 },
    },
    { type: "message_stop" },
  ]);
  assert.deepEqual(events.at(-2), {
    type: "message_stop",
    stopReason: "stop_sequence",
    rawStopReason: "stop_sequence",
    stopSequence: "4",
  });
});

Deno.test("usage is cumulative: message_delta counts replace message_start's, never add", () => {
  const events = decodeFrames([
    {
      ...START,
      message: {
        ...START.message,
        usage: {
          input_tokens: 50,
          cache_creation_input_tokens: 100,
          cache_read_input_tokens: 200,
          output_tokens: 1,
        },
      },
    },
    { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 30 } },
    {
      type: "message_delta",
      delta: {},
      usage: { input_tokens: 60, cache_read_input_tokens: 0, output_tokens: 31 },
    },
    { type: "message_stop" },
  ]);
  const usages = events.flatMap((e) => e.type === "usage" ? [e.usage] : []);
  assert.deepEqual(usages, [
    createUsage({ inputTokens: 350, outputTokens: 1, cacheReadTokens: 200, cacheWriteTokens: 100 }),
    createUsage({ inputTokens: 160, outputTokens: 31, cacheReadTokens: 0, cacheWriteTokens: 100 }),
  ]);
  assert.equal(events.find((e) => e.type === "message_stop")?.type, "message_stop");
});

Deno.test("block starts: initial text, thinking and signature, tool input given whole, no input", () => {
  const events = decodeFrames([
    START,
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "Hm.", signature: "sig" },
    },
    { type: "content_block_stop", index: 0 },
    { type: "content_block_start", index: 1, content_block: { type: "text", text: "Hello" } },
    { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "" } },
    { type: "content_block_stop", index: 1 },
    {
      type: "content_block_start",
      index: 2,
      content_block: { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
    },
    { type: "content_block_stop", index: 2 },
    {
      type: "content_block_start",
      index: 3,
      content_block: { type: "tool_use", id: "toolu_2", name: "g", input: {} },
    },
    {
      type: "content_block_delta",
      index: 3,
      delta: { type: "input_json_delta", partial_json: "" },
    },
    { type: "content_block_stop", index: 3 },
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } },
    { type: "message_stop" },
  ]);
  assert.deepEqual(events.slice(2, -2), [
    { type: "reasoning_delta", index: 0, kind: "text", text: "Hm." },
    { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig" },
    { type: "block_stop", index: 0 },
    { type: "text_delta", index: 1, text: "Hello" },
    { type: "block_stop", index: 1 },
    { type: "tool_call_start", index: 2, id: "toolu_1", name: "f" },
    { type: "tool_call_delta", index: 2, arguments: '{"a":1}' },
    { type: "block_stop", index: 2 },
    { type: "tool_call_start", index: 3, id: "toolu_2", name: "g" },
    { type: "tool_call_delta", index: 3, arguments: "{}" },
    { type: "block_stop", index: 3 },
  ]);
});

Deno.test("message_start without id or model takes the options, else generates an id", () => {
  const decoder = new AnthropicMessagesDecoder({ id: "msg_given", model: "claude-given" });
  assert.deepEqual(decoder.push({ data: '{"type":"message_start","message":{"usage":{}}}' }), [
    { type: "message_start", id: "msg_given", model: "claude-given", role: "assistant" },
  ]);
  const [start] = new AnthropicMessagesDecoder().push({
    data: '{"type":"message_start","message":{}}',
  });
  assert.ok(start?.type === "message_start");
  assert.match(start.id, /^msg_[0-9a-f]{32}$/);
  assert.equal(start.model, "");
});

function protocolError(events: LlmEvent[]): string {
  const last = events.at(-1);
  assert.ok(last?.type === "error", `ends with an error: ${JSON.stringify(events)}`);
  assert.equal(last.kind, "protocol_error");
  assert.equal(last.status, 502);
  assert.equal(last.providerType, undefined);
  assert.equal(events.filter((e) => e.type === "error").length, 1, "nothing after the error");
  return last.message;
}

Deno.test("bad data is a protocol_error, never silence", () => {
  assert.match(
    protocolError(decodeFrames([START, "not json", ...STOP_FRAMES])),
    /not JSON: "not json"/,
  );
  assert.match(protocolError(decodeFrames([START, "[1,2]"])), /not an object/);
  assert.match(
    protocolError(
      decodeFrames(['{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[]}']),
    ),
    /not an Anthropic Messages stream: an event without a "type" \(an "chat.completion.chunk" object\)/,
  );
  assert.match(protocolError(decodeFrames(["[DONE]"])), /not JSON/);
  assert.match(
    protocolError(decodeFrames([TEXT_START])),
    /content_block_start before message_start/,
  );
  assert.match(protocolError(decodeFrames([START, START])), /a second message_start/);
  assert.match(
    protocolError(decodeFrames([{ type: "message_start" }])),
    /without a message object/,
  );
  assert.match(protocolError(decodeFrames([START, textDelta("x")])), /block 0, which is not open/);
  assert.match(
    protocolError(
      decodeFrames([START, { type: "content_block_start", index: -1, content_block: {} }]),
    ),
    /without a valid index/,
  );
  assert.match(
    protocolError(decodeFrames([START, { type: "content_block_start", index: 0 }])),
    /without a typed content_block/,
  );
  assert.match(
    protocolError(
      decodeFrames([START, TEXT_START, {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta" },
      }]),
    ),
    /text_delta for block 0 without its text/,
  );
  assert.match(
    protocolError(
      decodeFrames([START, {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use" },
      }]),
    ),
    /tool_use block 0 without an id and a name/,
  );
});

Deno.test("a stream that ends early is a protocol_error at every cut", async () => {
  const wire = [START, TEXT_START, textDelta("Hello"), ...STOP_FRAMES]
    .map((frame) => encodeSseEvent({ event: frame.type, data: JSON.stringify(frame) }))
    .join("");
  const full = await decode([wire], false);
  assert.equal(full.at(-2)?.type, "message_stop");
  // Cut anywhere before the blank line that ends message_stop.
  for (let at = 0; at < wire.length - 1; at++) {
    const events = await decode([wire.slice(0, at)], false);
    const message = protocolError(events);
    assert.equal(
      message,
      at < wire.indexOf("\n\n") + 2
        ? "the Anthropic stream ended before message_start"
        : "the Anthropic stream ended before message_stop",
      `cut at ${at}`,
    );
    assert.ok(!events.some((e) => e.type === "message_stop"), `cut at ${at}`);
  }
});

Deno.test("framing errors from the SSE decoder propagate as stream errors", async () => {
  const body = ReadableStream.from([`data: ${"x".repeat(200)}\n\n`])
    .pipeThrough(new SseDecoderStream({ maxEventBytes: 64 }))
    .pipeThrough(new AnthropicMessagesDecoderStream());
  await assert.rejects(Array.fromAsync(body), (error) => error instanceof SseError);
});

// --- encoder ----------------------------------------------------------------------------------

function frames(events: SseEvent[]): Record<string, unknown>[] {
  return events.map((event) => {
    const data = JSON.parse(event.data);
    assert.equal(data.type, event.event, "the event name repeats the data's type");
    return data;
  });
}

const MESSAGE_START: LlmEvent = {
  type: "message_start",
  id: "msg_bedrock",
  model: "anthropic.claude-sonnet-4-5",
  role: "assistant",
};

Deno.test("encoder: usage reported after message_stop (Bedrock) lands in message_delta", async () => {
  const usage = createUsage({
    inputTokens: 1370,
    outputTokens: 96,
    cacheReadTokens: 1000,
    cacheWriteTokens: 300,
    reasoningTokens: 40,
  });
  const out = frames(
    await encode([
      MESSAGE_START,
      { type: "reasoning_delta", index: 0, kind: "text", text: "Think." },
      { type: "reasoning_delta", index: 0, kind: "signature", signature: "sig==" },
      { type: "block_stop", index: 0 },
      { type: "text_delta", index: 1, text: "Done." },
      { type: "block_stop", index: 1 },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
      { type: "usage", usage, latencyMs: 812 },
    ]),
  );
  assert.deepEqual(out, [
    {
      type: "message_start",
      message: {
        id: "msg_bedrock",
        type: "message",
        role: "assistant",
        model: "anthropic.claude-sonnet-4-5",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 0,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 0,
        },
      },
    },
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "", signature: "" },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "thinking_delta", thinking: "Think." },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "signature_delta", signature: "sig==" },
    },
    { type: "content_block_stop", index: 0 },
    { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Done." } },
    { type: "content_block_stop", index: 1 },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: {
        input_tokens: 70,
        cache_creation_input_tokens: 300,
        cache_read_input_tokens: 1000,
        output_tokens: 96,
        output_tokens_details: { thinking_tokens: 40 },
      },
    },
    { type: "message_stop" },
  ]);
});

Deno.test("encoder: message_delta waits for usage or the end of the input", () => {
  const encoder = new AnthropicMessagesEncoder();
  encoder.push(MESSAGE_START);
  encoder.push({ type: "text_delta", index: 0, text: "Hi" });
  const atStop = encoder.push({
    type: "message_stop",
    stopReason: "stop_sequence",
    rawStopReason: "stop_sequence",
    stopSequence: "END",
  });
  assert.deepEqual(frames(atStop), [{ type: "content_block_stop", index: 0 }]);
  const atEnd = frames(encoder.end());
  assert.deepEqual(atEnd, [
    {
      type: "message_delta",
      delta: { stop_reason: "stop_sequence", stop_sequence: "END" },
      usage: {
        input_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 0,
      },
    },
    { type: "message_stop" },
  ]);
  assert.deepEqual(encoder.end(), []);
  assert.deepEqual(encoder.push({ type: "text_delta", index: 0, text: "late" }), []);
});

Deno.test("encoder: a usage right after message_start goes into it", () => {
  const encoder = new AnthropicMessagesEncoder();
  assert.deepEqual(encoder.push(MESSAGE_START), []);
  const [start] = frames(encoder.push({
    type: "usage",
    usage: createUsage({
      inputTokens: 350,
      outputTokens: 1,
      cacheReadTokens: 200,
      cacheWriteTokens: 100,
    }),
  }));
  assert.deepEqual((start?.message as { usage: unknown }).usage, {
    input_tokens: 50,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 200,
    output_tokens: 1,
  });
});

Deno.test("encoder: interleaved blocks are written one after another, renumbered", async () => {
  const out = frames(
    await encode([
      MESSAGE_START,
      { type: "text_delta", index: 0, text: "Let me " },
      { type: "tool_call_start", index: 1, id: "call_1", name: "get_weather" },
      { type: "tool_call_delta", index: 1, arguments: '{"city":' },
      { type: "text_delta", index: 0, text: "check." },
      { type: "provider_block", index: 5, protocol: "openai", blockType: "x", content: {} },
      { type: "block_stop", index: 5 },
      { type: "tool_call_start", index: 2, id: "call_2", name: "get_time", serverSide: true },
      { type: "tool_call_delta", index: 1, arguments: '"Lisbon"}' },
      { type: "block_stop", index: 0 },
      { type: "tool_call_delta", index: 2, arguments: "{}" },
      { type: "block_stop", index: 0 }, // repeated: dropped
      { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
      { type: "usage", usage: createUsage({ inputTokens: 5, outputTokens: 7 }) },
    ]),
  );
  assert.deepEqual(out.slice(1), [
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Let me " } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "check." } },
    { type: "content_block_stop", index: 0 },
    {
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "call_1", name: "get_weather", input: {} },
    },
    {
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json: '{"city":' },
    },
    {
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json: '"Lisbon"}' },
    },
    { type: "content_block_stop", index: 1 },
    {
      type: "content_block_start",
      index: 2,
      content_block: { type: "server_tool_use", id: "call_2", name: "get_time", input: {} },
    },
    {
      type: "content_block_delta",
      index: 2,
      delta: { type: "input_json_delta", partial_json: "{}" },
    },
    { type: "content_block_stop", index: 2 },
    {
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: {
        input_tokens: 5,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 7,
      },
    },
    { type: "message_stop" },
  ]);
});

Deno.test("encoder: redacted reasoning, provider blocks and citations", async () => {
  const webSearch = {
    type: "web_search_tool_result",
    tool_use_id: "srvtoolu_1",
    content: [{ type: "web_search_result", url: "https://example.com", title: "Ex" }],
  };
  const anthropicCitation = {
    type: "web_search_result_location",
    cited_text: "quote",
    url: "https://example.com",
    title: "Ex",
    encrypted_index: "abc",
  };
  const out = frames(
    await encode([
      MESSAGE_START,
      { type: "reasoning_delta", index: 0, kind: "redacted", data: "EqkECkYIBxgC" },
      { type: "block_stop", index: 0 },
      {
        type: "provider_block",
        index: 1,
        protocol: "anthropic",
        blockType: webSearch.type,
        content: webSearch,
      },
      { type: "block_stop", index: 1 },
      {
        type: "provider_block",
        index: 2,
        protocol: "bedrock",
        blockType: "citationsContent",
        content: {},
      },
      { type: "block_stop", index: 2 },
      {
        type: "citation",
        index: 3,
        citation: {
          url: "https://example.com",
          title: "Ex",
          citedText: "quote",
          raw: anthropicCitation,
        },
      },
      { type: "text_delta", index: 3, text: "Quoted." },
      {
        type: "citation",
        index: 3,
        citation: { title: "Doc", citedText: "passage", raw: { location: {} } },
      },
      {
        type: "citation",
        index: 3,
        citation: { url: "https://b.example", raw: { type: "url_citation" } },
      },
      { type: "block_stop", index: 3 },
      { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
    ]),
  );
  assert.deepEqual(out.slice(1, -2), [
    {
      type: "content_block_start",
      index: 0,
      content_block: { type: "redacted_thinking", data: "EqkECkYIBxgC" },
    },
    { type: "content_block_stop", index: 0 },
    { type: "content_block_start", index: 1, content_block: webSearch },
    { type: "content_block_stop", index: 1 },
    { type: "content_block_start", index: 2, content_block: { type: "text", text: "" } },
    {
      type: "content_block_delta",
      index: 2,
      delta: { type: "citations_delta", citation: anthropicCitation },
    },
    { type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "Quoted." } },
    {
      type: "content_block_delta",
      index: 2,
      delta: {
        type: "citations_delta",
        citation: {
          type: "char_location",
          cited_text: "passage",
          document_index: 0,
          document_title: "Doc",
          start_char_index: 0,
          end_char_index: 0,
        },
      },
    },
    {
      type: "content_block_delta",
      index: 2,
      delta: {
        type: "citations_delta",
        citation: {
          type: "web_search_result_location",
          cited_text: "",
          url: "https://b.example",
          title: null,
          encrypted_index: "",
        },
      },
    },
    { type: "content_block_stop", index: 2 },
  ]);
});

Deno.test("encoder: stop reasons of other providers map to Anthropic's", async () => {
  const cases: [StopReason, string | null, string][] = [
    ["end_turn", "stop", "end_turn"],
    ["max_tokens", "length", "max_tokens"],
    ["stop_sequence", "stop_sequence", "stop_sequence"],
    ["tool_use", "tool_calls", "tool_use"],
    ["content_filter", "content_filter", "refusal"],
    ["guardrail", "guardrail_intervened", "refusal"],
    ["context_window_exceeded", "model_context_window_exceeded", "model_context_window_exceeded"],
    ["error", null, "end_turn"],
    ["other", "pause_turn", "pause_turn"],
    ["other", "something", "end_turn"],
    ["end_turn", "refusal", "end_turn"],
  ];
  for (const [stopReason, raw, expected] of cases) {
    const out = frames(
      await encode([MESSAGE_START, { type: "message_stop", stopReason, rawStopReason: raw }]),
    );
    const delta = out.find((frame) => frame.type === "message_delta")?.delta;
    assert.deepEqual(delta, { stop_reason: expected, stop_sequence: null }, `${stopReason}/${raw}`);
  }
});

Deno.test("encoder: error events become event: error with the Anthropic type, then the end", async () => {
  const cases: [Parameters<typeof toAnthropicMessagesError>[0], string][] = [
    ...ERROR_TYPES.slice(0, -1).map(([type, status, kind]): [
      Parameters<typeof toAnthropicMessagesError>[0],
      string,
    ] => [{ kind, status, message: "m", providerType: type }, type]),
    [
      { kind: "rate_limit", status: 429, message: "m", providerType: "throttlingException" },
      "rate_limit_error",
    ],
    [
      {
        kind: "overloaded",
        status: 503,
        message: "m",
        providerType: "serviceUnavailableException",
      },
      "overloaded_error",
    ],
    [
      { kind: "timeout", status: 408, message: "m", providerType: "modelStreamErrorException" },
      "timeout_error",
    ],
    [{ kind: "model_error", status: 424, message: "m" }, "api_error"],
    [{ kind: "protocol_error", status: 502, message: "m" }, "api_error"],
    [{ kind: "invalid_request", status: 422, message: "m" }, "invalid_request_error"],
    [
      { kind: "server_error", status: 500, message: "m", providerType: "internal_error" },
      "api_error",
    ],
  ];
  for (const [error, type] of cases) {
    assert.deepEqual(toAnthropicMessagesError(error), {
      type: "error",
      error: { type, message: "m" },
    });
  }
  const out = await encode([
    MESSAGE_START,
    { type: "text_delta", index: 0, text: "Sure, here" },
    {
      type: "error",
      kind: "rate_limit",
      message: "Too many tokens",
      status: 429,
      providerType: "throttlingException",
    },
    { type: "block_stop", index: 0 },
    { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
  ]);
  assert.deepEqual(out.map((e) => e.event), [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "error",
  ]);
  assert.equal(
    out.at(-1)?.data,
    '{"type":"error","error":{"type":"rate_limit_error","message":"Too many tokens"}}',
  );
  // An error as the very first event: nothing else is written.
  assert.deepEqual(
    await encode([{
      type: "error",
      kind: "overloaded",
      message: "Overloaded",
      status: 529,
      providerType: "overloaded_error",
    }]),
    [{
      event: "error",
      data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    }],
  );
  // Decoding it gives the event back.
  assert.deepEqual(
    await reencode([
      MESSAGE_START,
      {
        type: "error",
        kind: "overloaded",
        message: "Overloaded",
        status: 529,
        providerType: "overloaded_error",
      },
    ]),
    [
      MESSAGE_START,
      {
        type: "error",
        kind: "overloaded",
        message: "Overloaded",
        status: 529,
        providerType: "overloaded_error",
      },
    ],
  );
});

Deno.test("encoder: input that ends before message_stop ends with an api_error", async () => {
  const out = await encode([MESSAGE_START, { type: "text_delta", index: 0, text: "cut" }]);
  assert.deepEqual(out.map((e) => e.event), [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "error",
  ]);
  assert.deepEqual(JSON.parse(out.at(-1)!.data).error, {
    type: "api_error",
    message: "the upstream response ended before message_stop",
  });
  assert.deepEqual((await encode([])).map((e) => e.event), ["error"]);
  assert.deepEqual((await encode([MESSAGE_START])).map((e) => e.event), ["message_start", "error"]);
});

Deno.test("encoder: id and model options fill what the events leave empty", async () => {
  const [start] = frames(
    await encode(
      [
        { type: "message_start", id: "", model: "", role: "assistant" },
        { type: "message_stop", stopReason: "end_turn", rawStopReason: null },
      ],
      { id: "msg_gateway", model: "claude-sonnet-4-5" },
    ),
  );
  const message = start?.message as { id: string; model: string };
  assert.equal(message.id, "msg_gateway");
  assert.equal(message.model, "claude-sonnet-4-5");
  // No message_start at all: one is written, with a generated id.
  const [synth] = frames(await encode([{ type: "text_delta", index: 0, text: "x" }]));
  assert.match((synth?.message as { id: string }).id, /^msg_[0-9a-f]{32}$/);
});

Deno.test("round trip through the wire for events from other providers' shapes", async () => {
  // Usage at the end only, a pause_turn, a tool call with fragments and an empty text block.
  const events: LlmEvent[] = [
    MESSAGE_START,
    { type: "tool_call_start", index: 0, id: "toolu_1", name: "search", serverSide: true },
    { type: "tool_call_delta", index: 0, arguments: '{"q":' },
    { type: "tool_call_delta", index: 0, arguments: '"x"}' },
    { type: "block_stop", index: 0 },
    { type: "block_stop", index: 1 },
    { type: "message_stop", stopReason: "other", rawStopReason: "pause_turn" },
    { type: "usage", usage: createUsage({ inputTokens: 9, outputTokens: 4, cacheReadTokens: 2 }) },
  ];
  assert.deepEqual(await reencode(events), events);
});
