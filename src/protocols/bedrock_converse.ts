/**
 * Amazon Bedrock `ConverseStream` ⇄ {@linkcode LlmEvent}.
 *
 * Bedrock streams a Converse response as AWS EventStream messages (decode the bytes with
 * {@linkcode EventStreamDecoderStream} first). Each message has the headers `:message-type`
 * (`event`, `exception` or `error`), `:event-type` or `:exception-type`, and a JSON payload:
 *
 * ```text
 * messageStart       {"role":"assistant"}
 * contentBlockStart  {"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"…","name":"…"}}}
 * contentBlockDelta  {"contentBlockIndex":0,"delta":{"text":"Hello"}}
 *                    delta: text | toolUse {input} | reasoningContent {text|signature|redactedContent}
 *                           | citation {title, source, sourceContent, location} | toolResult […]
 * contentBlockStop   {"contentBlockIndex":0}
 * messageStop        {"stopReason":"end_turn","additionalModelResponseFields":{…}}
 * metadata           {"usage":{"inputTokens":13,"outputTokens":5,"totalTokens":18},"metrics":{…}}
 * ```
 *
 * Text and reasoning blocks arrive without a `contentBlockStart`; `metadata` comes after
 * `messageStop`; every payload carries a `p` padding field of random length (ignored).
 *
 * The one stop-reason table, {@linkcode BEDROCK_CONVERSE_STOP_REASONS}, and the stop-reason and
 * usage conversions are here, and the body converters (`bedrock_converse_bodies.ts`) use them:
 * {@linkcode parseBedrockConverseStopReason}, {@linkcode toBedrockConverseStopReason},
 * {@linkcode parseBedrockConverseUsage}, {@linkcode toBedrockConverseUsage}.
 * @module
 */

import type { EventStreamHeaderValue, EventStreamMessage } from "../framing/event_stream.ts";
import {
  type Citation,
  createUsage,
  type LlmErrorEvent,
  type LlmErrorKind,
  type LlmEvent,
  type StopReason,
  type Usage,
} from "./events.ts";
import {
  at,
  optionalCount,
  optionalObject,
  type Strictness,
  uncachedInput,
} from "./_body_fields.ts";
import { generatedMessageId, isObject, type JsonObject, lookup, protocolError } from "./_json.ts";
import { pushTransformer } from "./_push_transformer.ts";

// ---------------------------------------------------------------------------------------------
// The one place for Bedrock's stop reasons, exception types and usage, both directions.
// ---------------------------------------------------------------------------------------------

/** Bedrock's stop reasons (the Converse API's `StopReason`). */
export type BedrockStopReason =
  | "end_turn"
  | "tool_use"
  | "max_tokens"
  | "stop_sequence"
  | "guardrail_intervened"
  | "content_filtered"
  | "malformed_model_output"
  | "malformed_tool_use"
  | "model_context_window_exceeded";

/**
 * Bedrock stop reason → normalized stop reason; the one stop-reason table of Bedrock Converse,
 * read by {@linkcode parseBedrockConverseStopReason} and written back by
 * {@linkcode toBedrockConverseStopReason} (streams and bodies alike).
 *
 * `malformed_model_output` and `malformed_tool_use` (the model's output could not be used) read
 * as `error`. Writing, a raw reason that is a Bedrock one of the same meaning is kept, so every
 * Bedrock value survives a round trip; otherwise `error` is written as `malformed_model_output`,
 * which the AWS SDKs' `StopReason` enum knows and which tells a client that the answer is not
 * usable (`end_turn` would claim a clean finish), and `other` (no Bedrock equivalent) as
 * `end_turn`.
 *
 * @example
 * ```ts
 * import { BEDROCK_CONVERSE_STOP_REASONS } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BEDROCK_CONVERSE_STOP_REASONS.guardrail_intervened, "guardrail");
 * assert.equal(BEDROCK_CONVERSE_STOP_REASONS.malformed_tool_use, "error");
 * ```
 */
export const BEDROCK_CONVERSE_STOP_REASONS: Readonly<Record<BedrockStopReason, StopReason>> = {
  end_turn: "end_turn",
  tool_use: "tool_use",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  guardrail_intervened: "guardrail",
  content_filtered: "content_filter",
  malformed_model_output: "error",
  malformed_tool_use: "error",
  model_context_window_exceeded: "context_window_exceeded",
};

/** Normalized stop reason → the Bedrock stop reason written for it (see the table above). */
const TO_BEDROCK_STOP_REASON: Readonly<Record<StopReason, BedrockStopReason>> = {
  end_turn: "end_turn",
  tool_use: "tool_use",
  max_tokens: "max_tokens",
  stop_sequence: "stop_sequence",
  guardrail: "guardrail_intervened",
  content_filter: "content_filtered",
  context_window_exceeded: "model_context_window_exceeded",
  error: "malformed_model_output",
  other: "end_turn",
};

/**
 * The normalized stop reason of a Bedrock `stopReason` (see
 * {@linkcode BEDROCK_CONVERSE_STOP_REASONS}): `guardrail_intervened` → `guardrail`,
 * `content_filtered` → `content_filter`, `model_context_window_exceeded` →
 * `context_window_exceeded`, `malformed_*` → `error`; unknown or missing reasons → `other`.
 *
 * @param raw Bedrock's `messageStop.stopReason` (or the Converse response's `stopReason`)
 * @returns the normalized stop reason
 *
 * @example
 * ```ts
 * import { parseBedrockConverseStopReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseBedrockConverseStopReason("guardrail_intervened"), "guardrail");
 * assert.equal(parseBedrockConverseStopReason("content_filtered"), "content_filter");
 * assert.equal(parseBedrockConverseStopReason("malformed_tool_use"), "error");
 * assert.equal(parseBedrockConverseStopReason(null), "other");
 * ```
 */
export function parseBedrockConverseStopReason(raw: string | null | undefined): StopReason {
  return lookup(BEDROCK_CONVERSE_STOP_REASONS, raw) ?? "other";
}

/**
 * The Bedrock `stopReason` for a normalized one (see {@linkcode BEDROCK_CONVERSE_STOP_REASONS}).
 * The raw stop reason wins when it is a Bedrock stop reason with the same meaning (so
 * `malformed_tool_use` survives a round trip); else `error` → `malformed_model_output` and
 * `other` → `end_turn`.
 *
 * @param reason the normalized stop reason
 * @param raw the provider's own stop reason, if known
 * @returns a stop reason Bedrock clients accept
 *
 * @example
 * ```ts
 * import { toBedrockConverseStopReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toBedrockConverseStopReason("context_window_exceeded"), "model_context_window_exceeded");
 * assert.equal(toBedrockConverseStopReason("error", "malformed_tool_use"), "malformed_tool_use");
 * assert.equal(toBedrockConverseStopReason("error", "error"), "malformed_model_output"); // OpenRouter's
 * assert.equal(toBedrockConverseStopReason("tool_use", "tool_calls"), "tool_use"); // OpenAI's name
 * ```
 */
export function toBedrockConverseStopReason(
  reason: StopReason,
  raw?: string | null,
): BedrockStopReason {
  if (lookup(BEDROCK_CONVERSE_STOP_REASONS, raw) === reason) return raw as BedrockStopReason;
  return TO_BEDROCK_STOP_REASON[reason];
}

/**
 * Bedrock's exception types (as in the `:exception-type` header, lower camel case) with the
 * HTTP status the service documents for each and the normalized kind.
 */
const EXCEPTIONS: Readonly<Record<string, { status: number; kind: LlmErrorKind }>> = {
  throttlingException: { status: 429, kind: "rate_limit" },
  modelStreamErrorException: { status: 424, kind: "model_error" },
  modelErrorException: { status: 424, kind: "model_error" },
  validationException: { status: 400, kind: "invalid_request" },
  internalServerException: { status: 500, kind: "server_error" },
  serviceUnavailableException: { status: 503, kind: "overloaded" },
  accessDeniedException: { status: 403, kind: "permission" },
  unrecognizedClientException: { status: 403, kind: "authentication" },
  expiredTokenException: { status: 403, kind: "authentication" },
  resourceNotFoundException: { status: 404, kind: "not_found" },
  modelTimeoutException: { status: 408, kind: "timeout" },
  modelNotReadyException: { status: 429, kind: "rate_limit" },
  serviceQuotaExceededException: { status: 400, kind: "rate_limit" },
};

/**
 * The exception type the encoder writes for an error kind; the five types a `ConverseStream`
 * client knows in-stream, plus `modelTimeoutException`. Any other kind is an
 * `internalServerException`.
 */
const EXCEPTION_FOR_KIND: Readonly<Partial<Record<LlmErrorKind, string>>> = {
  rate_limit: "throttlingException",
  model_error: "modelStreamErrorException",
  invalid_request: "validationException",
  overloaded: "serviceUnavailableException",
  timeout: "modelTimeoutException",
};
const DEFAULT_EXCEPTION = "internalServerException";

/** The table key for an exception type: lower camel case, without a `:<namespace>` suffix. */
function exceptionKey(type: string): string {
  const name = type.split(":", 1)[0]!.trim();
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * The `error` event for a Bedrock exception: an in-stream `exception` frame's
 * `:exception-type`, or an HTTP error's `x-amzn-ErrorType` (any capitalization, with or without
 * the `:<namespace>` suffix). Statuses: throttlingException 429, modelStreamErrorException 424,
 * validationException 400, internalServerException 500, serviceUnavailableException 503,
 * accessDeniedException 403, resourceNotFoundException 404, modelTimeoutException 408,
 * modelNotReadyException 429, …; unknown types are server errors (500).
 *
 * @param exceptionType Bedrock's exception type, e.g. `throttlingException` or
 *   `ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/`
 * @param message the exception's message
 * @returns the normalized error event; `providerType` is `exceptionType` unchanged
 *
 * @example
 * ```ts
 * import { decodeBedrockError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decodeBedrockError("throttlingException", "Too many requests"), {
 *   type: "error",
 *   kind: "rate_limit",
 *   message: "Too many requests",
 *   status: 429,
 *   providerType: "throttlingException",
 * });
 * assert.equal(decodeBedrockError("ModelStreamErrorException", "boom").status, 424);
 * ```
 */
export function decodeBedrockError(exceptionType: string, message: string): LlmErrorEvent {
  const key = exceptionKey(exceptionType);
  const known = lookup(EXCEPTIONS, key);
  return {
    type: "error",
    kind: known?.kind ?? "server_error",
    message,
    status: known?.status ?? 500,
    providerType: exceptionType,
  };
}

/**
 * The Bedrock exception for an `error` event. The type is the event's own `providerType` when
 * that is a Bedrock exception of the same kind and status (a Bedrock error re-encoded
 * unchanged), else by kind: `rate_limit` → `throttlingException`, `model_error` →
 * `modelStreamErrorException`, `invalid_request` → `validationException`, `overloaded` →
 * `serviceUnavailableException`, `timeout` → `modelTimeoutException`, anything else →
 * `internalServerException`.
 *
 * @param error the error event (or its `kind`, `status`, `message` and `providerType`)
 * @returns the exception type (for `:exception-type`, lower camel case) and the message (the
 *   payload is `{"message": …}`)
 *
 * @example
 * ```ts
 * import { encodeBedrockError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   encodeBedrockError({
 *     kind: "overloaded",
 *     status: 529,
 *     message: "Overloaded",
 *     providerType: "overloaded_error", // Anthropic's
 *   }),
 *   { exceptionType: "serviceUnavailableException", message: "Overloaded" },
 * );
 * ```
 */
export function encodeBedrockError(
  error: Pick<LlmErrorEvent, "kind" | "status" | "message" | "providerType">,
): { exceptionType: string; message: string } {
  return { exceptionType: bedrockExceptionType(error), message: error.message };
}

function bedrockExceptionType(
  error: { kind: LlmErrorKind; status: number; providerType?: string },
): string {
  if (error.providerType !== undefined) {
    const key = exceptionKey(error.providerType);
    const known = lookup(EXCEPTIONS, key);
    if (known?.kind === error.kind && known.status === error.status) return key;
  }
  return EXCEPTION_FOR_KIND[error.kind] ?? DEFAULT_EXCEPTION;
}

/**
 * Bedrock's `TokenUsage` (the `usage` of a `metadata` event or of a Converse response):
 * `inputTokens` excludes cache reads and writes, `totalTokens` includes them.
 */
export interface BedrockUsage {
  /** Input tokens, cache reads and writes not included. */
  inputTokens: number;
  /** Output tokens. */
  outputTokens: number;
  /** All tokens: input (cache reads and writes included) and output. */
  totalTokens: number;
  /** Input tokens read from the prompt cache. */
  cacheReadInputTokens?: number;
  /** Input tokens written to the prompt cache. */
  cacheWriteInputTokens?: number;
}

/**
 * The normalized usage of a Bedrock `usage` value (see {@linkcode parseBedrockConverseUsage}), or
 * `undefined` when there is none (lenient: when it is not an object).
 */
function readBedrockUsage(raw: unknown, field: string, strictness: Strictness): Usage | undefined {
  const usage = optionalObject(raw, field, strictness);
  if (usage === undefined) return undefined;
  const count = (key: string) => optionalCount(usage[key], at(field, key), strictness) ?? 0;
  const cacheReadTokens = count("cacheReadInputTokens");
  const cacheWriteTokens = count("cacheWriteInputTokens");
  return createUsage({
    inputTokens: count("inputTokens") + cacheReadTokens + cacheWriteTokens,
    outputTokens: count("outputTokens"),
    cacheReadTokens,
    cacheWriteTokens,
  });
}

/**
 * The normalized usage of a Bedrock `usage` object: `inputTokens` = `inputTokens` +
 * `cacheReadInputTokens` + `cacheWriteInputTokens`; Bedrock's `totalTokens` is not read (the
 * total is recomputed). Absent or `null` usage and counts read as 0. The stream decoder reads
 * `metadata.usage` the same way, but leniently: a count that is not a number reads as 0 there.
 *
 * @param raw Bedrock's `usage` value
 * @param field its path, for errors
 * @returns the normalized usage
 * @throws {LlmConversionError} when the usage or a count has the wrong type
 *
 * @example
 * ```ts
 * import { parseBedrockConverseUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseBedrockConverseUsage({
 *     inputTokens: 4,
 *     outputTokens: 93,
 *     totalTokens: 1966,
 *     cacheReadInputTokens: 1869,
 *     cacheWriteInputTokens: 0,
 *   }),
 *   {
 *     inputTokens: 1873,
 *     outputTokens: 93,
 *     totalTokens: 1966,
 *     cacheReadTokens: 1869,
 *     cacheWriteTokens: 0,
 *     reasoningTokens: 0,
 *   },
 * );
 * assert.throws(() => parseBedrockConverseUsage({ inputTokens: "4" }), /usage\.inputTokens/);
 * ```
 */
export function parseBedrockConverseUsage(raw: unknown, field = "usage"): Usage {
  return readBedrockUsage(raw, field, "strict") ?? createUsage({});
}

/**
 * Bedrock's `usage` object for a normalized usage: cache reads and writes subtracted from
 * `inputTokens` (never below 0), `totalTokens` = all input + output, cache counts only when
 * non-zero.
 *
 * @param usage the normalized usage
 * @returns Bedrock's `usage` fields
 *
 * @example
 * ```ts
 * import { createUsage, toBedrockConverseUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   toBedrockConverseUsage(createUsage({ inputTokens: 350, outputTokens: 30, cacheReadTokens: 200 })),
 *   { inputTokens: 150, outputTokens: 30, totalTokens: 380, cacheReadInputTokens: 200 },
 * );
 * ```
 */
export function toBedrockConverseUsage(usage: Usage): BedrockUsage {
  const { cacheReadTokens, cacheWriteTokens } = usage;
  const out: BedrockUsage = {
    inputTokens: uncachedInput(usage.inputTokens, cacheReadTokens, cacheWriteTokens),
    outputTokens: usage.outputTokens,
    totalTokens: usage.inputTokens + usage.outputTokens,
  };
  if (cacheReadTokens > 0) out.cacheReadInputTokens = cacheReadTokens;
  if (cacheWriteTokens > 0) out.cacheWriteInputTokens = cacheWriteTokens;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Options of {@linkcode BedrockConverseDecoder} and {@linkcode BedrockConverseDecoderStream}. */
export interface BedrockConverseDecoderOptions {
  /** Message id for `message_start` (Bedrock sends none); default `msg_` + a random UUID. */
  id?: string;
  /** Model for `message_start` (Bedrock's stream does not name it; it is in the URL); default "". */
  model?: string;
}

function headerString(value: EventStreamHeaderValue | undefined): string | undefined {
  return value?.type === "string" ? value.value : undefined;
}

/** A `protocol_error` for data that is not a well-formed `ConverseStream`. */
function streamError(message: string): LlmErrorEvent {
  return protocolError(`Bedrock ConverseStream: ${message}`);
}

/** Bytes → a "binary string" (one char per byte), the form `btoa`/`atob` use. */
function bytesToBinary(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return out;
}

/** The citation in the model: title, the web URL, and the cited text joined. */
function citationFromBedrock(raw: JsonObject): Citation {
  const citation: Citation = { raw };
  if (typeof raw.title === "string") citation.title = raw.title;
  const web = isObject(raw.location) && isObject(raw.location.web) ? raw.location.web : undefined;
  if (typeof web?.url === "string") {
    citation.url = web.url;
  } else if (typeof raw.source === "string" && /^https?:\/\//i.test(raw.source)) {
    citation.url = raw.source;
  }
  if (Array.isArray(raw.sourceContent)) {
    const texts = raw.sourceContent.flatMap((part) =>
      isObject(part) && typeof part.text === "string" ? [part.text] : []
    );
    if (texts.length > 0) citation.citedText = texts.join("");
  }
  return citation;
}

/** What an open content block is, as far as the decoder must know. */
type OpenBlock =
  | { kind: "content" }
  | { kind: "tool" }
  | { kind: "provider"; blockType: string; start: JsonObject; deltas: JsonObject[] };

/**
 * The Converse `ContentBlock` a streamed block that the model has no place for adds up to: for
 * `toolResult` (a system tool's result, e.g. Nova's code interpreter) the start's fields plus
 * `content` = every delta's `toolResult` items in order — as in a non-streaming Converse
 * response; for any other kind `{[kind]: start}`, plus the raw `deltas` if some arrived.
 */
function contentBlockOf(blockType: string, start: JsonObject, deltas: JsonObject[]): JsonObject {
  const value = start[blockType];
  const items = deltas.map((delta) =>
    Object.keys(delta).length === 1 && Array.isArray(delta.toolResult) ? delta.toolResult : null
  );
  if (blockType === "toolResult" && isObject(value) && items.every((i) => i !== null)) {
    return { toolResult: { ...value, content: items.flat() } };
  }
  return deltas.length > 0 ? { [blockType]: value, deltas } : { [blockType]: value };
}

/** The inverse of {@linkcode contentBlockOf}: the start and deltas that stream a block. */
function streamedBlockOf(
  blockType: string,
  content: unknown,
): { start: JsonObject; deltas: JsonObject[] } | undefined {
  if (!isObject(content) || !Object.hasOwn(content, blockType)) return undefined;
  const value = content[blockType];
  if (blockType === "toolResult" && isObject(value) && Array.isArray(value.content)) {
    const { content: items, ...start } = value;
    return {
      start: { toolResult: start },
      deltas: items.length > 0 ? [{ toolResult: items }] : [],
    };
  }
  const deltas = Array.isArray(content.deltas) && content.deltas.every(isObject)
    ? content.deltas
    : [];
  return { start: { [blockType]: value }, deltas };
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The synchronous core of {@linkcode BedrockConverseDecoderStream}: feed it EventStream
 * messages, get {@linkcode LlmEvent}s.
 *
 * - `messageStart` → `message_start` (with the id and model from the options).
 * - `contentBlockStart` with `toolUse` → `tool_call_start` (`serverSide` when its `type` is
 *   `server_tool_use`, e.g. Nova's code interpreter). Any other start kind (`toolResult` of a
 *   system tool, `image`, …) opens a block that is collected and emitted whole as a
 *   `provider_block` when it stops: `blockType` is the start kind and `content` the Converse
 *   `ContentBlock` it adds up to — `{toolResult: {toolUseId, status, type, content: [the
 *   deltas' items]}}`, as a non-streaming Converse response has it; for other kinds
 *   `{[kind]: start}` plus the raw `deltas` when some arrived.
 * - `contentBlockDelta`: `text` → `text_delta` (also empty ones; the first opens the block),
 *   `toolUse.input` → `tool_call_delta`, `reasoningContent` → `reasoning_delta` (`text`,
 *   `signature`, or `redactedContent` → kind `redacted` with `data` = the decoded bytes as a
 *   binary string: for Claude that is exactly Anthropic's `redacted_thinking.data`),
 *   `citation` → `citation` (title; url from `location.web.url`, else an http(s) `source`;
 *   citedText = `sourceContent[].text` joined). Unknown delta kinds are skipped.
 * - `contentBlockStop` → `block_stop` (blocks still open at `messageStop` are closed first).
 * - `messageStop` → `message_stop` (`additionalModelResponseFields.stop_sequence` →
 *   `stopSequence`); `metadata` → `usage` (cache reads and writes added to `inputTokens`) with
 *   `latencyMs`.
 * - `exception` frames (`:exception-type`) and `error` frames (`:error-code`,
 *   `:error-message`) → `error` with the status of the exception type (see
 *   {@linkcode decodeBedrockError}).
 * - Unknown event types are skipped; the `p` padding field is ignored. A frame without
 *   `:message-type`, a payload that is not a JSON object, a malformed known event, content after
 *   `messageStop`, or an end before `messageStop` → `error` of kind `protocol_error` (502).
 *   Nothing follows an `error`.
 *
 * @example
 * ```ts
 * import { BedrockConverseDecoder, type EventStreamMessage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const event = (type: string, body: unknown): EventStreamMessage => ({
 *   headers: {
 *     ":event-type": { type: "string", value: type },
 *     ":message-type": { type: "string", value: "event" },
 *   },
 *   payload: new TextEncoder().encode(JSON.stringify(body)),
 * });
 * const decoder = new BedrockConverseDecoder({ id: "msg_1", model: "amazon.nova-micro-v1:0" });
 * const events = [
 *   event("messageStart", { role: "assistant", p: "abc" }),
 *   event("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hi" } }),
 *   event("contentBlockStop", { contentBlockIndex: 0 }),
 *   event("messageStop", { stopReason: "end_turn" }),
 *   event("metadata", { usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 } }),
 * ].flatMap((message) => decoder.push(message));
 * events.push(...decoder.end());
 * assert.deepEqual(events.map((e) => e.type), [
 *   "message_start",
 *   "text_delta",
 *   "block_stop",
 *   "message_stop",
 *   "usage",
 * ]);
 * assert.deepEqual(events[1], { type: "text_delta", index: 0, text: "Hi" });
 * ```
 */
export class BedrockConverseDecoder {
  readonly #id: string;
  readonly #model: string;
  #started = false;
  #stopped = false;
  #done = false;
  readonly #open = new Map<number, OpenBlock>();

  /**
   * Creates a decoder.
   *
   * @param options id and model for `message_start`
   */
  constructor(options: BedrockConverseDecoderOptions = {}) {
    this.#id = options.id ?? generatedMessageId();
    this.#model = options.model ?? "";
  }

  /**
   * Decodes the next message.
   *
   * @param message one EventStream message of a `ConverseStream` response
   * @returns the events it yields (none after an `error`)
   */
  push(message: EventStreamMessage): LlmEvent[] {
    if (this.#done) return [];
    const out: LlmEvent[] = [];
    this.#decode(message, out);
    return out;
  }

  /**
   * Ends the stream.
   *
   * @returns a `protocol_error` when the stream ended before `messageStop` without an error;
   *   otherwise nothing
   */
  end(): LlmEvent[] {
    if (this.#done) return [];
    this.#done = true;
    return this.#stopped ? [] : [streamError("the stream ended before messageStop")];
  }

  #fail(out: LlmEvent[], error: LlmErrorEvent): void {
    out.push(error);
    this.#done = true;
  }

  #decode(message: EventStreamMessage, out: LlmEvent[]): void {
    const headers = message.headers;
    const messageType = headerString(headers[":message-type"]);
    if (messageType === undefined) {
      return this.#fail(out, streamError("a message without a :message-type string header"));
    }
    if (messageType === "error") {
      const code = headerString(headers[":error-code"]) ?? "UnknownError";
      return this.#fail(
        out,
        decodeBedrockError(code, headerString(headers[":error-message"]) ?? code),
      );
    }
    let text: string;
    try {
      text = textDecoder.decode(message.payload);
    } catch {
      return this.#fail(out, streamError(`a ${messageType} payload that is not UTF-8`));
    }
    if (messageType === "exception") {
      const type = headerString(headers[":exception-type"]);
      if (type === undefined) {
        return this.#fail(out, streamError("an exception without an :exception-type header"));
      }
      return this.#fail(out, decodeBedrockError(type, exceptionMessage(text, type)));
    }
    if (messageType !== "event") {
      return this.#fail(out, streamError(`an unknown :message-type "${messageType}"`));
    }
    const eventType = headerString(headers[":event-type"]);
    if (eventType === undefined) {
      return this.#fail(out, streamError("an event without an :event-type string header"));
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.#fail(out, streamError(`a ${eventType} payload that is not JSON`));
    }
    if (!isObject(body)) {
      return this.#fail(out, streamError(`a ${eventType} payload that is not a JSON object`));
    }
    switch (eventType) {
      case "messageStart":
        if (!this.#started) this.#start(out);
        return;
      case "contentBlockStart":
      case "contentBlockDelta":
      case "contentBlockStop": {
        const index = body.contentBlockIndex;
        if (typeof index !== "number" || !Number.isInteger(index) || index < 0) {
          return this.#fail(out, streamError(`a ${eventType} without a valid contentBlockIndex`));
        }
        if (this.#stopped) {
          return this.#fail(out, streamError(`a ${eventType} after messageStop`));
        }
        if (!this.#started) this.#start(out);
        if (eventType === "contentBlockStart") return this.#blockStart(index, body.start, out);
        if (eventType === "contentBlockDelta") return this.#blockDelta(index, body.delta, out);
        return this.#blockStop(index, out);
      }
      case "messageStop":
        return this.#messageStop(body, out);
      case "metadata":
        return this.#metadata(body, out);
    }
    // Unknown event types are new API features: skipped, as the AWS SDKs do.
  }

  #start(out: LlmEvent[]): void {
    this.#started = true;
    out.push({ type: "message_start", id: this.#id, model: this.#model, role: "assistant" });
  }

  #blockStart(index: number, start: unknown, out: LlmEvent[]): void {
    if (!isObject(start)) {
      return this.#fail(out, streamError(`contentBlockStart ${index} without a start object`));
    }
    if (this.#open.has(index)) {
      return this.#fail(out, streamError(`contentBlockStart ${index} for an open block`));
    }
    const toolUse = start.toolUse;
    if (toolUse !== undefined) {
      if (
        !isObject(toolUse) || typeof toolUse.toolUseId !== "string" ||
        typeof toolUse.name !== "string"
      ) {
        return this.#fail(out, streamError(`contentBlockStart ${index}: a malformed toolUse`));
      }
      this.#open.set(index, { kind: "tool" });
      out.push({
        type: "tool_call_start",
        index,
        id: toolUse.toolUseId,
        name: toolUse.name,
        ...(toolUse.type === "server_tool_use" ? { serverSide: true } : {}),
      });
      return;
    }
    const blockType = Object.keys(start)[0] ?? "unknown";
    this.#open.set(index, { kind: "provider", blockType, start, deltas: [] });
  }

  #blockDelta(index: number, delta: unknown, out: LlmEvent[]): void {
    if (!isObject(delta)) {
      return this.#fail(out, streamError(`contentBlockDelta ${index} without a delta object`));
    }
    const open = this.#open.get(index);
    if (open?.kind === "provider") {
      open.deltas.push(delta);
      return;
    }
    const opened = open ?? { kind: "content" };
    const before = out.length;
    if (typeof delta.text === "string") {
      out.push({ type: "text_delta", index, text: delta.text });
    }
    if (delta.toolUse !== undefined) {
      if (!isObject(delta.toolUse) || typeof delta.toolUse.input !== "string") {
        return this.#fail(out, streamError(`contentBlockDelta ${index}: a malformed toolUse`));
      }
      if (opened.kind !== "tool") {
        return this.#fail(
          out,
          streamError(`a toolUse delta for block ${index}, which no toolUse start opened`),
        );
      }
      out.push({ type: "tool_call_delta", index, arguments: delta.toolUse.input });
    }
    const reasoning = delta.reasoningContent;
    if (isObject(reasoning)) {
      if (typeof reasoning.text === "string") {
        out.push({ type: "reasoning_delta", index, kind: "text", text: reasoning.text });
      }
      if (typeof reasoning.signature === "string") {
        out.push({
          type: "reasoning_delta",
          index,
          kind: "signature",
          signature: reasoning.signature,
        });
      }
      if (typeof reasoning.redactedContent === "string") {
        let data: string;
        try {
          data = atob(reasoning.redactedContent);
        } catch {
          return this.#fail(
            out,
            streamError(`contentBlockDelta ${index}: redactedContent is not base64`),
          );
        }
        out.push({ type: "reasoning_delta", index, kind: "redacted", data });
      }
    }
    if (isObject(delta.citation)) {
      out.push({ type: "citation", index, citation: citationFromBedrock(delta.citation) });
    }
    // A delta of a kind the model has no place for (Bedrock starts such blocks explicitly)
    // yields nothing and opens nothing: skipped like an unknown event.
    if (out.length > before && open === undefined) this.#open.set(index, opened);
  }

  #blockStop(index: number, out: LlmEvent[]): void {
    const open = this.#open.get(index);
    if (open === undefined) return; // a block that carried nothing: nothing to close
    this.#close(index, open, out);
  }

  #close(index: number, open: OpenBlock, out: LlmEvent[]): void {
    this.#open.delete(index);
    if (open.kind === "provider") {
      out.push({
        type: "provider_block",
        index,
        protocol: "bedrock",
        blockType: open.blockType,
        content: contentBlockOf(open.blockType, open.start, open.deltas),
      });
    }
    out.push({ type: "block_stop", index });
  }

  #messageStop(body: JsonObject, out: LlmEvent[]): void {
    if (this.#stopped) return this.#fail(out, streamError("a second messageStop"));
    if (body.stopReason !== undefined && typeof body.stopReason !== "string") {
      return this.#fail(out, streamError("a messageStop whose stopReason is not a string"));
    }
    if (!this.#started) this.#start(out);
    for (const index of [...this.#open.keys()].sort((a, b) => a - b)) {
      this.#close(index, this.#open.get(index)!, out);
    }
    this.#stopped = true;
    const raw = body.stopReason ?? null;
    const fields = body.additionalModelResponseFields;
    const stopSequence = isObject(fields) && typeof fields.stop_sequence === "string"
      ? fields.stop_sequence
      : undefined;
    out.push({
      type: "message_stop",
      stopReason: parseBedrockConverseStopReason(raw),
      rawStopReason: raw,
      ...(stopSequence !== undefined ? { stopSequence } : {}),
    });
  }

  #metadata(body: JsonObject, out: LlmEvent[]): void {
    const usage = readBedrockUsage(body.usage, "usage", "lenient");
    if (usage === undefined) return; // a metadata event with only a trace: nothing to report
    if (!this.#started) this.#start(out);
    const latency = isObject(body.metrics) ? body.metrics.latencyMs : undefined;
    out.push({
      type: "usage",
      usage,
      ...(typeof latency === "number" ? { latencyMs: latency } : {}),
    });
  }
}

/** The message of an exception payload: `{"message": …}` (or `Message`), else the text. */
function exceptionMessage(text: string, type: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body)) {
      if (typeof body.message === "string") return body.message;
      if (typeof body.Message === "string") return body.Message;
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return text.length > 0 ? text : type;
}

/**
 * Decodes Bedrock `ConverseStream` messages into {@linkcode LlmEvent}s; see
 * {@linkcode BedrockConverseDecoder} for the mapping. Framing errors from upstream (a corrupt or
 * truncated EventStream) propagate as stream errors; bad Bedrock data becomes an `error` event.
 *
 * @example Decode a response body
 * ```ts
 * import {
 *   BedrockConverseDecoderStream,
 *   EventStreamDecoderStream,
 *   encodeEventStreamMessage,
 *   type LlmEvent,
 * } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const frame = (type: string, body: unknown) =>
 *   encodeEventStreamMessage({
 *     headers: {
 *       ":event-type": { type: "string", value: type },
 *       ":content-type": { type: "string", value: "application/json" },
 *       ":message-type": { type: "string", value: "event" },
 *     },
 *     payload: new TextEncoder().encode(JSON.stringify(body)),
 *   });
 * const body = ReadableStream.from([
 *   frame("messageStart", { role: "assistant" }),
 *   frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hello" } }),
 *   frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "." } }),
 *   frame("contentBlockStop", { contentBlockIndex: 0 }),
 *   frame("messageStop", { stopReason: "end_turn" }),
 *   frame("metadata", {
 *     usage: { inputTokens: 13, outputTokens: 5, totalTokens: 18 },
 *     metrics: { latencyMs: 255 },
 *   }),
 * ]);
 * const events: LlmEvent[] = await Array.fromAsync(
 *   body
 *     .pipeThrough(new EventStreamDecoderStream())
 *     .pipeThrough(new BedrockConverseDecoderStream({ id: "msg_1", model: "nova" })),
 * );
 * const text = events.map((e) => e.type === "text_delta" ? e.text : "").join("");
 * assert.equal(text, "Hello.");
 * assert.deepEqual(events.at(-2), {
 *   type: "message_stop",
 *   stopReason: "end_turn",
 *   rawStopReason: "end_turn",
 * });
 * const usage = events.at(-1);
 * assert.equal(usage?.type === "usage" && usage.usage.totalTokens, 18);
 * ```
 */
export class BedrockConverseDecoderStream extends TransformStream<EventStreamMessage, LlmEvent> {
  /**
   * Creates a decoder stream.
   *
   * @param options id and model for `message_start`
   */
  constructor(options: BedrockConverseDecoderOptions = {}) {
    const decoder = new BedrockConverseDecoder(options);
    super(pushTransformer(decoder));
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const textEncoder = new TextEncoder();

function eventMessage(eventType: string, body: JsonObject): EventStreamMessage {
  return {
    headers: {
      ":event-type": { type: "string", value: eventType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    payload: textEncoder.encode(JSON.stringify(body)),
  };
}

function exceptionFrame(exceptionType: string, message: string): EventStreamMessage {
  return {
    headers: {
      ":exception-type": { type: "string", value: exceptionType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    payload: textEncoder.encode(JSON.stringify({ message })),
  };
}

/**
 * `redacted` reasoning data → base64 for `redactedContent`: a binary string (every char ≤ U+00FF,
 * as the decoder produces and as Anthropic's ASCII data is) is taken byte for byte; any other
 * string is encoded as UTF-8 first.
 */
function redactedToBase64(data: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\u0000-\u00ff]*$/.test(data)) return btoa(data);
  return btoa(bytesToBinary(textEncoder.encode(data)));
}

const BEDROCK_CITATION_KEYS = new Set(["title", "source", "sourceContent", "location"]);

/** A Bedrock `CitationsDelta` for a citation: its raw object when it is one, else built. */
function citationToBedrock(citation: Citation): JsonObject {
  const raw = citation.raw;
  if (
    isObject(raw) && Object.keys(raw).length > 0 &&
    Object.keys(raw).every((key) => BEDROCK_CITATION_KEYS.has(key))
  ) {
    return raw;
  }
  const out: JsonObject = {};
  if (citation.title !== undefined) out.title = citation.title;
  if (citation.url !== undefined) out.source = citation.url;
  if (citation.citedText !== undefined) out.sourceContent = [{ text: citation.citedText }];
  if (citation.url !== undefined) out.location = { web: { url: citation.url } };
  return out;
}

/**
 * The synchronous core of {@linkcode BedrockConverseEncoderStream}: feed it
 * {@linkcode LlmEvent}s, get `ConverseStream` EventStream messages (without the `p` padding).
 *
 * - `message_start` → `messageStart` (synthesized before the first content if missing).
 * - Blocks are written one after the other, as Bedrock does: when an event for another block
 *   arrives while one is open, the open one gets its `contentBlockStop` first (its later
 *   `block_stop` is then ignored). Block indices are renumbered 0, 1, 2… in order of first
 *   appearance, so blocks that are skipped leave no gaps.
 * - `text_delta`, `tool_call_delta`, `reasoning_delta` (redacted `data` → base64
 *   `redactedContent`), `citation` → `contentBlockDelta`; `tool_call_start` →
 *   `contentBlockStart` with `toolUse` (`type: "server_tool_use"` when `serverSide`);
 *   `block_stop` → `contentBlockStop`.
 * - `provider_block` from Bedrock (`content` a Converse `ContentBlock`, as the decoder writes
 *   it) → its `contentBlockStart` and `contentBlockDelta`s again (a `toolResult`'s items in one
 *   delta); from other protocols it is skipped, with its `block_stop`.
 * - `message_stop` → `contentBlockStop` for open blocks, then `messageStop` (see
 *   {@linkcode toBedrockConverseStopReason}; `stopSequence` → `additionalModelResponseFields`).
 * - `usage` events are held (the last wins); at the end of the input, after `messageStop`, the
 *   one `metadata` event is written: Bedrock's `inputTokens` excludes cache reads and writes,
 *   `totalTokens` is input + output including them, cache counts only when non-zero, and
 *   `metrics.latencyMs` when known. Without any `usage` event the counts are 0.
 * - `error` → an `exception` frame (see {@linkcode encodeBedrockError}) with
 *   `{"message": …}`; nothing is written after it. An input that ends before `message_stop`
 *   (and without an error) ends with an `internalServerException` frame, never a clean end.
 *
 * @example
 * ```ts
 * import { BedrockConverseEncoder, createUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const encoder = new BedrockConverseEncoder();
 * const messages = [
 *   encoder.push({ type: "message_start", id: "msg_1", model: "m", role: "assistant" }),
 *   encoder.push({ type: "text_delta", index: 0, text: "Hi" }),
 *   encoder.push({ type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" }),
 *   encoder.push({ type: "usage", usage: createUsage({ inputTokens: 3, outputTokens: 1 }) }),
 *   encoder.end(),
 * ].flat();
 * assert.deepEqual(messages.map((m) => m.headers[":event-type"]?.value), [
 *   "messageStart",
 *   "contentBlockDelta",
 *   "contentBlockStop",
 *   "messageStop",
 *   "metadata",
 * ]);
 * assert.deepEqual(JSON.parse(new TextDecoder().decode(messages[4]!.payload)), {
 *   usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
 * });
 * ```
 */
export class BedrockConverseEncoder {
  #started = false;
  #stopped = false;
  #done = false;
  /** Input block index → output block index. */
  readonly #indices = new Map<number, number>();
  /** Input indices of blocks that are not written (other protocols' provider blocks). */
  readonly #skipped = new Set<number>();
  /** Input index of the block open in the output, if any. */
  #open: number | undefined;
  #usage: Usage | undefined;
  #latencyMs: number | undefined;

  /**
   * Encodes the next event.
   *
   * @param event the next event of the stream
   * @returns the messages to write now (none after an `error`)
   */
  push(event: LlmEvent): EventStreamMessage[] {
    if (this.#done) return [];
    const out: EventStreamMessage[] = [];
    switch (event.type) {
      case "message_start":
        this.#start(out);
        break;
      case "text_delta":
        this.#delta(event.index, { text: event.text }, out);
        break;
      case "citation":
        this.#delta(event.index, { citation: citationToBedrock(event.citation) }, out);
        break;
      case "reasoning_delta": {
        const reasoningContent = event.kind === "text"
          ? { text: event.text }
          : event.kind === "signature"
          ? { signature: event.signature }
          : { redactedContent: redactedToBase64(event.data) };
        this.#delta(event.index, { reasoningContent }, out);
        break;
      }
      case "tool_call_start": {
        const toolUse: JsonObject = { toolUseId: event.id, name: event.name };
        if (event.serverSide) toolUse.type = "server_tool_use";
        this.#blockStart(event.index, { toolUse }, out);
        break;
      }
      case "tool_call_delta":
        this.#delta(event.index, { toolUse: { input: event.arguments } }, out);
        break;
      case "provider_block":
        this.#providerBlock(event.index, event.protocol, event.blockType, event.content, out);
        break;
      case "block_stop":
        if (this.#open === event.index) this.#closeOpen(out);
        break;
      case "message_stop": {
        if (this.#stopped) break;
        this.#start(out);
        this.#closeOpen(out);
        this.#stopped = true;
        const body: JsonObject = {
          stopReason: toBedrockConverseStopReason(event.stopReason, event.rawStopReason),
        };
        if (event.stopSequence !== undefined) {
          body.additionalModelResponseFields = { stop_sequence: event.stopSequence };
        }
        out.push(eventMessage("messageStop", body));
        break;
      }
      case "usage":
        this.#usage = event.usage;
        if (event.latencyMs !== undefined) this.#latencyMs = event.latencyMs;
        break;
      case "error":
        this.#done = true;
        out.push(exceptionFrame(bedrockExceptionType(event), event.message));
        break;
    }
    return out;
  }

  /**
   * Ends the input.
   *
   * @returns the `metadata` event when `message_stop` and usage were seen (and no error), an
   * `internalServerException` frame when the input ended before `message_stop`; else nothing
   */
  end(): EventStreamMessage[] {
    if (this.#done) return [];
    this.#done = true;
    if (!this.#stopped) {
      // The source ended mid-message: say so, in Bedrock's terms, rather than end cleanly.
      return [
        exceptionFrame(
          "internalServerException",
          "the response stream ended before the message was complete",
        ),
      ];
    }
    // No usage reported means unknown, not zero: write no metadata rather than invent counts.
    if (this.#usage === undefined) return [];
    const body: JsonObject = { usage: toBedrockConverseUsage(this.#usage) };
    if (this.#latencyMs !== undefined) body.metrics = { latencyMs: this.#latencyMs };
    return [eventMessage("metadata", body)];
  }

  #start(out: EventStreamMessage[]): void {
    if (this.#started) return;
    this.#started = true;
    out.push(eventMessage("messageStart", { role: "assistant" }));
  }

  /** The output index for input block `index`, assigned on first sight. */
  #indexOf(index: number): number {
    let mapped = this.#indices.get(index);
    if (mapped === undefined) {
      mapped = this.#indices.size;
      this.#indices.set(index, mapped);
    }
    return mapped;
  }

  /** Makes input block `index` the open one (closing another), unless it was seen before. */
  #enter(index: number, out: EventStreamMessage[]): boolean {
    this.#start(out);
    if (this.#open === index) return false;
    const isNew = !this.#indices.has(index);
    if (isNew) {
      this.#closeOpen(out);
      this.#open = index;
    }
    return isNew;
  }

  #closeOpen(out: EventStreamMessage[]): void {
    if (this.#open === undefined) return;
    out.push(eventMessage("contentBlockStop", { contentBlockIndex: this.#indexOf(this.#open) }));
    this.#open = undefined;
  }

  #blockStart(index: number, start: JsonObject, out: EventStreamMessage[]): void {
    if (this.#stopped || this.#skipped.has(index)) return;
    if (!this.#enter(index, out)) return; // a second start for one block: not Bedrock-shaped
    out.push(
      eventMessage("contentBlockStart", { contentBlockIndex: this.#indexOf(index), start }),
    );
  }

  #delta(index: number, delta: JsonObject, out: EventStreamMessage[]): void {
    if (this.#stopped || this.#skipped.has(index)) return;
    // A delta for a block closed earlier (interleaved input) is still written with its index.
    this.#enter(index, out);
    out.push(
      eventMessage("contentBlockDelta", { contentBlockIndex: this.#indexOf(index), delta }),
    );
  }

  #providerBlock(
    index: number,
    protocol: string,
    blockType: string,
    content: unknown,
    out: EventStreamMessage[],
  ): void {
    if (this.#stopped) return;
    const streamed = protocol === "bedrock" ? streamedBlockOf(blockType, content) : undefined;
    if (streamed === undefined || this.#indices.has(index)) {
      if (!this.#indices.has(index)) this.#skipped.add(index);
      return;
    }
    const { start, deltas } = streamed;
    this.#blockStart(index, start, out);
    for (const delta of deltas) this.#delta(index, delta, out);
  }
}

/**
 * Encodes {@linkcode LlmEvent}s as Bedrock `ConverseStream` EventStream messages, which the AWS
 * SDKs' `ConverseStreamCommand` accepts; pipe them through {@linkcode EventStreamEncoderStream}
 * and serve as `application/vnd.amazon.eventstream`. See {@linkcode BedrockConverseEncoder} for
 * the mapping.
 *
 * @example Re-speak any provider's events as Bedrock
 * ```ts
 * import {
 *   BedrockConverseDecoderStream,
 *   BedrockConverseEncoderStream,
 *   createUsage,
 *   EventStreamDecoderStream,
 *   EventStreamEncoderStream,
 *   type LlmEvent,
 * } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const events: LlmEvent[] = [
 *   { type: "message_start", id: "msg_1", model: "gpt", role: "assistant" },
 *   { type: "tool_call_start", index: 0, id: "call_1", name: "get_weather" },
 *   { type: "tool_call_delta", index: 0, arguments: '{"city":' },
 *   { type: "tool_call_delta", index: 0, arguments: '"Lisbon"}' },
 *   { type: "block_stop", index: 0 },
 *   { type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_calls" },
 *   { type: "usage", usage: createUsage({ inputTokens: 82, outputTokens: 17 }) },
 * ];
 * const body = ReadableStream.from(events)
 *   .pipeThrough(new BedrockConverseEncoderStream())
 *   .pipeThrough(new EventStreamEncoderStream());
 *
 * const decoded = await Array.fromAsync(
 *   body
 *     .pipeThrough(new EventStreamDecoderStream())
 *     .pipeThrough(new BedrockConverseDecoderStream({ id: "msg_1", model: "gpt" })),
 * );
 * assert.deepEqual(decoded.at(-2), {
 *   type: "message_stop",
 *   stopReason: "tool_use",
 *   rawStopReason: "tool_use",
 * });
 * const args = decoded.map((e) => e.type === "tool_call_delta" ? e.arguments : "").join("");
 * assert.equal(args, '{"city":"Lisbon"}');
 * ```
 */
export class BedrockConverseEncoderStream extends TransformStream<LlmEvent, EventStreamMessage> {
  /** Creates an encoder stream. */
  constructor() {
    const encoder = new BedrockConverseEncoder();
    super(pushTransformer(encoder));
  }
}
