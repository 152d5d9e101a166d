/**
 * The SSE decoder against the shared corpora: the WHATWG conformance cases, real recorded OpenAI
 * and Anthropic streams, and Apache APISIX's hand-written gateway fixtures. Skipped with a notice
 * when `../shared/corpora` is absent.
 */
import assert from "node:assert/strict";
import {
  SseDecoder,
  type SseDecoderOptions,
  SseDecoderStream,
  type SseEvent,
} from "../src/framing/mod.ts";
import {
  chunkings,
  collect,
  corporaPresent,
  fromBase64,
  listCorpus,
  readCorpusBytes,
  readCorpusText,
} from "./_helpers.ts";

interface ExpectedEvent {
  type: string;
  data: string;
  lastEventId: string;
  id: string | null;
}

interface ConformanceCase {
  name: string;
  input_base64?: string;
  chunks_base64?: string[];
  expected: { events: ExpectedEvent[]; retry: number[]; comments: string[] };
}

interface Decoded {
  events: SseEvent[];
  /** `lastEventId` at the moment each event was returned; exact only when fed byte by byte. */
  lastEventIds: string[];
  retry: number[];
  comments: string[];
  lastEventId: string;
}

function decode(chunks: Iterable<Uint8Array | string>, options: SseDecoderOptions = {}): Decoded {
  const decoded: Decoded = {
    events: [],
    lastEventIds: [],
    retry: [],
    comments: [],
    lastEventId: "",
  };
  const decoder = new SseDecoder({
    ...options,
    onRetry: (ms) => decoded.retry.push(ms),
    onComment: (comment) => decoded.comments.push(comment),
  });
  const take = (events: SseEvent[]) => {
    for (const event of events) {
      decoded.events.push(event);
      decoded.lastEventIds.push(decoder.lastEventId);
    }
  };
  for (const chunk of chunks) take(decoder.push(chunk));
  take(decoder.end());
  decoded.lastEventId = decoder.lastEventId;
  return decoded;
}

/** Our events in the corpus's shape, without `lastEventId` (checked separately). */
function asExpected(events: SseEvent[]): Omit<ExpectedEvent, "lastEventId">[] {
  return events.map((e) => ({ type: e.event ?? "message", data: e.data, id: e.id ?? null }));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const HAS = corporaPresent("SSE corpus tests");
const conformance: ConformanceCase[] = HAS
  ? JSON.parse(readCorpusText("sse/conformance.json")).cases
  : [];

Deno.test({
  name: "SseDecoder passes the WHATWG conformance corpus for every chunking",
  ignore: !HAS,
  fn() {
    assert.equal(conformance.length, 51);
    for (const c of conformance) {
      const given = c.chunks_base64?.map(fromBase64);
      const bytes = c.input_base64 !== undefined ? fromBase64(c.input_base64) : concat(given!);
      if (given) assert.deepEqual(concat(given), bytes, `${c.name}: chunks_base64 = input`);
      const { events, retry, comments } = c.expected;
      const wanted = events.map(({ lastEventId: _, ...rest }) => rest);

      // Byte by byte, every returned event is observable together with the sticky lastEventId.
      const reference = decode([...bytes].map((b) => new Uint8Array([b])));
      assert.deepEqual(asExpected(reference.events), wanted, `${c.name}: byte by byte`);
      assert.deepEqual(reference.lastEventIds, events.map((e) => e.lastEventId), c.name);
      assert.deepEqual(reference.retry, retry, c.name);
      assert.deepEqual(reference.comments, comments, c.name);

      const runs: [string, Iterable<Uint8Array | string>][] = [];
      for (const { name, chunks } of chunkings(bytes)) runs.push([name, chunks]);
      if (given) runs.push(["chunks_base64", given]);
      const text = new TextDecoder().decode(bytes); // keeps the BOM
      runs.push(["text", [text]], ["text by code unit", text.split("")]);
      for (const [how, chunks] of runs) {
        const got = decode(chunks);
        const label = `${c.name}: ${how}`;
        assert.deepEqual(got.events, reference.events, label);
        assert.deepEqual(got.retry, retry, label);
        assert.deepEqual(got.comments, comments, label);
        assert.equal(got.lastEventId, reference.lastEventId, label);
        if (events.length > 0) {
          assert.equal(got.lastEventIds.at(-1), reference.lastEventIds.at(-1), label);
        }
      }
    }
  },
});

Deno.test({
  name: "SseDecoderStream passes the WHATWG conformance corpus whole and byte by byte",
  ignore: !HAS,
  async fn() {
    for (const c of conformance) {
      const bytes = c.input_base64 !== undefined
        ? fromBase64(c.input_base64)
        : concat(c.chunks_base64!.map(fromBase64));
      const bytewise = [...bytes].map((b) => new Uint8Array([b]));
      for (const chunks of [[bytes], bytewise]) {
        const retry: number[] = [];
        const comments: string[] = [];
        const stream = new SseDecoderStream({
          onRetry: (ms) => retry.push(ms),
          onComment: (comment) => comments.push(comment),
        });
        const events = await collect(chunks, stream);
        const wanted = c.expected.events.map(({ lastEventId: _, ...rest }) => rest);
        assert.deepEqual(asExpected(events), wanted, c.name);
        assert.deepEqual(retry, c.expected.retry, c.name);
        assert.deepEqual(comments, c.expected.comments, c.name);
        const last = c.expected.events.at(-1);
        if (last) assert.equal(stream.lastEventId, last.lastEventId, c.name);
      }
    }
  },
});

Deno.test({
  name: "SseDecoder reports the retry field on the event of a valid retry block",
  ignore: !HAS,
  fn() {
    const c = conformance.find((c) => c.name === "retry_valid")!;
    assert.deepEqual(decode([fromBase64(c.input_base64!)]).events, [{ data: "a", retry: 1000 }]);
  },
});

// --- recorded provider streams -----------------------------------------------------------------

interface IndexEntry {
  file: string;
  events: number;
  event_types: Record<string, number>;
  comments: number;
  /** The first 40 characters of the last event's data. */
  last_data: string;
}

/** Chunkings for recorded streams: whole, byte by byte, small sizes and 8 two-way splits. */
function recordedChunkings(bytes: Uint8Array) {
  return chunkings(bytes, 8);
}

function countTypes(events: SseEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.event ?? "message"] = (counts[e.event ?? "message"] ?? 0) + 1;
  return counts;
}

const INDEXED = [
  "recorded/openai/envoy-ai-gateway",
  "recorded/openai/pydantic-ai",
  "recorded/anthropic/pydantic-ai",
];

for (const folder of INDEXED) {
  Deno.test({
    name: `SseDecoder gives the indexed event counts for ${folder}`,
    ignore: !HAS,
    fn() {
      const index: IndexEntry[] = JSON.parse(readCorpusText(`${folder}/index.json`));
      const files = listCorpus(folder).filter((f) => f.endsWith(".sse"));
      assert.deepEqual(index.map((e) => e.file).sort(), files, "index.json lists every .sse file");
      for (const entry of index) {
        const bytes = readCorpusBytes(`${folder}/${entry.file}`);
        const whole = decode([bytes]);
        assert.equal(whole.events.length, entry.events, entry.file);
        assert.deepEqual(countTypes(whole.events), entry.event_types, entry.file);
        assert.equal(whole.comments.length, entry.comments, entry.file);
        // index.json keeps the first 40 characters of the last event's data.
        assert.equal(whole.events.at(-1)?.data.slice(0, 40), entry.last_data, entry.file);
        for (const { name, chunks } of recordedChunkings(bytes)) {
          assert.deepEqual(decode(chunks).events, whole.events, `${entry.file}: ${name}`);
        }
      }
    },
  });
}

/** The Anthropic SDK's fixtures have no index: their counts, checked against `event:` lines. */
const ANTHROPIC_SDK: Record<string, number> = {
  "fixtures/fable-fallback/stream-a-refusal.sse": 14,
  "fixtures/fable-fallback/stream-a-toolrefusal.sse": 18,
  "fixtures/fable-fallback/stream-b-fallback.sse": 21,
  "lib/fixtures/basic_response.txt": 9,
  "lib/fixtures/incomplete_partial_json_response.txt": 16,
  "lib/fixtures/tool_use_response.txt": 15,
};

Deno.test({
  name: "SseDecoder decodes the Anthropic SDK's recorded streams (nested folders)",
  ignore: !HAS,
  fn() {
    const root = "recorded/anthropic/anthropic-sdk-typescript";
    const found = [
      ...listCorpus(`${root}/fixtures/fable-fallback`).map((f) => `fixtures/fable-fallback/${f}`),
      ...listCorpus(`${root}/lib/fixtures`).map((f) => `lib/fixtures/${f}`),
    ];
    assert.deepEqual(found.sort(), Object.keys(ANTHROPIC_SDK).sort());
    for (const [file, count] of Object.entries(ANTHROPIC_SDK)) {
      const bytes = readCorpusBytes(`${root}/${file}`);
      const whole = decode([bytes]);
      assert.equal(whole.events.length, count, file);
      for (const event of whole.events) {
        assert.equal(JSON.parse(event.data).type, event.event, `${file}: type repeated in data`);
      }
      assert.equal(whole.events.at(-1)?.event, "message_stop", file);
      for (const { name, chunks } of recordedChunkings(bytes)) {
        assert.deepEqual(decode(chunks).events, whole.events, `${file}: ${name}`);
      }
    }
  },
});

// --- APISIX gateway fixtures -------------------------------------------------------------------

/** Events without and with `flushIncompleteEvent`; two files lack the final blank line. */
const APISIX: Record<string, [number, number]> = {
  "anthropic/messages-streaming-with-cache.sse": [6, 6],
  "anthropic/messages-streaming-with-tool-use.sse": [4, 5],
  "anthropic/messages-streaming.sse": [8, 8],
  "openai/chat-multi-chunk.sse": [4, 4],
  "openai/chat-streaming-injection.sse": [5, 5],
  "openai/chat-streaming-lakera-error.sse": [5, 5],
  "openai/chat-streaming-many-chunks-no-usage.sse": [20, 20],
  "openai/chat-streaming-no-usage.sse": [5, 5],
  "openai/chat-streaming-with-cache.sse": [3, 3],
  "openai/chat-streaming-with-tool-calls.sse": [3, 4],
  "openai/chat-streaming.sse": [5, 5],
  "openai/responses-streaming-with-cache.sse": [2, 2],
  "openai/responses-streaming-with-tool-call.sse": [1, 1],
  "openai/responses-streaming.sse": [3, 3],
  "protocol-conversion/anthropic-mismatch.sse": [6, 6],
  "protocol-conversion/deepseek-usage-null.sse": [5, 5],
  "protocol-conversion/empty-sse-frames.sse": [4, 4],
  "protocol-conversion/null-finish-reason.sse": [4, 4],
  "protocol-conversion/openai-to-anthropic-stream.sse": [4, 4],
  "protocol-conversion/openrouter-double-finish.sse": [5, 5],
  "protocol-conversion/openrouter-first-chunk.sse": [4, 4],
  "protocol-conversion/usage-only-final-chunk.sse": [4, 4],
};

Deno.test({
  name: "SseDecoder decodes the APISIX fixtures, with and without flushIncompleteEvent",
  ignore: !HAS,
  fn() {
    const found = ["anthropic", "openai", "protocol-conversion"].flatMap((dir) =>
      listCorpus(`apisix/${dir}`).filter((f) => f.endsWith(".sse")).map((f) => `${dir}/${f}`)
    );
    assert.deepEqual(found.sort(), Object.keys(APISIX).sort());
    for (const [file, [strict, flushed]] of Object.entries(APISIX)) {
      const bytes = readCorpusBytes(`apisix/${file}`);
      const reference = decode([bytes]).events;
      const referenceFlushed = decode([bytes], { flushIncompleteEvent: true }).events;
      assert.equal(reference.length, strict, file);
      assert.equal(referenceFlushed.length, flushed, file);
      assert.deepEqual(referenceFlushed.slice(0, strict), reference, file);
      for (const { name, chunks } of chunkings(bytes, 16)) {
        assert.deepEqual(decode(chunks).events, reference, `${file}: ${name}`);
        assert.deepEqual(
          decode(chunks, { flushIncompleteEvent: true }).events,
          referenceFlushed,
          `${file}: ${name}, flushed`,
        );
      }
    }
  },
});

Deno.test({
  name: "SseDecoderStream keeps or drops the APISIX streams' unterminated last events",
  ignore: !HAS,
  async fn() {
    const openai = readCorpusBytes("apisix/openai/chat-streaming-with-tool-calls.sse");
    const strict = await collect([openai], new SseDecoderStream());
    assert.equal(strict.length, 3);
    assert.equal(JSON.parse(strict[2]!.data).usage.total_tokens, 25);
    const flushed = await collect([openai], new SseDecoderStream({ flushIncompleteEvent: true }));
    assert.deepEqual(flushed.at(-1), { data: "[DONE]" });

    const anthropic = readCorpusBytes("apisix/anthropic/messages-streaming-with-tool-use.sse");
    const kept = await collect([anthropic], new SseDecoderStream({ flushIncompleteEvent: true }));
    assert.deepEqual(kept.at(-1), { event: "message_stop", data: "{}" });
    const dropped = await collect([anthropic], new SseDecoderStream());
    assert.equal(dropped.at(-1)?.event, "message_delta");

    const empty = await collect(
      [readCorpusBytes("apisix/protocol-conversion/empty-sse-frames.sse")],
      new SseDecoderStream(),
    );
    assert.deepEqual(empty[1], { data: "" });
  },
});
