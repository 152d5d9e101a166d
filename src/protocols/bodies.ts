/**
 * Non-streaming bodies, normalized: {@linkcode LlmRequest} (what a client asks for) and
 * {@linkcode LlmResponse} (what the model answered), the {@linkcode LlmConversionError} every
 * converter throws, and the bridge between a response and the streaming event model
 * ({@linkcode LlmResponseAccumulator} and {@linkcode responseToEvents}).
 *
 * Each provider file (`bedrock_converse_bodies.ts`, `openai_chat_bodies.ts`,
 * `anthropic_messages_bodies.ts`) parses its own request and response bodies into these types and
 * writes them back, so a request or response in any protocol can be re-spoken in any other.
 *
 * What the model keeps, and the rule for what it cannot:
 * - Everything the three protocols share is normalized: system prompt, messages (text, images,
 *   tool calls, tool results, reasoning), tools and tool choice, sampling limits, reasoning
 *   budget or effort, streaming flags, prompt-cache breakpoints.
 * - A content block, tool or top-level field with no equivalent is kept whole, tagged with its
 *   protocol ({@linkcode LlmProviderPart}, {@linkcode LlmProviderTool},
 *   {@linkcode LlmProviderFields}). Writing the same protocol re-emits it unchanged; writing
 *   another protocol throws an {@linkcode LlmConversionError} naming the field — never a silent
 *   drop. The only exceptions are client hints that cannot change the answer (listed in each
 *   provider file, e.g. OpenAI `store`, `metadata`, `service_tier`).
 * @module
 */
import {
  type Citation,
  createUsage,
  type LlmErrorEvent,
  type LlmEvent,
  type StopReason,
  type Usage,
} from "./events.ts";

/** The three wire protocols the converters speak. */
export type LlmProtocol = "bedrock" | "openai" | "anthropic";

/**
 * A request or response body cannot be converted: it is malformed (a missing or ill-typed
 * field), or it uses a feature the target protocol cannot express.
 *
 * @example
 * ```ts
 * import { LlmConversionError, parseOpenAIChatRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => parseOpenAIChatRequest({ model: "gpt-4o", messages: [{ role: "user" }] }),
 *   (error) => error instanceof LlmConversionError && error.field === "messages[0].content",
 * );
 * ```
 */
export class LlmConversionError extends Error {
  /** Where the problem is, as a JSON path (`messages[2].content[0].image_url`). */
  readonly field: string;
  /** Always `LlmConversionError`. */
  override readonly name = "LlmConversionError";

  /**
   * Creates the error.
   *
   * @param field a JSON path naming the offending field
   * @param message what is wrong with it (the error's `message` is `"<field>: <message>"`)
   */
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** A prompt-cache breakpoint after a content part, system part or tool. */
export interface LlmCacheHint {
  /** Cache lifetime (`5m`, `1h`) when the client chose one. */
  ttl?: string;
}

/** Plain text. */
export interface LlmTextPart {
  /** Discriminator. */
  type: "text";
  /** The text. */
  text: string;
  /** A prompt-cache breakpoint after this part. */
  cache?: LlmCacheHint;
}

/** Where an image comes from: inline base64 bytes, or a URL the provider fetches. */
export type LlmImageSource =
  | { type: "base64"; mediaType: string; data: string }
  | { type: "url"; url: string };

/** An image. */
export interface LlmImagePart {
  /** Discriminator. */
  type: "image";
  /** The image bytes or URL. */
  source: LlmImageSource;
  /** OpenAI's resolution hint (other protocols have none and drop it). */
  detail?: "auto" | "low" | "high" | "original";
  /** A prompt-cache breakpoint after this part. */
  cache?: LlmCacheHint;
}

/** A JSON value (Bedrock tool results can be JSON; other protocols get it as JSON text). */
export interface LlmJsonPart {
  /** Discriminator. */
  type: "json";
  /** The value. */
  value: unknown;
}

/** A tool call made by the assistant in an earlier turn. */
export interface LlmToolUsePart {
  /** Discriminator. */
  type: "tool_use";
  /** The tool call id that the matching tool result refers to. */
  id: string;
  /** Tool name. */
  name: string;
  /** The arguments, a JSON object. */
  input: Record<string, unknown>;
  /** A prompt-cache breakpoint after this part. */
  cache?: LlmCacheHint;
}

/** What a tool result may contain. */
export type LlmToolResultContent = LlmTextPart | LlmImagePart | LlmJsonPart | LlmProviderPart;

/** The result of a tool call, sent back by the client in a user turn. */
export interface LlmToolResultPart {
  /** Discriminator. */
  type: "tool_result";
  /** The id of the tool call this answers. */
  toolUseId: string;
  /** The result. */
  content: LlmToolResultContent[];
  /** True when the tool failed (OpenAI has no such flag and drops it). */
  isError?: boolean;
  /** A prompt-cache breakpoint after this part. */
  cache?: LlmCacheHint;
}

/** Reasoning ("thinking") the assistant produced, with the provider's signature if any. */
export interface LlmReasoningPart {
  /** Discriminator. */
  type: "reasoning";
  /** The reasoning text. */
  text: string;
  /** The provider's signature that lets the reasoning be sent back (Anthropic, Bedrock). */
  signature?: string;
}

/**
 * Reasoning the provider encrypted. `data` is Anthropic's opaque string; Bedrock's
 * `redactedContent` bytes are the same string's bytes (decoded and re-encoded as base64).
 */
export interface LlmRedactedReasoningPart {
  /** Discriminator. */
  type: "redacted_reasoning";
  /** The opaque data, one character per byte. */
  data: string;
}

/**
 * A content block with no equivalent in the model, kept whole: `content` is the provider's
 * block object unchanged (for Bedrock the one-member union object such as `{document: …}`,
 * `blockType` its member name). The same protocol re-emits it; others refuse it.
 */
export interface LlmProviderPart {
  /** Discriminator. */
  type: "provider";
  /** The protocol the block comes from. */
  protocol: LlmProtocol;
  /** The provider's block type (`document`, `input_audio`, `web_search_tool_result`, …). */
  blockType: string;
  /** The provider's block object, unchanged. */
  content: unknown;
  /** A prompt-cache breakpoint after this part. */
  cache?: LlmCacheHint;
}

/** One part of a request message. */
export type LlmContentPart =
  | LlmTextPart
  | LlmImagePart
  | LlmToolUsePart
  | LlmToolResultPart
  | LlmReasoningPart
  | LlmRedactedReasoningPart
  | LlmProviderPart;

/**
 * One turn of the conversation. Tool results are user turns (OpenAI's consecutive `tool`
 * messages become one user turn). `system` is a system message in the middle of the
 * conversation (OpenAI and Anthropic allow it; Bedrock does not); leading system messages go to
 * {@linkcode LlmRequest.system}.
 */
export interface LlmMessage {
  /** Who speaks. */
  role: "user" | "assistant" | "system";
  /** What they say. */
  content: LlmContentPart[];
}

/** A function the model may call. */
export interface LlmFunctionTool {
  /** Discriminator. */
  type: "function";
  /** Tool name. */
  name: string;
  /** What the tool does, for the model. */
  description?: string;
  /** JSON Schema of the arguments object. */
  inputSchema: Record<string, unknown>;
  /** Ask for schema-exact arguments (OpenAI `strict`, Anthropic `strict`, Bedrock `strict`). */
  strict?: boolean;
  /** A prompt-cache breakpoint after this tool. */
  cache?: LlmCacheHint;
}

/** A provider-specific tool (Anthropic server tools, Bedrock system tools, …), kept whole. */
export interface LlmProviderTool {
  /** Discriminator. */
  type: "provider";
  /** The protocol the tool comes from. */
  protocol: LlmProtocol;
  /** The provider's tool object, unchanged. */
  content: unknown;
  /** A prompt-cache breakpoint after this tool. */
  cache?: LlmCacheHint;
}

/** A tool offered to the model. */
export type LlmTool = LlmFunctionTool | LlmProviderTool;

/**
 * Whether and which tool the model must call: `auto` (it decides), `any` (some tool; OpenAI
 * `required`), `none` (no tool), `tool` (this one).
 */
export type LlmToolChoice =
  | { type: "auto" }
  | { type: "any" }
  | { type: "none" }
  | { type: "tool"; name: string };

/** How much the model should reason. */
export interface LlmReasoningConfig {
  /** A thinking budget in tokens (Anthropic `thinking.budget_tokens`). */
  budgetTokens?: number;
  /** A reasoning effort (OpenAI `reasoning_effort`, Anthropic and Bedrock `effort`). */
  effort?: string;
  /** Let the model decide how much to think (Anthropic `thinking: {type: "adaptive"}`). */
  adaptive?: boolean;
}

/**
 * Top-level request fields of one protocol that the model does not normalize (OpenAI `seed`,
 * `response_format`, Anthropic `container`, Bedrock `guardrailConfig`, …), kept whole.
 */
export interface LlmProviderFields {
  /** The protocol the fields come from. */
  protocol: LlmProtocol;
  /** The fields, by their wire name, unchanged. */
  fields: Record<string, unknown>;
}

/** A request to a model, normalized across protocols. */
export interface LlmRequest {
  /** Model id (Bedrock carries it in the URL: pass it to the parser). */
  model: string;
  /** The system prompt (empty when there is none). */
  system: Array<LlmTextPart | LlmProviderPart>;
  /** The conversation. */
  messages: LlmMessage[];
  /** Tools offered to the model. */
  tools?: LlmTool[];
  /** Tool choice. */
  toolChoice?: LlmToolChoice;
  /** `false` asks for at most one tool call per turn. */
  parallelToolCalls?: boolean;
  /** Maximum output tokens. */
  maxTokens?: number;
  /** Sampling temperature. */
  temperature?: number;
  /** Nucleus sampling. */
  topP?: number;
  /** Top-k sampling (Anthropic; Bedrock via `additionalModelRequestFields.top_k`). */
  topK?: number;
  /** Stop sequences. */
  stopSequences?: string[];
  /** Reasoning budget or effort. */
  reasoning?: LlmReasoningConfig;
  /** Whether the client asked for a stream (Bedrock chooses by URL instead). */
  stream?: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage?: boolean;
  /** An end-user id for abuse monitoring (OpenAI `user`, Anthropic `metadata.user_id`). */
  userId?: string;
  /** Top-level fields of the source protocol the model does not normalize. */
  providerFields?: LlmProviderFields;
}

/** Text of an answer, with its citations when the provider gave some. */
export interface LlmResponseTextPart {
  /** Discriminator. */
  type: "text";
  /** The text. */
  text: string;
  /** Citations for this text. */
  citations?: Citation[];
}

/** A tool call in an answer. */
export interface LlmResponseToolUsePart {
  /** Discriminator. */
  type: "tool_use";
  /** The provider's tool call id. */
  id: string;
  /** Tool name. */
  name: string;
  /**
   * The parsed arguments — or, when they are not valid JSON (a stream cut at `max_tokens`),
   * the raw argument text, with `inputError` saying so.
   */
  input: unknown;
  /** True for tools the provider ran itself. */
  serverSide?: boolean;
  /** Set when `input` is the raw, unparseable argument text: why it did not parse. */
  inputError?: string;
}

/** One part of an answer. */
export type LlmResponsePart =
  | LlmResponseTextPart
  | LlmReasoningPart
  | LlmRedactedReasoningPart
  | LlmResponseToolUsePart
  | LlmProviderPart;

/** A complete (non-streaming) answer, normalized across protocols. */
export interface LlmResponse {
  /** Message id. */
  id: string;
  /** Model that answered. */
  model: string;
  /** The content blocks, in order. */
  content: LlmResponsePart[];
  /** Why the model stopped, normalized. */
  stopReason: StopReason;
  /** The provider's own stop reason (null when it gave none). */
  rawStopReason: string | null;
  /** The stop sequence that matched, when the provider says. */
  stopSequence?: string;
  /** Token usage. */
  usage: Usage;
  /** Provider-reported latency (Bedrock `metrics.latencyMs`). */
  latencyMs?: number;
  /** Set when the answer ended in an error (then `content` is what arrived before it). */
  error?: LlmErrorEvent;
}

type BlockState =
  | { kind: "text"; chunks: string[]; citations: Citation[] }
  | { kind: "reasoning"; chunks: string[]; signature: string[]; redacted: string[] }
  | { kind: "tool"; id: string; name: string; serverSide: boolean; args: string[] }
  | { kind: "provider"; part: LlmProviderPart };

/**
 * Parses joined tool-call arguments: empty text is `{}` (a call without arguments); invalid JSON
 * keeps the raw text and says why.
 */
function parseToolArguments(raw: string): { input: unknown; inputError?: string } {
  if (raw.trim() === "") return { input: {} };
  try {
    return { input: JSON.parse(raw) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      input: raw,
      inputError: `the tool-call arguments are not valid JSON (${why}); input is the raw text`,
    };
  }
}

/**
 * Builds a complete {@linkcode LlmResponse} from a stream of {@linkcode LlmEvent}s, for
 * answering a non-streaming client from a streaming upstream, or for logging what a stream
 * said. `push` only records fragments (no string concatenation, no JSON parsing); the work
 * happens once, in {@linkcode LlmResponseAccumulator.prototype.response}.
 *
 * Text deltas of a block are joined; tool-call argument fragments are joined and parsed (invalid
 * JSON keeps the raw text, see {@linkcode LlmResponseToolUsePart.inputError}); reasoning text and
 * signature are joined per block; the last `usage` wins; the first `error` is kept and later
 * events are ignored.
 *
 * @example
 * ```ts
 * import { LlmResponseAccumulator } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const accumulator = new LlmResponseAccumulator();
 * accumulator.push({ type: "message_start", id: "msg_1", model: "m", role: "assistant" });
 * accumulator.push({ type: "text_delta", index: 0, text: "Hel" });
 * accumulator.push({ type: "text_delta", index: 0, text: "lo" });
 * accumulator.push({ type: "block_stop", index: 0 });
 * accumulator.push({ type: "tool_call_start", index: 1, id: "t1", name: "get_weather" });
 * accumulator.push({ type: "tool_call_delta", index: 1, arguments: '{"city":' });
 * accumulator.push({ type: "tool_call_delta", index: 1, arguments: '"Paris"}' });
 * accumulator.push({ type: "block_stop", index: 1 });
 * accumulator.push({ type: "message_stop", stopReason: "tool_use", rawStopReason: "tool_use" });
 *
 * const response = accumulator.response();
 * assert.deepEqual(response.content, [
 *   { type: "text", text: "Hello" },
 *   { type: "tool_use", id: "t1", name: "get_weather", input: { city: "Paris" } },
 * ]);
 * assert.equal(response.stopReason, "tool_use");
 * ```
 */
export class LlmResponseAccumulator {
  #id = "";
  #model = "";
  #blocks = new Map<number, BlockState>();
  #stop: { stopReason: StopReason; rawStopReason: string | null; stopSequence?: string } | null =
    null;
  #usage: Usage | null = null;
  #latencyMs: number | undefined = undefined;
  #error: LlmErrorEvent | null = null;

  /**
   * Records one event.
   *
   * @param event the next event of the stream
   */
  push(event: LlmEvent): void {
    if (this.#error !== null) return;
    switch (event.type) {
      case "message_start":
        this.#id = event.id;
        this.#model = event.model;
        return;
      case "text_delta": {
        const block = this.#block(event.index, "text");
        if (block?.kind === "text") block.chunks.push(event.text);
        return;
      }
      case "citation": {
        const block = this.#block(event.index, "text");
        if (block?.kind === "text") block.citations.push(event.citation);
        return;
      }
      case "reasoning_delta": {
        const block = this.#block(event.index, "reasoning");
        if (block?.kind !== "reasoning") return;
        if (event.kind === "text") block.chunks.push(event.text);
        else if (event.kind === "signature") block.signature.push(event.signature);
        else block.redacted.push(event.data);
        return;
      }
      case "tool_call_start": {
        if (this.#blocks.has(event.index)) return;
        this.#blocks.set(event.index, {
          kind: "tool",
          id: event.id,
          name: event.name,
          serverSide: event.serverSide === true,
          args: [],
        });
        return;
      }
      case "tool_call_delta": {
        const block = this.#blocks.get(event.index);
        if (block?.kind === "tool") block.args.push(event.arguments);
        return;
      }
      case "provider_block": {
        if (this.#blocks.has(event.index)) return;
        this.#blocks.set(event.index, {
          kind: "provider",
          part: {
            type: "provider",
            protocol: event.protocol,
            blockType: event.blockType,
            content: event.content,
          },
        });
        return;
      }
      case "block_stop":
        return;
      case "message_stop":
        this.#stop = {
          stopReason: event.stopReason,
          rawStopReason: event.rawStopReason,
          ...(event.stopSequence !== undefined ? { stopSequence: event.stopSequence } : {}),
        };
        return;
      case "usage":
        this.#usage = event.usage;
        if (event.latencyMs !== undefined) this.#latencyMs = event.latencyMs;
        return;
      case "error":
        this.#error = event;
        return;
    }
  }

  /** The error the stream ended with, if any. */
  get error(): LlmErrorEvent | undefined {
    return this.#error ?? undefined;
  }

  /** Whether a `message_stop` arrived. */
  get stopped(): boolean {
    return this.#stop !== null;
  }

  /**
   * The answer so far. Without a `message_stop` (and without an `error`), `error` is a
   * `protocol_error` saying the stream ended early and `stopReason` is `"error"`.
   *
   * @returns the accumulated response
   */
  response(): LlmResponse {
    const content: LlmResponsePart[] = [];
    const indices = [...this.#blocks.keys()].sort((a, b) => a - b);
    for (const index of indices) {
      const block = this.#blocks.get(index)!;
      switch (block.kind) {
        case "text":
          content.push({
            type: "text",
            text: block.chunks.join(""),
            ...(block.citations.length > 0 ? { citations: [...block.citations] } : {}),
          });
          break;
        case "reasoning":
          if (block.redacted.length > 0) {
            content.push({ type: "redacted_reasoning", data: block.redacted.join("") });
          } else {
            content.push({
              type: "reasoning",
              text: block.chunks.join(""),
              ...(block.signature.length > 0 ? { signature: block.signature.join("") } : {}),
            });
          }
          break;
        case "tool": {
          const parsed = parseToolArguments(block.args.join(""));
          content.push({
            type: "tool_use",
            id: block.id,
            name: block.name,
            input: parsed.input,
            ...(block.serverSide ? { serverSide: true } : {}),
            ...(parsed.inputError !== undefined ? { inputError: parsed.inputError } : {}),
          });
          break;
        }
        case "provider":
          content.push(block.part);
          break;
      }
    }
    let error = this.#error;
    if (error === null && this.#stop === null) {
      error = {
        type: "error",
        kind: "protocol_error",
        message: "the stream ended before message_stop",
        status: 502,
      };
    }
    const stop = this.#stop ?? { stopReason: "error" as const, rawStopReason: null };
    return {
      id: this.#id,
      model: this.#model,
      content,
      ...stop,
      usage: this.#usage ?? createUsage({}),
      ...(this.#latencyMs !== undefined ? { latencyMs: this.#latencyMs } : {}),
      ...(error !== null ? { error } : {}),
    };
  }

  #block(index: number, kind: "text" | "reasoning"): BlockState | undefined {
    let block = this.#blocks.get(index);
    if (block === undefined) {
      block = kind === "text"
        ? { kind, chunks: [], citations: [] }
        : { kind, chunks: [], signature: [], redacted: [] };
      this.#blocks.set(index, block);
    }
    return block;
  }
}

/**
 * A non-streaming answer as the event sequence a stream would have carried, so a gateway or a
 * mock can stream it: `message_start`, each part as a block (index = position), `message_stop`,
 * `usage`, then `error` when the response has one. The inverse of
 * {@linkcode LlmResponseAccumulator}: accumulating these events gives the response back.
 *
 * @param response the answer
 * @returns the events, in stream order
 *
 * @example
 * ```ts
 * import { createUsage, responseToEvents } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const events = responseToEvents({
 *   id: "msg_1",
 *   model: "m",
 *   content: [{ type: "text", text: "Hi" }],
 *   stopReason: "end_turn",
 *   rawStopReason: "end_turn",
 *   usage: createUsage({ inputTokens: 3, outputTokens: 1 }),
 * });
 * assert.deepEqual(events.map((event) => event.type), [
 *   "message_start",
 *   "text_delta",
 *   "block_stop",
 *   "message_stop",
 *   "usage",
 * ]);
 * ```
 */
export function responseToEvents(response: LlmResponse): LlmEvent[] {
  const events: LlmEvent[] = [
    { type: "message_start", id: response.id, model: response.model, role: "assistant" },
  ];
  response.content.forEach((part, index) => {
    switch (part.type) {
      case "text":
        events.push({ type: "text_delta", index, text: part.text });
        for (const citation of part.citations ?? []) {
          events.push({ type: "citation", index, citation });
        }
        break;
      case "reasoning":
        events.push({ type: "reasoning_delta", index, kind: "text", text: part.text });
        if (part.signature !== undefined) {
          events.push({
            type: "reasoning_delta",
            index,
            kind: "signature",
            signature: part.signature,
          });
        }
        break;
      case "redacted_reasoning":
        events.push({ type: "reasoning_delta", index, kind: "redacted", data: part.data });
        break;
      case "tool_use":
        events.push({
          type: "tool_call_start",
          index,
          id: part.id,
          name: part.name,
          ...(part.serverSide === true ? { serverSide: true } : {}),
        });
        events.push({
          type: "tool_call_delta",
          index,
          arguments: part.inputError !== undefined && typeof part.input === "string"
            ? part.input
            : JSON.stringify(part.input ?? {}),
        });
        break;
      case "provider":
        events.push({
          type: "provider_block",
          index,
          protocol: part.protocol,
          blockType: part.blockType,
          content: part.content,
        });
        break;
    }
    events.push({ type: "block_stop", index });
  });
  const endedByError = response.error !== undefined && response.stopReason === "error" &&
    response.rawStopReason === null;
  if (!endedByError) {
    events.push({
      type: "message_stop",
      stopReason: response.stopReason,
      rawStopReason: response.rawStopReason,
      ...(response.stopSequence !== undefined ? { stopSequence: response.stopSequence } : {}),
    });
  }
  events.push({
    type: "usage",
    usage: response.usage,
    ...(response.latencyMs !== undefined ? { latencyMs: response.latencyMs } : {}),
  });
  if (response.error !== undefined) events.push(response.error);
  return events;
}
