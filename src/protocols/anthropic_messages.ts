/**
 * Anthropic Messages streaming (`POST /v1/messages` with `stream: true`): Server-Sent Events ⇄
 * {@linkcode LlmEvent}s.
 *
 * {@linkcode AnthropicMessagesDecoderStream} reads the events of a Messages stream
 * (`message_start`, `content_block_start` / `_delta` / `_stop`, `message_delta`, `message_stop`,
 * `ping`, `error`) and {@linkcode AnthropicMessagesEncoderStream} writes them, so a stream from
 * any provider can be served to an Anthropic client. Both wrap a synchronous core
 * ({@linkcode AnthropicMessagesDecoder}, {@linkcode AnthropicMessagesEncoder}). The error-type
 * conversions, which also serve non-streaming error bodies, are {@linkcode parseAnthropicMessagesError}
 * and {@linkcode toAnthropicMessagesError}. The one stop-reason table,
 * {@linkcode ANTHROPIC_MESSAGES_STOP_REASONS}, and the stop-reason and usage conversions are here
 * too, and the body converters (`anthropic_messages_bodies.ts`) use them:
 * {@linkcode parseAnthropicMessagesStopReason}, {@linkcode toAnthropicMessagesStopReason},
 * {@linkcode parseAnthropicMessagesUsage}, {@linkcode toAnthropicMessagesUsage}.
 *
 * @module
 */
import type { SseEvent } from "../framing/sse.ts";
import {
  type Citation,
  createUsage,
  errorKindFromStatus,
  type LlmErrorEvent,
  type LlmErrorKind,
  type LlmEvent,
  type StopReason,
  type Usage,
} from "./events.ts";
import {
  at,
  defined,
  optionalCount,
  optionalObject,
  type Strictness,
  uncachedInput,
} from "./_body_fields.ts";
import {
  excerpt,
  generatedId,
  generatedMessageId,
  isObject,
  type JsonObject,
  lookup,
  protocolError,
} from "./_json.ts";
import { pushTransformer } from "./_push_transformer.ts";

// ---------------------------------------------------------------------------------------------
// The one place for Anthropic's stop reasons, error types and usage fields.

/** Anthropic stop reasons. */
export type AnthropicStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded";

/**
 * Anthropic stop reason → normalized stop reason; the one stop-reason table of Anthropic
 * Messages, read by {@linkcode parseAnthropicMessagesStopReason} and written back by
 * {@linkcode toAnthropicMessagesStopReason} (streams and bodies alike). `pause_turn` (a long
 * server-tool turn paused, to be continued) has no equivalent and reads as `other`; `refusal` as
 * `content_filter`. Writing: `content_filter` and `guardrail` → `refusal`, `error` and `other` →
 * `end_turn` (unless the raw reason is an Anthropic one of the same meaning, such as
 * `pause_turn`).
 *
 * @example
 * ```ts
 * import { ANTHROPIC_MESSAGES_STOP_REASONS } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ANTHROPIC_MESSAGES_STOP_REASONS.refusal, "content_filter");
 * assert.equal(ANTHROPIC_MESSAGES_STOP_REASONS.pause_turn, "other");
 * ```
 */
export const ANTHROPIC_MESSAGES_STOP_REASONS: Readonly<Record<AnthropicStopReason, StopReason>> = {
  end_turn: "end_turn",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  tool_use: "tool_use",
  pause_turn: "other",
  refusal: "content_filter",
  model_context_window_exceeded: "context_window_exceeded",
};

/** Normalized stop reason → the Anthropic stop reason written for it (see the table above). */
const TO_ANTHROPIC_STOP_REASON: Readonly<Record<StopReason, AnthropicStopReason>> = {
  end_turn: "end_turn",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  tool_use: "tool_use",
  content_filter: "refusal",
  guardrail: "refusal",
  context_window_exceeded: "model_context_window_exceeded",
  error: "end_turn",
  other: "end_turn",
};

/**
 * The normalized stop reason of an Anthropic `stop_reason` (see
 * {@linkcode ANTHROPIC_MESSAGES_STOP_REASONS}; `other` for null or unknown values).
 *
 * @param raw the provider's stop reason
 * @returns the normalized stop reason
 *
 * @example
 * ```ts
 * import { parseAnthropicMessagesStopReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseAnthropicMessagesStopReason("refusal"), "content_filter");
 * assert.equal(parseAnthropicMessagesStopReason("stop_sequence"), "stop_sequence");
 * assert.equal(parseAnthropicMessagesStopReason(null), "other");
 * ```
 */
export function parseAnthropicMessagesStopReason(raw: string | null | undefined): StopReason {
  return lookup(ANTHROPIC_MESSAGES_STOP_REASONS, raw) ?? "other";
}

/**
 * The Anthropic `stop_reason` for a normalized stop reason; `raw` is kept when it is an Anthropic
 * stop reason with the same meaning (say `pause_turn` for `other`).
 *
 * @param reason the normalized stop reason
 * @param raw the source's raw stop reason, if any
 * @returns the stop reason to write
 *
 * @example
 * ```ts
 * import { toAnthropicMessagesStopReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toAnthropicMessagesStopReason("content_filter"), "refusal");
 * assert.equal(toAnthropicMessagesStopReason("other", "pause_turn"), "pause_turn");
 * assert.equal(toAnthropicMessagesStopReason("other", "weird"), "end_turn");
 * ```
 */
export function toAnthropicMessagesStopReason(
  reason: StopReason,
  raw?: string | null,
): AnthropicStopReason {
  if (lookup(ANTHROPIC_MESSAGES_STOP_REASONS, raw) === reason) return raw as AnthropicStopReason;
  return TO_ANTHROPIC_STOP_REASON[reason];
}

/**
 * Anthropic error `type` → HTTP status (the status Anthropic answers with when the error is not
 * streamed). The error kind is {@linkcode errorKindFromStatus} of the status. Encoding picks the
 * event's own `providerType` when it is listed here, else the first type with the same status,
 * else the first with the same kind, else `api_error`.
 */
const ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Citation types Anthropic streams in `citations_delta`; other citations are rebuilt. */
const CITATION_TYPES: ReadonlySet<string> = new Set([
  "char_location",
  "page_location",
  "content_block_location",
  "web_search_result_location",
  "search_result_location",
]);

/**
 * Anthropic's `usage` object: `input_tokens` excludes cache reads and writes. (A response's usage
 * may hold more, such as `server_tool_use` or `service_tier`; this is what is read and written.)
 */
export interface AnthropicUsage {
  /** Input tokens that were neither read from nor written to the prompt cache. */
  input_tokens: number;
  /** Input tokens written to the prompt cache. */
  cache_creation_input_tokens: number;
  /** Input tokens read from the prompt cache. */
  cache_read_input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** Present when some output tokens were spent on thinking. */
  output_tokens_details?: { thinking_tokens: number };
}

/**
 * Anthropic usage counts as reported, each absent when not reported: a stream's `message_start`
 * and `message_delta` each carry some of them, cumulative, so a later count replaces an earlier
 * one.
 */
interface AnthropicUsageCounts {
  input?: number;
  cacheRead?: number;
  cacheWrite?: number;
  output?: number;
  thinking?: number;
}

/**
 * The counts of an Anthropic `usage` value (see {@linkcode parseAnthropicMessagesUsage}), or
 * `undefined` when there is none (lenient: when it is not an object).
 */
function readAnthropicUsageCounts(
  raw: unknown,
  field: string,
  strictness: Strictness,
): AnthropicUsageCounts | undefined {
  const usage = optionalObject(raw, field, strictness);
  if (usage === undefined) return undefined;
  const count = (value: unknown, path: string) => optionalCount(value, path, strictness);
  const detailsPath = at(field, "output_tokens_details");
  const details = optionalObject(usage.output_tokens_details, detailsPath, strictness);
  return defined({
    input: count(usage.input_tokens, at(field, "input_tokens")),
    cacheRead: count(usage.cache_read_input_tokens, at(field, "cache_read_input_tokens")),
    cacheWrite: count(usage.cache_creation_input_tokens, at(field, "cache_creation_input_tokens")),
    output: count(usage.output_tokens, at(field, "output_tokens")),
    thinking: count(details?.thinking_tokens, at(detailsPath, "thinking_tokens")),
  });
}

/** The normalized usage of Anthropic's counts: cache reads and writes added to the input. */
function usageFromCounts(counts: AnthropicUsageCounts): Usage {
  const cacheReadTokens = counts.cacheRead ?? 0;
  const cacheWriteTokens = counts.cacheWrite ?? 0;
  return createUsage({
    inputTokens: (counts.input ?? 0) + cacheReadTokens + cacheWriteTokens,
    outputTokens: counts.output ?? 0,
    cacheReadTokens,
    cacheWriteTokens,
    reasoningTokens: counts.thinking ?? 0,
  });
}

/**
 * Normalizes an Anthropic `usage` object: `inputTokens` = `input_tokens` +
 * `cache_read_input_tokens` + `cache_creation_input_tokens`, `reasoningTokens` from
 * `output_tokens_details.thinking_tokens`. Absent or `null` usage and counts read as 0. The
 * stream decoder reads the usage of `message_start` and `message_delta` the same way, but
 * leniently (a count that is not a number reads as absent) and merged (later counts replace
 * earlier ones).
 *
 * @param raw the `usage` value
 * @param field its path, for errors
 * @returns the normalized usage
 * @throws {LlmConversionError} when the usage or a count has the wrong type
 *
 * @example
 * ```ts
 * import { parseAnthropicMessagesUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const usage = parseAnthropicMessagesUsage({
 *   input_tokens: 50,
 *   output_tokens: 30,
 *   cache_creation_input_tokens: 100,
 *   cache_read_input_tokens: 200,
 * });
 * assert.equal(usage.inputTokens, 350);
 * assert.equal(usage.totalTokens, 380);
 * ```
 */
export function parseAnthropicMessagesUsage(raw: unknown, field = "usage"): Usage {
  return usageFromCounts(readAnthropicUsageCounts(raw, field, "strict") ?? {});
}

/**
 * Writes a normalized usage as Anthropic's: cache counts subtracted from `input_tokens`;
 * `output_tokens_details` only when reasoning tokens are known.
 *
 * @param usage the normalized usage
 * @returns the Anthropic `usage` object
 *
 * @example
 * ```ts
 * import { createUsage, toAnthropicMessagesUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   toAnthropicMessagesUsage(
 *     createUsage({ inputTokens: 30, outputTokens: 15, cacheReadTokens: 10 }),
 *   ),
 *   {
 *     input_tokens: 20,
 *     cache_creation_input_tokens: 0,
 *     cache_read_input_tokens: 10,
 *     output_tokens: 15,
 *   },
 * );
 * ```
 */
export function toAnthropicMessagesUsage(usage: Usage): AnthropicUsage {
  const written: AnthropicUsage = {
    input_tokens: uncachedInput(usage.inputTokens, usage.cacheReadTokens, usage.cacheWriteTokens),
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
    output_tokens: usage.outputTokens,
  };
  if (usage.reasoningTokens > 0) {
    written.output_tokens_details = { thinking_tokens: usage.reasoningTokens };
  }
  return written;
}

/**
 * The `error` event for an Anthropic error body (`{"type":"error","error":{"type","message"}}`,
 * as streamed in `event: error` or returned with a failed HTTP response; the inner `error`
 * object is accepted too). Unknown types get status 500.
 *
 * @param body the parsed error body
 * @returns the normalized error event
 *
 * @example
 * ```ts
 * import { parseAnthropicMessagesError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseAnthropicMessagesError({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
 *   {
 *     type: "error",
 *     kind: "overloaded",
 *     message: "Overloaded",
 *     status: 529,
 *     providerType: "overloaded_error",
 *   },
 * );
 * ```
 */
export function parseAnthropicMessagesError(body: unknown): LlmErrorEvent {
  // The envelope `{"type":"error","error":{…}}`, or the inner object alone.
  const inner = isObject(body) && (isObject(body.error) || body.type === "error")
    ? body.error
    : body;
  const type = isObject(inner) && typeof inner.type === "string" ? inner.type : undefined;
  const message = isObject(inner) && typeof inner.message === "string"
    ? inner.message
    : "Anthropic reported an error without a message";
  const status = lookup(ERROR_STATUS, type) ?? 500;
  const event: LlmErrorEvent = {
    type: "error",
    kind: errorKindFromStatus(status),
    message,
    status,
  };
  if (type !== undefined) event.providerType = type;
  return event;
}

/**
 * The Anthropic error body for an `error` event: the event's `providerType` when it is an
 * Anthropic error type, else the type matching its status, else its kind, else `api_error`.
 *
 * @param error the error event (or its `kind`, `status`, `message` and `providerType`)
 * @returns the body of an Anthropic `event: error`
 *
 * @example
 * ```ts
 * import { toAnthropicMessagesError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   toAnthropicMessagesError({
 *     kind: "rate_limit",
 *     status: 429,
 *     message: "Too many tokens",
 *     providerType: "throttlingException",
 *   }),
 *   { type: "error", error: { type: "rate_limit_error", message: "Too many tokens" } },
 * );
 * ```
 */
export function toAnthropicMessagesError(
  error: Pick<LlmErrorEvent, "kind" | "status" | "message" | "providerType">,
): { type: "error"; error: { type: string; message: string } } {
  return { type: "error", error: { type: anthropicErrorType(error), message: error.message } };
}

function anthropicErrorType(
  error: { kind: LlmErrorKind; status: number; providerType?: string },
): string {
  const { providerType, status, kind } = error;
  if (providerType !== undefined && lookup(ERROR_STATUS, providerType) !== undefined) {
    return providerType;
  }
  const types = Object.keys(ERROR_STATUS);
  return types.find((type) => ERROR_STATUS[type] === status) ??
    types.find((type) => errorKindFromStatus(ERROR_STATUS[type]!) === kind) ?? "api_error";
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function citationFromAnthropic(raw: JsonObject): Citation {
  const citation: Citation = { raw };
  const title = optionalString(raw.title) ?? optionalString(raw.document_title);
  const url = optionalString(raw.url) ??
    (raw.type === "search_result_location" ? optionalString(raw.source) : undefined);
  const citedText = optionalString(raw.cited_text);
  if (title !== undefined) citation.title = title;
  if (url !== undefined) citation.url = url;
  if (citedText !== undefined) citation.citedText = citedText;
  return citation;
}

function citationToAnthropic(citation: Citation): unknown {
  const { raw } = citation;
  if (isObject(raw) && typeof raw.type === "string" && CITATION_TYPES.has(raw.type)) return raw;
  if (citation.url !== undefined) {
    return {
      type: "web_search_result_location",
      cited_text: citation.citedText ?? "",
      url: citation.url,
      title: citation.title ?? null,
      encrypted_index: "",
    };
  }
  return {
    type: "char_location",
    cited_text: citation.citedText ?? "",
    document_index: 0,
    document_title: citation.title ?? null,
    start_char_index: 0,
    end_char_index: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Decoder

/**
 * Options of {@linkcode AnthropicMessagesDecoder} and {@linkcode AnthropicMessagesDecoderStream}.
 *
 * @example
 * ```ts
 * import { AnthropicMessagesDecoder, type AnthropicMessagesDecoderOptions } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const options: AnthropicMessagesDecoderOptions = { model: "claude-sonnet-4-5" };
 * const decoder = new AnthropicMessagesDecoder(options);
 * const [start] = decoder.push({
 *   event: "message_start",
 *   data: '{"type":"message_start","message":{"id":"msg_1","content":[],"usage":{}}}',
 * });
 * assert.deepEqual(start, {
 *   type: "message_start",
 *   id: "msg_1",
 *   model: "claude-sonnet-4-5",
 *   role: "assistant",
 * });
 * ```
 */
export interface AnthropicMessagesDecoderOptions {
  /** Message id to report when `message_start` carries none. Default: a generated `msg_…`. */
  id?: string;
  /** Model to report when `message_start` carries none. Default: `""`. */
  model?: string;
}

type DecoderBlock =
  | { kind: "text" | "thinking" | "redacted" }
  | { kind: "tool"; hasArguments: boolean }
  | { kind: "provider"; content: JsonObject; json: string[] };

/**
 * The synchronous core of {@linkcode AnthropicMessagesDecoderStream}: push each Server-Sent Event
 * of an Anthropic Messages stream, get back the {@linkcode LlmEvent}s it completes; call `end()`
 * when the stream ends.
 *
 * - `message_start` → `message_start` and, when it has non-zero counts, `usage`.
 * - `text` blocks → `text_delta`s (and `citation`s from `citations_delta`); `thinking` blocks →
 *   `reasoning_delta`s of kind `text` and `signature`; `redacted_thinking` → one `reasoning_delta`
 *   of kind `redacted`; `tool_use` and `server_tool_use` (`serverSide: true`) →
 *   `tool_call_start` and `tool_call_delta`s with the raw `partial_json` fragments (never parsed,
 *   so a tool input cut off at `max_tokens` passes through as is; a call without any fragment
 *   gets `"{}"`). Empty fragments are dropped.
 * - Any other block (`web_search_tool_result`, `mcp_tool_use`, `compaction`, …) → one
 *   `provider_block` with the whole block when it stops (deltas applied: `input_json_delta` is
 *   parsed into `input`, `compaction_delta` replaces `content`).
 * - `message_delta` and `message_stop` → `block_stop` for blocks left open, `message_stop` with
 *   the mapped stop reason, then `usage` (cumulative: later counts replace earlier ones).
 * - `ping` and unknown event types are skipped; events with empty data are skipped (as the
 *   official SDK does); `event: error` → an `error` event.
 *
 * The event type is the data's `type` (the SSE `event` field when the data has none). Data that is
 * not a JSON object, has no type, or breaks the event order, and a stream that ends before
 * `message_stop`, yield an `error` event of kind `protocol_error` (status 502). After an `error`
 * event the decoder emits nothing more.
 *
 * @example
 * ```ts
 * import { AnthropicMessagesDecoder } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const decoder = new AnthropicMessagesDecoder();
 * const frames = [
 *   { type: "message_start", message: { id: "msg_1", model: "claude", usage: { input_tokens: 9 } } },
 *   { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
 * ];
 * const events = frames.flatMap((frame) =>
 *   decoder.push({ event: frame.type, data: JSON.stringify(frame) })
 * );
 * assert.deepEqual(events.map((event) => event.type), ["message_start", "usage", "error"]);
 * assert.equal(events[2]?.type === "error" && events[2].kind, "protocol_error");
 * ```
 */
export class AnthropicMessagesDecoder {
  readonly #id: string | undefined;
  readonly #model: string | undefined;
  #phase: "before_start" | "in_message" | "done" = "before_start";
  readonly #blocks = new Map<number, DecoderBlock>();
  #counts: AnthropicUsageCounts = {};
  #deltaUsage = false;
  #stopReason: string | null = null;
  #stopSequence: string | undefined;

  /**
   * Creates a decoder.
   *
   * @param options defaults for what the stream does not carry
   */
  constructor(options: AnthropicMessagesDecoderOptions = {}) {
    this.#id = options.id;
    this.#model = options.model;
  }

  /**
   * Decodes one Server-Sent Event.
   *
   * @param event an event of the stream
   * @returns the events it completes
   */
  push(event: SseEvent): LlmEvent[] {
    if (this.#phase === "done" || event.data === "") return [];
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return this.#fail(`Anthropic stream event data is not JSON: ${excerpt(event.data)}`);
    }
    if (!isObject(data)) {
      return this.#fail(`Anthropic stream event data is not an object: ${excerpt(event.data)}`);
    }
    const type = typeof data.type === "string"
      ? data.type
      : (event.event !== undefined && event.event !== "message" ? event.event : undefined);
    if (type === undefined) {
      const object = typeof data.object === "string" ? ` (an "${data.object}" object)` : "";
      return this.#fail(
        `not an Anthropic Messages stream: an event without a "type"${object}: ${
          excerpt(event.data)
        }`,
      );
    }
    switch (type) {
      case "ping":
        return [];
      case "error":
        this.#phase = "done";
        return [parseAnthropicMessagesError(data)];
      case "message_start":
        return this.#messageStart(data);
      case "content_block_start":
      case "content_block_delta":
      case "content_block_stop":
      case "message_delta":
      case "message_stop":
        if (this.#phase === "before_start") return this.#fail(`${type} before message_start`);
        return this.#inMessage(type, data);
      default:
        return []; // an event type added after this decoder was written
    }
  }

  /**
   * Ends the stream: a stream that did not reach `message_stop` (nor an error) yields a
   * `protocol_error`.
   *
   * @returns the final events
   */
  end(): LlmEvent[] {
    if (this.#phase === "done") return [];
    return this.#fail(
      this.#phase === "before_start"
        ? "the Anthropic stream ended before message_start"
        : "the Anthropic stream ended before message_stop",
    );
  }

  #fail(message: string): LlmEvent[] {
    this.#phase = "done";
    return [protocolError(message)];
  }

  #messageStart(data: JsonObject): LlmEvent[] {
    if (this.#phase !== "before_start") return this.#fail("a second message_start");
    const message = data.message;
    if (!isObject(message)) return this.#fail("message_start without a message object");
    this.#phase = "in_message";
    const events: LlmEvent[] = [{
      type: "message_start",
      id: optionalString(message.id) || this.#id || generatedMessageId(),
      model: optionalString(message.model) || this.#model || "",
      role: "assistant",
    }];
    this.#counts = readAnthropicUsageCounts(message.usage, "message.usage", "lenient") ?? {};
    const usage = usageFromCounts(this.#counts);
    // All zeros says nothing (encoders write zeros when usage comes only at the end).
    if (usage.totalTokens > 0 || usage.cacheReadTokens > 0 || usage.cacheWriteTokens > 0) {
      events.push({ type: "usage", usage });
    }
    return events;
  }

  #inMessage(type: string, data: JsonObject): LlmEvent[] {
    if (type === "message_delta") {
      const delta = data.delta;
      if (isObject(delta)) {
        if (typeof delta.stop_reason === "string") this.#stopReason = delta.stop_reason;
        if (typeof delta.stop_sequence === "string") this.#stopSequence = delta.stop_sequence;
      }
      const counts = readAnthropicUsageCounts(data.usage, "usage", "lenient");
      if (counts !== undefined) {
        this.#counts = { ...this.#counts, ...counts };
        this.#deltaUsage = true;
      }
      return [];
    }
    if (type === "message_stop") {
      const events: LlmEvent[] = [];
      for (const index of [...this.#blocks.keys()].sort((a, b) => a - b)) {
        this.#closeBlock(index, events);
      }
      events.push({
        type: "message_stop",
        stopReason: parseAnthropicMessagesStopReason(this.#stopReason),
        rawStopReason: this.#stopReason,
        ...(this.#stopSequence !== undefined ? { stopSequence: this.#stopSequence } : {}),
      });
      if (this.#deltaUsage) events.push({ type: "usage", usage: usageFromCounts(this.#counts) });
      this.#phase = "done";
      return events;
    }
    const index = data.index;
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
      return this.#fail(`${type} without a valid index`);
    }
    if (type === "content_block_start") return this.#blockStart(index, data.content_block);
    if (type === "content_block_delta") return this.#blockDelta(index, data.delta);
    const events: LlmEvent[] = [];
    this.#closeBlock(index, events); // content_block_stop; a repeated stop finds nothing to close
    return events;
  }

  #blockStart(index: number, block: unknown): LlmEvent[] {
    if (!isObject(block) || typeof block.type !== "string") {
      return this.#fail(`content_block_start ${index} without a typed content_block`);
    }
    const events: LlmEvent[] = [];
    if (this.#blocks.has(index)) this.#closeBlock(index, events);
    switch (block.type) {
      case "text": {
        this.#blocks.set(index, { kind: "text" });
        if (typeof block.text === "string" && block.text !== "") {
          events.push({ type: "text_delta", index, text: block.text });
        }
        if (Array.isArray(block.citations)) {
          for (const raw of block.citations) {
            if (isObject(raw)) {
              events.push({ type: "citation", index, citation: citationFromAnthropic(raw) });
            }
          }
        }
        return events;
      }
      case "thinking":
        this.#blocks.set(index, { kind: "thinking" });
        if (typeof block.thinking === "string" && block.thinking !== "") {
          events.push({ type: "reasoning_delta", index, kind: "text", text: block.thinking });
        }
        if (typeof block.signature === "string" && block.signature !== "") {
          events.push({
            type: "reasoning_delta",
            index,
            kind: "signature",
            signature: block.signature,
          });
        }
        return events;
      case "redacted_thinking":
        this.#blocks.set(index, { kind: "redacted" });
        events.push({
          type: "reasoning_delta",
          index,
          kind: "redacted",
          data: optionalString(block.data) ?? "",
        });
        return events;
      case "tool_use":
      case "server_tool_use": {
        const id = optionalString(block.id);
        const name = optionalString(block.name);
        if (id === undefined || name === undefined) {
          return this.#fail(`${block.type} block ${index} without an id and a name`);
        }
        events.push({
          type: "tool_call_start",
          index,
          id,
          name,
          ...(block.type === "server_tool_use" ? { serverSide: true } : {}),
        });
        // The API starts with `input: {}` and streams the JSON; a non-empty input is the whole.
        const hasArguments = isObject(block.input) && Object.keys(block.input).length > 0;
        if (hasArguments) {
          events.push({ type: "tool_call_delta", index, arguments: JSON.stringify(block.input) });
        }
        this.#blocks.set(index, { kind: "tool", hasArguments });
        return events;
      }
      default:
        this.#blocks.set(index, { kind: "provider", content: { ...block }, json: [] });
        return events;
    }
  }

  #blockDelta(index: number, delta: unknown): LlmEvent[] {
    if (!isObject(delta) || typeof delta.type !== "string") {
      return this.#fail(`content_block_delta ${index} without a typed delta`);
    }
    const block = this.#blocks.get(index);
    if (block === undefined) {
      return this.#fail(`content_block_delta for block ${index}, which is not open`);
    }
    const field = lookup(DELTA_FIELDS, delta.type);
    if (field === undefined) {
      if (block.kind === "provider" && delta.type === "compaction_delta") {
        // The delta carries the block's final value (null when compaction failed).
        block.content.content = delta.content;
        if ("encrypted_content" in delta) block.content.encrypted_content = delta.encrypted_content;
      }
      return []; // a delta type added after this decoder was written
    }
    const value = delta[field];
    if (field === "citation" ? !isObject(value) : typeof value !== "string") {
      return this.#fail(`${delta.type} for block ${index} without its ${field}`);
    }
    if (block.kind === "provider") {
      applyProviderDelta(block, delta.type, value);
      return [];
    }
    if (value === "") return [];
    switch (delta.type) {
      case "text_delta":
        return block.kind === "text" ? [{ type: "text_delta", index, text: value as string }] : [];
      case "citations_delta":
        return block.kind === "text"
          ? [{
            type: "citation",
            index,
            citation: citationFromAnthropic(value as JsonObject),
          }]
          : [];
      case "thinking_delta":
        return block.kind === "thinking"
          ? [{ type: "reasoning_delta", index, kind: "text", text: value as string }]
          : [];
      case "signature_delta":
        return block.kind === "thinking"
          ? [{ type: "reasoning_delta", index, kind: "signature", signature: value as string }]
          : [];
      default: // input_json_delta
        if (block.kind !== "tool") return [];
        block.hasArguments = true;
        return [{ type: "tool_call_delta", index, arguments: value as string }];
    }
  }

  #closeBlock(index: number, events: LlmEvent[]): void {
    const block = this.#blocks.get(index);
    if (block === undefined) return;
    this.#blocks.delete(index);
    if (block.kind === "tool" && !block.hasArguments) {
      events.push({ type: "tool_call_delta", index, arguments: "{}" });
    } else if (block.kind === "provider") {
      const { content, json } = block;
      if (json.length > 0) {
        const text = json.join("");
        try {
          content.input = JSON.parse(text);
        } catch {
          content.input = text; // cut off (max_tokens): keep the fragments rather than lose them
        }
      }
      events.push({
        type: "provider_block",
        index,
        protocol: "anthropic",
        blockType: content.type as string,
        content,
      });
    }
    events.push({ type: "block_stop", index });
  }
}

/** The field each known delta type carries its value in. */
const DELTA_FIELDS: Readonly<Record<string, string>> = {
  text_delta: "text",
  citations_delta: "citation",
  thinking_delta: "thinking",
  signature_delta: "signature",
  input_json_delta: "partial_json",
};

/** Applies a known delta to a block kept whole, as the official SDK accumulates it. */
function applyProviderDelta(
  block: { content: JsonObject; json: string[] },
  type: string,
  value: unknown,
): void {
  const { content } = block;
  switch (type) {
    case "text_delta":
      content.text = (optionalString(content.text) ?? "") + (value as string);
      break;
    case "citations_delta":
      content.citations = [...(Array.isArray(content.citations) ? content.citations : []), value];
      break;
    case "thinking_delta":
      content.thinking = (optionalString(content.thinking) ?? "") + (value as string);
      break;
    case "signature_delta":
      content.signature = value;
      break;
    default: // input_json_delta
      block.json.push(value as string);
  }
}

/**
 * Decodes the Server-Sent Events of an Anthropic Messages stream into {@linkcode LlmEvent}s; see
 * {@linkcode AnthropicMessagesDecoder} for the mapping. Put an `SseDecoderStream` in front of
 * it. Bad provider data becomes an `error` event (`protocol_error`, status 502), never a thrown
 * error; errors of the stream in front of it (an `SseError`) propagate.
 *
 * @example Decode a streamed response body
 * ```ts
 * import { AnthropicMessagesDecoderStream, SseDecoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = [
 *   'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",',
 *   '"model":"claude-sonnet-4-5","usage":{"input_tokens":12,"output_tokens":1}}}\n\n',
 *   'event: content_block_start\ndata: {"type":"content_block_start","index":0,',
 *   '"content_block":{"type":"text","text":""}}\n\n',
 *   'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,',
 *   '"delta":{"type":"text_delta","text":"Hello"}}\n\n',
 *   'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
 *   'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},',
 *   '"usage":{"output_tokens":5}}\n\n',
 *   'event: message_stop\ndata: {"type":"message_stop"}\n\n',
 * ];
 * const events = await Array.fromAsync(
 *   ReadableStream.from(body)
 *     .pipeThrough(new SseDecoderStream())
 *     .pipeThrough(new AnthropicMessagesDecoderStream()),
 * );
 * assert.deepEqual(events.map((event) => event.type), [
 *   "message_start",
 *   "usage",
 *   "text_delta",
 *   "block_stop",
 *   "message_stop",
 *   "usage",
 * ]);
 * const last = events.at(-1);
 * assert.equal(last?.type === "usage" && last.usage.totalTokens, 17);
 * ```
 */
export class AnthropicMessagesDecoderStream extends TransformStream<SseEvent, LlmEvent> {
  /**
   * Creates a decoder stream.
   *
   * @param options defaults for what the stream does not carry
   */
  constructor(options: AnthropicMessagesDecoderOptions = {}) {
    const decoder = new AnthropicMessagesDecoder(options);
    super(pushTransformer(decoder));
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder

/**
 * Options of {@linkcode AnthropicMessagesEncoder} and {@linkcode AnthropicMessagesEncoderStream}.
 *
 * @example
 * ```ts
 * import { AnthropicMessagesEncoder, type AnthropicMessagesEncoderOptions } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const options: AnthropicMessagesEncoderOptions = { id: "msg_gw1", model: "claude-via-bedrock" };
 * const encoder = new AnthropicMessagesEncoder(options);
 * encoder.push({ type: "message_start", id: "", model: "", role: "assistant" });
 * const [start] = encoder.push({ type: "text_delta", index: 0, text: "Hi" });
 * assert.equal(JSON.parse(start!.data).message.id, "msg_gw1");
 * assert.equal(JSON.parse(start!.data).message.model, "claude-via-bedrock");
 * ```
 */
export interface AnthropicMessagesEncoderOptions {
  /** Message id to write when the `message_start` event's is empty. Default: a generated `msg_…`. */
  id?: string;
  /** Model to write when the `message_start` event's is empty. Default: `""`. */
  model?: string;
}

type EncoderBlockKind = "text" | "thinking" | "redacted" | "tool" | "provider" | "skip";

/** A content block being written: its input index, and its index in the output once started. */
interface EncoderBlock {
  input: number;
  output: number;
  kind: EncoderBlockKind | undefined;
}

type BlockEvent = Extract<
  LlmEvent,
  {
    type:
      | "text_delta"
      | "citation"
      | "reasoning_delta"
      | "tool_call_start"
      | "tool_call_delta"
      | "provider_block"
      | "block_stop";
  }
>;

function sse(type: string, body: JsonObject): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...body }) };
}

/**
 * The synchronous core of {@linkcode AnthropicMessagesEncoderStream}: push each
 * {@linkcode LlmEvent}, get back the Anthropic Messages Server-Sent Events to write; call `end()`
 * when the input ends.
 *
 * - `message_start` is written with the usage known when the next event arrives (a `usage` that
 *   directly follows `message_start` is written into it; otherwise zeros).
 * - Blocks are written one after another, renumbered from 0 in the order they start (the
 *   official SDK indexes its content array by `index`); events of a block that starts while
 *   another is open are held until that one stops. A text block without a start gets
 *   `content_block_start` `{type:"text",text:""}`; reasoning → `thinking` with `thinking_delta` /
 *   `signature_delta`; redacted reasoning → `redacted_thinking` with its `data`; tool calls →
 *   `tool_use` (or `server_tool_use` when `serverSide`) with `input: {}`, then
 *   `input_json_delta`s; citations → `citations_delta` (Anthropic citations unchanged, others
 *   rebuilt); Anthropic `provider_block`s → `content_block_start` with the whole block; other
 *   protocols' provider blocks are skipped.
 * - `message_delta` (stop reason, stop sequence and the whole cumulative usage: input, cache and
 *   output counts) and `message_stop` are held after `message_stop` until a `usage` arrives or
 *   the input ends, since Bedrock and OpenAI report usage last.
 * - An `error` event becomes `event: error` and ends the output; so does input that ends before
 *   `message_stop` (an `api_error`).
 *
 * @example
 * ```ts
 * import { AnthropicMessagesEncoder, createUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const encoder = new AnthropicMessagesEncoder();
 * const out = [
 *   ...encoder.push({ type: "message_start", id: "msg_1", model: "claude", role: "assistant" }),
 *   ...encoder.push({ type: "text_delta", index: 0, text: "Hi" }),
 *   ...encoder.push({ type: "block_stop", index: 0 }),
 *   ...encoder.push({ type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" }),
 *   ...encoder.push({ type: "usage", usage: createUsage({ inputTokens: 9, outputTokens: 2 }) }),
 *   ...encoder.end(),
 * ];
 * assert.deepEqual(out.map((event) => event.event), [
 *   "message_start",
 *   "content_block_start",
 *   "content_block_delta",
 *   "content_block_stop",
 *   "message_delta",
 *   "message_stop",
 * ]);
 * assert.deepEqual(JSON.parse(out[4]!.data).usage, {
 *   input_tokens: 9,
 *   cache_creation_input_tokens: 0,
 *   cache_read_input_tokens: 0,
 *   output_tokens: 2,
 * });
 * ```
 */
export class AnthropicMessagesEncoder {
  readonly #id: string | undefined;
  readonly #model: string | undefined;
  #phase: "before_start" | "start_held" | "in_message" | "stop_held" | "done" = "before_start";
  #messageId = "";
  #messageModel = "";
  #usage: Usage | undefined;
  #stop: { reason: string; sequence: string | null } | undefined;
  #current: EncoderBlock | undefined;
  /** Events of blocks that started while another was open, by input index, in start order. */
  readonly #held = new Map<number, BlockEvent[]>();
  /** Input indexes whose block was written and stopped (a repeated `block_stop` is dropped). */
  readonly #stopped = new Set<number>();
  #nextIndex = 0;

  /**
   * Creates an encoder.
   *
   * @param options the id and model to write when the events carry none
   */
  constructor(options: AnthropicMessagesEncoderOptions = {}) {
    this.#id = options.id;
    this.#model = options.model;
  }

  /**
   * Encodes one event.
   *
   * @param event the next event of the response
   * @returns the Server-Sent Events to write now
   */
  push(event: LlmEvent): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#phase === "done") return out;
    switch (event.type) {
      case "message_start":
        if (this.#phase === "before_start") {
          this.#messageId = event.id;
          this.#messageModel = event.model;
          this.#phase = "start_held";
        }
        return out;
      case "usage":
        this.#usage = event.usage;
        if (this.#phase === "start_held") this.#writeStart(out);
        else if (this.#phase === "stop_held") this.#writeEnd(out);
        return out;
      case "error":
        if (this.#phase === "start_held") this.#writeStart(out);
        out.push(sse("error", { error: toAnthropicMessagesError(event).error }));
        this.#phase = "done";
        return out;
      case "message_stop":
        if (this.#phase === "stop_held") return out;
        this.#ensureStarted(out);
        this.#closeAll(out);
        this.#stop = {
          reason: toAnthropicMessagesStopReason(event.stopReason, event.rawStopReason),
          sequence: event.stopSequence ?? null,
        };
        this.#phase = "stop_held";
        return out;
      default:
        if (this.#phase === "stop_held") return out; // content after message_stop
        this.#ensureStarted(out);
        this.#route(event, out);
        return out;
    }
  }

  /**
   * Ends the input: writes the held `message_delta` and `message_stop`, or an `event: error` when
   * the input ended before `message_stop`.
   *
   * @returns the last Server-Sent Events to write
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#phase === "stop_held") {
      this.#writeEnd(out);
    } else if (this.#phase !== "done") {
      if (this.#phase === "start_held") this.#writeStart(out);
      out.push(sse("error", {
        error: { type: "api_error", message: "the upstream response ended before message_stop" },
      }));
      this.#phase = "done";
    }
    return out;
  }

  #ensureStarted(out: SseEvent[]): void {
    if (this.#phase === "before_start" || this.#phase === "start_held") this.#writeStart(out);
  }

  #writeStart(out: SseEvent[]): void {
    out.push(sse("message_start", {
      message: {
        id: this.#messageId || this.#id || generatedMessageId(),
        type: "message",
        role: "assistant",
        model: this.#messageModel || this.#model || "",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: toAnthropicMessagesUsage(this.#usage ?? createUsage({})),
      },
    }));
    this.#phase = "in_message";
  }

  #writeEnd(out: SseEvent[]): void {
    const stop = this.#stop ?? { reason: "end_turn", sequence: null };
    out.push(
      sse("message_delta", {
        delta: { stop_reason: stop.reason, stop_sequence: stop.sequence },
        usage: toAnthropicMessagesUsage(this.#usage ?? createUsage({})),
      }),
      sse("message_stop", {}),
    );
    this.#phase = "done";
  }

  #route(event: BlockEvent, out: SseEvent[]): void {
    const current = this.#current;
    if (current !== undefined && current.input !== event.index) {
      const held = this.#held.get(event.index);
      if (held !== undefined) held.push(event);
      else if (!(event.type === "block_stop" && this.#stopped.has(event.index))) {
        this.#held.set(event.index, [event]);
      }
      return;
    }
    this.#write(event, out);
    this.#release(out);
  }

  /** Writes held blocks while no block is open. */
  #release(out: SseEvent[]): void {
    while (this.#current === undefined) {
      const next = this.#held.entries().next();
      if (next.done) return;
      const [index, events] = next.value;
      this.#held.delete(index);
      for (const event of events) this.#write(event, out);
    }
  }

  /** Closes the open block and writes every held block, closing each. */
  #closeAll(out: SseEvent[]): void {
    for (;;) {
      const current = this.#current;
      if (current !== undefined) this.#write({ type: "block_stop", index: current.input }, out);
      this.#release(out);
      if (this.#current === undefined && this.#held.size === 0) return;
    }
  }

  /** Writes an event of the open block, or starts a block with it when none is open. */
  #write(event: BlockEvent, out: SseEvent[]): void {
    let block = this.#current;
    if (block === undefined) {
      if (event.type === "block_stop" && this.#stopped.has(event.index)) return;
      this.#stopped.delete(event.index);
      block = { input: event.index, output: -1, kind: undefined };
      this.#current = block;
      if (this.#startBlock(block, event, out)) return;
    }
    const index = block.output;
    switch (event.type) {
      case "block_stop":
        if (block.kind !== "skip") out.push(sse("content_block_stop", { index }));
        this.#current = undefined;
        this.#stopped.add(block.input);
        return;
      case "text_delta":
        if (block.kind === "text") {
          out.push(sse("content_block_delta", {
            index,
            delta: { type: "text_delta", text: event.text },
          }));
        }
        return;
      case "citation":
        if (block.kind === "text") {
          out.push(sse("content_block_delta", {
            index,
            delta: { type: "citations_delta", citation: citationToAnthropic(event.citation) },
          }));
        }
        return;
      case "reasoning_delta":
        if (block.kind !== "thinking") return;
        if (event.kind === "text") {
          out.push(sse("content_block_delta", {
            index,
            delta: { type: "thinking_delta", thinking: event.text },
          }));
        } else if (event.kind === "signature") {
          out.push(sse("content_block_delta", {
            index,
            delta: { type: "signature_delta", signature: event.signature },
          }));
        }
        return;
      case "tool_call_delta":
        if (block.kind === "tool") {
          out.push(sse("content_block_delta", {
            index,
            delta: { type: "input_json_delta", partial_json: event.arguments },
          }));
        }
        return;
      default: // a second tool_call_start or provider_block in one block: not expressible
        return;
    }
  }

  /**
   * Writes `content_block_start` for a block's first event; returns whether that event is
   * consumed by it.
   */
  #startBlock(block: EncoderBlock, event: BlockEvent, out: SseEvent[]): boolean {
    let contentBlock: JsonObject;
    let consumed = false;
    switch (event.type) {
      case "reasoning_delta":
        if (event.kind === "redacted") {
          block.kind = "redacted";
          contentBlock = { type: "redacted_thinking", data: event.data };
          consumed = true;
        } else {
          block.kind = "thinking";
          contentBlock = { type: "thinking", thinking: "", signature: "" };
        }
        break;
      case "tool_call_start":
        block.kind = "tool";
        contentBlock = {
          type: event.serverSide ? "server_tool_use" : "tool_use",
          id: event.id,
          name: event.name,
          input: {},
        };
        consumed = true;
        break;
      case "tool_call_delta": // arguments without a start: the call has no id or name to give
        block.kind = "tool";
        contentBlock = { type: "tool_use", id: generatedId("toolu_"), name: "", input: {} };
        break;
      case "provider_block":
        consumed = true;
        if (
          event.protocol !== "anthropic" || !isObject(event.content) ||
          typeof event.content.type !== "string"
        ) {
          block.kind = "skip";
          return consumed;
        }
        block.kind = "provider";
        contentBlock = event.content;
        break;
      default: // text_delta, citation, or a block_stop of a block without content
        block.kind = "text";
        contentBlock = { type: "text", text: "" };
    }
    block.output = this.#nextIndex++;
    out.push(sse("content_block_start", { index: block.output, content_block: contentBlock }));
    return consumed;
  }
}

/**
 * Encodes {@linkcode LlmEvent}s as the Server-Sent Events of an Anthropic Messages stream; see
 * {@linkcode AnthropicMessagesEncoder} for the mapping. Put an `SseEncoderStream` behind it and
 * serve the bytes as `text/event-stream`.
 *
 * @example Re-speak a stream from another provider to an Anthropic client
 * ```ts
 * import {
 *   AnthropicMessagesEncoderStream,
 *   createUsage,
 *   type LlmEvent,
 *   SseEncoderStream,
 * } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const events: LlmEvent[] = [
 *   { type: "message_start", id: "msg_1", model: "amazon.nova-lite-v1:0", role: "assistant" },
 *   { type: "tool_call_start", index: 0, id: "tooluse_1", name: "get_weather" },
 *   { type: "tool_call_delta", index: 0, arguments: '{"city":' },
 *   { type: "tool_call_delta", index: 0, arguments: '"Lisbon"}' },
 *   { type: "block_stop", index: 0 },
 *   { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" },
 *   { type: "usage", usage: createUsage({ inputTokens: 391, outputTokens: 58 }) },
 * ];
 * const body = ReadableStream.from(events)
 *   .pipeThrough(new AnthropicMessagesEncoderStream())
 *   .pipeThrough(new SseEncoderStream());
 * const text = await new Response(body).text();
 * assert.match(text, /^event: message_start\n/);
 * assert.match(text, /"content_block":\{"type":"tool_use","id":"tooluse_1","name":"get_weather"/);
 * assert.match(text, /"stop_reason":"tool_use"/);
 * assert.match(text, /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/);
 * ```
 */
export class AnthropicMessagesEncoderStream extends TransformStream<LlmEvent, SseEvent> {
  /**
   * Creates an encoder stream.
   *
   * @param options the id and model to write when the events carry none
   */
  constructor(options: AnthropicMessagesEncoderOptions = {}) {
    const encoder = new AnthropicMessagesEncoder(options);
    super(pushTransformer(encoder));
  }
}
