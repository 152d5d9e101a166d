/**
 * What the gateway keeps of a stream it relays: what its events said (for the log) and where
 * its bytes may be cut cleanly.
 * @module
 */

import type { LlmErrorEvent, LlmEvent, Usage } from "../protocols/events.ts";

/** What a stream of events said, for the log. */
export class EventTracker {
  usage: Usage | undefined;
  ttftMs: number | undefined;
  readonly text: string[] = [];
  /** Events other than errors seen so far. */
  content = 0;
  firstError: LlmErrorEvent | undefined;

  constructor(readonly started: number) {}

  observe(events: LlmEvent[]): void {
    for (const event of events) {
      if (event.type === "error") {
        if (this.content === 0 && this.firstError === undefined) this.firstError = event;
        continue;
      }
      this.content++;
      if (event.type === "usage") this.usage = event.usage;
      if (
        this.ttftMs === undefined &&
        (event.type === "text_delta" || event.type === "reasoning_delta" ||
          event.type === "tool_call_start" || event.type === "tool_call_delta")
      ) {
        this.ttftMs = performance.now() - this.started;
      }
      if (event.type === "text_delta") this.text.push(event.text);
    }
  }
}

/**
 * Where an SSE or EventStream byte stream may be cut cleanly: after a complete event or frame.
 * `push` returns the offset in the chunk after the last boundary (-1 when there is none).
 */
export class FrameBoundary {
  readonly #eventstream: boolean;
  /** EventStream: bytes left in the current frame, or -1 while reading its length. */
  #remaining = -1;
  #prelude: number[] = [];
  /** SSE: at the start of a line; the last byte was CR. */
  #lineStart = true;
  #afterCR = false;
  /** The framing could not be followed (a bogus frame length): cut anywhere. */
  #lost = false;

  constructor(framing: "eventstream" | "sse") {
    this.#eventstream = framing === "eventstream";
  }

  push(chunk: Uint8Array): number {
    if (this.#lost) return chunk.length;
    let boundary = -1;
    if (this.#eventstream) {
      let i = 0;
      while (i < chunk.length) {
        if (this.#remaining < 0) {
          this.#prelude.push(chunk[i++]!);
          if (this.#prelude.length === 4) {
            const [a, b, c, d] = this.#prelude as [number, number, number, number];
            const total = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
            this.#prelude = [];
            if (total < 16) {
              this.#lost = true;
              return chunk.length;
            }
            this.#remaining = total - 4;
          }
          continue;
        }
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#remaining = -1;
          boundary = i;
        }
      }
      return boundary;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 10 && this.#afterCR) {
        // The LF of a CRLF: the line ended at the CR.
        this.#afterCR = false;
        if (this.#lineStart && boundary === i) boundary = i + 1;
        continue;
      }
      this.#afterCR = byte === 13;
      if (byte === 10 || byte === 13) {
        if (this.#lineStart) boundary = i + 1;
        this.#lineStart = true;
      } else {
        this.#lineStart = false;
      }
    }
    return boundary;
  }
}
