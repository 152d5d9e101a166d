/**
 * The one JSON log line the gateway writes per request.
 * @module
 */

import type { Usage } from "../protocols/events.ts";

/** The fields of a request's log line (snake_case, as written). */
export interface RequestLogLine {
  /** When the request finished, ISO 8601. */
  time: string;
  /** The route name: `openai.chat`, `anthropic.messages`, `bedrock.converse`, `apisix`, … */
  route: string;
  /** The HTTP method. */
  method: string;
  /** The instance type that served the request (`bedrock`, `openai`, `mock`, …). */
  provider: string | null;
  /** The model alias the client named. */
  model: string | null;
  /** The model id sent upstream. */
  upstream_model: string | null;
  /** Instances tried: more than 1 when the first ones failed before answering (failover). */
  attempts: number;
  /**
   * Every instance tried, in order: its name, the upstream's status (`null` when there was no
   * answer: connect error, timeout), why it failed (`null` for the one that answered) and the
   * milliseconds the attempt took.
   */
  tries: AttemptRecord[];
  /** The name of the client's gateway API key (never the key itself), when keys are configured. */
  key: string | null;
  /** The HTTP status sent to the client (499: the client went away before the response). */
  status: number;
  /** Whether the response was a stream. */
  stream: boolean;
  /** Milliseconds from the request to the first output token. */
  ttft_ms: number | null;
  /** Milliseconds from the request to the end of the response. */
  duration_ms: number;
  /** Input tokens (cache reads and writes included). */
  input_tokens: number | null;
  /** Output tokens (reasoning included). */
  output_tokens: number | null;
  /** Input tokens read from the prompt cache. */
  cache_read_tokens: number | null;
  /** Input tokens written to the prompt cache. */
  cache_write_tokens: number | null;
  /** Output tokens spent on reasoning. */
  reasoning_tokens: number | null;
  /** Why the response was cut or the request abandoned, when it was. */
  abort_reason: string | null;
  /** The error reported to the client, when there was one (never payload text or secrets). */
  error: string | null;
  /** The client's request body (only with `logging.payloads`). */
  request_body?: string;
  /** The text the model produced (only with `logging.payloads`). */
  response_text?: string;
}

/** One instance tried for a request (`tries` in the log line). */
export interface AttemptRecord {
  /** The instance's name. */
  instance: string;
  /** The upstream's HTTP status, or `null` when it gave none. */
  status: number | null;
  /** Why the attempt failed (`connect_error`, `connect_timeout`, `status`, …), or `null`. */
  reason: string | null;
  /** Milliseconds the attempt took. */
  ms: number;
}

/** A log line being filled in while a request runs. */
export class RequestLog {
  readonly started: number = performance.now();
  readonly line: RequestLogLine;
  #written = false;

  constructor(route: string, method: string) {
    this.line = {
      time: "",
      route,
      method,
      provider: null,
      model: null,
      upstream_model: null,
      attempts: 0,
      tries: [],
      key: null,
      status: 0,
      stream: false,
      ttft_ms: null,
      duration_ms: 0,
      input_tokens: null,
      output_tokens: null,
      cache_read_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
      abort_reason: null,
      error: null,
    };
  }

  /** Whether the line was written. */
  get written(): boolean {
    return this.#written;
  }

  /** Milliseconds since the request started. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  /** Records usage. */
  usage(usage: Usage | undefined): void {
    if (usage === undefined) return;
    this.line.input_tokens = usage.inputTokens;
    this.line.output_tokens = usage.outputTokens;
    this.line.cache_read_tokens = usage.cacheReadTokens;
    this.line.cache_write_tokens = usage.cacheWriteTokens;
    this.line.reasoning_tokens = usage.reasoningTokens;
  }

  /** Finishes the line once: returns it, or `undefined` when it was already written. */
  finish(status: number): RequestLogLine | undefined {
    if (this.#written) return undefined;
    this.#written = true;
    this.line.status = status;
    this.line.time = new Date().toISOString();
    this.line.duration_ms = Math.round(this.elapsed() * 10) / 10;
    if (this.line.ttft_ms !== null) this.line.ttft_ms = Math.round(this.line.ttft_ms * 10) / 10;
    return this.line;
  }
}
