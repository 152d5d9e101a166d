/**
 * AWS EventStream (`application/vnd.amazon.eventstream`) framing: the binary message format of
 * Amazon Bedrock's streaming APIs, Transcribe streaming, S3 Select and Kinesis SubscribeToShard.
 *
 * A message on the wire:
 *
 * ```text
 * ┌──────────────┬────────────────┬─────────────┬─────────┬─────────┬─────────────┐
 * │ total length │ headers length │ prelude CRC │ headers │ payload │ message CRC │
 * │   uint32 BE  │    uint32 BE   │  uint32 BE  │         │         │  uint32 BE  │
 * └──────────────┴────────────────┴─────────────┴─────────┴─────────┴─────────────┘
 * ```
 *
 * The prelude CRC covers the first 8 bytes, the message CRC everything before it. A header is a
 * 1-byte name length, the UTF-8 name, a 1-byte type code and a typed value.
 * @module
 */

import { crc32Range } from "./crc32.ts";
import { ChunkQueue } from "./_chunk_queue.ts";
import { drained } from "./_drained.ts";
import { EventStreamError, type EventStreamErrorCode } from "./errors.ts";

/**
 * A header value, tagged with its wire type as in `@smithy/eventstream-codec`.
 *
 * | `type`      | wire code | `value`                                              |
 * |-------------|-----------|------------------------------------------------------|
 * | `boolean`   | 0 / 1     | `true` / `false`                                     |
 * | `byte`      | 2         | integer in [-128, 127]                               |
 * | `short`     | 3         | integer in [-32768, 32767]                           |
 * | `integer`   | 4         | integer in [-2³¹, 2³¹ − 1]                           |
 * | `long`      | 5         | `bigint` in [-2⁶³, 2⁶³ − 1]                          |
 * | `binary`    | 6         | `Uint8Array`, at most 32,767 bytes                   |
 * | `string`    | 7         | `string`, at most 32,767 bytes of UTF-8              |
 * | `timestamp` | 8         | `Date` (milliseconds since the epoch, as an int64)   |
 * | `uuid`      | 9         | lowercase `8-4-4-4-12` hex string                    |
 */
export type EventStreamHeaderValue =
  | { type: "boolean"; value: boolean }
  | { type: "byte"; value: number }
  | { type: "short"; value: number }
  | { type: "integer"; value: number }
  | { type: "long"; value: bigint }
  | { type: "binary"; value: Uint8Array }
  | { type: "string"; value: string }
  | { type: "timestamp"; value: Date }
  | { type: "uuid"; value: string };

/**
 * One EventStream message: headers in wire order (the record's insertion order) and the payload.
 *
 * Decoded payloads and `binary` header values are views, not copies: into the decoder's input
 * when a message arrived inside one chunk (so do not reuse input buffers while messages are
 * alive), otherwise into the one copy the decoder made of it (small messages share a 64 KiB
 * buffer).
 *
 * JavaScript lists integer-like keys (`"0"`, `"42"`) before all others, whatever the insertion
 * order, so a message whose header names look like array indices re-encodes with those headers
 * first.
 */
export interface EventStreamMessage {
  /** Headers by name, in wire order. */
  headers: Record<string, EventStreamHeaderValue>;
  /** The payload bytes (for Bedrock, UTF-8 JSON). */
  payload: Uint8Array;
}

/** What {@linkcode EventStreamDecoderOptions.onResync} is told after skipping corrupt bytes. */
export interface EventStreamResyncInfo {
  /** Stream offset of the first skipped byte: the start of the frame that was rejected. */
  offset: number;
  /** How many bytes were skipped to reach the next frame whose prelude validates. */
  skippedBytes: number;
  /** Why the frame at `offset` was rejected. */
  error: EventStreamError;
}

/** Options of {@linkcode EventStreamDecoder} and {@linkcode EventStreamDecoderStream}. */
export interface EventStreamDecoderOptions {
  /**
   * Largest accepted message, in bytes (total length, prelude and CRCs included). A prelude
   * claiming more is rejected with `message_too_large` before anything is allocated.
   * Default 16 MiB, the limit of the AWS SDKs.
   */
  maxMessageBytes?: number;
  /**
   * What to do with a corrupt frame (bad CRC, impossible lengths, bad header):
   * - `"error"` (default): fail with an {@linkcode EventStreamError};
   * - `"resync"`: skip forward byte by byte to the next offset whose prelude CRC and lengths
   *   validate, report the skipped span to `onResync`, and go on decoding from there — valid
   *   frames behind a corrupt one are never lost.
   *
   * A stream that ends in the middle of a frame is `truncated` in both modes.
   */
  onCorruption?: "error" | "resync";
  /**
   * Called in `"resync"` mode once per skipped span: when the next valid prelude is found, or
   * when the stream ends while still searching for one (then every remaining byte was skipped).
   * Frames decoded plus bytes skipped always add up to the bytes received.
   */
  onResync?: (info: EventStreamResyncInfo) => void;
  /**
   * CRC-32 implementation with the contract of `node:zlib`'s `crc32(data, value)`. The default is
   * the built-in pure-TypeScript one; server code can pass `crc32` from `node:zlib`, which is
   * several times faster on large payloads.
   */
  crc32?: (bytes: Uint8Array, initial?: number) => number;
}

/** Options of {@linkcode encodeEventStreamMessage} and {@linkcode EventStreamEncoderStream}. */
export interface EventStreamEncoderOptions {
  /** Largest message the encoder writes, in bytes; default 16 MiB, as for the decoder. */
  maxMessageBytes?: number;
  /** CRC-32 implementation, as in {@linkcode EventStreamDecoderOptions.crc32}. */
  crc32?: (bytes: Uint8Array, initial?: number) => number;
}

/** Size of the prelude: total length, headers length, prelude CRC. */
const PRELUDE_BYTES = 12;
/** Prelude plus the trailing message CRC: the size of a message without headers and payload. */
const MIN_MESSAGE_BYTES = 16;
/** The AWS SDKs' limit on a message, and our default `maxMessageBytes`. */
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Header names are length-prefixed by one byte. */
const MAX_HEADER_NAME_BYTES = 255;
/** `binary`/`string` values have a 2-byte length, but aws-c-event-stream caps them at INT16_MAX. */
const MAX_HEADER_VALUE_BYTES = 32767;

/** Wire type codes of header values: the one place they are written down. */
const HeaderType = {
  true: 0,
  false: 1,
  byte: 2,
  short: 3,
  integer: 4,
  long: 5,
  binary: 6,
  string: 7,
  timestamp: 8,
  uuid: 9,
} as const;

/** `Date` holds ±8.64e15 ms; int64 timestamps beyond cannot round-trip, so they are rejected. */
const MAX_DATE_MS = 8.64e15;
const TWO_32 = 4294967296;

type Crc32Function = (bytes: Uint8Array, initial?: number) => number;

// `ignoreBOM` keeps a leading U+FEFF in a header string (the default would drop it, and the
// message would no longer re-encode to the same bytes); `fatal` rejects malformed UTF-8 for the
// same reason instead of replacing it with U+FFFD.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** `"00"`…`"ff"`, for formatting UUIDs. */
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function checkMaxMessageBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_MESSAGE_BYTES;
  if (!(value >= MIN_MESSAGE_BYTES)) {
    throw new RangeError(`maxMessageBytes must be at least ${MIN_MESSAGE_BYTES}, got ${value}`);
  }
  return value;
}

/** Shorter than this, a header string is decoded by hand: TextDecoder's per-call cost dominates. */
const SHORT_STRING_BYTES = 64;
/**
 * Small frames that span chunks are copied into shared slabs of this size; a decoded payload
 * keeps its slab alive, so this bounds what a retained message can pin.
 */
const SLAB_BYTES = 64 * 1024;
/** Frames larger than this that span chunks get a buffer of their own. */
const SLAB_MAX_FRAME_BYTES = 4 * 1024;
/** Slots of a decoder's string cache (a power of two). */
const STRING_CACHE_SLOTS = 256;

interface CachedString {
  bytes: Uint8Array;
  value: string;
}

/**
 * Decodes UTF-8 from `bytes[start..end)`, or fails with `invalid_header` (not valid UTF-8 would
 * not survive a re-encode).
 */
function decodeUtf8(bytes: Uint8Array, start: number, end: number, offset: number): string {
  if (end - start <= SHORT_STRING_BYTES) {
    let s = "";
    let i = start;
    for (; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === end) return s;
  }
  try {
    return utf8Decoder.decode(bytes.subarray(start, end));
  } catch {
    throw new EventStreamError("invalid_header", "header name or value is not valid UTF-8", offset);
  }
}

/**
 * Decodes a header name or short string value through a small cache: streams repeat the same
 * few names and values (`:event-type`, `contentBlockDelta`, …) in every frame, and comparing
 * a dozen bytes is cheaper than building a string.
 */
function cachedString(
  cache: (CachedString | undefined)[],
  bytes: Uint8Array,
  start: number,
  end: number,
  offset: number,
): string {
  const length = end - start;
  if (length === 0) return "";
  if (length > SHORT_STRING_BYTES) return decodeUtf8(bytes, start, end, offset);
  const slot = Math.imul(
    length ^ (bytes[start]! << 8) ^ (bytes[start + (length >> 1)]! << 16) ^
      (bytes[end - 1]! << 24),
    0x9e3779b1,
  ) >>> 24;
  const hit = cache[slot];
  if (hit !== undefined) {
    const known = hit.bytes;
    if (known.length === length) {
      let i = 0;
      while (i < length && known[i] === bytes[start + i]) i++;
      if (i === length) return hit.value;
    }
  }
  const value = decodeUtf8(bytes, start, end, offset);
  // A copy, so the cache never keeps an input chunk alive.
  cache[slot] = { bytes: bytes.slice(start, end), value };
  return value;
}

function invalidHeader(message: string, offset: number): EventStreamError {
  return new EventStreamError("invalid_header", message, offset);
}

/**
 * Parses the headers in `bytes[pos..end)` of the frame that starts at stream offset `offset`.
 */
function parseHeaders(
  bytes: Uint8Array,
  pos: number,
  end: number,
  offset: number,
  cache: (CachedString | undefined)[] | undefined,
): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {};
  while (pos < end) {
    const nameEnd = pos + 1 + bytes[pos]!;
    // The type byte must follow the name inside the headers section.
    if (nameEnd >= end) throw invalidHeader("header runs past the headers section", offset);
    const name = cache === undefined
      ? decodeUtf8(bytes, pos + 1, nameEnd, offset)
      : cachedString(cache, bytes, pos + 1, nameEnd, offset);
    const type = bytes[nameEnd]!;
    pos = nameEnd + 1;
    let header: EventStreamHeaderValue;
    switch (type) {
      case HeaderType.true:
        header = { type: "boolean", value: true };
        break;
      case HeaderType.false:
        header = { type: "boolean", value: false };
        break;
      case HeaderType.byte:
        if (pos + 1 > end) throw invalidHeader("header runs past the headers section", offset);
        header = { type: "byte", value: (bytes[pos]! << 24) >> 24 };
        pos += 1;
        break;
      case HeaderType.short:
        if (pos + 2 > end) throw invalidHeader("header runs past the headers section", offset);
        header = { type: "short", value: (((bytes[pos]! << 8) | bytes[pos + 1]!) << 16) >> 16 };
        pos += 2;
        break;
      case HeaderType.integer:
        if (pos + 4 > end) throw invalidHeader("header runs past the headers section", offset);
        header = { type: "integer", value: readInt32(bytes, pos) };
        pos += 4;
        break;
      case HeaderType.long:
        if (pos + 8 > end) throw invalidHeader("header runs past the headers section", offset);
        header = {
          type: "long",
          value: (BigInt(readInt32(bytes, pos)) << 32n) | BigInt(readUint32(bytes, pos + 4)),
        };
        pos += 8;
        break;
      case HeaderType.binary:
      case HeaderType.string: {
        if (pos + 2 > end) throw invalidHeader("header runs past the headers section", offset);
        const length = (bytes[pos]! << 8) | bytes[pos + 1]!;
        if (length > MAX_HEADER_VALUE_BYTES) {
          throw invalidHeader(
            `header value is ${length} bytes, more than ${MAX_HEADER_VALUE_BYTES}`,
            offset,
          );
        }
        const valueStart = pos + 2;
        pos = valueStart + length;
        if (pos > end) throw invalidHeader("header runs past the headers section", offset);
        header = type === HeaderType.binary
          ? { type: "binary", value: bytes.subarray(valueStart, pos) }
          : {
            type: "string",
            value: cache === undefined
              ? decodeUtf8(bytes, valueStart, pos, offset)
              : cachedString(cache, bytes, valueStart, pos, offset),
          };
        break;
      }
      case HeaderType.timestamp: {
        if (pos + 8 > end) throw invalidHeader("header runs past the headers section", offset);
        // Exact: |ms| ≤ 8.64e15 < 2^53 is checked before it is used.
        const ms = readInt32(bytes, pos) * TWO_32 + readUint32(bytes, pos + 4);
        if (!(Math.abs(ms) <= MAX_DATE_MS)) {
          throw invalidHeader("timestamp header is outside the range of Date", offset);
        }
        header = { type: "timestamp", value: new Date(ms) };
        pos += 8;
        break;
      }
      case HeaderType.uuid: {
        if (pos + 16 > end) throw invalidHeader("header runs past the headers section", offset);
        let s = "";
        for (let i = 0; i < 16; i++) {
          if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
          s += HEX[bytes[pos + i]!]!;
        }
        header = { type: "uuid", value: s };
        pos += 16;
        break;
      }
      default:
        throw invalidHeader(`unknown header type ${type}`, offset);
    }
    if (Object.hasOwn(headers, name)) {
      throw new EventStreamError(
        "duplicate_header",
        `duplicate header ${JSON.stringify(name)}`,
        offset,
      );
    }
    // Plain assignment of "__proto__" would set the prototype instead of adding a header.
    if (name === "__proto__") {
      Object.defineProperty(headers, name, {
        value: header,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      headers[name] = header;
    }
  }
  return headers;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>>
    0;
}

function readInt32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

/**
 * Checks a prelude in the reference decoder's order: prelude CRC, then the limits. Returns the
 * failure code, or `undefined` when the prelude is acceptable.
 */
function checkPrelude(
  totalLength: number,
  headersLength: number,
  crcMatches: boolean,
  maxMessageBytes: number,
): EventStreamErrorCode | undefined {
  if (!crcMatches) return "prelude_crc_mismatch";
  if (totalLength > maxMessageBytes) return "message_too_large";
  if (totalLength < MIN_MESSAGE_BYTES) return "invalid_total_length";
  if (headersLength > totalLength - MIN_MESSAGE_BYTES) return "invalid_headers_length";
  return undefined;
}

function preludeErrorMessage(
  code: EventStreamErrorCode,
  totalLength: number,
  headersLength: number,
  maxMessageBytes: number,
): string {
  switch (code) {
    case "prelude_crc_mismatch":
      return "prelude CRC mismatch";
    case "message_too_large":
      return `message of ${totalLength} bytes exceeds maxMessageBytes (${maxMessageBytes})`;
    case "invalid_total_length":
      return `total length ${totalLength} is below the minimum of ${MIN_MESSAGE_BYTES}`;
    default:
      return `headers length ${headersLength} does not fit in a message of ${totalLength} bytes`;
  }
}

/**
 * Decodes the complete, prelude-checked frame in `bytes[start..start + totalLength)`: headers
 * first, then the message CRC (continued from the prelude CRC, which covers the first 8 bytes),
 * as the reference decoder does.
 */
function decodeFrame(
  bytes: Uint8Array,
  start: number,
  totalLength: number,
  headersLength: number,
  preludeCrc: number,
  offset: number,
  crc: Crc32Function | undefined,
  cache: (CachedString | undefined)[] | undefined,
): EventStreamMessage {
  const headersStart = start + PRELUDE_BYTES;
  const payloadStart = headersStart + headersLength;
  const crcAt = start + totalLength - 4;
  const headers = parseHeaders(bytes, headersStart, payloadStart, offset, cache);
  const actual = crc === undefined
    ? crc32Range(bytes, start + 8, crcAt, preludeCrc)
    : crc(bytes.subarray(start + 8, crcAt), preludeCrc) >>> 0;
  if (actual !== readUint32(bytes, crcAt)) {
    throw new EventStreamError("message_crc_mismatch", "message CRC mismatch", offset);
  }
  return { headers, payload: bytes.subarray(payloadStart, crcAt) };
}

/**
 * The synchronous push parser behind {@linkcode EventStreamDecoderStream}: feed it chunks as
 * they arrive, get back the messages they complete. It never copies a message that lies inside
 * one chunk (payloads are views into it) and copies one that spans chunks exactly once, so a
 * proxy can watch the bytes it forwards without `tee()`.
 *
 * Errors are {@linkcode EventStreamError}s whose `offset` is the stream offset of the frame at
 * fault. When a chunk completes some messages before a corrupt frame, `push()` returns those
 * messages and the error is thrown by the next `push()` or `end()`; after an error every call
 * throws it again.
 *
 * @example Decode chunks as they arrive
 * ```ts
 * import { EventStreamDecoder, encodeEventStreamMessage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeEventStreamMessage({
 *   headers: { ":event-type": { type: "string", value: "messageStart" } },
 *   payload: new TextEncoder().encode('{"role":"assistant"}'),
 * });
 * const decoder = new EventStreamDecoder();
 * assert.deepEqual(decoder.push(bytes.subarray(0, 10)), []);
 * const [message] = decoder.push(bytes.subarray(10));
 * decoder.end(); // throws if the stream ended inside a frame
 * assert.equal(message?.headers[":event-type"]?.value, "messageStart");
 * assert.equal(new TextDecoder().decode(message?.payload), '{"role":"assistant"}');
 * assert.equal(decoder.offset, bytes.length);
 * ```
 */
export class EventStreamDecoder {
  readonly #queue = new ChunkQueue();
  readonly #maxMessageBytes: number;
  readonly #resync: boolean;
  readonly #onResync: ((info: EventStreamResyncInfo) => void) | undefined;
  readonly #crc: Crc32Function | undefined;
  readonly #cache: (CachedString | undefined)[] = new Array(STRING_CACHE_SLOTS).fill(undefined);
  /** The 12 prelude bytes of the frame at the head of the queue, copied for reading. */
  readonly #prelude = new Uint8Array(PRELUDE_BYTES);
  /** `#prelude`'s first 8 bytes (what the prelude CRC covers), for a plugged-in CRC function. */
  readonly #preludeCovered = this.#prelude.subarray(0, 8);
  /** Stream offset of the first buffered byte. */
  #offset = 0;
  /** Total length of the frame at the head of the queue once its prelude passed; else 0. */
  #frameLength = 0;
  #headersLength = 0;
  #preludeCrc = 0;
  /** In resync mode, the rejected frame whose bytes are being skipped. */
  #skipping: { offset: number; skippedBytes: number; error: EventStreamError } | undefined;
  /** Shared buffer for copies of small frames that span chunks (see `#allocate`). */
  #slab: Uint8Array | undefined;
  #slabUsed = 0;
  /** The error every later call throws. */
  #failure: EventStreamError | undefined;
  /** An error found after messages that `push()` returned; thrown by the next call. */
  #deferred: EventStreamError | undefined;

  /**
   * Creates a decoder.
   *
   * @param options limits, corruption handling and CRC implementation
   */
  constructor(options: EventStreamDecoderOptions = {}) {
    this.#maxMessageBytes = checkMaxMessageBytes(options.maxMessageBytes);
    this.#resync = options.onCorruption === "resync";
    this.#onResync = options.onResync;
    this.#crc = options.crc32;
  }

  /** Stream offset of the first byte not yet decoded (or skipped): the start of the next frame. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes received but not yet decoded: the part of the next frame seen so far. */
  get bufferedBytes(): number {
    return this.#queue.length;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @param chunk the next bytes of the stream (kept by reference until decoded)
   * @returns the messages this chunk completed, in order
   * @throws {EventStreamError} on a corrupt frame (in `"error"` mode)
   */
  push(chunk: Uint8Array): EventStreamMessage[] {
    this.#throwIfFailed();
    this.#queue.push(chunk);
    const messages: EventStreamMessage[] = [];
    try {
      this.#decode(messages);
    } catch (error) {
      if (!(error instanceof EventStreamError)) throw error;
      if (messages.length === 0) {
        this.#failure = error;
        throw error;
      }
      this.#deferred = error;
    }
    return messages;
  }

  /**
   * Signals the end of the stream.
   *
   * @throws {EventStreamError} `truncated` when the stream ended inside a frame (or with 1–3
   * stray bytes), or the error deferred by the last `push()`
   */
  end(): void {
    this.#throwIfFailed();
    const queue = this.#queue;
    const skipping = this.#skipping;
    if (skipping !== undefined) {
      // Still looking for a valid prelude: whatever is left belongs to the corrupt span.
      skipping.skippedBytes += queue.length;
      this.#offset += queue.length;
      queue.skip(queue.length);
      this.#skipping = undefined;
      this.#onResync?.(skipping);
      return;
    }
    if (queue.length > 0) {
      const expected = this.#frameLength;
      this.#failure = new EventStreamError(
        "truncated",
        expected > 0
          ? `stream ended inside a message: ${queue.length} of ${expected} bytes`
          : `stream ended with ${queue.length} bytes of an incomplete prelude`,
        this.#offset,
      );
      throw this.#failure;
    }
  }

  #throwIfFailed(): void {
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      this.#failure = deferred;
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Decodes every complete frame in the queue into `out`. */
  #decode(out: EventStreamMessage[]): void {
    const queue = this.#queue;
    while (true) {
      if (this.#skipping !== undefined && !this.#scan()) return;
      let total = this.#frameLength;
      if (total === 0) {
        if (queue.length < PRELUDE_BYTES) return;
        const prelude = this.#prelude;
        const code = this.#readPrelude(0);
        total = readUint32(prelude, 0);
        const headersLength = readUint32(prelude, 4);
        if (code !== undefined) {
          this.#corrupt(
            new EventStreamError(
              code,
              preludeErrorMessage(code, total, headersLength, this.#maxMessageBytes),
              this.#offset,
            ),
          );
          continue;
        }
        this.#frameLength = total;
        this.#headersLength = headersLength;
        this.#preludeCrc = readUint32(prelude, 8);
      }
      if (queue.length < total) return;
      let message: EventStreamMessage;
      try {
        const chunk = queue.headChunk!;
        const start = queue.headOffset;
        if (start + total <= chunk.length) {
          // The whole frame is inside one chunk: parse it in place.
          message = decodeFrame(
            chunk,
            start,
            total,
            this.#headersLength,
            this.#preludeCrc,
            this.#offset,
            this.#crc,
            this.#cache,
          );
        } else {
          // It spans chunks: one copy (the frame stays queued until it decodes, for resync).
          const [frame, at] = this.#allocate(total);
          queue.copyTo(frame, at, 0, total);
          message = decodeFrame(
            frame,
            at,
            total,
            this.#headersLength,
            this.#preludeCrc,
            this.#offset,
            this.#crc,
            this.#cache,
          );
        }
      } catch (error) {
        if (!(error instanceof EventStreamError)) throw error;
        this.#frameLength = 0;
        this.#corrupt(error);
        continue;
      }
      queue.skip(total);
      this.#offset += total;
      this.#frameLength = 0;
      out.push(message);
    }
  }

  /**
   * Room for a frame that spans chunks: small frames share a slab (allocating an ArrayBuffer
   * costs more than decoding a small frame), large ones get their own buffer. Returns the buffer
   * and the offset of the room in it.
   */
  #allocate(size: number): [Uint8Array, number] {
    if (size > SLAB_MAX_FRAME_BYTES) return [new Uint8Array(size), 0];
    let slab = this.#slab;
    let at = this.#slabUsed;
    if (slab === undefined || at + size > slab.length) {
      slab = this.#slab = new Uint8Array(SLAB_BYTES);
      at = 0;
    }
    this.#slabUsed = at + size;
    return [slab, at];
  }

  /**
   * Copies the 12 bytes at queue position `at` into `#prelude` and checks them; returns the
   * failure code or `undefined`.
   */
  #readPrelude(at: number): EventStreamErrorCode | undefined {
    const queue = this.#queue;
    const prelude = this.#prelude;
    const chunk = queue.headChunk!;
    const start = queue.headOffset + at;
    if (start + PRELUDE_BYTES <= chunk.length) {
      for (let i = 0; i < PRELUDE_BYTES; i++) prelude[i] = chunk[start + i]!;
    } else {
      queue.copyTo(prelude, 0, at, PRELUDE_BYTES);
    }
    const total = readUint32(prelude, 0);
    const headersLength = readUint32(prelude, 4);
    const expected = readUint32(prelude, 8);
    const actual = this.#crc === undefined
      ? crc32Range(prelude, 0, 8)
      : this.#crc(this.#preludeCovered) >>> 0;
    return checkPrelude(total, headersLength, actual === expected, this.#maxMessageBytes);
  }

  /** Fails in `"error"` mode; in `"resync"` mode starts skipping from the next byte. */
  #corrupt(error: EventStreamError): void {
    if (!this.#resync) throw error;
    this.#skipping = { offset: this.#offset, skippedBytes: 1, error };
    this.#queue.skip(1);
    this.#offset += 1;
  }

  /**
   * Looks for the next offset whose prelude validates. Returns `true` (and reports the skipped
   * span) when found at the head of the queue, `false` when more bytes are needed.
   */
  #scan(): boolean {
    const queue = this.#queue;
    const skipping = this.#skipping!;
    let at = 0;
    for (; at + PRELUDE_BYTES <= queue.length; at++) {
      if (this.#readPrelude(at) === undefined) {
        queue.skip(at);
        this.#offset += at;
        skipping.skippedBytes += at;
        this.#skipping = undefined;
        this.#onResync?.(skipping);
        return true;
      }
    }
    // Keep the last 11 bytes: they may be the start of the next prelude.
    queue.skip(at);
    this.#offset += at;
    skipping.skippedBytes += at;
    return false;
  }
}

/**
 * Decodes exactly one EventStream message from `bytes`.
 *
 * @param bytes one complete message, nothing more
 * @param options limit and CRC implementation
 * @returns the message; its payload is a view into `bytes`
 * @throws {EventStreamError} on a corrupt message, `truncated` when `bytes` is shorter than the
 * message and `invalid_total_length` when it is longer
 *
 * @example Decode one message
 * ```ts
 * import { decodeEventStreamMessage, encodeEventStreamMessage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeEventStreamMessage({
 *   headers: { ":message-type": { type: "string", value: "event" } },
 *   payload: new Uint8Array([1, 2, 3]),
 * });
 * const message = decodeEventStreamMessage(bytes);
 * assert.deepEqual(message.headers, { ":message-type": { type: "string", value: "event" } });
 * assert.deepEqual(message.payload, new Uint8Array([1, 2, 3]));
 * ```
 */
export function decodeEventStreamMessage(
  bytes: Uint8Array,
  options: Pick<EventStreamDecoderOptions, "maxMessageBytes" | "crc32"> = {},
): EventStreamMessage {
  const maxMessageBytes = checkMaxMessageBytes(options.maxMessageBytes);
  const crc = options.crc32;
  if (bytes.length < PRELUDE_BYTES) {
    throw new EventStreamError(
      "truncated",
      `${bytes.length} bytes are too few for a message prelude`,
      0,
    );
  }
  const total = readUint32(bytes, 0);
  const headersLength = readUint32(bytes, 4);
  const preludeCrc = readUint32(bytes, 8);
  const actual = crc === undefined ? crc32Range(bytes, 0, 8) : crc(bytes.subarray(0, 8)) >>> 0;
  const code = checkPrelude(total, headersLength, actual === preludeCrc, maxMessageBytes);
  if (code !== undefined) {
    throw new EventStreamError(
      code,
      preludeErrorMessage(code, total, headersLength, maxMessageBytes),
      0,
    );
  }
  if (bytes.length < total) {
    throw new EventStreamError(
      "truncated",
      `message of ${total} bytes cut short at ${bytes.length} bytes`,
      0,
    );
  }
  if (bytes.length > total) {
    throw new EventStreamError(
      "invalid_total_length",
      `${bytes.length - total} bytes follow the message of ${total} bytes`,
      0,
    );
  }
  return decodeFrame(bytes, 0, total, headersLength, preludeCrc, 0, crc, undefined);
}

/** A header checked and converted to bytes, ready to be written. */
interface EncodedHeader {
  name: Uint8Array;
  type: number;
  /** For `binary`/`string`: the bytes; for `uuid`: the 16 bytes. */
  bytes: Uint8Array | undefined;
  number: number;
  /** For `long`/`timestamp`: the high and low 32 bits. */
  high: number;
  low: number;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A lone surrogate cannot be encoded as UTF-8 (TextEncoder would write U+FFFD instead).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max: number,
  offset: number,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidHeader(
      `header ${JSON.stringify(name)}: ${String(value)} is not an integer in [${min}, ${max}]`,
      offset,
    );
  }
  return value;
}

function encodeHeader(name: string, header: EventStreamHeaderValue, offset: number): EncodedHeader {
  if (LONE_SURROGATE.test(name)) {
    throw invalidHeader(`header name ${JSON.stringify(name)} is not valid Unicode`, offset);
  }
  const nameBytes = utf8Encoder.encode(name);
  if (nameBytes.length > MAX_HEADER_NAME_BYTES) {
    throw invalidHeader(
      `header name ${
        JSON.stringify(name.slice(0, 32))
      }… is ${nameBytes.length} bytes, more than ${MAX_HEADER_NAME_BYTES}`,
      offset,
    );
  }
  const out: EncodedHeader = {
    name: nameBytes,
    type: 0,
    bytes: undefined,
    number: 0,
    high: 0,
    low: 0,
  };
  const value: unknown = (header as { value?: unknown } | undefined)?.value;
  const type = (header as { type?: unknown } | undefined)?.type;
  switch (type) {
    case "boolean":
      if (typeof value !== "boolean") {
        throw invalidHeader(`header ${JSON.stringify(name)}: boolean expected`, offset);
      }
      out.type = value ? HeaderType.true : HeaderType.false;
      break;
    case "byte":
      out.type = HeaderType.byte;
      out.number = checkInteger(name, value, -128, 127, offset);
      break;
    case "short":
      out.type = HeaderType.short;
      out.number = checkInteger(name, value, -32768, 32767, offset);
      break;
    case "integer":
      out.type = HeaderType.integer;
      out.number = checkInteger(name, value, -2147483648, 2147483647, offset);
      break;
    case "long": {
      if (typeof value !== "bigint" || BigInt.asIntN(64, value) !== value) {
        throw invalidHeader(`header ${JSON.stringify(name)}: 64-bit bigint expected`, offset);
      }
      const unsigned = BigInt.asUintN(64, value);
      out.type = HeaderType.long;
      out.high = Number(unsigned >> 32n);
      out.low = Number(unsigned & 0xffffffffn);
      break;
    }
    case "binary":
    case "string": {
      let bytes: Uint8Array;
      if (type === "binary") {
        if (!(value instanceof Uint8Array)) {
          throw invalidHeader(`header ${JSON.stringify(name)}: Uint8Array expected`, offset);
        }
        bytes = value;
        out.type = HeaderType.binary;
      } else {
        if (typeof value !== "string" || LONE_SURROGATE.test(value)) {
          throw invalidHeader(
            `header ${JSON.stringify(name)}: well-formed string expected`,
            offset,
          );
        }
        bytes = utf8Encoder.encode(value);
        out.type = HeaderType.string;
      }
      if (bytes.length > MAX_HEADER_VALUE_BYTES) {
        throw invalidHeader(
          `header ${
            JSON.stringify(name)
          }: value is ${bytes.length} bytes, more than ${MAX_HEADER_VALUE_BYTES}`,
          offset,
        );
      }
      out.bytes = bytes;
      break;
    }
    case "timestamp": {
      const ms = value instanceof Date ? value.getTime() : NaN;
      if (Number.isNaN(ms)) {
        throw invalidHeader(`header ${JSON.stringify(name)}: valid Date expected`, offset);
      }
      out.type = HeaderType.timestamp;
      out.high = Math.floor(ms / TWO_32);
      out.low = ms - out.high * TWO_32;
      break;
    }
    case "uuid": {
      if (typeof value !== "string" || !UUID_PATTERN.test(value)) {
        throw invalidHeader(
          `header ${JSON.stringify(name)}: UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" expected`,
          offset,
        );
      }
      const hex = value.replaceAll("-", "");
      const bytes = new Uint8Array(16);
      for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
      out.type = HeaderType.uuid;
      out.bytes = bytes;
      break;
    }
    default:
      throw invalidHeader(
        `header ${JSON.stringify(name)}: unknown type ${JSON.stringify(String(type))}`,
        offset,
      );
  }
  return out;
}

/** Bytes a header's value takes after the type byte. */
function valueSize(header: EncodedHeader): number {
  switch (header.type) {
    case HeaderType.byte:
      return 1;
    case HeaderType.short:
      return 2;
    case HeaderType.integer:
      return 4;
    case HeaderType.long:
    case HeaderType.timestamp:
      return 8;
    case HeaderType.binary:
    case HeaderType.string:
      return 2 + header.bytes!.length;
    case HeaderType.uuid:
      return 16;
    default:
      return 0;
  }
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** Encodes a message that starts at stream offset `offset` (for error reports). */
function encodeMessage(
  message: EventStreamMessage,
  maxMessageBytes: number,
  crc: Crc32Function | undefined,
  offset: number,
): Uint8Array {
  const payload = message.payload;
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError("EventStreamMessage.payload must be a Uint8Array");
  }
  const encoded: EncodedHeader[] = [];
  let headersLength = 0;
  for (const name of Object.keys(message.headers)) {
    const header = encodeHeader(name, message.headers[name]!, offset);
    encoded.push(header);
    headersLength += 2 + header.name.length + valueSize(header);
  }
  const total = MIN_MESSAGE_BYTES + headersLength + payload.length;
  if (total > maxMessageBytes) {
    throw new EventStreamError(
      "message_too_large",
      `message of ${total} bytes exceeds maxMessageBytes (${maxMessageBytes})`,
      offset,
    );
  }
  const out = new Uint8Array(total);
  writeUint32(out, 0, total);
  writeUint32(out, 4, headersLength);
  const preludeCrc = crc === undefined ? crc32Range(out, 0, 8) : crc(out.subarray(0, 8)) >>> 0;
  writeUint32(out, 8, preludeCrc);
  let pos = PRELUDE_BYTES;
  for (const header of encoded) {
    out[pos++] = header.name.length;
    out.set(header.name, pos);
    pos += header.name.length;
    out[pos++] = header.type;
    switch (header.type) {
      case HeaderType.byte:
        out[pos++] = header.number;
        break;
      case HeaderType.short:
        out[pos++] = header.number >> 8;
        out[pos++] = header.number;
        break;
      case HeaderType.integer:
        writeUint32(out, pos, header.number);
        pos += 4;
        break;
      case HeaderType.long:
      case HeaderType.timestamp:
        writeUint32(out, pos, header.high);
        writeUint32(out, pos + 4, header.low);
        pos += 8;
        break;
      case HeaderType.binary:
      case HeaderType.string:
        out[pos++] = header.bytes!.length >> 8;
        out[pos++] = header.bytes!.length;
        out.set(header.bytes!, pos);
        pos += header.bytes!.length;
        break;
      case HeaderType.uuid:
        out.set(header.bytes!, pos);
        pos += 16;
        break;
    }
  }
  out.set(payload, pos);
  const messageCrc = crc === undefined
    ? crc32Range(out, 8, total - 4, preludeCrc)
    : crc(out.subarray(8, total - 4), preludeCrc) >>> 0;
  writeUint32(out, total - 4, messageCrc);
  return out;
}

/**
 * Encodes one EventStream message.
 *
 * @param message headers (written in the record's order) and payload
 * @param options limit and CRC implementation
 * @returns the message's bytes
 * @throws {EventStreamError} `invalid_header` for a header that cannot be written (name over
 * 255 bytes, value out of range or over 32,767 bytes, unknown type, ill-formed string),
 * `message_too_large` past `maxMessageBytes`
 *
 * @example Encode a Bedrock-style event
 * ```ts
 * import { encodeEventStreamMessage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeEventStreamMessage({
 *   headers: {
 *     ":event-type": { type: "string", value: "contentBlockStop" },
 *     ":content-type": { type: "string", value: "application/json" },
 *     ":message-type": { type: "string", value: "event" },
 *   },
 *   payload: new TextEncoder().encode('{"contentBlockIndex":0}'),
 * });
 * assert.equal(bytes.length, 16 + 86 + 23); // prelude and CRC, headers, payload
 * assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 0, 125]); // total length, big-endian
 * ```
 */
export function encodeEventStreamMessage(
  message: EventStreamMessage,
  options: EventStreamEncoderOptions = {},
): Uint8Array {
  return encodeMessage(message, checkMaxMessageBytes(options.maxMessageBytes), options.crc32, 0);
}

/**
 * Lets a pipe queue up to 16 input chunks ahead of the decoder: with small network chunks, the
 * default of one costs a promise round trip per chunk (about 10% of the decoding time).
 */
const WRITABLE_STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: 16 };

/**
 * Decodes a byte stream of AWS EventStream messages, as Bedrock's `ConverseStream` and
 * `InvokeModelWithResponseStream` send them.
 *
 * Errors with an {@linkcode EventStreamError} on a corrupt frame (unless `onCorruption` is
 * `"resync"`) and with `truncated` when the input ends inside a frame; messages decoded before
 * the error are delivered first.
 *
 * @example Decode a response body
 * ```ts
 * import {
 *   EventStreamDecoderStream,
 *   EventStreamEncoderStream,
 *   type EventStreamMessage,
 * } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const sent: EventStreamMessage[] = ["Hello", ", world"].map((text) => ({
 *   headers: {
 *     ":event-type": { type: "string", value: "contentBlockDelta" },
 *     ":message-type": { type: "string", value: "event" },
 *   },
 *   payload: new TextEncoder().encode(JSON.stringify({ delta: { text } })),
 * }));
 * const body = ReadableStream.from(sent).pipeThrough(new EventStreamEncoderStream());
 *
 * const texts: string[] = [];
 * for await (const message of body.pipeThrough(new EventStreamDecoderStream())) {
 *   texts.push(JSON.parse(new TextDecoder().decode(message.payload)).delta.text);
 * }
 * assert.deepEqual(texts, ["Hello", ", world"]);
 * ```
 *
 * @example Skip a corrupt frame and keep going
 * ```ts
 * import {
 *   EventStreamDecoderStream,
 *   encodeEventStreamMessage,
 *   type EventStreamResyncInfo,
 * } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const frame = (n: number) =>
 *   encodeEventStreamMessage({ headers: {}, payload: new Uint8Array([n]) });
 * const corrupt = frame(2);
 * corrupt[12] = 0xff; // changes the payload byte: the message CRC no longer matches
 *
 * const skipped: EventStreamResyncInfo[] = [];
 * const decoder = new EventStreamDecoderStream({
 *   onCorruption: "resync",
 *   onResync: (info) => skipped.push(info),
 * });
 * const messages = await Array.fromAsync(
 *   ReadableStream.from([frame(1), corrupt, frame(3)]).pipeThrough(decoder),
 * );
 * assert.deepEqual(messages.map((m) => m.payload[0]), [1, 3]);
 * assert.equal(skipped[0]?.offset, 17);
 * assert.equal(skipped[0]?.skippedBytes, 17);
 * assert.equal(skipped[0]?.error.code, "message_crc_mismatch");
 * ```
 */
export class EventStreamDecoderStream extends TransformStream<Uint8Array, EventStreamMessage> {
  /**
   * Creates a decoder stream.
   *
   * @param options limits, corruption handling and CRC implementation
   */
  constructor(options: EventStreamDecoderOptions = {}) {
    const decoder = new EventStreamDecoder(options);
    super({
      transform(chunk, controller) {
        // A deferred error surfaces here only once the reader drained the queue: the streams
        // machinery calls transform() again only after the readable side asked for more.
        const messages = decoder.push(chunk);
        for (let i = 0; i < messages.length; i++) controller.enqueue(messages[i]!);
      },
      async flush(controller) {
        try {
          decoder.end();
        } catch (error) {
          await drained(controller);
          throw error;
        }
      },
    }, WRITABLE_STRATEGY);
  }
}

/**
 * Encodes a stream of messages into AWS EventStream bytes, one chunk per message.
 *
 * Errors with an {@linkcode EventStreamError} whose `offset` is where the offending message
 * would have started in the output.
 *
 * @example Encode, then decode
 * ```ts
 * import { EventStreamDecoderStream, EventStreamEncoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const message = {
 *   headers: { count: { type: "integer" as const, value: 42 } },
 *   payload: new Uint8Array(0),
 * };
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([message, message]).pipeThrough(new EventStreamEncoderStream()),
 * );
 * assert.equal(chunks.length, 2);
 * const decoded = await Array.fromAsync(
 *   ReadableStream.from(chunks).pipeThrough(new EventStreamDecoderStream()),
 * );
 * assert.deepEqual(decoded, [message, message]);
 * ```
 */
export class EventStreamEncoderStream extends TransformStream<EventStreamMessage, Uint8Array> {
  /**
   * Creates an encoder stream.
   *
   * @param options limit and CRC implementation
   */
  constructor(options: EventStreamEncoderOptions = {}) {
    const maxMessageBytes = checkMaxMessageBytes(options.maxMessageBytes);
    const crc = options.crc32;
    let offset = 0;
    super({
      transform(message, controller) {
        const bytes = encodeMessage(message, maxMessageBytes, crc, offset);
        offset += bytes.length;
        controller.enqueue(bytes);
      },
    });
  }
}
