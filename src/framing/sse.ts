/**
 * Server-Sent Events (`text/event-stream`): a WHATWG-exact decoder and an encoder, as a
 * synchronous push parser ({@linkcode SseDecoder}, {@linkcode encodeSseEvent}) and as web streams
 * ({@linkcode SseDecoderStream}, {@linkcode SseEncoderStream}).
 *
 * The decoder runs in linear time for any chunking: a line split across chunks is kept as a list
 * of fragments and joined once, when its line terminator arrives. Memory stays bounded by
 * `maxEventBytes`, which caps both an event's data and any single line.
 *
 * @module
 */
import { drained } from "./_drained.ts";
import { SseError } from "./errors.ts";

/**
 * One dispatched Server-Sent Event.
 *
 * - `event` is present only when the event's block set a non-empty event type (an absent type
 *   means `"message"`, as in the browser's `EventSource`).
 * - `data` is the data buffer: the block's `data` fields joined with LF.
 * - `id` is present only when the event's own block set an `id` field (the sticky value that
 *   `EventSource` calls `lastEventId` is {@linkcode SseDecoder.lastEventId}).
 * - `retry` is present when the block set a valid reconnection time, in milliseconds.
 *
 * @example
 * ```ts
 * import type { SseEvent } from "@llmwire/llmwire";
 * import { encodeSseEvent } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const event: SseEvent = { event: "content_block_delta", data: '{"text":"Hi"}', id: "7" };
 * assert.equal(
 *   encodeSseEvent(event),
 *   'event: content_block_delta\nid: 7\ndata: {"text":"Hi"}\n\n',
 * );
 * ```
 */
export interface SseEvent {
  /** The event type; absent for the default type `"message"`. */
  event?: string;
  /** The data buffer: the block's `data` fields joined with LF. */
  data: string;
  /** The id set by this event's own block, if any. */
  id?: string;
  /** The reconnection time in milliseconds set by this event's own block, if any. */
  retry?: number;
}

/**
 * Options of {@linkcode SseDecoder} and {@linkcode SseDecoderStream}.
 *
 * @example Keep an event that the server did not terminate with a blank line
 * ```ts
 * import { SseDecoder, type SseDecoderOptions } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const comments: string[] = [];
 * const options: SseDecoderOptions = {
 *   flushIncompleteEvent: true,
 *   onComment: (comment) => comments.push(comment),
 * };
 * const decoder = new SseDecoder(options);
 * assert.deepEqual(decoder.push(": keep-alive\n\ndata: [DONE]\n"), []);
 * assert.deepEqual(decoder.end(), [{ data: "[DONE]" }]);
 * assert.deepEqual(comments, [" keep-alive"]);
 * ```
 */
export interface SseDecoderOptions {
  /**
   * The most bytes (UTF-8 length of the decoded text) an event's data buffer, or any single
   * line, may hold; beyond it the decoder throws an {@linkcode SseError} with code
   * `event_too_large`. Bounds the memory held for an unterminated line. `Infinity` disables the
   * limit. Default: 1 MiB.
   */
  maxEventBytes?: number;
  /**
   * Dispatch the last event at the end of the stream even when it was not terminated by a blank
   * line (an unterminated last line counts as a line). The WHATWG algorithm discards it, which is
   * the default; some providers end their streams without the final blank line.
   */
  flushIncompleteEvent?: boolean;
  /**
   * Called with every valid `retry` field (ASCII digits only), in stream order, including those
   * in blocks that dispatch no event.
   */
  onRetry?: (ms: number) => void;
  /** Called with the text after the colon of every comment line (a leading space is kept). */
  onComment?: (comment: string) => void;
}

const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
const LF = 10;
const SPACE = 32;
const COLON = 58;

const utf8Encoder = new TextEncoder();

/**
 * UTF-8 length of `s`, counted by encoding it natively in windows of `scratch` (much faster than
 * a JavaScript loop). Lone surrogates count 3 bytes, as the U+FFFD they are encoded as.
 */
function utf8Length(s: string, scratch: Uint8Array): number {
  let bytes = 0;
  for (;;) {
    const { read, written } = utf8Encoder.encodeInto(s, scratch);
    bytes += written;
    if (read >= s.length) return bytes;
    s = s.slice(read);
  }
}

/**
 * The synchronous push parser behind {@linkcode SseDecoderStream}: feed it bytes or text as they
 * arrive, get back the events they complete. It implements the WHATWG "interpret an event stream"
 * algorithm exactly: a leading UTF-8 BOM is skipped, CR, LF and CRLF all end a line (also when
 * split across chunks), one space after the colon is stripped, `data` fields are joined with LF,
 * a block without data dispatches nothing, `retry` takes ASCII digits only, an `id` containing
 * NUL is ignored, and an unterminated last event is discarded unless `flushIncompleteEvent` is
 * set. Bytes are decoded as UTF-8, code points split across chunks included.
 *
 * Throws an {@linkcode SseError} with code `event_too_large` when an event's data or a single
 * line exceeds `maxEventBytes`; after that every call throws the same error.
 *
 * @example Decode an Anthropic-style stream fed in arbitrary pieces
 * ```ts
 * import { SseDecoder } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const decoder = new SseDecoder();
 * const bytes = new TextEncoder().encode(
 *   'event: ping\ndata: {"type": "ping"}\n\nid: 42\ndata: line one\ndata: line two\n\n',
 * );
 * assert.deepEqual(decoder.push(bytes.subarray(0, 30)), []);
 * assert.deepEqual(decoder.push(bytes.subarray(30)), [
 *   { event: "ping", data: '{"type": "ping"}' },
 *   { data: "line one\nline two", id: "42" },
 * ]);
 * assert.deepEqual(decoder.end(), []);
 * assert.equal(decoder.lastEventId, "42");
 * ```
 */
export class SseDecoder {
  readonly #maxEventBytes: number;
  readonly #flushIncompleteEvent: boolean;
  readonly #onRetry: ((ms: number) => void) | undefined;
  readonly #onComment: ((comment: string) => void) | undefined;

  // Two decoders: the single-pass one is cheaper per call and is used whenever the streaming one
  // holds no partial code point and the chunk ends with an ASCII byte (so it ends no code point
  // early). Both keep a BOM; the parser strips the one at the start of the stream itself.
  readonly #streamingDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #singleDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #decoderHoldsBytes = false;

  #bomChecked = false;
  /** The previous chunk ended with CR: an LF at the start of the next one belongs to it. */
  #skipLF = false;
  /** Fragments of the current unterminated line, joined once when it ends. */
  #pending: string[] = [];
  #pendingUnits = 0;
  // The size of an event's data and of a line is tracked in UTF-16 code units, and in exact UTF-8
  // bytes for a measured prefix: a code unit is at most 3 bytes, so "measured bytes + 3 × the
  // other units" bounds the size, and only when that bound passes maxEventBytes are the
  // unmeasured pieces measured, each once.
  #pendingBytes = 0;
  #pendingMeasuredUnits = 0;
  #pendingMeasured = 0;

  // The block being read.
  /** How many `data` fields the block had; the first value, then the others. */
  #dataLines = 0;
  #data = "";
  #moreData: string[] = [];
  #dataUnits = 0;
  #dataBytes = 0;
  #dataMeasuredUnits = 0;
  #dataMeasured = 0;
  #eventType = "";
  #id: string | undefined = undefined;
  #retry: number | undefined = undefined;

  /** Where {@linkcode utf8Length} encodes; allocated by the first event or line that needs it. */
  #scratch: Uint8Array | undefined = undefined;
  #lastEventId = "";
  #error: SseError | undefined = undefined;

  /**
   * Creates a decoder.
   *
   * @param options limits and callbacks; see {@linkcode SseDecoderOptions}
   */
  constructor(options: SseDecoderOptions = {}) {
    const max = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    if (!(max > 0)) throw new RangeError(`maxEventBytes must be positive, got ${max}`);
    this.#maxEventBytes = max;
    this.#flushIncompleteEvent = options.flushIncompleteEvent ?? false;
    this.#onRetry = options.onRetry;
    this.#onComment = options.onComment;
  }

  /**
   * The last event ID: set by every valid `id` field, whether or not its block dispatched an
   * event, and kept until the next one (`EventSource.lastEventId`). Empty before any.
   */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /**
   * Feeds the next chunk of the stream (UTF-8 bytes or text) and returns the events it completes,
   * in order.
   *
   * @param chunk the next bytes or text of the stream
   * @returns the events completed by this chunk
   */
  push(chunk: Uint8Array | string): SseEvent[] {
    if (this.#error) throw this.#error;
    const out: SseEvent[] = [];
    let text: string;
    let ascii = false;
    if (typeof chunk === "string") {
      text = chunk;
      // Text after bytes that ended inside a code point: that code point is incomplete.
      if (this.#decoderHoldsBytes) {
        this.#decoderHoldsBytes = false;
        text = this.#streamingDecoder.decode() + text;
      }
    } else {
      const length = chunk.length;
      if (length === 0) return out;
      const endsInAscii = chunk[length - 1]! < 0x80;
      if (!this.#decoderHoldsBytes && endsInAscii) {
        text = this.#singleDecoder.decode(chunk);
        // One code unit per byte and no U+FFFD: all ASCII, so sizes need no measuring.
        ascii = text.length === length && text.indexOf("\ufffd") === -1;
      } else {
        text = this.#streamingDecoder.decode(chunk, { stream: true });
        this.#decoderHoldsBytes = !endsInAscii;
      }
    }
    try {
      this.#feed(text, ascii, out);
    } catch (error) {
      const failure = this.#fail(error);
      // Events completed before the failing one are not lost: they are returned now, and the
      // (sticky) error is thrown by the next call.
      if (!(failure instanceof SseError) || out.length === 0) throw failure;
    }
    return out;
  }

  /**
   * Ends the stream: an unterminated last event is discarded (or, with `flushIncompleteEvent`,
   * dispatched) and the decoder is reset for a new stream, keeping {@linkcode lastEventId}.
   *
   * @returns the events completed by the end of the stream
   */
  end(): SseEvent[] {
    if (this.#error) throw this.#error;
    const out: SseEvent[] = [];
    try {
      // Bytes of an incomplete code point at the very end decode to U+FFFD.
      const rest = this.#decoderHoldsBytes ? this.#streamingDecoder.decode() : "";
      if (rest !== "") this.#feed(rest, false, out);
      if (this.#flushIncompleteEvent) {
        if (this.#pending.length > 0) this.#endPending("", true, out);
        this.#dispatch(out);
      }
    } catch (error) {
      throw this.#fail(error);
    }
    this.#decoderHoldsBytes = false;
    this.#bomChecked = false;
    this.#skipLF = false;
    this.#clearPending();
    this.#clearBlock();
    return out;
  }

  /** Makes an {@linkcode SseError} sticky and frees what the decoder held. */
  #fail(error: unknown): unknown {
    if (error instanceof SseError) {
      this.#error = error;
      this.#clearPending();
      this.#clearBlock();
    }
    return error;
  }

  /**
   * Splits decoded text into lines; the last, unterminated piece becomes a pending fragment.
   * `ascii` says the text is known to be ASCII, so its UTF-8 length is its length.
   */
  #feed(text: string, ascii: boolean, out: SseEvent[]): void {
    const length = text.length;
    if (length === 0) return;
    let pos = 0;
    if (!this.#bomChecked) {
      this.#bomChecked = true;
      if (text.charCodeAt(0) === 0xfeff) pos = 1;
    }
    if (this.#skipLF) {
      this.#skipLF = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    // Each search resumes where the previous one stopped, so every character is scanned at most
    // once per terminator kind: linear for any input.
    let lf = text.indexOf("\n", pos);
    let cr = text.indexOf("\r", pos);
    if (cr === -1) {
      // Only LF line ends in this chunk: the common case, kept tight.
      if (lf !== -1 && this.#pending.length > 0) {
        this.#endPending(text.slice(pos, lf), ascii, out);
        pos = lf + 1;
        lf = text.indexOf("\n", pos);
      }
      while (lf !== -1) {
        if (lf === pos) this.#dispatch(out);
        else this.#line(text, pos, lf, out, ascii ? lf - pos : -1);
        pos = lf + 1;
        lf = text.indexOf("\n", pos);
      }
    } else {
      while (lf !== -1 || cr !== -1) {
        const atCR = cr !== -1 && (lf === -1 || cr < lf);
        const end = atCR ? cr : lf;
        if (this.#pending.length === 0) this.#line(text, pos, end, out, ascii ? end - pos : -1);
        else this.#endPending(text.slice(pos, end), ascii, out);
        pos = end + 1;
        if (atCR) {
          if (pos === length) {
            this.#skipLF = true;
          } else if (text.charCodeAt(pos) === LF) {
            pos++;
          }
          cr = text.indexOf("\r", pos);
          if (lf !== -1 && lf < pos) lf = text.indexOf("\n", pos);
        } else {
          lf = text.indexOf("\n", pos);
        }
      }
    }
    if (pos < length) this.#keep(pos === 0 ? text : text.slice(pos), ascii);
  }

  /** Keeps a fragment of an unterminated line, within `maxEventBytes`. */
  #keep(fragment: string, ascii: boolean): void {
    const pending = this.#pending;
    const units = this.#pendingUnits += fragment.length;
    const max = this.#maxEventBytes;
    if (ascii && this.#pendingMeasured === pending.length) {
      // Extends the measured prefix for free.
      pending.push(fragment);
      this.#pendingBytes += fragment.length;
      this.#pendingMeasuredUnits = units;
      this.#pendingMeasured = pending.length;
      if (this.#pendingBytes > max) throw this.#tooLarge("a line");
      return;
    }
    pending.push(fragment);
    if (this.#pendingBytes + 3 * (units - this.#pendingMeasuredUnits) > max) {
      const from = this.#pendingMeasured;
      const unmeasured = from === pending.length - 1 ? fragment : pending.slice(from).join("");
      this.#pendingBytes += this.#utf8Length(unmeasured);
      this.#pendingMeasuredUnits = units;
      this.#pendingMeasured = pending.length;
      if (this.#pendingBytes > max) throw this.#tooLarge("a line");
    }
  }

  /** Ends the pending line with `last` (known ASCII if `ascii`) and interprets it. */
  #endPending(last: string, ascii: boolean, out: SseEvent[]): void {
    const pending = this.#pending;
    const allMeasured = this.#pendingMeasured === pending.length;
    pending.push(last);
    const line = pending.join("");
    // Once measuring has started, only the unmeasured tail of the line needs it.
    const measuredUnits = this.#pendingMeasuredUnits;
    const bytes = measuredUnits === 0
      ? -1
      : allMeasured && ascii
      ? this.#pendingBytes + last.length
      : this.#pendingBytes + this.#utf8Length(line.slice(measuredUnits));
    this.#clearPending();
    this.#line(line, 0, line.length, out, bytes);
  }

  /**
   * Interprets the line `s[start, end)`; `s[end]` is a line terminator or past the end. `bytes`
   * is the line's UTF-8 length when known, else -1.
   */
  #line(s: string, start: number, end: number, out: SseEvent[], bytes = -1): void {
    if (start === end) {
      this.#dispatch(out);
      return;
    }
    const max = this.#maxEventBytes;
    if (bytes === -1 && (end - start) * 3 > max) bytes = this.#utf8Length(s.slice(start, end));
    if (bytes > max) throw this.#tooLarge("a line");
    // The known field names are matched in place. A character read past the name is at most the
    // line terminator (never a letter or colon), so a short line simply fails to match.
    const first = s.charCodeAt(start);
    let valueStart: number;
    if (first === 100) { // data
      if (
        s.charCodeAt(start + 1) !== 97 || s.charCodeAt(start + 2) !== 116 ||
        s.charCodeAt(start + 3) !== 97
      ) return;
      valueStart = start + 4;
    } else if (first === 101) { // event
      if (
        s.charCodeAt(start + 1) !== 118 || s.charCodeAt(start + 2) !== 101 ||
        s.charCodeAt(start + 3) !== 110 || s.charCodeAt(start + 4) !== 116
      ) return;
      valueStart = start + 5;
    } else if (first === 105) { // id
      if (s.charCodeAt(start + 1) !== 100) return;
      valueStart = start + 2;
    } else if (first === 114) { // retry
      if (
        s.charCodeAt(start + 1) !== 101 || s.charCodeAt(start + 2) !== 116 ||
        s.charCodeAt(start + 3) !== 114 || s.charCodeAt(start + 4) !== 121
      ) return;
      valueStart = start + 5;
    } else {
      if (first === COLON) this.#onComment?.(s.slice(start + 1, end));
      return; // a comment or an unknown field
    }
    let value: string;
    if (valueStart === end) {
      value = "";
    } else if (s.charCodeAt(valueStart) === COLON) {
      valueStart++;
      if (s.charCodeAt(valueStart) === SPACE && valueStart < end) valueStart++;
      value = s.slice(valueStart, end);
    } else {
      return; // a longer field name that starts like a known one
    }
    if (first === 100) {
      // The field name, colon and space are ASCII: one byte per code unit.
      this.#appendData(value, bytes === -1 ? -1 : bytes - (valueStart - start));
    } else if (first === 101) {
      this.#eventType = value;
    } else if (first === 105) {
      if (value.indexOf("\0") === -1) {
        this.#id = value;
        this.#lastEventId = value;
      }
    } else {
      if (value.length === 0) return;
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c < 48 || c > 57) return;
      }
      const ms = Number(value);
      this.#retry = ms;
      this.#onRetry?.(ms);
    }
  }

  /** Adds a `data` value (of `bytes` UTF-8 bytes, or -1 when unknown) to the data buffer. */
  #appendData(value: string, bytes: number): void {
    const lines = this.#dataLines++;
    let units: number;
    if (lines === 0) {
      this.#data = value;
      units = this.#dataUnits = value.length;
    } else {
      this.#moreData.push(value);
      units = this.#dataUnits += value.length + 1;
    }
    const max = this.#maxEventBytes;
    if (this.#dataBytes + 3 * (units - this.#dataMeasuredUnits) > max) {
      // Every line after the first adds its LF.
      for (let i = this.#dataMeasured; i <= lines; i++) {
        this.#dataBytes += i === lines && bytes !== -1
          ? bytes + (i > 0 ? 1 : 0)
          : i === 0
          ? this.#utf8Length(this.#data)
          : this.#utf8Length(this.#moreData[i - 1]!) + 1;
      }
      this.#dataMeasured = lines + 1;
      this.#dataMeasuredUnits = units;
      if (this.#dataBytes > max) throw this.#tooLarge("an event's data");
    }
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#dataLines > 0) {
      const data = this.#dataLines === 1
        ? this.#data
        : `${this.#data}\n${this.#moreData.join("\n")}`;
      const event: SseEvent = { data };
      if (this.#eventType !== "") event.event = this.#eventType;
      if (this.#id !== undefined) event.id = this.#id;
      if (this.#retry !== undefined) event.retry = this.#retry;
      out.push(event);
    }
    this.#clearBlock();
  }

  #clearBlock(): void {
    if (this.#dataLines > 0) {
      if (this.#dataLines > 1) this.#moreData = [];
      this.#dataLines = 0;
      this.#data = "";
      this.#dataUnits = 0;
      this.#dataBytes = 0;
      this.#dataMeasuredUnits = 0;
      this.#dataMeasured = 0;
    }
    this.#eventType = "";
    this.#id = undefined;
    this.#retry = undefined;
  }

  #clearPending(): void {
    if (this.#pending.length > 0) {
      this.#pending = [];
      this.#pendingUnits = 0;
      this.#pendingBytes = 0;
      this.#pendingMeasuredUnits = 0;
      this.#pendingMeasured = 0;
    }
  }

  #utf8Length(s: string): number {
    return utf8Length(s, this.#scratch ??= new Uint8Array(16 * 1024));
  }

  #tooLarge(what: string): SseError {
    return new SseError(
      "event_too_large",
      `${what} exceeds maxEventBytes (${this.#maxEventBytes} bytes)`,
    );
  }
}

/**
 * Decodes a `text/event-stream` body into {@linkcode SseEvent}s: a web-streams wrapper over
 * {@linkcode SseDecoder}, with the same options and semantics. Chunks may be bytes (decoded as
 * UTF-8) or text. Errors the stream with an {@linkcode SseError} (code `event_too_large`) when an
 * event or a line exceeds `maxEventBytes`.
 *
 * @example Read the events of an OpenAI chat completion stream
 * ```ts
 * import { SseDecoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = ReadableStream.from([
 *   'data: {"choices":[{"delta":{"content":"Hel"}}]}\n',
 *   '\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n',
 * ]).pipeThrough(new TextEncoderStream());
 * const decoder = new SseDecoderStream();
 * let text = "";
 * for await (const event of body.pipeThrough(decoder)) {
 *   if (event.data === "[DONE]") break;
 *   text += JSON.parse(event.data).choices[0].delta.content;
 * }
 * assert.equal(text, "Hello");
 * assert.equal(decoder.lastEventId, "");
 * ```
 */
export class SseDecoderStream extends TransformStream<Uint8Array | string, SseEvent> {
  readonly #decoder: SseDecoder;

  /**
   * Creates a decoder stream.
   *
   * @param options limits and callbacks; see {@linkcode SseDecoderOptions}
   */
  constructor(options: SseDecoderOptions = {}) {
    const decoder = new SseDecoder(options);
    super({
      transform(chunk, controller) {
        const events = decoder.push(chunk);
        for (let i = 0; i < events.length; i++) controller.enqueue(events[i]!);
      },
      async flush(controller) {
        let events: SseEvent[];
        try {
          events = decoder.end();
        } catch (error) {
          // Events handed out by the last push() are still queued: let the reader have them.
          await drained(controller);
          throw error;
        }
        for (let i = 0; i < events.length; i++) controller.enqueue(events[i]!);
      },
    }, WRITABLE_STRATEGY);
    this.#decoder = decoder;
  }

  /** The last event ID seen so far; see {@linkcode SseDecoder.lastEventId}. */
  get lastEventId(): string {
    return this.#decoder.lastEventId;
  }
}

/**
 * Lets a pipe queue up to 16 input chunks ahead of the decoder: with small network chunks, the
 * default of one costs a promise round trip per chunk.
 */
const WRITABLE_STRATEGY: QueuingStrategy<Uint8Array | string> = { highWaterMark: 16 };

function invalid(message: string): SseError {
  return new SseError("invalid_event", message);
}

function hasLineBreak(s: string): boolean {
  return s.indexOf("\n") !== -1 || s.indexOf("\r") !== -1;
}

/**
 * Encodes one event as `text/event-stream` text, ending with the blank line that dispatches it:
 * `event:`, `id:` and `retry:` lines when set, then one `data:` line per line of `data` (split on
 * CRLF, CR or LF, so those come back as LF). An empty `event` is omitted (it means `"message"`).
 * Decoding the result gives back the same event whenever `data` holds no CR.
 *
 * Throws an {@linkcode SseError} with code `invalid_event` when `event` or `id` contains a line
 * break, `id` contains NUL, `retry` is not a non-negative safe integer, or `data` is not a string.
 *
 * @param event the event to encode
 * @returns the event's wire text
 *
 * @example
 * ```ts
 * import { encodeSseEvent, SseError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeSseEvent({ data: "[DONE]" }), "data: [DONE]\n\n");
 * assert.equal(
 *   encodeSseEvent({ event: "update", data: "a\nb", id: "1", retry: 3000 }),
 *   "event: update\nid: 1\nretry: 3000\ndata: a\ndata: b\n\n",
 * );
 * assert.throws(
 *   () => encodeSseEvent({ event: "bad\nname", data: "" }),
 *   (error) => error instanceof SseError && error.code === "invalid_event",
 * );
 * ```
 */
export function encodeSseEvent(event: SseEvent): string {
  const { event: type, data, id, retry } = event;
  let text = "";
  if (type !== undefined) {
    if (typeof type !== "string" || hasLineBreak(type)) {
      throw invalid("event type must be a string without line breaks");
    }
    if (type !== "") text += `event: ${type}\n`;
  }
  if (id !== undefined) {
    if (typeof id !== "string" || hasLineBreak(id) || id.indexOf("\0") !== -1) {
      throw invalid("id must be a string without line breaks or NUL");
    }
    text += id === "" ? "id\n" : `id: ${id}\n`;
  }
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw invalid(`retry must be a non-negative integer, got ${retry}`);
    }
    text += `retry: ${retry}\n`;
  }
  if (typeof data !== "string") throw invalid("data must be a string");
  if (!hasLineBreak(data)) return `${text}data: ${data}\n\n`;
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/**
 * Encodes {@linkcode SseEvent}s as a UTF-8 `text/event-stream` body, one chunk per event, with
 * {@linkcode encodeSseEvent}. Errors the stream with an {@linkcode SseError} (code
 * `invalid_event`) on an event it cannot write.
 *
 * @example Serve events as a streaming response body
 * ```ts
 * import { SseEncoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = ReadableStream.from([
 *   { event: "message_start", data: '{"type":"message_start"}' },
 *   { data: "[DONE]" },
 * ]).pipeThrough(new SseEncoderStream());
 * const response = new Response(body, { headers: { "content-type": "text/event-stream" } });
 * assert.equal(
 *   await response.text(),
 *   'event: message_start\ndata: {"type":"message_start"}\n\ndata: [DONE]\n\n',
 * );
 * ```
 */
export class SseEncoderStream extends TransformStream<SseEvent, Uint8Array> {
  /** Creates an encoder stream. */
  constructor() {
    const encoder = new TextEncoder();
    super({
      transform(event, controller) {
        controller.enqueue(encoder.encode(encodeSseEvent(event)));
      },
    });
  }
}
