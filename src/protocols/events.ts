/**
 * The one event model every provider protocol is decoded into and encoded from.
 *
 * A response stream is a sequence of {@linkcode LlmEvent}s: one `message_start`, content blocks
 * (each opened implicitly by its first delta or explicitly by `tool_call_start`, closed by
 * `block_stop`), one `message_stop`, then any number of `usage` events (each carries the
 * cumulative totals so far: the last one wins, never sum them). An `error` event ends the stream.
 * @module
 */

/** Why the model stopped, normalized across providers. */
export type StopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "content_filter"
  | "guardrail"
  | "context_window_exceeded"
  | "error"
  | "other";

/**
 * Token usage, normalized once. `inputTokens` counts every input token, cached ones included:
 * Bedrock's `inputTokens` and Anthropic's `input_tokens` exclude cache reads and writes (the
 * decoders add them), OpenAI's `prompt_tokens` already includes them.
 * `totalTokens = inputTokens + outputTokens`; `reasoningTokens` is a part of `outputTokens`.
 */
export interface Usage {
  /** All input tokens, cache reads and writes included. */
  inputTokens: number;
  /** All output tokens, reasoning included. */
  outputTokens: number;
  /** `inputTokens + outputTokens`. */
  totalTokens: number;
  /** Input tokens read from the prompt cache. */
  cacheReadTokens: number;
  /** Input tokens written to the prompt cache. */
  cacheWriteTokens: number;
  /** Output tokens spent on reasoning, when the provider reports them (else 0). */
  reasoningTokens: number;
}

/** What kind of failure an `error` event reports, independent of the provider's naming. */
export type LlmErrorKind =
  | "invalid_request"
  | "authentication"
  | "permission"
  | "not_found"
  | "rate_limit"
  | "overloaded"
  | "timeout"
  | "model_error"
  | "server_error"
  | "protocol_error"
  | "other";

/** A citation attached to generated text; `raw` keeps the provider's own object. */
export interface Citation {
  /** Title of the cited source, when given. */
  title?: string;
  /** URL of the cited source, when given. */
  url?: string;
  /** The cited passage, when given. */
  citedText?: string;
  /** The provider's citation object, unchanged. */
  raw: unknown;
}

/** The assistant message begins. */
export interface MessageStartEvent {
  /** Discriminator. */
  type: "message_start";
  /** Provider message id (or one the decoder was given). */
  id: string;
  /** Model that answers. */
  model: string;
  /** Always `assistant`. */
  role: "assistant";
}

/** A fragment of text in content block `index`. */
export interface TextDeltaEvent {
  /** Discriminator. */
  type: "text_delta";
  /** Content block index within the message. */
  index: number;
  /** The text fragment. */
  text: string;
}

/** A citation for the text of content block `index`. */
export interface CitationEvent {
  /** Discriminator. */
  type: "citation";
  /** Content block index within the message. */
  index: number;
  /** The citation. */
  citation: Citation;
}

/** A fragment of reasoning ("thinking") in content block `index`. */
export type ReasoningDeltaEvent =
  & { type: "reasoning_delta"; index: number }
  & (
    | { kind: "text"; text: string }
    | { kind: "signature"; signature: string }
    | { kind: "redacted"; data: string }
  );

/** A tool call opens content block `index`; its arguments follow as `tool_call_delta`s. */
export interface ToolCallStartEvent {
  /** Discriminator. */
  type: "tool_call_start";
  /** Content block index within the message. */
  index: number;
  /** The provider's tool call id. */
  id: string;
  /** Tool name. */
  name: string;
  /** True for tools the provider runs itself (Anthropic server tools, Bedrock system tools). */
  serverSide?: boolean;
}

/** A fragment of the JSON arguments of the tool call in block `index`. */
export interface ToolCallDeltaEvent {
  /** Discriminator. */
  type: "tool_call_delta";
  /** Content block index within the message. */
  index: number;
  /** A fragment of JSON text; the fragments joined form the arguments object. */
  arguments: string;
}

/**
 * A content block with no equivalent in the model (for example Anthropic's
 * `web_search_tool_result`): kept whole so a same-protocol encoder can re-emit it; other
 * encoders skip it.
 */
export interface ProviderBlockEvent {
  /** Discriminator. */
  type: "provider_block";
  /** Content block index within the message. */
  index: number;
  /** The protocol the block comes from. */
  protocol: "bedrock" | "openai" | "anthropic";
  /** The provider's block type name. */
  blockType: string;
  /** The provider's block object, unchanged. */
  content: unknown;
}

/** Content block `index` is complete. */
export interface BlockStopEvent {
  /** Discriminator. */
  type: "block_stop";
  /** Content block index within the message. */
  index: number;
}

/** The model stopped generating. */
export interface MessageStopEvent {
  /** Discriminator. */
  type: "message_stop";
  /** The normalized stop reason. */
  stopReason: StopReason;
  /** The provider's own stop reason, unchanged (null when it gave none). */
  rawStopReason: string | null;
  /** The stop sequence that matched, when the provider says. */
  stopSequence?: string;
}

/** Cumulative token usage so far; the last `usage` event of a stream is the total. */
export interface UsageEvent {
  /** Discriminator. */
  type: "usage";
  /** The cumulative usage. */
  usage: Usage;
  /** Provider-reported latency, when given (Bedrock's `metrics.latencyMs`). */
  latencyMs?: number;
}

/** The provider reported an error; it ends the stream. */
export interface LlmErrorEvent {
  /** Discriminator. */
  type: "error";
  /** The normalized kind of failure. */
  kind: LlmErrorKind;
  /** What went wrong, for people (never carries credentials). */
  message: string;
  /** The HTTP status that best matches the error (429 for throttling, …). */
  status: number;
  /** The provider's own error type (`throttlingException`, `overloaded_error`, …). */
  providerType?: string;
}

/** One event of a normalized LLM response stream. */
export type LlmEvent =
  | MessageStartEvent
  | TextDeltaEvent
  | CitationEvent
  | ReasoningDeltaEvent
  | ToolCallStartEvent
  | ToolCallDeltaEvent
  | ProviderBlockEvent
  | BlockStopEvent
  | MessageStopEvent
  | UsageEvent
  | LlmErrorEvent;

/**
 * The error kind that best matches an HTTP status, for providers that report only a status.
 *
 * @param status an HTTP status code
 * @returns the matching {@linkcode LlmErrorKind}
 *
 * @example
 * ```ts
 * import { errorKindFromStatus } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(errorKindFromStatus(429), "rate_limit");
 * assert.equal(errorKindFromStatus(503), "overloaded");
 * ```
 */
export function errorKindFromStatus(status: number): LlmErrorKind {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return "invalid_request";
    case 401:
      return "authentication";
    case 403:
      return "permission";
    case 404:
      return "not_found";
    case 408:
    case 504:
      return "timeout";
    case 424:
      return "model_error";
    case 429:
      return "rate_limit";
    case 503:
    case 529:
      return "overloaded";
    case 502:
      return "protocol_error";
  }
  if (status >= 500) return "server_error";
  if (status >= 400) return "invalid_request";
  return "other";
}

/**
 * Builds a {@linkcode Usage} from the counts a provider gave, filling the rest with 0 and
 * computing `totalTokens` as `inputTokens + outputTokens`.
 *
 * @param counts the known counts; `inputTokens` must already include cached tokens
 * @returns a complete usage record
 *
 * @example
 * ```ts
 * import { createUsage } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(createUsage({ inputTokens: 13, outputTokens: 5 }), {
 *   inputTokens: 13,
 *   outputTokens: 5,
 *   totalTokens: 18,
 *   cacheReadTokens: 0,
 *   cacheWriteTokens: 0,
 *   reasoningTokens: 0,
 * });
 * ```
 */
export function createUsage(counts: Partial<Omit<Usage, "totalTokens">>): Usage {
  const inputTokens = counts.inputTokens ?? 0;
  const outputTokens = counts.outputTokens ?? 0;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    cacheReadTokens: counts.cacheReadTokens ?? 0,
    cacheWriteTokens: counts.cacheWriteTokens ?? 0,
    reasoningTokens: counts.reasoningTokens ?? 0,
  };
}
