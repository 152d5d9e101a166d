/**
 * One upstream call: its cancellation (client disconnect, timeouts, limits, shutdown), and the
 * two ways its body reaches the client — read whole, or relayed as a stream.
 * @module
 */

import type { LlmErrorEvent, LlmErrorKind } from "../protocols/events.ts";
import type { InstanceLimits } from "./config.ts";

/** Why a call was cut short, and the error the client gets for it. */
export interface Cut {
  /** For the log's `abort_reason`: `client_disconnect`, `connect_timeout`, … */
  reason: string;
  error: LlmErrorEvent;
}

/** An error the gateway itself reports. */
export function gatewayError(kind: LlmErrorKind, status: number, message: string): LlmErrorEvent {
  return { type: "error", kind, status, message };
}

/** The message of a thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Joins chunks (no copy for one chunk). */
export function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * An upstream call in flight. The first cut wins: it aborts the upstream request and runs
 * `onCut` (which cancels whatever is being read, or ends the client's stream). `finish()` ends
 * the call's bookkeeping; `settled` resolves then.
 */
export class UpstreamCall {
  readonly limits: InstanceLimits;
  readonly settled: Promise<void>;
  /** What a cut does besides aborting the request; set by whoever reads the body. */
  onCut: (() => void) | undefined;
  readonly #controller = new AbortController();
  readonly #clientSignal: AbortSignal;
  readonly #calls: Set<UpstreamCall>;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #cut: Cut | undefined;
  #settle!: () => void;
  #finished = false;

  /**
   * Starts the bookkeeping of a call: registered in `calls` until finished, cut when the client
   * goes away or when `maxStreamDurationMs` has passed.
   */
  constructor(clientSignal: AbortSignal, limits: InstanceLimits, calls: Set<UpstreamCall>) {
    this.limits = limits;
    this.settled = new Promise((resolve) => this.#settle = resolve);
    this.#clientSignal = clientSignal;
    this.#calls = calls;
    calls.add(this);
    if (clientSignal.aborted) this.#onClientAbort();
    else clientSignal.addEventListener("abort", this.#onClientAbort, { once: true });
    this.timer(
      limits.maxStreamDurationMs,
      "max_stream_duration",
      gatewayError(
        "timeout",
        504,
        `the response took longer than maxStreamDurationMs (${limits.maxStreamDurationMs} ms)`,
      ),
    );
  }

  /** The signal of the upstream request. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The cut, once there was one. */
  get cut(): Cut | undefined {
    return this.#cut;
  }

  /** Cuts the call (the first cut wins). */
  cutWith(reason: string, error: LlmErrorEvent): void {
    if (this.#cut !== undefined) return;
    this.#cut = { reason, error };
    this.#controller.abort(new DOMException(reason, "AbortError"));
    this.onCut?.();
  }

  /** Cuts the call after `ms` unless the returned function is called first. */
  timer(ms: number, reason: string, error: LlmErrorEvent): () => void {
    const id = setTimeout(() => {
      this.#timers.delete(id);
      this.cutWith(reason, error);
    }, ms);
    this.#timers.add(id);
    return () => {
      clearTimeout(id);
      this.#timers.delete(id);
    };
  }

  /** The error for a body that sent nothing in time. */
  firstByteError(): LlmErrorEvent {
    return gatewayError(
      "timeout",
      504,
      `the upstream sent no data within firstByteTimeoutMs (${this.limits.firstByteTimeoutMs} ms)`,
    );
  }

  /** Cuts the call for a body over `maxResponseBytes`. */
  tooLarge(): void {
    this.cutWith(
      "max_response_bytes",
      gatewayError(
        "protocol_error",
        502,
        `the upstream response is larger than maxResponseBytes (${this.limits.maxResponseBytes} bytes)`,
      ),
    );
  }

  /**
   * Reads a whole body within the limits (first byte, total bytes, duration); `undefined` when
   * the call was cut meanwhile (see {@linkcode UpstreamCall.cut}).
   */
  async readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array | undefined> {
    if (body === null) return new Uint8Array(0);
    const reader = body.getReader();
    this.onCut = () => void reader.cancel().catch(() => {});
    const clearFirstByte = this.timer(
      this.limits.firstByteTimeoutMs,
      "first_byte_timeout",
      this.firstByteError(),
    );
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        clearFirstByte();
        if (this.#cut !== undefined) return undefined;
        if (done) return concat(chunks, total);
        total += value.length;
        if (total > this.limits.maxResponseBytes) {
          this.tooLarge();
          return undefined;
        }
        chunks.push(value);
      }
    } catch (error) {
      clearFirstByte();
      this.cutWith(
        "upstream_error",
        gatewayError(
          "server_error",
          502,
          `reading the upstream response failed: ${errorMessage(error)}`,
        ),
      );
      return undefined;
    }
  }

  /** Ends the bookkeeping: timers cleared, listeners removed, `settled` resolved. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const id of this.#timers) clearTimeout(id);
    this.#timers.clear();
    this.#clientSignal.removeEventListener("abort", this.#onClientAbort);
    this.#calls.delete(this);
    this.#settle();
  }

  readonly #onClientAbort = (): void =>
    this.cutWith("client_disconnect", gatewayError("other", 499, "the client went away"));
}

/** How a stream's upstream bytes become the client's. */
export interface RelaySource {
  /** The upstream bytes; `undefined` when everything is produced by `onEnd`. */
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** The client's bytes for an upstream chunk (possibly none yet). */
  onChunk(chunk: Uint8Array): Uint8Array[];
  /** The client's last bytes when the upstream ended. */
  onEnd(): Uint8Array[];
  /** The client's last bytes when the call was cut: its protocol's terminal error. */
  terminal(error: LlmErrorEvent): Uint8Array[];
  /**
   * Asked once the first bytes for the client are ready, before the status is sent: an error
   * here is answered as an HTTP error instead of a stream.
   */
  check(): { error: LlmErrorEvent; reason?: string } | undefined;
  /** Whether model output (text, reasoning, a tool call) has been seen. */
  hasOutput?(): boolean;
  /** The error the stream reported (or died of) before any model output, if it did. */
  failedEarly?(): LlmErrorEvent | undefined;
}

/** What {@linkcode relay} gives: the client's stream, or the error to answer with instead. */
export type RelayResult =
  | { body: ReadableStream<Uint8Array> }
  | {
    error: LlmErrorEvent;
    reason?: string;
    /** The stream reported (or died of) this error before any model output (`mayFallBack`). */
    early?: boolean;
  };

/**
 * Relays a stream. Until the client's first bytes are ready, a cut or a failed `check` is an
 * HTTP error (504 for a first-byte timeout, 502 for a bad stream…); after that, a cut ends the
 * stream with the protocol's terminal error, and a client that goes away cancels the upstream.
 * `onFinish` is called once, when the stream has ended one way or another.
 *
 * With `mayFallBack`, nothing is sent before the stream's first model output (or its end), so a
 * stream that fails before it can be retried elsewhere: its error comes back as `early`.
 */
export async function relay(
  call: UpstreamCall,
  source: RelaySource,
  onFinish: () => void,
  mayFallBack = false,
): Promise<RelayResult> {
  const { reader } = source;
  const limits = call.limits;
  let received = 0;
  let ended = false;
  call.onCut = () => void reader?.cancel(call.cut?.reason).catch(() => {});
  const clearFirstByte = call.timer(
    limits.firstByteTimeoutMs,
    "first_byte_timeout",
    call.firstByteError(),
  );

  /** The next bytes for the client; sets `ended` once the stream is over. */
  const step = async (): Promise<Uint8Array[]> => {
    if (ended) return [];
    let result: { done: boolean; value?: Uint8Array | undefined } = { done: true };
    try {
      if (reader !== undefined) result = await reader.read();
    } catch (error) {
      call.cutWith(
        "upstream_error",
        gatewayError("server_error", 502, `the upstream stream failed: ${errorMessage(error)}`),
      );
    }
    clearFirstByte();
    const cut = call.cut;
    if (cut !== undefined) {
      ended = true;
      return source.terminal(cut.error);
    }
    if (result.done || result.value === undefined) {
      ended = true;
      return source.onEnd();
    }
    received += result.value.length;
    if (received > limits.maxResponseBytes) {
      call.tooLarge();
      ended = true;
      return source.terminal(call.cut!.error);
    }
    return source.onChunk(result.value);
  };

  // Until the first bytes, nothing is sent: failures are still HTTP errors.
  const pending: Uint8Array[] = [];
  const waiting = () =>
    pending.length === 0 || (mayFallBack && source.hasOutput !== undefined && !source.hasOutput());
  while (waiting() && !ended) {
    const out = await step();
    const cut = call.cut;
    if (cut !== undefined) return { error: cut.error, reason: cut.reason };
    pending.push(...out);
    const early = mayFallBack ? source.failedEarly?.() : undefined;
    if (early !== undefined) {
      clearFirstByte();
      void reader?.cancel().catch(() => {});
      return { error: early, reason: "upstream_error", early: true };
    }
  }
  const failed = source.check();
  if (failed !== undefined) {
    clearFirstByte();
    void reader?.cancel().catch(() => {});
    return failed;
  }

  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    onFinish();
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let pulling = false;
  call.onCut = () => {
    void reader?.cancel(call.cut?.reason).catch(() => {});
    // Nobody waits on the upstream: end the stream now, with its terminal error (unless the
    // client is gone).
    if (!pulling && !ended) {
      ended = true;
      try {
        if (call.cut?.reason !== "client_disconnect") {
          for (const chunk of source.terminal(call.cut!.error)) controller.enqueue(chunk);
        }
        controller.close();
      } catch {
        // Already closed by the client.
      }
      finish();
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      for (const chunk of pending) c.enqueue(chunk);
      if (ended) {
        c.close();
        finish();
      }
    },
    async pull(c) {
      if (ended) return;
      pulling = true;
      try {
        for (;;) {
          const out = await step();
          for (const chunk of out) c.enqueue(chunk);
          if (ended) {
            c.close();
            finish();
            return;
          }
          if (out.length > 0) return;
        }
      } catch {
        // The client cancelled while the upstream was read: nothing more to send.
        finish();
      } finally {
        pulling = false;
      }
    },
    cancel(reason) {
      call.cutWith(
        "client_disconnect",
        gatewayError("other", 499, `the client went away (${errorMessage(reason ?? "cancelled")})`),
      );
      ended = true;
      finish();
    },
  });
  return { body };
}
