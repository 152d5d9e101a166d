/**
 * The fuzz properties shared by `tests/fuzz_test.ts` (a time-boxed smoke in the test task) and
 * `scripts/fuzz.ts` (`deno task fuzz`, ≥ 1,000,000 inputs): every decoder of the framing and
 * protocol layers fed random valid input, then mutated input (bit flips, truncations, splices,
 * inserted junk, preludes with a valid CRC claiming absurd lengths), under random chunking.
 *
 * Every property checks that
 * - the only exceptions are the typed `EventStreamError` / `SseError` (protocol decoders never
 *   throw: bad data becomes an `error` event, and nothing follows it);
 * - nothing hangs: inputs are capped in size, and each case must finish within
 *   {@linkcode CASE_TIME_LIMIT_MS} (a super-linear blow-up fails the case, it does not stall);
 * - memory stays bounded: `EventStreamDecoder.bufferedBytes` is exactly the bytes received but not
 *   yet decoded or skipped, never more than were received;
 * - in resync mode every valid frame behind corruption that does not touch it is recovered.
 * @module
 */

import fc from "npm:fast-check@4.10.2";
import { crc32 } from "../src/framing/crc32.ts";
import { EventStreamError, SseError } from "../src/framing/errors.ts";
import {
  decodeEventStreamMessage,
  encodeEventStreamMessage,
  EventStreamDecoder,
  type EventStreamHeaderValue,
  type EventStreamMessage,
} from "../src/framing/event_stream.ts";
import { encodeSseEvent, SseDecoder, type SseEvent } from "../src/framing/sse.ts";
import {
  BedrockConverseDecoder,
  BedrockConverseEncoder,
} from "../src/protocols/bedrock_converse.ts";
import { OpenAIChatDecoder, OpenAIChatEncoder } from "../src/protocols/openai_chat.ts";
import {
  AnthropicMessagesDecoder,
  AnthropicMessagesEncoder,
} from "../src/protocols/anthropic_messages.ts";
import type { LlmEvent } from "../src/protocols/events.ts";

/** Longest a single case may take before it counts as a hang (generous: GC pauses, 2 cores). */
export const CASE_TIME_LIMIT_MS = 2000;

/** One fuzz target: a named property over capped-size inputs. */
export interface FuzzTarget {
  /** Stable name, used by `deno task fuzz --target`. */
  name: string;
  /** Share of the total run count (relative to the other targets). */
  weight: number;
  /** Builds the property (fresh for each run). */
  property: () => fc.IRawProperty<unknown>;
}

class FuzzFailure extends Error {
  override name = "FuzzFailure";
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzFailure(message);
}

/** Runs `body`, turning any exception that is not one of `allowed` into a failure. */
function guarded<T>(body: () => T, allowed: readonly (new (...a: never[]) => Error)[] = []): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof FuzzFailure) throw error;
    if (allowed.some((type) => error instanceof type)) throw error;
    throw new FuzzFailure(`unexpected exception: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** Runs a property body, failing it when it takes longer than {@linkcode CASE_TIME_LIMIT_MS}. */
function timed(body: () => void): void {
  const started = performance.now();
  body();
  const elapsed = performance.now() - started;
  check(elapsed <= CASE_TIME_LIMIT_MS, `case took ${elapsed.toFixed(0)} ms`);
}

const utf8 = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Chunking
// ---------------------------------------------------------------------------------------------

/** Chunk sizes, cycled through; 1 (byte by byte) comes up often. */
const chunkSizes = fc.array(
  fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })),
  { minLength: 1, maxLength: 10 },
);

function cut(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// EventStream
// ---------------------------------------------------------------------------------------------

const headerValue: fc.Arbitrary<EventStreamHeaderValue> = fc.oneof(
  fc.boolean().map((value) => ({ type: "boolean" as const, value })),
  fc.integer({ min: -128, max: 127 }).map((value) => ({ type: "byte" as const, value })),
  fc.integer({ min: -32768, max: 32767 }).map((value) => ({ type: "short" as const, value })),
  fc.integer().map((value) => ({ type: "integer" as const, value })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .map((value) => ({ type: "long" as const, value })),
  fc.uint8Array({ maxLength: 64 }).map((value) => ({ type: "binary" as const, value })),
  fc.string({ unit: "grapheme", maxLength: 40 })
    .map((value) => ({ type: "string" as const, value })),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
    .map((value) => ({ type: "timestamp" as const, value })),
  fc.uuid().map((value) => ({ type: "uuid" as const, value: value.toLowerCase() })),
);

// Integer-like names are listed first by JavaScript whatever their insertion order, so they would
// break byte-identical re-encoding; they are left out.
const headerName = fc.oneof(
  fc.constantFrom(":event-type", ":message-type", ":content-type", ":exception-type"),
  fc.string({ unit: "grapheme", maxLength: 24 }),
).filter((name) => !/^\d+$/.test(name) && utf8.encode(name).length <= 255);

/** A random valid message (under 4 KiB encoded, see {@linkcode RESYNC_MAX_MESSAGE_BYTES}). */
export const eventStreamMessage: fc.Arbitrary<EventStreamMessage> = fc.tuple(
  fc.uniqueArray(fc.tuple(headerName, headerValue), { selector: ([name]) => name, maxLength: 6 }),
  fc.uint8Array({ maxLength: 600 }),
).map(([entries, payload]) => ({ headers: Object.fromEntries(entries), payload }));

/** A prelude with a valid CRC whose lengths are impossible (or beyond `maxMessageBytes`). */
function absurdPrelude(maxMessageBytes: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    // Too large: up to 4 GiB.
    fc.tuple(
      fc.oneof(
        fc.constantFrom(0xffffffff, 0x80000000, 0x7fffffff, maxMessageBytes + 1),
        fc.integer({ min: maxMessageBytes + 1, max: 0xffffffff }),
      ),
      fc.nat({ max: 0xffffffff }),
    ),
    // Too small: under the 16 bytes of an empty message.
    fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat({ max: 0xffffffff })),
    // Headers longer than the message has room for.
    fc.integer({ min: 16, max: Math.min(maxMessageBytes, 4096) }).chain((total) =>
      fc.tuple(fc.constant(total), fc.integer({ min: total - 15, max: 0xffffffff }))
    ),
  ).map(([total, headers]) => {
    const prelude = new Uint8Array(12);
    const view = new DataView(prelude.buffer);
    view.setUint32(0, total);
    view.setUint32(4, headers);
    view.setUint32(8, crc32(prelude.subarray(0, 8)));
    return prelude;
  });
}

/** A segment of a mutated stream: an original frame (untouched) or bytes that are not one. */
type Segment =
  | { kind: "frame"; index: number; bytes: Uint8Array }
  | { kind: "junk"; bytes: Uint8Array };

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number; keep: number }
  | { op: "insert_inside"; at: number; pos: number; bytes: Uint8Array }
  | { op: "insert_between"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; pos: number; length: number }
  | { op: "splice"; at: number; pos: number; from: number; fromPos: number }
  | { op: "absurd"; at: number; prelude: Uint8Array; tail: Uint8Array };

function mutation(maxMessageBytes: number, withAbsurd: boolean): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const junk = fc.uint8Array({ minLength: 1, maxLength: 64 });
  const ops: fc.Arbitrary<Mutation>[] = [
    fc.record({ op: fc.constant("flip" as const), at, bit: fc.nat() }),
    fc.record({ op: fc.constant("truncate" as const), at, keep: fc.nat() }),
    fc.record({ op: fc.constant("insert_inside" as const), at, pos: fc.nat(), bytes: junk }),
    fc.record({ op: fc.constant("insert_between" as const), at, bytes: junk }),
    fc.record({
      op: fc.constant("delete" as const),
      at,
      pos: fc.nat(),
      length: fc.integer({ min: 1, max: 32 }),
    }),
    fc.record({
      op: fc.constant("splice" as const),
      at,
      pos: fc.nat(),
      from: fc.nat(),
      fromPos: fc.nat(),
    }),
  ];
  if (withAbsurd) {
    ops.push(fc.record({
      op: fc.constant("absurd" as const),
      at,
      prelude: absurdPrelude(maxMessageBytes),
      tail: fc.uint8Array({ maxLength: 64 }),
    }));
  }
  return fc.oneof(...ops);
}

/** Applies the mutations; every mutated frame becomes junk. */
function mutate(frames: readonly Uint8Array[], mutations: readonly Mutation[]): Segment[] {
  const segments: Segment[] = frames.map((bytes, index) => ({ kind: "frame", index, bytes }));
  for (const m of mutations) {
    if (segments.length === 0 || m.op === "insert_between" || m.op === "absurd") {
      const bytes = m.op === "insert_between"
        ? m.bytes
        : m.op === "absurd"
        ? concat([m.prelude, m.tail])
        : undefined;
      if (bytes === undefined) continue;
      segments.splice(m.at % (segments.length + 1), 0, { kind: "junk", bytes });
      continue;
    }
    const i = m.at % segments.length;
    const old = segments[i]!.bytes;
    let bytes: Uint8Array;
    switch (m.op) {
      case "flip": {
        if (old.length === 0) continue;
        bytes = old.slice();
        const bit = m.bit % (old.length * 8);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        break;
      }
      case "truncate":
        if (old.length === 0) continue;
        bytes = old.subarray(0, m.keep % old.length);
        break;
      case "insert_inside": {
        const pos = m.pos % (old.length + 1);
        bytes = concat([old.subarray(0, pos), m.bytes, old.subarray(pos)]);
        break;
      }
      case "delete": {
        if (old.length === 0) continue;
        const pos = m.pos % old.length;
        bytes = concat([old.subarray(0, pos), old.subarray(pos + m.length)]);
        break;
      }
      case "splice": {
        const other = segments[m.from % segments.length]!.bytes;
        const pos = m.pos % (old.length + 1);
        const fromPos = m.fromPos % (other.length + 1);
        bytes = concat([old.subarray(0, pos), other.subarray(fromPos)]);
        if (sameBytes(bytes, old)) continue;
        break;
      }
    }
    segments[i] = { kind: "junk", bytes };
  }
  return segments;
}

/**
 * Feeds `chunks` to `decoder`, checking the buffering invariant after every push. Returns the
 * messages and the error thrown (an `EventStreamError`; anything else fails the case).
 */
function feedEventStream(
  decoder: EventStreamDecoder,
  chunks: readonly Uint8Array[],
): { messages: EventStreamMessage[]; error: EventStreamError | undefined } {
  const messages: EventStreamMessage[] = [];
  let received = 0;
  try {
    for (const chunk of chunks) {
      received += chunk.length;
      messages.push(...decoder.push(chunk));
      const buffered = decoder.bufferedBytes;
      check(
        buffered === received - decoder.offset,
        `bufferedBytes ${buffered} ≠ received ${received} − offset ${decoder.offset}`,
      );
      check(buffered <= received, `bufferedBytes ${buffered} > received ${received}`);
    }
    decoder.end();
    return { messages, error: undefined };
  } catch (error) {
    if (error instanceof EventStreamError) return { messages, error };
    throw error;
  }
}

/** In resync property runs, messages are at most this large and the stream ends with as many zeros. */
const RESYNC_MAX_MESSAGE_BYTES = 4096;

const eventStreamValid: FuzzTarget = {
  name: "event_stream_valid_chunked",
  weight: 1,
  property: () =>
    fc.property(
      fc.array(eventStreamMessage, { maxLength: 8 }),
      chunkSizes,
      (messages, sizes) =>
        timed(() => {
          const frames = messages.map((m) => encodeEventStreamMessage(m));
          const bytes = concat(frames);
          const { messages: decoded, error } = guarded(() =>
            feedEventStream(new EventStreamDecoder(), cut(bytes, sizes))
          );
          check(error === undefined, `valid stream failed: ${error}`);
          check(decoded.length === frames.length, "message count differs");
          decoded.forEach((m, i) =>
            check(sameBytes(encodeEventStreamMessage(m), frames[i]!), `message ${i} differs`)
          );
        }),
    ),
};

const eventStreamMutatedErrorMode: FuzzTarget = {
  name: "event_stream_mutated_error_mode",
  weight: 2,
  property: () =>
    fc.property(
      fc.array(eventStreamMessage, { minLength: 1, maxLength: 6 }),
      fc.array(mutation(16 * 1024 * 1024, true), { minLength: 1, maxLength: 4 }),
      chunkSizes,
      (messages, mutations, sizes) =>
        timed(() => {
          const frames = messages.map((m) => encodeEventStreamMessage(m));
          const segments = mutate(frames, mutations);
          const bytes = concat(segments.map((s) => s.bytes));
          const { messages: decoded } = guarded(() =>
            feedEventStream(new EventStreamDecoder(), cut(bytes, sizes))
          );
          // Every frame before the first corruption is decoded, unchanged.
          const firstJunk = segments.findIndex((s) => s.kind === "junk");
          const intact = firstJunk === -1 ? segments.length : firstJunk;
          check(decoded.length >= intact, `${decoded.length} decoded, ${intact} intact before`);
          for (let i = 0; i < intact; i++) {
            check(
              sameBytes(encodeEventStreamMessage(decoded[i]!), segments[i]!.bytes),
              `message ${i} differs`,
            );
          }
        }),
    ),
};

const eventStreamBitFlip: FuzzTarget = {
  name: "event_stream_single_bit_flip_detected",
  weight: 1,
  property: () =>
    fc.property(
      fc.array(eventStreamMessage, { minLength: 1, maxLength: 4 }),
      fc.nat(),
      chunkSizes,
      (messages, bit, sizes) =>
        timed(() => {
          const bytes = concat(messages.map((m) => encodeEventStreamMessage(m)));
          const at = bit % (bytes.length * 8);
          bytes[at >> 3]! ^= 1 << (at & 7);
          const { error } = guarded(() =>
            feedEventStream(new EventStreamDecoder(), cut(bytes, sizes))
          );
          // CRC-32 catches every single-bit error; a flip in a length field may also surface as
          // a truncated stream.
          check(error !== undefined, `bit ${at} flipped, no error`);
        }),
    ),
};

const eventStreamResync: FuzzTarget = {
  name: "event_stream_resync_recovers_untouched_frames",
  weight: 2,
  property: () =>
    fc.property(
      fc.array(eventStreamMessage, { minLength: 1, maxLength: 8 }),
      fc.array(mutation(RESYNC_MAX_MESSAGE_BYTES, true), { maxLength: 4 }),
      chunkSizes,
      (messages, mutations, sizes) =>
        timed(() => {
          const frames = messages.map((m) => encodeEventStreamMessage(m));
          const segments = mutate(frames, mutations);
          // Zeros never form a valid prelude; this many of them end any frame a corrupt prelude
          // could claim, so the stream never ends `truncated` and every skipped span is reported.
          const trailer = new Uint8Array(RESYNC_MAX_MESSAGE_BYTES);
          const bytes = concat([...segments.map((s) => s.bytes), trailer]);
          let skipped = 0;
          let spans = 0;
          const decoder = new EventStreamDecoder({
            onCorruption: "resync",
            maxMessageBytes: RESYNC_MAX_MESSAGE_BYTES,
            onResync: (info) => {
              check(info.error instanceof EventStreamError, "onResync without an EventStreamError");
              check(info.skippedBytes > 0, "empty skipped span");
              skipped += info.skippedBytes;
              spans++;
            },
          });
          const { messages: decoded, error } = guarded(() =>
            feedEventStream(decoder, cut(bytes, sizes))
          );
          check(error === undefined, `resync mode threw ${error}`);
          check(spans > 0, "the zero trailer was not reported as skipped");
          const encoded = decoded.map((m) => encodeEventStreamMessage(m));
          const decodedBytes = encoded.reduce((n, e) => n + e.length, 0);
          check(
            decodedBytes + skipped === bytes.length,
            `decoded ${decodedBytes} + skipped ${skipped} ≠ ${bytes.length} bytes`,
          );
          // Every untouched frame comes out, in order (corrupt bytes may hide extra valid frames).
          let j = 0;
          for (const segment of segments) {
            if (segment.kind !== "frame") continue;
            while (j < encoded.length && !sameBytes(encoded[j]!, segment.bytes)) j++;
            check(j < encoded.length, `untouched frame ${segment.index} was lost`);
            j++;
          }
        }),
    ),
};

const decodeOneMessage: FuzzTarget = {
  name: "decode_event_stream_message",
  weight: 1,
  property: () =>
    fc.property(
      eventStreamMessage,
      fc.option(mutation(16 * 1024 * 1024, true), { freq: 4, nil: null }),
      fc.option(fc.integer({ min: 0, max: 4096 }), { freq: 4, nil: null }),
      (message, m, maxMessageBytes) =>
        timed(() => {
          const frame = encodeEventStreamMessage(message);
          const segments = m === null ? [{ bytes: frame }] : mutate([frame], [m]);
          const bytes = concat(segments.map((s) => s.bytes));
          const options = maxMessageBytes === null ? {} : { maxMessageBytes: maxMessageBytes + 16 };
          let decoded: EventStreamMessage | undefined;
          try {
            decoded = guarded(() => decodeEventStreamMessage(bytes, options), [EventStreamError]);
          } catch (error) {
            if (!(error instanceof EventStreamError)) throw error;
            return;
          }
          check(sameBytes(encodeEventStreamMessage(decoded), bytes), "decoded message differs");
        }),
    ),
};

// ---------------------------------------------------------------------------------------------
// SSE
// ---------------------------------------------------------------------------------------------

const sseToken: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "data: ",
      "data:",
      "event: ",
      "id: ",
      "retry: ",
      "retry: 1000",
      ":",
      ": comment",
      "\n",
      "\n\n",
      "\r",
      "\r\n",
      "\ufeff",
      " ",
      "[DONE]",
      '{"type":"ping"}',
      "\0",
    ).map((s) => utf8.encode(s)),
  },
  {
    weight: 3,
    arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => utf8.encode(s)),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }).map((s) => utf8.encode(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }) },
  // A long run of one byte: long lines, long data, against small limits.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ max: 4000, min: 1 }))
      .map(([b, n]) => new Uint8Array(n).fill(b)),
  },
);

interface SseOutcome {
  events: SseEvent[];
  comments: string[];
  retries: number[];
  error: SseError | undefined;
}

function runSse(
  chunks: readonly (Uint8Array | string)[],
  maxEventBytes: number,
  flushIncompleteEvent: boolean,
): SseOutcome {
  const out: SseOutcome = { events: [], comments: [], retries: [], error: undefined };
  const decoder = new SseDecoder({
    maxEventBytes,
    flushIncompleteEvent,
    onComment: (c) => out.comments.push(c),
    onRetry: (ms) => out.retries.push(ms),
  });
  try {
    for (const chunk of chunks) out.events.push(...decoder.push(chunk));
    out.events.push(...decoder.end());
  } catch (error) {
    if (!(error instanceof SseError)) throw error;
    out.error = error;
  }
  return out;
}

function sameSse(a: SseOutcome, b: SseOutcome): string | undefined {
  if ((a.error === undefined) !== (b.error === undefined)) {
    return `one threw (${a.error ?? b.error}), the other did not`;
  }
  if (a.error !== undefined) return undefined; // events before the error depend on chunking
  if (JSON.stringify(a.events) !== JSON.stringify(b.events)) return "events differ";
  if (JSON.stringify(a.comments) !== JSON.stringify(b.comments)) return "comments differ";
  if (JSON.stringify(a.retries) !== JSON.stringify(b.retries)) return "retries differ";
  return undefined;
}

const sseChunked: FuzzTarget = {
  name: "sse_random_bytes_chunked",
  weight: 3,
  property: () =>
    fc.property(
      fc.array(sseToken, { maxLength: 40 }),
      chunkSizes,
      fc.constantFrom(8, 64, 1024, 1024 * 1024),
      fc.boolean(),
      (tokens, sizes, maxEventBytes, flush) =>
        timed(() => {
          const bytes = concat(tokens);
          const whole = guarded(() => runSse([bytes], maxEventBytes, flush));
          const chunked = guarded(() => runSse(cut(bytes, sizes), maxEventBytes, flush));
          const differs = sameSse(whole, chunked);
          check(differs === undefined, `whole vs chunked: ${differs}`);
          // Every event respects the limit (as UTF-8 bytes of its data).
          for (const event of whole.events) {
            check(utf8.encode(event.data).length <= maxEventBytes, "event over maxEventBytes");
          }
        }),
    ),
};

const sseText: FuzzTarget = {
  name: "sse_text_chunks",
  weight: 1,
  property: () =>
    fc.property(
      fc.array(sseToken, { maxLength: 30 }),
      chunkSizes,
      fc.constantFrom(64, 1024 * 1024),
      (tokens, sizes, maxEventBytes) =>
        timed(() => {
          // Text chunks are cut between code points (a split surrogate pair is not a code point).
          const text = new TextDecoder().decode(concat(tokens));
          const points = [...text];
          const chunks: string[] = [];
          for (let at = 0, i = 0; at < points.length; i++) {
            const size = sizes[i % sizes.length]!;
            chunks.push(points.slice(at, at + size).join(""));
            at += size;
          }
          const whole = guarded(() => runSse([utf8.encode(text)], maxEventBytes, false));
          const chunked = guarded(() => runSse(chunks, maxEventBytes, false));
          const differs = sameSse(whole, chunked);
          check(differs === undefined, `bytes vs text chunks: ${differs}`);
        }),
    ),
};

// ---------------------------------------------------------------------------------------------
// Protocol decoders
// ---------------------------------------------------------------------------------------------

const EVENT_TYPES = new Set([
  "message_start",
  "text_delta",
  "citation",
  "reasoning_delta",
  "tool_call_start",
  "tool_call_delta",
  "provider_block",
  "block_stop",
  "message_stop",
  "usage",
  "error",
]);

/** Keys and string values the three protocols use, so random JSON reaches deep code paths. */
const VOCABULARY = [
  // Bedrock
  "role",
  "assistant",
  "contentBlockIndex",
  "delta",
  "start",
  "text",
  "toolUse",
  "toolUseId",
  "name",
  "input",
  "type",
  "server_tool_use",
  "reasoningContent",
  "signature",
  "redactedContent",
  "citation",
  "title",
  "location",
  "web",
  "url",
  "source",
  "sourceContent",
  "toolResult",
  "status",
  "content",
  "image",
  "stopReason",
  "end_turn",
  "tool_use",
  "max_tokens",
  "stop_sequence",
  "guardrail_intervened",
  "content_filtered",
  "additionalModelResponseFields",
  "usage",
  "inputTokens",
  "outputTokens",
  "totalTokens",
  "cacheReadInputTokens",
  "cacheWriteInputTokens",
  "metrics",
  "latencyMs",
  "message",
  "p",
  // OpenAI
  "id",
  "object",
  "chat.completion.chunk",
  "model",
  "choices",
  "index",
  "refusal",
  "reasoning_content",
  "reasoning",
  "tool_calls",
  "function",
  "arguments",
  "finish_reason",
  "stop",
  "length",
  "content_filter",
  "function_call",
  "error",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "prompt_tokens_details",
  "cached_tokens",
  "completion_tokens_details",
  "reasoning_tokens",
  "annotations",
  "url_citation",
  "code",
  "param",
  // Anthropic
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop",
  "ping",
  "content_block",
  "thinking",
  "redacted_thinking",
  "data",
  "partial_json",
  "text_delta",
  "input_json_delta",
  "thinking_delta",
  "signature_delta",
  "citations_delta",
  "compaction",
  "compaction_delta",
  "web_search_tool_result",
  "input_tokens",
  "output_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "stop_reason",
  "overloaded_error",
  "rate_limit_error",
  "pause_turn",
  "refusal",
];

const vocabulary = fc.constantFrom(...VOCABULARY);

/** JSON shaped like the protocols' events, with every value's type up for grabs. */
const shapedJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    vocabulary,
    fc.string({ maxLength: 12 }),
    fc.oneof(
      fc.integer({ min: -2, max: 1000 }),
      fc.constantFrom(0, -1, 1e300, -0, 0.5, 2 ** 53, 2 ** 31),
    ),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(vocabulary, tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** A JSON text: shaped, arbitrary, truncated, or not JSON at all. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: shapedJson.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.tuple(shapedJson, fc.nat()).map(([v, n]) => {
      const text = JSON.stringify(v);
      return text.slice(0, n % (text.length + 1));
    }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "[DONE]", " ", "null", "{}", "[]", '""') },
);

/** Checks the decoded event sequence: known types, nothing after an error, one start. */
function checkEvents(events: readonly LlmEvent[], who: string): void {
  let errors = 0;
  let starts = 0;
  events.forEach((event, i) => {
    check(EVENT_TYPES.has(event?.type), `${who}: unknown event ${JSON.stringify(event)}`);
    if (event.type === "error") {
      errors++;
      check(i === events.length - 1, `${who}: events after an error`);
      check(typeof event.message === "string", `${who}: error without a message`);
    }
    if (event.type === "message_start") {
      starts++;
      check(i === 0, `${who}: message_start at position ${i}`);
    }
  });
  check(errors <= 1 && starts <= 1, `${who}: ${errors} errors, ${starts} message_starts`);
}

/**
 * Feeds decoded events to the three encoders (as the gateway does when converting) and frames
 * their output: none may throw.
 */
function reencode(events: readonly LlmEvent[]): void {
  const openai = new OpenAIChatEncoder({ id: "x", model: "m", created: 0 });
  const anthropic = new AnthropicMessagesEncoder();
  const bedrock = new BedrockConverseEncoder();
  for (const event of events) {
    for (const e of openai.push(event)) encodeSseEvent(e);
    for (const e of anthropic.push(event)) encodeSseEvent(e);
    for (const m of bedrock.push(event)) encodeEventStreamMessage(m);
  }
  for (const e of openai.end()) encodeSseEvent(e);
  for (const e of anthropic.end()) encodeSseEvent(e);
  for (const m of bedrock.end()) encodeEventStreamMessage(m);
}

function decodeAll<I>(
  decoder: { push(input: I): LlmEvent[]; end(): LlmEvent[] },
  inputs: readonly I[],
  who: string,
): LlmEvent[] {
  const events: LlmEvent[] = [];
  guarded(() => {
    for (const input of inputs) events.push(...decoder.push(input));
    events.push(...decoder.end());
    check(decoder.end().length === 0, `${who}: a second end() emitted events`);
  });
  checkEvents(events, who);
  guarded(() => reencode(events));
  return events;
}

const stringHeader = (value: string): EventStreamHeaderValue => ({ type: "string", value });

const BEDROCK_EVENT_TYPES = [
  "messageStart",
  "contentBlockStart",
  "contentBlockDelta",
  "contentBlockStop",
  "messageStop",
  "metadata",
];
const BEDROCK_EXCEPTIONS = [
  "throttlingException",
  "validationException",
  "internalServerException",
  "modelStreamErrorException",
  "serviceUnavailableException",
];

/** A Bedrock-ish frame: mostly well-formed headers, random payloads, sometimes random headers. */
const bedrockMessage: fc.Arbitrary<EventStreamMessage> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...BEDROCK_EVENT_TYPES), jsonText).map(([type, json]) => ({
      headers: {
        ":event-type": stringHeader(type),
        ":content-type": stringHeader("application/json"),
        ":message-type": stringHeader("event"),
      },
      payload: utf8.encode(json),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...BEDROCK_EXCEPTIONS, "x"), jsonText).map((
      [type, json],
    ) => ({
      headers: {
        ":exception-type": stringHeader(type),
        ":message-type": stringHeader("exception"),
      },
      payload: utf8.encode(json),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })).map((
      [code, message],
    ) => ({
      headers: {
        ":error-code": stringHeader(code),
        ":error-message": stringHeader(message),
        ":message-type": stringHeader("error"),
      },
      payload: new Uint8Array(),
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.dictionary(
        fc.constantFrom(":event-type", ":message-type", ":exception-type", ":error-code", "x"),
        fc.oneof(
          headerValue,
          fc.constantFrom(...BEDROCK_EVENT_TYPES, "event", "exception", "error").map(stringHeader),
        ),
        { maxKeys: 4 },
      ),
      fc.oneof(jsonText.map((t) => utf8.encode(t)), fc.uint8Array({ maxLength: 40 })),
    ).map(([headers, payload]) => ({ headers, payload })),
  },
);

const sseEventArb: fc.Arbitrary<SseEvent> = fc.tuple(
  fc.option(
    fc.oneof(
      fc.constantFrom(
        "message",
        "error",
        "message_start",
        "content_block_delta",
        "message_stop",
        "ping",
      ),
      fc.string({ maxLength: 8 }),
    ),
    { nil: undefined, freq: 2 },
  ),
  jsonText,
).map(([event, data]) => (event === undefined ? { data } : { event, data }));

/** Anthropic-ish events: the data's `type` is usually one of the protocol's event types. */
const anthropicEventArb: fc.Arbitrary<SseEvent> = fc.oneof(
  sseEventArb,
  fc.tuple(
    fc.constantFrom(
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
      "ping",
      "error",
    ),
    fc.dictionary(vocabulary, shapedJson, { maxKeys: 5 }),
  ).map(([type, body]) => ({ event: type, data: JSON.stringify({ ...body, type }) })),
);

/** OpenAI-ish events: a chunk with one or two choices of random deltas. */
const openaiEventArb: fc.Arbitrary<SseEvent> = fc.oneof(
  sseEventArb,
  fc.tuple(
    fc.array(fc.dictionary(vocabulary, shapedJson, { maxKeys: 4 }), { maxLength: 2 }),
    fc.dictionary(vocabulary, shapedJson, { maxKeys: 3 }),
  ).map(([deltas, extra]) => ({
    data: JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      model: "m",
      ...extra,
      choices: deltas.map((delta, index) => ({ index, delta, ...delta })),
    }),
  })),
);

// Recorded streams from fixtures/, as frames and events, to mutate at the event level.
const FIXTURES = new URL("../fixtures/", import.meta.url);

function fixtureFrames(name: string): EventStreamMessage[] {
  const decoder = new EventStreamDecoder();
  const messages = decoder.push(Deno.readFileSync(new URL(name, FIXTURES)));
  decoder.end();
  return messages;
}

function fixtureEvents(name: string): SseEvent[] {
  const decoder = new SseDecoder();
  const events = decoder.push(Deno.readFileSync(new URL(name, FIXTURES)));
  return [...events, ...decoder.end()];
}

let fixtures:
  | { bedrock: EventStreamMessage[][]; openai: SseEvent[][]; anthropic: SseEvent[][] }
  | undefined;

function loadFixtures(): NonNullable<typeof fixtures> {
  return fixtures ??= {
    bedrock: [
      "converse_stream_text.bin",
      "converse_stream_tool_use.bin",
      "converse_stream_reasoning.bin",
      "converse_stream_throttling.bin",
    ].map((n) => fixtureFrames(`bedrock/${n}`)),
    openai: ["chat_stream_text.sse", "chat_stream_tool_calls.sse"]
      .map((n) => fixtureEvents(`openai/${n}`)),
    anthropic: ["messages_stream_text.sse", "messages_stream_tool_use.sse"]
      .map((n) => fixtureEvents(`anthropic/${n}`)),
  };
}

type SeqEdit<T> =
  | { op: "drop"; at: number }
  | { op: "duplicate"; at: number }
  | { op: "swap"; at: number; with: number }
  | { op: "replace"; at: number; by: T }
  | { op: "truncate"; at: number };

function seqEdits<T>(replacement: fc.Arbitrary<T>): fc.Arbitrary<SeqEdit<T>[]> {
  return fc.array(
    fc.oneof(
      fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
      fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
      fc.record({ op: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
      fc.record({ op: fc.constant("replace" as const), at: fc.nat(), by: replacement }),
      fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
    ),
    { maxLength: 4 },
  );
}

function applyEdits<T>(items: readonly T[], edits: readonly SeqEdit<T>[]): T[] {
  const out = [...items];
  for (const edit of edits) {
    if (out.length === 0) break;
    const i = edit.at % out.length;
    switch (edit.op) {
      case "drop":
        out.splice(i, 1);
        break;
      case "duplicate":
        out.splice(i, 0, out[i]!);
        break;
      case "swap": {
        const j = edit.with % out.length;
        [out[i], out[j]] = [out[j]!, out[i]!];
        break;
      }
      case "replace":
        out[i] = edit.by;
        break;
      case "truncate":
        out.length = i;
        break;
    }
  }
  return out;
}

/** Payload text edits inside one recorded event: cut its JSON, or flip a character. */
function mangleText(text: string, cutAt: number | null): string {
  return cutAt === null ? text : text.slice(0, cutAt % (text.length + 1));
}

const bedrockRandom: FuzzTarget = {
  name: "bedrock_converse_random_frames",
  weight: 2,
  property: () =>
    fc.property(
      fc.array(bedrockMessage, { maxLength: 12 }),
      (messages) =>
        timed(() => {
          decodeAll(new BedrockConverseDecoder({ id: "m", model: "x" }), messages, "bedrock");
        }),
    ),
};

const bedrockRecorded: FuzzTarget = {
  name: "bedrock_converse_recorded_mutated",
  weight: 1,
  property: () =>
    fc.property(
      fc.nat(),
      seqEdits(bedrockMessage),
      fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null }),
      (which, edits, cutPayload) =>
        timed(() => {
          const all = loadFixtures().bedrock;
          let messages = applyEdits(all[which % all.length]!, edits);
          if (cutPayload !== null && messages.length > 0) {
            const i = cutPayload[0] % messages.length;
            const m = messages[i]!;
            messages = messages.with(i, {
              headers: m.headers,
              payload: m.payload.subarray(0, cutPayload[1] % (m.payload.length + 1)),
            });
          }
          decodeAll(new BedrockConverseDecoder(), messages, "bedrock");
        }),
    ),
};

const openaiRandom: FuzzTarget = {
  name: "openai_chat_random_events",
  weight: 2,
  property: () =>
    fc.property(
      fc.array(openaiEventArb, { maxLength: 12 }),
      (events) =>
        timed(() => {
          decodeAll(new OpenAIChatDecoder(), events, "openai");
        }),
    ),
};

const openaiRecorded: FuzzTarget = {
  name: "openai_chat_recorded_mutated",
  weight: 1,
  property: () =>
    fc.property(
      fc.nat(),
      seqEdits(openaiEventArb),
      fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null }),
      (which, edits, cutData) =>
        timed(() => {
          const all = loadFixtures().openai;
          let events = applyEdits(all[which % all.length]!, edits);
          if (cutData !== null && events.length > 0) {
            const i = cutData[0] % events.length;
            events = events.with(i, {
              ...events[i]!,
              data: mangleText(events[i]!.data, cutData[1]),
            });
          }
          decodeAll(new OpenAIChatDecoder(), events, "openai");
        }),
    ),
};

const anthropicRandom: FuzzTarget = {
  name: "anthropic_messages_random_events",
  weight: 2,
  property: () =>
    fc.property(
      fc.array(anthropicEventArb, { maxLength: 12 }),
      (events) =>
        timed(() => {
          decodeAll(new AnthropicMessagesDecoder(), events, "anthropic");
        }),
    ),
};

const anthropicRecorded: FuzzTarget = {
  name: "anthropic_messages_recorded_mutated",
  weight: 1,
  property: () =>
    fc.property(
      fc.nat(),
      seqEdits(anthropicEventArb),
      fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null }),
      (which, edits, cutData) =>
        timed(() => {
          const all = loadFixtures().anthropic;
          let events = applyEdits(all[which % all.length]!, edits);
          if (cutData !== null && events.length > 0) {
            const i = cutData[0] % events.length;
            events = events.with(i, {
              ...events[i]!,
              data: mangleText(events[i]!.data, cutData[1]),
            });
          }
          decodeAll(new AnthropicMessagesDecoder(), events, "anthropic");
        }),
    ),
};

/** Whole pipelines from mutated recorded bytes: framing errors are typed, protocols never throw. */
const pipelines: FuzzTarget = {
  name: "pipelines_mutated_recorded_bytes",
  weight: 1,
  property: () =>
    fc.property(
      fc.constantFrom(
        "bedrock/converse_stream_text.bin",
        "bedrock/converse_stream_tool_use.bin",
        "bedrock/converse_stream_reasoning.bin",
        "openai/chat_stream_text.sse",
        "openai/chat_stream_tool_calls.sse",
        "anthropic/messages_stream_text.sse",
        "anthropic/messages_stream_tool_use.sse",
      ),
      fc.array(mutation(16 * 1024 * 1024, true), { maxLength: 3 }),
      chunkSizes,
      fc.boolean(),
      (name, mutations, sizes, resync) =>
        timed(() => {
          const original = fixtureBytes(name);
          const bytes = concat(mutate([original], mutations).map((s) => s.bytes));
          const chunks = cut(bytes, sizes);
          if (name.startsWith("bedrock/")) {
            const framing = new EventStreamDecoder({ onCorruption: resync ? "resync" : "error" });
            const { messages } = guarded(() => feedEventStream(framing, chunks));
            decodeAll(new BedrockConverseDecoder(), messages, "bedrock pipeline");
          } else {
            const framing = new SseDecoder({ flushIncompleteEvent: resync });
            const events: SseEvent[] = [];
            try {
              guarded(() => {
                for (const chunk of chunks) events.push(...framing.push(chunk));
                events.push(...framing.end());
              }, [SseError]);
            } catch (error) {
              if (!(error instanceof SseError)) throw error;
            }
            const decoder = name.startsWith("openai/")
              ? new OpenAIChatDecoder()
              : new AnthropicMessagesDecoder();
            decodeAll(decoder, events, `${name} pipeline`);
          }
        }),
    ),
};

const fixtureCache = new Map<string, Uint8Array>();
function fixtureBytes(name: string): Uint8Array {
  let bytes = fixtureCache.get(name);
  if (bytes === undefined) {
    bytes = Deno.readFileSync(new URL(name, FIXTURES));
    fixtureCache.set(name, bytes);
  }
  return bytes;
}

/** Every fuzz target, in the order they run. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  eventStreamValid,
  eventStreamMutatedErrorMode,
  eventStreamBitFlip,
  eventStreamResync,
  decodeOneMessage,
  sseChunked,
  sseText,
  bedrockRandom,
  bedrockRecorded,
  openaiRandom,
  openaiRecorded,
  anthropicRandom,
  anthropicRecorded,
  pipelines,
];

/** What one target's run found. */
export interface FuzzResult {
  name: string;
  /** Inputs run (including shrinking attempts' originals, not the shrinks). */
  runs: number;
  failed: boolean;
  seed: number;
  /** fast-check's replay path of the counterexample, for `--path`. */
  path: string | undefined;
  /** fast-check's report (counterexample, error, seed) when it failed. */
  report: string | undefined;
  milliseconds: number;
}

/**
 * Runs one target: `numRuns` inputs, or until `timeLimitMs` passes (the runs done count).
 *
 * @param target the target
 * @param options run count, time budget, seed and replay path
 */
export function runTarget(
  target: FuzzTarget,
  options: { numRuns: number; timeLimitMs?: number; seed?: number; path?: string },
): FuzzResult {
  const started = performance.now();
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const details = fc.check(target.property(), {
    numRuns: options.numRuns,
    seed,
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.timeLimitMs === undefined
      ? {}
      : { interruptAfterTimeLimit: options.timeLimitMs, markInterruptAsFailure: false }),
    endOnFailure: false,
  }) as fc.RunDetails<unknown>;
  return {
    name: target.name,
    runs: details.numRuns,
    failed: details.failed,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    report: details.failed ? fc.defaultReportMessage(details) : undefined,
    milliseconds: performance.now() - started,
  };
}
