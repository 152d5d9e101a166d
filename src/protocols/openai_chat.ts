/**
 * OpenAI Chat Completions streaming (`POST /v1/chat/completions` with `stream: true`): the
 * `chat.completion.chunk` objects of a `text/event-stream` body ⇄ {@linkcode LlmEvent}s.
 *
 * - {@linkcode OpenAIChatDecoder} / {@linkcode OpenAIChatDecoderStream}: SSE events (from
 *   `SseDecoderStream`) → `LlmEvent`s. OpenAI-compatible dialects are understood too: DeepSeek's
 *   `reasoning_content`, OpenRouter's `reasoning` / `reasoning_details`, a repeated
 *   `finish_reason`, `usage: null` chunks, empty `data:` frames, Azure's leading
 *   `prompt_filter_results` chunk, numeric error codes.
 * - {@linkcode OpenAIChatEncoder} / {@linkcode OpenAIChatEncoderStream}: `LlmEvent`s → SSE events
 *   that the official SDKs read (feed them to `SseEncoderStream`).
 * - The error conversions both directions, also for non-streaming error bodies:
 *   {@linkcode parseOpenAIChatError}, {@linkcode toOpenAIChatError}.
 * - The one finish-reason table, {@linkcode OPENAI_CHAT_FINISH_REASONS}, and the finish-reason and
 *   usage conversions, which the body converters (`openai_chat_bodies.ts`) use too:
 *   {@linkcode parseOpenAIChatFinishReason}, {@linkcode toOpenAIChatFinishReason},
 *   {@linkcode parseOpenAIChatUsage}, {@linkcode toOpenAIChatUsage}.
 *
 * Block indices: OpenAI has no content blocks, so the decoder numbers them in order of first
 * appearance (reasoning, text, each tool call). A text or reasoning block is closed as soon as a
 * block of another kind starts (a later fragment opens a new block); tool-call blocks stay open
 * until `finish_reason`, because some providers interleave the fragments of several calls. Only
 * choice 0 is read (`n > 1` is not supported).
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
import { at, optionalCount, optionalObject, type Strictness } from "./_body_fields.ts";
import {
  excerpt,
  generatedId,
  generatedMessageId,
  isObject,
  type JsonObject,
  lookup,
  nonEmpty,
  protocolError,
} from "./_json.ts";
import { pushTransformer } from "./_push_transformer.ts";

// ---------------------------------------------------------------------------------------------
// The one place for OpenAI's finish reasons, error types and usage, both directions.

/** Chat Completions finish reasons. */
export type OpenAIChatFinishReason =
  | "stop"
  | "length"
  | "tool_calls"
  | "content_filter"
  | "function_call";

/**
 * OpenAI finish reason → normalized stop reason; the one finish-reason table of Chat
 * Completions, read by {@linkcode parseOpenAIChatFinishReason} and written back by
 * {@linkcode toOpenAIChatFinishReason} (streams and bodies alike). `stop` covers both a natural
 * end and a matched stop sequence (OpenAI does not tell them apart), so it reads as `end_turn`.
 * `error` is not OpenAI's own: OpenRouter reports a failed generation with it (it is read, never
 * written). Writing: `stop_sequence`, `error` and `other` → `stop`, `context_window_exceeded` →
 * `length`, `guardrail` → `content_filter`.
 *
 * @example
 * ```ts
 * import { OPENAI_CHAT_FINISH_REASONS } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(OPENAI_CHAT_FINISH_REASONS.tool_calls, "tool_use");
 * assert.equal(OPENAI_CHAT_FINISH_REASONS.stop, "end_turn");
 * ```
 */
export const OPENAI_CHAT_FINISH_REASONS: Readonly<
  Record<OpenAIChatFinishReason | "error", StopReason>
> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "content_filter",
  error: "error",
};

/** Normalized stop reason → the OpenAI finish reason written for it (see the table above). */
const TO_OPENAI_FINISH_REASON: Readonly<Record<StopReason, OpenAIChatFinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  context_window_exceeded: "length",
  tool_use: "tool_calls",
  content_filter: "content_filter",
  guardrail: "content_filter",
  error: "stop",
  other: "stop",
};

/**
 * The normalized stop reason of an OpenAI `finish_reason` (see
 * {@linkcode OPENAI_CHAT_FINISH_REASONS}; `other` for null or unknown values).
 *
 * @param raw the provider's finish reason
 * @returns the normalized stop reason
 *
 * @example
 * ```ts
 * import { parseOpenAIChatFinishReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseOpenAIChatFinishReason("tool_calls"), "tool_use");
 * assert.equal(parseOpenAIChatFinishReason("length"), "max_tokens");
 * assert.equal(parseOpenAIChatFinishReason("error"), "error"); // OpenRouter's
 * assert.equal(parseOpenAIChatFinishReason(null), "other");
 * ```
 */
export function parseOpenAIChatFinishReason(raw: string | null | undefined): StopReason {
  return lookup(OPENAI_CHAT_FINISH_REASONS, raw) ?? "other";
}

/**
 * The OpenAI `finish_reason` for a normalized stop reason. When `raw` is itself an OpenAI finish
 * reason with the same meaning (say `function_call`), it is kept.
 *
 * @param reason the normalized stop reason
 * @param raw the source's raw stop reason, if any
 * @returns the finish reason to write
 *
 * @example
 * ```ts
 * import { toOpenAIChatFinishReason } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toOpenAIChatFinishReason("tool_use"), "tool_calls");
 * assert.equal(toOpenAIChatFinishReason("stop_sequence"), "stop");
 * assert.equal(toOpenAIChatFinishReason("tool_use", "function_call"), "function_call");
 * ```
 */
export function toOpenAIChatFinishReason(
  reason: StopReason,
  raw?: string | null,
): OpenAIChatFinishReason {
  if (raw !== "error" && lookup(OPENAI_CHAT_FINISH_REASONS, raw) === reason) {
    return raw as OpenAIChatFinishReason;
  }
  return TO_OPENAI_FINISH_REASON[reason];
}

/**
 * OpenAI error `type`s and `code`s (and those of compatible providers) → HTTP status. The error
 * kind is then `errorKindFromStatus(status)`.
 */
const ERROR_STATUS: ReadonlyMap<string, number> = new Map([
  ["invalid_request_error", 400],
  ["context_length_exceeded", 400],
  ["invalid_api_key", 401],
  ["authentication_error", 401],
  ["permission_error", 403],
  ["permission_denied", 403],
  ["not_found_error", 404],
  ["model_not_found", 404],
  ["rate_limit_exceeded", 429],
  ["rate_limit_error", 429],
  ["insufficient_quota", 429],
  ["tokens", 429],
  ["requests", 429],
  ["server_error", 500],
  ["api_error", 500],
  ["internal_error", 500],
  ["upstream_error", 502],
  ["overloaded_error", 503],
  ["service_unavailable", 503],
  ["timeout_error", 504],
  ["model_error", 424],
]);

/** Error kind → the OpenAI error `type` the encoder writes (each is a key of `ERROR_STATUS`). */
const ERROR_TYPE_FROM_KIND: Readonly<Record<LlmErrorKind, string>> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  rate_limit: "rate_limit_error",
  overloaded: "overloaded_error",
  timeout: "timeout_error",
  model_error: "model_error",
  server_error: "server_error",
  protocol_error: "upstream_error",
  other: "api_error",
};

/** SSE event names and JSON `type`s of Anthropic Messages streams, to name a protocol mismatch. */
const ANTHROPIC_EVENT_TYPES: ReadonlySet<string> = new Set([
  "message_start",
  "message_delta",
  "message_stop",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "ping",
]);

// ---------------------------------------------------------------------------------------------
// Usage, both directions (also for response bodies).

/** Chat Completions usage. `prompt_tokens` includes cached tokens. */
export interface OpenAIChatUsage {
  /** All input tokens. */
  prompt_tokens: number;
  /** All output tokens. */
  completion_tokens: number;
  /** Their sum. */
  total_tokens: number;
  /** Input details. */
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number };
  /** Output details. */
  completion_tokens_details?: { reasoning_tokens?: number };
}

/**
 * The normalized usage of an OpenAI `usage` value (see {@linkcode parseOpenAIChatUsage}), or
 * `undefined` when there is none (`usage: null`; lenient: when it is not an object).
 */
function readOpenAIChatUsage(
  raw: unknown,
  field: string,
  strictness: Strictness,
): Usage | undefined {
  const usage = optionalObject(raw, field, strictness);
  if (usage === undefined) return undefined;
  const count = (value: unknown, path: string) => optionalCount(value, path, strictness);
  const promptPath = at(field, "prompt_tokens_details");
  const completionPath = at(field, "completion_tokens_details");
  const prompt = optionalObject(usage.prompt_tokens_details, promptPath, strictness) ?? {};
  const completion = optionalObject(usage.completion_tokens_details, completionPath, strictness) ??
    {};
  const inputTokens = count(usage.prompt_tokens, at(field, "prompt_tokens")) ?? 0;
  const total = count(usage.total_tokens, at(field, "total_tokens"));
  return createUsage({
    inputTokens,
    outputTokens: count(usage.completion_tokens, at(field, "completion_tokens")) ??
      (total !== undefined ? Math.max(0, total - inputTokens) : 0),
    cacheReadTokens: count(prompt.cached_tokens, at(promptPath, "cached_tokens")) ??
      count(usage.prompt_cache_hit_tokens, at(field, "prompt_cache_hit_tokens")) ?? 0,
    cacheWriteTokens: count(prompt.cache_write_tokens, at(promptPath, "cache_write_tokens")) ??
      count(prompt.cache_creation_input_tokens, at(promptPath, "cache_creation_input_tokens")) ??
      count(usage.cache_creation_input_tokens, at(field, "cache_creation_input_tokens")) ?? 0,
    reasoningTokens: count(completion.reasoning_tokens, at(completionPath, "reasoning_tokens")) ??
      0,
  });
}

/**
 * Normalizes an OpenAI `usage` object: `prompt_tokens` as is (it already counts cached tokens),
 * `completion_tokens` (else `total_tokens - prompt_tokens`), `cacheReadTokens` from
 * `prompt_tokens_details.cached_tokens` (DeepSeek: `prompt_cache_hit_tokens`),
 * `cacheWriteTokens` from `prompt_tokens_details.cache_write_tokens` (OpenRouter; or
 * `cache_creation_input_tokens`, in the details or beside them, as some compatible servers send
 * it), `reasoningTokens` from `completion_tokens_details.reasoning_tokens`. `null` or absent
 * usage (and absent counts) read as 0. The stream decoder reads chunk usage the same way, but
 * leniently: a count that is not a number reads as absent there.
 *
 * @param raw the `usage` value of a response or chunk
 * @param field its path, for errors
 * @returns the normalized usage
 * @throws {LlmConversionError} when the usage, its details or a count have the wrong type
 *
 * @example
 * ```ts
 * import { parseOpenAIChatUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const usage = parseOpenAIChatUsage({
 *   prompt_tokens: 30,
 *   completion_tokens: 15,
 *   total_tokens: 45,
 *   prompt_tokens_details: { cached_tokens: 10 },
 * });
 * assert.equal(usage.inputTokens, 30);
 * assert.equal(usage.cacheReadTokens, 10);
 * assert.equal(usage.totalTokens, 45);
 * // DeepSeek names its cache reads differently:
 * assert.equal(parseOpenAIChatUsage({ prompt_tokens: 9, prompt_cache_hit_tokens: 4 }).cacheReadTokens, 4);
 * ```
 */
export function parseOpenAIChatUsage(raw: unknown, field = "usage"): Usage {
  return readOpenAIChatUsage(raw, field, "strict") ?? createUsage({});
}

/**
 * Writes a normalized usage as OpenAI's (`prompt_tokens` = all input tokens; the cache and
 * reasoning details always present, `cache_write_tokens` only when non-zero: OpenAI has no
 * field for cache writes, this is OpenRouter's).
 *
 * @param usage the normalized usage
 * @returns the OpenAI `usage` object
 *
 * @example
 * ```ts
 * import { createUsage, toOpenAIChatUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const usage = toOpenAIChatUsage(
 *   createUsage({ inputTokens: 350, outputTokens: 30, cacheReadTokens: 200 }),
 * );
 * assert.equal(usage.prompt_tokens, 350);
 * assert.equal(usage.prompt_tokens_details?.cached_tokens, 200);
 * ```
 */
export function toOpenAIChatUsage(usage: Usage): OpenAIChatUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: {
      cached_tokens: usage.cacheReadTokens,
      ...(usage.cacheWriteTokens > 0 ? { cache_write_tokens: usage.cacheWriteTokens } : {}),
    },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

// ---------------------------------------------------------------------------------------------
// Errors, both directions (also for non-streaming error bodies).

/**
 * The body of an OpenAI error, as {@linkcode toOpenAIChatError} writes it (also inside a
 * stream).
 *
 * @example
 * ```ts
 * import { type OpenAIChatErrorBody, toOpenAIChatError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body: OpenAIChatErrorBody = toOpenAIChatError({
 *   type: "error",
 *   kind: "overloaded",
 *   message: "Overloaded",
 *   status: 529,
 * });
 * assert.deepEqual(body.error, {
 *   message: "Overloaded",
 *   type: "overloaded_error",
 *   param: null,
 *   code: null,
 * });
 * ```
 */
export interface OpenAIChatErrorBody {
  /** The error. */
  error: {
    /** What went wrong. */
    message: string;
    /** The OpenAI error type (`invalid_request_error`, `rate_limit_error`, `server_error`, …). */
    type: string;
    /** Always `null`: the encoder does not know which parameter was at fault. */
    param: null;
    /** The provider's own error type, when known. */
    code: string | null;
  };
}

/**
 * Converts the `error` member of an OpenAI error body (or of an error chunk inside a stream) to
 * an `error` event; never throws. The status comes from a numeric `code` (OpenRouter sends HTTP
 * statuses there), else from a known `code` or `type` (`rate_limit_exceeded` and
 * `insufficient_quota` → 429, `invalid_request_error` → 400, `server_error` → 500, …), else 500.
 * The kind follows from the status; `providerType` is the string `code`, else the `type`.
 *
 * @param error the `error` member (an object, or a bare message string)
 * @returns the `error` event
 *
 * @example
 * ```ts
 * import { parseOpenAIChatError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseOpenAIChatError({
 *     message: "Rate limit reached for gpt-4o",
 *     type: "tokens",
 *     param: null,
 *     code: "rate_limit_exceeded",
 *   }),
 *   {
 *     type: "error",
 *     kind: "rate_limit",
 *     message: "Rate limit reached for gpt-4o",
 *     status: 429,
 *     providerType: "rate_limit_exceeded",
 *   },
 * );
 * assert.equal(parseOpenAIChatError({ code: 503, message: "No instances" }).kind, "overloaded");
 * ```
 */
export function parseOpenAIChatError(error: unknown): LlmErrorEvent {
  if (!isObject(error)) {
    const message = typeof error === "string" && error !== "" ? error : "unknown OpenAI error";
    return { type: "error", kind: errorKindFromStatus(500), message, status: 500 };
  }
  const { code, type } = error;
  const status = httpStatus(code) ?? httpStatus(error.status) ??
    (typeof code === "string" ? ERROR_STATUS.get(code) : undefined) ??
    (typeof type === "string" ? ERROR_STATUS.get(type) : undefined) ?? 500;
  const message = typeof error.message === "string" && error.message !== ""
    ? error.message
    : `OpenAI error ${truncate(JSON.stringify(error))}`;
  const event: LlmErrorEvent = {
    type: "error",
    kind: errorKindFromStatus(status),
    message,
    status,
  };
  const providerType = typeof code === "string" && code !== ""
    ? code
    : typeof type === "string" && type !== ""
    ? type
    : undefined;
  if (providerType !== undefined) event.providerType = providerType;
  return event;
}

/**
 * Converts an `error` event to an OpenAI error body: `type` from the kind
 * (`rate_limit` → `rate_limit_error`, `invalid_request` → `invalid_request_error`,
 * `protocol_error` → `upstream_error`, …), `code` = the provider's own error type. Serve it with
 * the event's `status` when the response has not started yet.
 *
 * @param event the `error` event
 * @returns the OpenAI error body
 *
 * @example
 * ```ts
 * import { toOpenAIChatError } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   toOpenAIChatError({
 *     type: "error",
 *     kind: "rate_limit",
 *     message: "Too many tokens",
 *     status: 429,
 *     providerType: "throttlingException",
 *   }),
 *   {
 *     error: {
 *       message: "Too many tokens",
 *       type: "rate_limit_error",
 *       param: null,
 *       code: "throttlingException",
 *     },
 *   },
 * );
 * ```
 */
export function toOpenAIChatError(event: LlmErrorEvent): OpenAIChatErrorBody {
  return {
    error: {
      message: event.message,
      type: ERROR_TYPE_FROM_KIND[event.kind] ?? "api_error",
      param: null,
      code: event.providerType ?? null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Decoder

/**
 * Options of {@linkcode OpenAIChatDecoder} and {@linkcode OpenAIChatDecoderStream}.
 *
 * @example
 * ```ts
 * import { OpenAIChatDecoder, type OpenAIChatDecoderOptions } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const options: OpenAIChatDecoderOptions = { id: "req-1", model: "gpt-4o" };
 * const decoder = new OpenAIChatDecoder(options);
 * // This chunk carries neither id nor model: the options fill them in.
 * const events = decoder.push({ data: '{"choices":[{"index":0,"delta":{"content":"Hi"}}]}' });
 * assert.deepEqual(events[0], {
 *   type: "message_start",
 *   id: "req-1",
 *   model: "gpt-4o",
 *   role: "assistant",
 * });
 * ```
 */
export interface OpenAIChatDecoderOptions {
  /** Message id to use when the chunks carry none (default: a generated `msg_…`). */
  id?: string;
  /** Model to use when the chunks carry none (default `""`). */
  model?: string;
}

interface ToolCallState {
  block: number;
  id: string;
}

/**
 * The synchronous core of {@linkcode OpenAIChatDecoderStream}: push each SSE event of an OpenAI
 * Chat Completions stream, get back the {@linkcode LlmEvent}s it completes; call `end()` when the
 * stream ends.
 *
 * - The first chunk with a choice or usage gives `message_start` (its `id` and `model`, else the
 *   options'). Empty `data:` frames and chunks with no choice are skipped; `[DONE]` ends the
 *   stream (anything after it is ignored).
 * - `content` and `refusal` deltas are text (a refusal is text the model produced; there is no
 *   separate refusal event), `reasoning_content` / `reasoning` deltas are reasoning text,
 *   `tool_calls` fragments become `tool_call_start` (the first fragment of an index, which
 *   carries id and name) and `tool_call_delta` (argument fragments), `annotations` become
 *   `citation`s.
 * - The first `finish_reason` closes every open block and gives `message_stop` (`stop` →
 *   `end_turn`, `length` → `max_tokens`, `tool_calls` and `function_call` → `tool_use`,
 *   `content_filter` → `content_filter`, OpenRouter's `error` → `error`, anything else →
 *   `other`); a repeated one and any content after it are ignored. `usage` (in its own `choices: []` chunk or in any
 *   other chunk) gives a `usage` event when it arrives; `usage: null` is ignored.
 * - An error chunk (`data: {"error": …}` or an SSE `error` event) gives an `error` event
 *   (see {@linkcode parseOpenAIChatError}). Data that is not a chat completion chunk, named SSE
 *   events (e.g. an Anthropic stream) and a stream that ends without `finish_reason` give an
 *   `error` event of kind `protocol_error`, status 502. Nothing follows an `error` event.
 *
 * @example Decode the events of a short stream
 * ```ts
 * import { OpenAIChatDecoder } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const decoder = new OpenAIChatDecoder();
 * const chunk = (choice: object) =>
 *   ({ data: JSON.stringify({ id: "chatcmpl-1", model: "gpt-4o", choices: [choice] }) });
 * const events = [
 *   ...decoder.push(chunk({ index: 0, delta: { role: "assistant", content: "" } })),
 *   ...decoder.push(chunk({ index: 0, delta: { content: "Hello" } })),
 *   ...decoder.push(chunk({ index: 0, delta: {}, finish_reason: "stop" })),
 *   ...decoder.push({ data: "[DONE]" }),
 *   ...decoder.end(),
 * ];
 * assert.deepEqual(events, [
 *   { type: "message_start", id: "chatcmpl-1", model: "gpt-4o", role: "assistant" },
 *   { type: "text_delta", index: 0, text: "Hello" },
 *   { type: "block_stop", index: 0 },
 *   { type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" },
 * ]);
 * ```
 */
export class OpenAIChatDecoder {
  readonly #options: OpenAIChatDecoderOptions;
  #started = false;
  #finished = false;
  #sawDone = false;
  #failed = false;
  #sawEvent = false;
  #nextBlock = 0;
  /** Open blocks, in the order they were opened. */
  readonly #open = new Set<number>();
  #textBlock: number | undefined;
  #reasoningBlock: number | undefined;
  readonly #toolCalls = new Map<string, ToolCallState>();
  #lastToolKey: string | undefined;

  /**
   * Creates a decoder.
   *
   * @param options id and model to use when the chunks carry none
   */
  constructor(options: OpenAIChatDecoderOptions = {}) {
    this.#options = options;
  }

  /**
   * Decodes one SSE event.
   *
   * @param event an event from the SSE framing decoder
   * @returns the events it completes (often one, sometimes none or several)
   */
  push(event: SseEvent): LlmEvent[] {
    if (this.#failed || this.#sawDone) return [];
    const out: LlmEvent[] = [];
    const name = event.event;
    const data = event.data.trim();
    if (name !== undefined && name !== "message" && name !== "error") {
      return this.#fail(out, mismatch(`an SSE event named "${name}"`, name));
    }
    if (data === "") return out;
    if (name !== "error" && data === "[DONE]") {
      this.#sawDone = true;
      return out;
    }
    this.#sawEvent = true;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      if (name === "error") return this.#fail(out, parseOpenAIChatError(data));
      return this.#fail(
        out,
        protocolError(`expected a JSON chat.completion.chunk, got ${excerpt(data)}`),
      );
    }
    if (name === "error") {
      return this.#fail(out, parseOpenAIChatError(isObject(json) ? json.error ?? json : json));
    }
    if (!isObject(json)) {
      return this.#fail(
        out,
        protocolError(`expected a JSON chat.completion.chunk, got ${excerpt(data)}`),
      );
    }
    if (json.error != null) return this.#fail(out, parseOpenAIChatError(json.error));
    const { choices } = json;
    if (!Array.isArray(choices)) {
      if (
        choices !== undefined ||
        (!isObject(json.usage) && json.object !== "chat.completion.chunk")
      ) {
        const foreign = typeof json.type === "string"
          ? `a JSON object of type "${json.type}"`
          : excerpt(data);
        return this.#fail(out, mismatch(foreign, typeof json.type === "string" ? json.type : ""));
      }
    }
    if (json.object === "text_completion") {
      return this.#fail(out, mismatch('a "text_completion" chunk', "text_completion"));
    }
    const choice = Array.isArray(choices)
      ? choices.find((c): c is JsonObject => isObject(c) && (c.index ?? 0) === 0)
      : undefined;
    const usage = readOpenAIChatUsage(json.usage, "usage", "lenient");
    if (!this.#started && (choice !== undefined || usage !== undefined)) {
      this.#started = true;
      out.push({
        type: "message_start",
        id: nonEmpty(json.id) ?? this.#options.id ?? generatedMessageId(),
        model: nonEmpty(json.model) ?? this.#options.model ?? "",
        role: "assistant",
      });
    }
    if (choice !== undefined && !this.#finished) {
      if (isObject(choice.delta)) this.#delta(choice.delta, out);
      const finishReason = nonEmpty(choice.finish_reason);
      if (finishReason !== undefined) {
        this.#finished = true;
        for (const block of this.#open) out.push({ type: "block_stop", index: block });
        this.#open.clear();
        out.push({
          type: "message_stop",
          stopReason: parseOpenAIChatFinishReason(finishReason),
          rawStopReason: finishReason,
        });
      }
    }
    if (usage !== undefined) out.push({ type: "usage", usage });
    return out;
  }

  /**
   * Ends the stream: if no `finish_reason` (and no error) was seen, returns an `error` event of
   * kind `protocol_error`; otherwise nothing (the blocks were closed at `finish_reason`).
   *
   * @returns the final events
   */
  end(): LlmEvent[] {
    if (this.#failed || this.#finished) return [];
    let message: string;
    if (!this.#sawEvent) {
      message = this.#sawDone
        ? "OpenAI chat stream held no chunk before [DONE]"
        : "OpenAI chat stream ended before its first chunk";
    } else {
      message = this.#sawDone
        ? "OpenAI chat stream reached [DONE] without a finish_reason"
        : "OpenAI chat stream ended without a finish_reason (the response was cut off)";
    }
    return this.#fail([], protocolError(message));
  }

  #fail(out: LlmEvent[], error: LlmErrorEvent): LlmEvent[] {
    this.#failed = true;
    out.push(error);
    return out;
  }

  #delta(delta: JsonObject, out: LlmEvent[]): void {
    this.#reasoning(delta, out);
    const content = typeof delta.content === "string" ? delta.content : "";
    const refusal = typeof delta.refusal === "string" ? delta.refusal : "";
    if (content !== "") this.#text(content, out);
    if (refusal !== "") this.#text(refusal, out);
    if (Array.isArray(delta.annotations)) {
      for (const annotation of delta.annotations) this.#annotation(annotation, out);
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const fragment of delta.tool_calls) {
        if (isObject(fragment)) this.#toolCall(fragment, out);
      }
    }
    if (isObject(delta.function_call)) {
      const { name, arguments: args } = delta.function_call;
      this.#toolCall({ index: "function_call", function: { name, arguments: args } }, out);
    }
  }

  #reasoning(delta: JsonObject, out: LlmEvent[]): void {
    // DeepSeek sends reasoning_content, OpenRouter reasoning (plus reasoning_details, which
    // repeats the text and adds signatures and encrypted blocks).
    const text = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
    if (text !== undefined) {
      out.push({ type: "reasoning_delta", index: this.#reasoningIndex(out), kind: "text", text });
    }
    if (!Array.isArray(delta.reasoning_details)) return;
    for (const detail of delta.reasoning_details) {
      if (!isObject(detail)) continue;
      const detailText = nonEmpty(detail.text) ?? nonEmpty(detail.summary);
      if (text === undefined && detailText !== undefined) {
        out.push({
          type: "reasoning_delta",
          index: this.#reasoningIndex(out),
          kind: "text",
          text: detailText,
        });
      }
      const signature = nonEmpty(detail.signature);
      if (signature !== undefined) {
        out.push({
          type: "reasoning_delta",
          index: this.#reasoningIndex(out),
          kind: "signature",
          signature,
        });
      }
      const data = detail.type === "reasoning.encrypted" ? nonEmpty(detail.data) : undefined;
      if (data !== undefined) {
        out.push({
          type: "reasoning_delta",
          index: this.#reasoningIndex(out),
          kind: "redacted",
          data,
        });
      }
    }
  }

  #reasoningIndex(out: LlmEvent[]): number {
    if (this.#reasoningBlock !== undefined) return this.#reasoningBlock;
    this.#closeText(out);
    return this.#reasoningBlock = this.#openBlock();
  }

  #textIndex(out: LlmEvent[]): number {
    if (this.#textBlock !== undefined) return this.#textBlock;
    this.#closeReasoning(out);
    return this.#textBlock = this.#openBlock();
  }

  #text(text: string, out: LlmEvent[]): void {
    out.push({ type: "text_delta", index: this.#textIndex(out), text });
  }

  #annotation(annotation: unknown, out: LlmEvent[]): void {
    if (!isObject(annotation)) return;
    const detail = isObject(annotation.url_citation) ? annotation.url_citation : annotation;
    const citation: Citation = { raw: annotation };
    const title = nonEmpty(detail.title);
    const url = nonEmpty(detail.url);
    if (title !== undefined) citation.title = title;
    if (url !== undefined) citation.url = url;
    out.push({ type: "citation", index: this.#textIndex(out), citation });
  }

  #toolCall(fragment: JsonObject, out: LlmEvent[]): void {
    const fn = isObject(fragment.function) ? fragment.function : {};
    const id = nonEmpty(fragment.id);
    let key: string;
    if (typeof fragment.index === "number" || typeof fragment.index === "string") {
      key = `#${fragment.index}`;
    } else if (id !== undefined) key = `id:${id}`;
    else key = this.#lastToolKey ?? "#0";
    this.#lastToolKey = key;
    let call = this.#toolCalls.get(key);
    // Some providers reuse index 0 for every call: a new id at a known index is a new call.
    if (call === undefined || (id !== undefined && id !== call.id)) {
      this.#closeText(out);
      this.#closeReasoning(out);
      call = { block: this.#openBlock(), id: id ?? generatedId("call_") };
      this.#toolCalls.set(key, call);
      out.push({
        type: "tool_call_start",
        index: call.block,
        id: call.id,
        name: typeof fn.name === "string" ? fn.name : "",
      });
    }
    if (typeof fn.arguments === "string" && fn.arguments !== "") {
      out.push({ type: "tool_call_delta", index: call.block, arguments: fn.arguments });
    }
  }

  #openBlock(): number {
    const block = this.#nextBlock++;
    this.#open.add(block);
    return block;
  }

  #closeText(out: LlmEvent[]): void {
    if (this.#textBlock === undefined) return;
    this.#open.delete(this.#textBlock);
    out.push({ type: "block_stop", index: this.#textBlock });
    this.#textBlock = undefined;
  }

  #closeReasoning(out: LlmEvent[]): void {
    if (this.#reasoningBlock === undefined) return;
    this.#open.delete(this.#reasoningBlock);
    out.push({ type: "block_stop", index: this.#reasoningBlock });
    this.#reasoningBlock = undefined;
  }
}

/**
 * Decodes the SSE events of an OpenAI Chat Completions stream into {@linkcode LlmEvent}s: a web
 * stream over {@linkcode OpenAIChatDecoder}, with the same semantics. Frame the body with
 * `new SseDecoderStream({ flushIncompleteEvent: true })` so that a last event without its
 * terminating blank line (some OpenAI-compatible servers end that way) is not lost.
 *
 * @example Decode a response body
 * ```ts
 * import { OpenAIChatDecoderStream, SseDecoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = [
 *   'data: {"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]}',
 *   'data: {"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
 *   'data: {"id":"chatcmpl-1","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}',
 *   "data: [DONE]",
 * ].join("\n\n") + "\n\n";
 * const events = await Array.fromAsync(
 *   ReadableStream.from([body])
 *     .pipeThrough(new SseDecoderStream({ flushIncompleteEvent: true }))
 *     .pipeThrough(new OpenAIChatDecoderStream()),
 * );
 * assert.deepEqual(events.map((e) => e.type), [
 *   "message_start",
 *   "text_delta",
 *   "block_stop",
 *   "message_stop",
 *   "usage",
 * ]);
 * const last = events.at(-1);
 * assert.equal(last?.type === "usage" && last.usage.totalTokens, 6);
 * ```
 */
export class OpenAIChatDecoderStream extends TransformStream<SseEvent, LlmEvent> {
  readonly #decoder: OpenAIChatDecoder;

  /**
   * Creates a decoder stream.
   *
   * @param options id and model to use when the chunks carry none
   */
  constructor(options: OpenAIChatDecoderOptions = {}) {
    const decoder = new OpenAIChatDecoder(options);
    super(pushTransformer(decoder));
    this.#decoder = decoder;
  }

  /** The synchronous decoder this stream wraps. */
  get decoder(): OpenAIChatDecoder {
    return this.#decoder;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder

/**
 * Options of {@linkcode OpenAIChatEncoder} and {@linkcode OpenAIChatEncoderStream}.
 *
 * @example
 * ```ts
 * import { OpenAIChatEncoder, type OpenAIChatEncoderOptions } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const options: OpenAIChatEncoderOptions = {
 *   id: "chatcmpl-1",
 *   model: "gpt-4o",
 *   created: 1700000000,
 *   includeUsage: true,
 * };
 * const [first] = new OpenAIChatEncoder(options).push({
 *   type: "message_start",
 *   id: "msg_1",
 *   model: "claude",
 *   role: "assistant",
 * });
 * assert.deepEqual(JSON.parse(first!.data), {
 *   id: "chatcmpl-1",
 *   object: "chat.completion.chunk",
 *   created: 1700000000,
 *   model: "gpt-4o",
 *   choices: [{
 *     index: 0,
 *     delta: { role: "assistant", content: "" },
 *     logprobs: null,
 *     finish_reason: null,
 *   }],
 *   usage: null,
 * });
 * ```
 */
export interface OpenAIChatEncoderOptions {
  /** Chunk `id` (default: the `message_start` id). */
  id?: string;
  /** Chunk `model` (default: the `message_start` model). */
  model?: string;
  /** Chunk `created`, in seconds since the epoch (default: when the encoder was created). */
  created?: number;
  /**
   * Write the final usage chunk (`choices: []`): set when the client asked for
   * `stream_options: { include_usage: true }`. Every other chunk then carries `usage: null`, as
   * OpenAI does; without it, chunks have no `usage` field.
   */
  includeUsage?: boolean;
  /** `system_fingerprint` of every chunk (omitted by default). */
  systemFingerprint?: string;
}

/**
 * The synchronous core of {@linkcode OpenAIChatEncoderStream}: push {@linkcode LlmEvent}s, get
 * back the SSE events of an OpenAI Chat Completions stream; call `end()` when the input ends.
 *
 * - `message_start` → the first chunk, `delta: {role: "assistant", content: ""}`.
 * - `text_delta` → `content` deltas; `reasoning_delta` text → `reasoning_content` deltas (the
 *   DeepSeek convention, which OpenAI's SDK passes through and most OpenAI-compatible clients
 *   read); reasoning signatures and redacted reasoning have no Chat Completions equivalent and
 *   are dropped, as are `provider_block`s and server-side tool calls (the client must not run
 *   them). A `citation` → an `annotations` delta with a `url_citation`.
 * - `tool_call_start` → `tool_calls: [{index, id, type: "function", function: {name,
 *   arguments: ""}}]`, `tool_call_delta` → `tool_calls: [{index, function: {arguments}}]`; the
 *   tool calls are numbered 0, 1, 2… in order of appearance.
 * - `message_stop` → the chunk with `finish_reason`: `end_turn` and `stop_sequence` → `stop`,
 *   `max_tokens` and `context_window_exceeded` → `length`, `tool_use` → `tool_calls`,
 *   `content_filter` and `guardrail` → `content_filter`, anything else → `stop`.
 * - `usage` is held back: at `end()` the last one becomes the usage chunk (`choices: []`) when
 *   `includeUsage` is set; then `data: [DONE]`.
 * - `error` → `data: {"error": {message, type, param, code}}` and nothing more (no `[DONE]`),
 *   as OpenAI does; input that ends without `message_stop` gets the same treatment.
 *
 * @example Encode a short answer
 * ```ts
 * import { createUsage, OpenAIChatEncoder } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const encoder = new OpenAIChatEncoder({ created: 1700000000, includeUsage: true });
 * const frames = [
 *   ...encoder.push({ type: "message_start", id: "chatcmpl-1", model: "gpt-4o", role: "assistant" }),
 *   ...encoder.push({ type: "text_delta", index: 0, text: "Hi" }),
 *   ...encoder.push({ type: "block_stop", index: 0 }),
 *   ...encoder.push({ type: "message_stop", stopReason: "end_turn", rawStopReason: "stop" }),
 *   ...encoder.push({ type: "usage", usage: createUsage({ inputTokens: 5, outputTokens: 1 }) }),
 *   ...encoder.end(),
 * ];
 * assert.equal(frames.length, 5);
 * assert.deepEqual(JSON.parse(frames[1]!.data).choices[0].delta, { content: "Hi" });
 * assert.equal(JSON.parse(frames[2]!.data).choices[0].finish_reason, "stop");
 * assert.equal(JSON.parse(frames[3]!.data).usage.total_tokens, 6);
 * assert.deepEqual(frames[4], { data: "[DONE]" });
 * ```
 */
export class OpenAIChatEncoder {
  readonly #options: OpenAIChatEncoderOptions;
  readonly #created: number;
  #id = "";
  #model = "";
  #started = false;
  #stopped = false;
  #ended = false;
  #usage: Usage | undefined;
  /** Block index → `tool_calls[].index`, or `undefined` for a skipped (server-side) call. */
  readonly #toolCalls = new Map<number, number | undefined>();
  #nextToolCall = 0;
  /** UTF-16 length of the text written so far, for the positions of synthesized citations. */
  #textLength = 0;

  /**
   * Creates an encoder.
   *
   * @param options chunk id, model, created time, usage and fingerprint; see
   *   {@linkcode OpenAIChatEncoderOptions}
   */
  constructor(options: OpenAIChatEncoderOptions = {}) {
    this.#options = options;
    this.#created = options.created ?? Math.floor(Date.now() / 1000);
  }

  /**
   * Encodes one event.
   *
   * @param event the next event of the response
   * @returns the SSE events to write (none, one or two)
   */
  push(event: LlmEvent): SseEvent[] {
    if (this.#ended) return [];
    const out: SseEvent[] = [];
    if (event.type === "error") {
      this.#ended = true;
      out.push({ data: JSON.stringify(toOpenAIChatError(event)) });
      return out;
    }
    if (event.type === "usage") {
      this.#usage = event.usage;
      return out;
    }
    if (event.type === "message_start") {
      if (!this.#started) this.#start(event.id, event.model, out);
      return out;
    }
    if (this.#stopped) return out;
    switch (event.type) {
      case "text_delta":
        if (event.text === "") break;
        this.#start(undefined, undefined, out);
        this.#textLength += event.text.length;
        out.push(this.#delta({ content: event.text }));
        break;
      case "reasoning_delta":
        if (event.kind !== "text" || event.text === "") break;
        this.#start(undefined, undefined, out);
        out.push(this.#delta({ reasoning_content: event.text }));
        break;
      case "citation": {
        const annotation = this.#annotation(event.citation);
        if (annotation === undefined) break;
        this.#start(undefined, undefined, out);
        out.push(this.#delta({ annotations: [annotation] }));
        break;
      }
      case "tool_call_start": {
        if (this.#toolCalls.has(event.index)) break;
        if (event.serverSide === true) {
          this.#toolCalls.set(event.index, undefined);
          break;
        }
        const index = this.#nextToolCall++;
        this.#toolCalls.set(event.index, index);
        this.#start(undefined, undefined, out);
        out.push(this.#delta({
          tool_calls: [{
            index,
            id: event.id,
            type: "function",
            function: { name: event.name, arguments: "" },
          }],
        }));
        break;
      }
      case "tool_call_delta": {
        const index = this.#toolCalls.get(event.index);
        if (index === undefined || event.arguments === "") break;
        out.push(
          this.#delta({ tool_calls: [{ index, function: { arguments: event.arguments } }] }),
        );
        break;
      }
      case "message_stop": {
        this.#start(undefined, undefined, out);
        this.#stopped = true;
        // Without the raw reason: tool calls are written as `tool_calls`, so a legacy
        // `function_call` finish reason must not come back.
        let finishReason = toOpenAIChatFinishReason(event.stopReason);
        // Only server-side tools ran: the client has no call to answer.
        if (finishReason === "tool_calls" && this.#nextToolCall === 0) finishReason = "stop";
        out.push(
          this.#chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]),
        );
        break;
      }
        // provider_block and block_stop have no Chat Completions equivalent.
    }
    return out;
  }

  /**
   * Ends the stream: the usage chunk (when `includeUsage` is set and usage was seen) and
   * `data: [DONE]`, or an error chunk when the input ended before `message_stop`.
   *
   * @returns the final SSE events
   */
  end(): SseEvent[] {
    if (this.#ended) return [];
    this.#ended = true;
    if (!this.#stopped) {
      return [{
        data: JSON.stringify(toOpenAIChatError(
          protocolError("the upstream response ended before the model finished"),
        )),
      }];
    }
    const out: SseEvent[] = [];
    if (this.#options.includeUsage === true && this.#usage !== undefined) {
      out.push(this.#chunk([], toOpenAIChatUsage(this.#usage)));
    }
    out.push({ data: "[DONE]" });
    return out;
  }

  #start(id: string | undefined, model: string | undefined, out: SseEvent[]): void {
    if (this.#started) return;
    this.#started = true;
    this.#id = this.#options.id ?? id ?? generatedId("chatcmpl-");
    this.#model = this.#options.model ?? model ?? "";
    out.push(this.#delta({ role: "assistant", content: "" }));
  }

  #delta(delta: JsonObject): SseEvent {
    return this.#chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  #chunk(choices: unknown[], usage?: OpenAIChatUsage): SseEvent {
    const chunk: JsonObject = {
      id: this.#id,
      object: "chat.completion.chunk",
      created: this.#created,
      model: this.#model,
    };
    if (this.#options.systemFingerprint !== undefined) {
      chunk.system_fingerprint = this.#options.systemFingerprint;
    }
    chunk.choices = choices;
    if (this.#options.includeUsage === true) chunk.usage = usage ?? null;
    return { data: JSON.stringify(chunk) };
  }

  #annotation(citation: Citation): unknown {
    const { raw } = citation;
    if (isObject(raw) && raw.type === "url_citation" && isObject(raw.url_citation)) return raw;
    if (citation.url === undefined) return undefined;
    // A citation from another protocol: OpenAI wants a span of the text; point at its end.
    return {
      type: "url_citation",
      url_citation: {
        url: citation.url,
        title: citation.title ?? "",
        start_index: this.#textLength,
        end_index: this.#textLength,
      },
    };
  }
}

/**
 * Encodes {@linkcode LlmEvent}s as the SSE events of an OpenAI Chat Completions stream: a web
 * stream over {@linkcode OpenAIChatEncoder}, with the same semantics. Pipe the output through
 * `SseEncoderStream` and serve it as `text/event-stream`.
 *
 * @example Re-speak events as an OpenAI stream body
 * ```ts
 * import { createUsage, type LlmEvent, OpenAIChatEncoderStream, SseEncoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const events: LlmEvent[] = [
 *   { type: "message_start", id: "msg_1", model: "claude-sonnet-4", role: "assistant" },
 *   { type: "text_delta", index: 0, text: "Hi" },
 *   { type: "block_stop", index: 0 },
 *   { type: "message_stop", stopReason: "end_turn", rawStopReason: "end_turn" },
 *   { type: "usage", usage: createUsage({ inputTokens: 5, outputTokens: 1 }) },
 * ];
 * const body = ReadableStream.from(events)
 *   .pipeThrough(new OpenAIChatEncoderStream({ id: "chatcmpl-1", created: 1700000000 }))
 *   .pipeThrough(new SseEncoderStream());
 * const text = await new Response(body).text();
 * assert.equal(
 *   text.split("\n\n")[1],
 *   'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,' +
 *     '"model":"claude-sonnet-4","choices":[{"index":0,"delta":{"content":"Hi"},' +
 *     '"logprobs":null,"finish_reason":null}]}',
 * );
 * assert.ok(text.endsWith("data: [DONE]\n\n"));
 * ```
 */
export class OpenAIChatEncoderStream extends TransformStream<LlmEvent, SseEvent> {
  readonly #encoder: OpenAIChatEncoder;

  /**
   * Creates an encoder stream.
   *
   * @param options chunk id, model, created time, usage and fingerprint; see
   *   {@linkcode OpenAIChatEncoderOptions}
   */
  constructor(options: OpenAIChatEncoderOptions = {}) {
    const encoder = new OpenAIChatEncoder(options);
    super(pushTransformer(encoder));
    this.#encoder = encoder;
  }

  /** The synchronous encoder this stream wraps. */
  get encoder(): OpenAIChatEncoder {
    return this.#encoder;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A number (or numeric string) that is an HTTP error status. */
function httpStatus(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined;
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A `protocol_error` for a stream that is not OpenAI Chat Completions, naming what it looks like. */
function mismatch(what: string, typeName: string): LlmErrorEvent {
  let guess = "";
  if (ANTHROPIC_EVENT_TYPES.has(typeName)) guess = "; it looks like an Anthropic Messages stream";
  else if (typeName.startsWith("response.")) {
    guess = "; it looks like an OpenAI Responses API stream";
  } else if (typeName === "text_completion") {
    guess = "; it looks like an OpenAI Completions (/v1/completions) stream";
  }
  return protocolError(
    `protocol mismatch: expected OpenAI Chat Completions chunks, got ${what}${guess}`,
  );
}
