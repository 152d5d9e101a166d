/**
 * Typed errors of the framing layer. Decoders never let a bare `Error` or a `RangeError` from a
 * `DataView` escape: every failure is one of these, with a machine-readable `code`.
 * @module
 */

/** Why an AWS EventStream message was rejected. */
export type EventStreamErrorCode =
  | "prelude_crc_mismatch"
  | "message_crc_mismatch"
  | "message_too_large"
  | "invalid_total_length"
  | "invalid_headers_length"
  | "invalid_header"
  | "duplicate_header"
  | "truncated";

/**
 * An AWS EventStream framing error: the `code` says what was wrong, `offset` where the offending
 * message starts, counted in bytes from the start of the stream (or of the buffer given to
 * {@linkcode decodeEventStreamMessage}).
 *
 * @example Tell a corrupt frame from other failures
 * ```ts
 * import { EventStreamError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const error = new EventStreamError("prelude_crc_mismatch", "prelude CRC mismatch", 0);
 * assert.ok(error instanceof EventStreamError);
 * assert.equal(error.code, "prelude_crc_mismatch");
 * assert.equal(error.offset, 0);
 * ```
 */
export class EventStreamError extends Error {
  /** What was wrong, for programs. */
  readonly code: EventStreamErrorCode;
  /** Byte offset of the start of the offending message. */
  readonly offset: number;

  /**
   * Creates an EventStream error.
   *
   * @param code what was wrong
   * @param message what was wrong, for people
   * @param offset byte offset of the start of the offending message
   */
  constructor(code: EventStreamErrorCode, message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "EventStreamError";
    this.code = code;
    this.offset = offset;
  }
}

/** Why a Server-Sent Events stream or event was rejected. */
export type SseErrorCode = "event_too_large" | "invalid_event";

/**
 * A Server-Sent Events error: `event_too_large` when a decoded event (or a single unterminated
 * line) exceeds `maxEventBytes`; `invalid_event` when the encoder is given an event it cannot
 * write (a line break in `event` or `id`, a NUL in `id`, a bad `retry`).
 *
 * @example
 * ```ts
 * import { SseError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const error = new SseError("event_too_large", "event exceeds 1048576 bytes");
 * assert.equal(error.code, "event_too_large");
 * assert.equal(error.name, "SseError");
 * ```
 */
export class SseError extends Error {
  /** What was wrong, for programs. */
  readonly code: SseErrorCode;

  /**
   * Creates an SSE error.
   *
   * @param code what was wrong
   * @param message what was wrong, for people
   */
  constructor(code: SseErrorCode, message: string) {
    super(message);
    this.name = "SseError";
    this.code = code;
  }
}
