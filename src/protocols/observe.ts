/**
 * Observing a provider stream without touching it: what a gateway logs for passthrough traffic.
 * @module
 */

import { EventStreamDecoder } from "../framing/event_stream.ts";
import { SseDecoder } from "../framing/sse.ts";
import { AnthropicMessagesDecoder } from "./anthropic_messages.ts";
import { BedrockConverseDecoder } from "./bedrock_converse.ts";
import type { LlmProtocol } from "./bodies.ts";
import type { LlmErrorEvent, LlmEvent, StopReason, Usage } from "./events.ts";
import { OpenAIChatDecoder } from "./openai_chat.ts";

/** Options of {@linkcode observeStream}. */
export interface ObserveStreamOptions {
  /** The protocol the bytes are in. */
  protocol: LlmProtocol;
  /**
   * The framing of the bytes; by default the protocol's own (`eventstream` for Bedrock, `sse`
   * for OpenAI and Anthropic).
   */
  framing?: "eventstream" | "sse";
  /**
   * When the request started, on the `performance.now()` clock: time to first token is counted
   * from here. Default: when `observeStream` was called.
   */
  startedAt?: number;
  /** Message id and model for protocols whose stream does not carry them (Bedrock). */
  id?: string;
  /** See {@linkcode ObserveStreamOptions.id}. */
  model?: string;
  /** Called once with the final observation when the stream ends, fails or is cancelled. */
  onComplete?: (observation: StreamObservation) => void;
}

/** A tool call seen in an observed stream. */
export interface ObservedToolCall {
  /** The provider's tool call id. */
  id: string;
  /** Tool name. */
  name: string;
  /** The argument JSON text as streamed (not parsed). */
  arguments: string;
}

/** What {@linkcode observeStream} saw of a stream. */
export interface StreamObservation {
  /**
   * Where the stream is: `open` while bytes flow; then `complete` (the message stopped or the
   * provider reported an error), `incomplete` (the bytes ended before that) or `cancelled` (the
   * consumer cancelled or the source failed; see `cancelReason`).
   */
  state: "open" | "complete" | "incomplete" | "cancelled";
  /** Why the stream was cancelled, when it was. */
  cancelReason?: string;
  /** Bytes forwarded. */
  bytes: number;
  /** Chunks forwarded. */
  chunks: number;
  /** Message id, as the stream (or the options) gave it. */
  id: string;
  /** Model, as the stream (or the options) gave it. */
  model: string;
  /** All text the model produced, blocks joined. */
  text: string;
  /** Tool calls, in order. */
  toolCalls: ObservedToolCall[];
  /** The last usage the provider reported. */
  usage?: Usage;
  /** The normalized stop reason, once the model stopped. */
  stopReason?: StopReason;
  /** The provider's own stop reason. */
  rawStopReason?: string | null;
  /**
   * The provider's error, when the stream carried one — or a `protocol_error` from the decoder
   * when the bytes were not a well-formed stream of the protocol (a stream that ended early).
   */
  error?: LlmErrorEvent;
  /** Milliseconds from `startedAt` to the first chunk that carried model output. */
  ttftMs?: number;
  /** Milliseconds from `startedAt` to the end of the stream. */
  durationMs?: number;
  /**
   * Why the bytes could not be decoded, when they could not (corrupt framing, wrong protocol):
   * observation stops there, forwarding never does.
   */
  decodeError?: string;
}

interface SideDecoder {
  push(chunk: Uint8Array): LlmEvent[];
  end(): LlmEvent[];
}

function sideDecoder(options: ObserveStreamOptions): SideDecoder {
  const ids = {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.model !== undefined ? { model: options.model } : {}),
  };
  const framing = options.framing ?? (options.protocol === "bedrock" ? "eventstream" : "sse");
  if (framing === "eventstream") {
    if (options.protocol !== "bedrock") {
      throw new TypeError(`observeStream: ${options.protocol} is not framed as eventstream`);
    }
    const frames = new EventStreamDecoder();
    const decoder = new BedrockConverseDecoder(ids);
    return {
      push: (chunk) => frames.push(chunk).flatMap((message) => decoder.push(message)),
      end: () => {
        frames.end();
        return decoder.end();
      },
    };
  }
  if (options.protocol === "bedrock") {
    throw new TypeError("observeStream: bedrock is framed as eventstream, not sse");
  }
  const frames = new SseDecoder({ flushIncompleteEvent: options.protocol === "openai" });
  const decoder = options.protocol === "openai"
    ? new OpenAIChatDecoder(ids)
    : new AnthropicMessagesDecoder(ids);
  return {
    push: (chunk) => frames.push(chunk).flatMap((event) => decoder.push(event)),
    end: () => frames.end().flatMap((event) => decoder.push(event)).concat(decoder.end()),
  };
}

function isOutput(event: LlmEvent): boolean {
  return event.type === "text_delta" || event.type === "reasoning_delta" ||
    event.type === "tool_call_start" || event.type === "tool_call_delta";
}

/**
 * A `TransformStream<Uint8Array, Uint8Array>` that forwards every chunk unchanged (the same
 * objects, no copy, nothing held back) and decodes a view of them on the side: response text,
 * tool calls, usage, stop reason, error and time to first token — what a gateway logs for
 * traffic it passes through byte for byte. A decode problem on the side (corrupt framing, a
 * stream in another protocol) is recorded in `decodeError` and never disturbs the forwarded
 * bytes.
 *
 * The decoder keeps references to forwarded chunks while a frame spans them, so consumers must
 * not modify or transfer the chunks they receive.
 */
export class ObservedStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly #observation: StreamObservation;
  /** Text fragments, joined only when the observation is read. */
  readonly #text: string[] = [];
  /** Tool calls by block index, with their argument fragments. */
  readonly #toolCalls = new Map<number, { id: string; name: string; fragments: string[] }>();
  readonly #done: Promise<StreamObservation>;

  /**
   * Creates the stream; prefer {@linkcode observeStream}.
   *
   * @param options protocol, framing and timing
   */
  constructor(options: ObserveStreamOptions) {
    const startedAt = options.startedAt ?? performance.now();
    let decoder: SideDecoder | undefined = sideDecoder(options);
    const observation: StreamObservation = {
      state: "open",
      bytes: 0,
      chunks: 0,
      id: options.id ?? "",
      model: options.model ?? "",
      text: "",
      toolCalls: [],
    };
    let resolveDone!: (observation: StreamObservation) => void;
    const done = new Promise<StreamObservation>((resolve) => resolveDone = resolve);
    let finished = false;
    const finish = (state: StreamObservation["state"]) => {
      if (finished) return;
      finished = true;
      this.#summarize();
      observation.state = observation.state === "open" ? state : observation.state;
      observation.durationMs = performance.now() - startedAt;
      options.onComplete?.(observation);
      resolveDone(observation);
    };
    const observe = (events: LlmEvent[]) => {
      for (const event of events) {
        if (observation.ttftMs === undefined && isOutput(event)) {
          observation.ttftMs = performance.now() - startedAt;
        }
        if (event.type === "message_start") {
          if (event.id !== "") observation.id = event.id;
          if (event.model !== "") observation.model = event.model;
        } else if (event.type === "text_delta") {
          this.#text.push(event.text);
        } else if (event.type === "tool_call_start" && !this.#toolCalls.has(event.index)) {
          this.#toolCalls.set(event.index, { id: event.id, name: event.name, fragments: [] });
        } else if (event.type === "tool_call_delta") {
          this.#toolCalls.get(event.index)?.fragments.push(event.arguments);
        }
        // After message_stop, usage may still follow (Bedrock's metadata, OpenAI's usage chunk),
        // so decoding goes on until the bytes end.
        if (event.type === "message_stop") {
          observation.state = "complete";
          observation.stopReason = event.stopReason;
          observation.rawStopReason = event.rawStopReason;
        } else if (event.type === "usage") {
          observation.usage = event.usage;
        } else if (event.type === "error" && observation.error === undefined) {
          observation.error = event;
          // A provider's error ends its message; a protocol_error means the bytes did not.
          if (event.kind !== "protocol_error") observation.state = "complete";
        }
      }
    };
    const fail = (error: unknown) => {
      observation.decodeError = error instanceof Error ? error.message : String(error);
      decoder = undefined;
    };
    super({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        observation.bytes += chunk.length;
        observation.chunks++;
        if (decoder === undefined) return;
        try {
          observe(decoder.push(chunk));
        } catch (error) {
          fail(error);
        }
      },
      flush() {
        if (decoder !== undefined) {
          try {
            observe(decoder.end());
          } catch (error) {
            fail(error);
          }
        }
        finish("incomplete");
      },
      // Called when the consumer cancels or the source errors (the pipe aborts the writable).
      cancel(reason) {
        observation.cancelReason = reason instanceof Error ? reason.message : String(reason);
        finish("cancelled");
      },
    });
    this.#observation = observation;
    this.#done = done;
  }

  /** What was seen so far (live; complete once {@linkcode ObservedStream.done} resolved). */
  get observation(): StreamObservation {
    this.#summarize();
    return this.#observation;
  }

  /** Resolves with the final observation when the stream ends or is cancelled. */
  get done(): Promise<StreamObservation> {
    return this.#done;
  }

  /** Joins the text and tool-call fragments seen so far into the observation. */
  #summarize(): void {
    const observation = this.#observation;
    observation.text = this.#text.join("");
    observation.toolCalls = [...this.#toolCalls.values()].map(({ id, name, fragments }) => ({
      id,
      name,
      arguments: fragments.join(""),
    }));
  }
}

/**
 * Observes a provider response stream in passing: pipe the upstream body through the returned
 * stream and forward its output to the client unchanged; read `observation` (live) or await
 * `done` for text, tool calls, usage, stop reason, error and time to first token.
 *
 * @param options the protocol (and framing) of the stream
 * @returns a pass-through stream that records what it forwards
 *
 * @example Log usage of a Bedrock stream passed through byte for byte
 * ```ts
 * import { observeStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const upstream = (await Deno.open("fixtures/bedrock/converse_stream_text.bin")).readable;
 * const observed = observeStream({ protocol: "bedrock" });
 * const forwarded = new Uint8Array(await new Response(upstream.pipeThrough(observed)).arrayBuffer());
 * const { text, usage, stopReason, state } = await observed.done;
 * assert.equal(forwarded.length, 2513);
 * assert.equal(state, "complete");
 * assert.equal(stopReason, "end_turn");
 * assert.equal(usage?.totalTokens, 37);
 * assert.ok(text.startsWith("Hello! llmwire decodes AWS EventStream"));
 * ```
 */
export function observeStream(options: ObserveStreamOptions): ObservedStream {
  return new ObservedStream(options);
}
