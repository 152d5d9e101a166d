/**
 * One adapter per protocol: what the gateway needs to speak it as a client protocol (parse a
 * request, write a response, an error, a stream) and as an upstream protocol (write a request,
 * read a response, an error, a stream).
 * @module
 */

import { encodeEventStreamMessage, EventStreamDecoder } from "../framing/event_stream.ts";
import type { EventStreamMessage } from "../framing/event_stream.ts";
import { encodeSseEvent, SseDecoder, type SseEvent } from "../framing/sse.ts";
import {
  AnthropicMessagesDecoder,
  AnthropicMessagesEncoder,
  parseAnthropicMessagesError,
  toAnthropicMessagesError,
} from "../protocols/anthropic_messages.ts";
import {
  parseAnthropicMessagesRequest,
  parseAnthropicMessagesResponse,
  toAnthropicMessagesRequest,
  toAnthropicMessagesResponse,
} from "../protocols/anthropic_messages_bodies.ts";
import {
  BedrockConverseDecoder,
  BedrockConverseEncoder,
  decodeBedrockError,
  encodeBedrockError,
} from "../protocols/bedrock_converse.ts";
import {
  parseBedrockConverseRequest,
  parseBedrockConverseResponse,
  toBedrockConverseRequest,
  toBedrockConverseResponse,
} from "../protocols/bedrock_converse_bodies.ts";
import type { LlmProtocol, LlmRequest, LlmResponse } from "../protocols/bodies.ts";
import { errorKindFromStatus, type LlmErrorEvent, type LlmEvent } from "../protocols/events.ts";
import {
  OpenAIChatDecoder,
  OpenAIChatEncoder,
  parseOpenAIChatError,
  toOpenAIChatError,
} from "../protocols/openai_chat.ts";
import {
  parseOpenAIChatRequest,
  parseOpenAIChatResponse,
  toOpenAIChatRequest,
  toOpenAIChatResponse,
} from "../protocols/openai_chat_bodies.ts";

/** Bytes → events; never throws (a framing error becomes a `protocol_error` event). */
export interface EventDecoder {
  push(chunk: Uint8Array): LlmEvent[];
  end(): LlmEvent[];
}

/** Events → bytes in the client's protocol. */
export interface EventEncoder {
  push(event: LlmEvent): Uint8Array[];
  end(): Uint8Array[];
}

/** Everything the gateway does in one protocol. */
export interface ProtocolAdapter {
  readonly protocol: LlmProtocol;
  /** Content type of a streaming response. */
  readonly streamContentType: string;
  parseRequest(body: unknown, modelId: string): LlmRequest;
  toRequest(request: LlmRequest): unknown;
  parseResponse(body: unknown, ids: { id: string; model: string }): LlmResponse;
  toResponse(response: LlmResponse): unknown;
  /** An upstream's error response → an error event (the status stays the upstream's). */
  parseError(status: number, headers: Headers, text: string): LlmErrorEvent;
  /** An error response in this protocol. */
  errorResponse(error: LlmErrorEvent): Response;
  /** The terminal error of a stream in this protocol. */
  errorFrame(error: LlmErrorEvent): Uint8Array;
  decoder(ids: { id: string; model: string }): EventDecoder;
  encoder(options: { model: string; includeUsage: boolean }): EventEncoder;
}

const utf8 = new TextEncoder();

function protocolError(message: string): LlmErrorEvent {
  return { type: "error", kind: "protocol_error", message, status: 502 };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a push parser so that nothing follows an error and nothing throws. */
function safeDecoder<F>(
  what: string,
  frames: { push(chunk: Uint8Array): F[]; end(): F[] },
  decoder: { push(frame: F): LlmEvent[]; end(): LlmEvent[] },
): EventDecoder {
  let failed = false;
  const guard = (run: () => LlmEvent[]): LlmEvent[] => {
    if (failed) return [];
    const out: LlmEvent[] = [];
    try {
      for (const event of run()) {
        out.push(event);
        if (event.type === "error") {
          failed = true;
          break;
        }
      }
    } catch (error) {
      failed = true;
      out.push(protocolError(`${what}: ${errorMessage(error)}`));
    }
    return out;
  };
  return {
    push: (chunk) => guard(() => frames.push(chunk).flatMap((frame) => decoder.push(frame))),
    end: () =>
      guard(() => {
        const events = frames.end().flatMap((frame) => decoder.push(frame));
        return events.concat(decoder.end());
      }),
  };
}

function sseEncoder(encoder: { push(event: LlmEvent): SseEvent[]; end(): SseEvent[] }) {
  const bytes = (events: SseEvent[]) =>
    events.length === 0 ? [] : [utf8.encode(events.map(encodeSseEvent).join(""))];
  return {
    push: (event: LlmEvent) => bytes(encoder.push(event)),
    end: () => bytes(encoder.end()),
  };
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fallbackError(status: number, text: string): LlmErrorEvent {
  const snippet = text.trim().slice(0, 200);
  return {
    type: "error",
    kind: errorKindFromStatus(status),
    message: `upstream answered ${status}${snippet === "" ? "" : `: ${snippet}`}`,
    status,
  };
}

function withStatus(event: LlmErrorEvent, status: number): LlmErrorEvent {
  return {
    ...event,
    status,
    kind: event.status === status ? event.kind : errorKindFromStatus(status),
  };
}

/** Bedrock's HTTP error types for the gateway's own errors, where the stream exceptions have none. */
const BEDROCK_HTTP_ERRORS: Partial<Record<LlmErrorEvent["kind"], string>> = {
  not_found: "ResourceNotFoundException",
  authentication: "UnrecognizedClientException",
  permission: "AccessDeniedException",
  invalid_request: "ValidationException",
};

/** `throttlingException` → `ThrottlingException`, as Bedrock's `x-amzn-errortype` has it. */
function bedrockErrorType(error: LlmErrorEvent): string {
  const own = BEDROCK_HTTP_ERRORS[error.kind];
  if (own !== undefined && error.providerType === undefined) return own;
  const { exceptionType } = encodeBedrockError(error);
  return exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1);
}

const bedrock: ProtocolAdapter = {
  protocol: "bedrock",
  streamContentType: "application/vnd.amazon.eventstream",
  parseRequest: (body, modelId) => parseBedrockConverseRequest(body, { modelId }),
  toRequest: (request) => toBedrockConverseRequest(request),
  parseResponse: (body, ids) => parseBedrockConverseResponse(body, ids),
  toResponse: (response) => toBedrockConverseResponse(response),
  parseError(status, headers, text) {
    const body = parseJson(text) as Record<string, unknown> | undefined;
    const type = (headers.get("x-amzn-errortype") ?? "").split(":")[0] ||
      (typeof body?.__type === "string" ? body.__type.split("#").pop()! : "");
    const message = typeof body?.message === "string"
      ? body.message
      : typeof body?.Message === "string"
      ? body.Message
      : undefined;
    if (type === "" || message === undefined) return fallbackError(status, text);
    return withStatus(decodeBedrockError(type, message), status);
  },
  errorResponse: (error) =>
    jsonResponse(error.status, { message: error.message }, {
      "x-amzn-errortype": bedrockErrorType(error),
    }),
  errorFrame(error) {
    const message: EventStreamMessage = {
      headers: {
        ":exception-type": { type: "string", value: encodeBedrockError(error).exceptionType },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "exception" },
      },
      payload: utf8.encode(JSON.stringify({ message: error.message })),
    };
    return encodeEventStreamMessage(message);
  },
  decoder: (ids) => {
    const frames = new EventStreamDecoder();
    return safeDecoder("Bedrock EventStream", {
      push: (chunk: Uint8Array) => frames.push(chunk),
      end: () => {
        frames.end();
        return [];
      },
    }, new BedrockConverseDecoder(ids));
  },
  encoder() {
    const encoder = new BedrockConverseEncoder();
    const bytes = (messages: EventStreamMessage[]) =>
      messages.map((message) => encodeEventStreamMessage(message));
    return { push: (event) => bytes(encoder.push(event)), end: () => bytes(encoder.end()) };
  },
};

const openai: ProtocolAdapter = {
  protocol: "openai",
  streamContentType: "text/event-stream; charset=utf-8",
  parseRequest: (body) => parseOpenAIChatRequest(body),
  toRequest: (request) => toOpenAIChatRequest(request),
  parseResponse: (body) => parseOpenAIChatResponse(body),
  toResponse: (response) => toOpenAIChatResponse(response),
  parseError(status, _headers, text) {
    const body = parseJson(text) as Record<string, unknown> | undefined;
    if (body === undefined || body === null || body.error === undefined) {
      return fallbackError(status, text);
    }
    return withStatus(parseOpenAIChatError(body.error), status);
  },
  errorResponse: (error) => jsonResponse(error.status, toOpenAIChatError(error)),
  errorFrame: (error) =>
    utf8.encode(encodeSseEvent({ data: JSON.stringify(toOpenAIChatError(error)) })),
  decoder: (ids) =>
    safeDecoder(
      "OpenAI SSE",
      new SseDecoder({ flushIncompleteEvent: true }),
      new OpenAIChatDecoder(ids),
    ),
  encoder: ({ model, includeUsage }) =>
    sseEncoder(new OpenAIChatEncoder({ ...(model !== "" ? { model } : {}), includeUsage })),
};

const anthropic: ProtocolAdapter = {
  protocol: "anthropic",
  streamContentType: "text/event-stream; charset=utf-8",
  parseRequest: (body) => parseAnthropicMessagesRequest(body),
  toRequest: (request) => toAnthropicMessagesRequest(request),
  parseResponse: (body) => parseAnthropicMessagesResponse(body),
  toResponse: (response) => toAnthropicMessagesResponse(response),
  parseError(status, _headers, text) {
    const body = parseJson(text) as Record<string, unknown> | undefined;
    if (body === undefined || body === null || body.error === undefined) {
      return fallbackError(status, text);
    }
    return withStatus(parseAnthropicMessagesError(body), status);
  },
  errorResponse: (error) => jsonResponse(error.status, toAnthropicMessagesError(error)),
  errorFrame: (error) =>
    utf8.encode(
      encodeSseEvent({ event: "error", data: JSON.stringify(toAnthropicMessagesError(error)) }),
    ),
  decoder: (ids) =>
    safeDecoder("Anthropic SSE", new SseDecoder(), new AnthropicMessagesDecoder(ids)),
  encoder: ({ model }) => sseEncoder(new AnthropicMessagesEncoder(model !== "" ? { model } : {})),
};

/** The adapters, by protocol. */
export const ADAPTERS: Readonly<Record<LlmProtocol, ProtocolAdapter>> = {
  bedrock,
  openai,
  anthropic,
};
