/**
 * A mock LLM upstream as a fetch-like function: it speaks Amazon Bedrock Converse, OpenAI Chat
 * Completions and Anthropic Messages, streams deterministic replies with realistic token pacing,
 * and needs no network. The gateway's `mock` provider uses it in place of `fetch`; tests and demos
 * can serve it with any HTTP server.
 *
 * Every reply is generated with the library's own converters and encoders: the request body is
 * parsed into an {@linkcode LlmRequest}, the reply is an {@linkcode LlmResponse}, streamed as the
 * events of {@linkcode responseToEvents} (text split into word tokens) through the protocol's
 * encoder and framing encoder, or written whole by the protocol's response converter.
 * @module
 */
import { encodeEventStreamMessage } from "../framing/event_stream.ts";
import { encodeSseEvent } from "../framing/sse.ts";
import {
  AnthropicMessagesEncoder,
  toAnthropicMessagesError,
} from "../protocols/anthropic_messages.ts";
import {
  parseAnthropicMessagesRequest,
  toAnthropicMessagesResponse,
} from "../protocols/anthropic_messages_bodies.ts";
import { BedrockConverseEncoder } from "../protocols/bedrock_converse.ts";
import {
  parseBedrockConverseRequest,
  toBedrockConverseResponse,
} from "../protocols/bedrock_converse_bodies.ts";
import {
  type LlmProtocol,
  type LlmRequest,
  type LlmResponse,
  type LlmResponsePart,
  responseToEvents,
} from "../protocols/bodies.ts";
import { createUsage, type LlmEvent, type StopReason } from "../protocols/events.ts";
import { OpenAIChatEncoder, toOpenAIChatError } from "../protocols/openai_chat.ts";
import { parseOpenAIChatRequest, toOpenAIChatResponse } from "../protocols/openai_chat_bodies.ts";
/**
 * Options of {@linkcode createMockUpstream}.
 *
 * @example
 * ```ts
 * import { createMockUpstream, type MockUpstreamOptions } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const options: MockUpstreamOptions = {
 *   firstTokenDelayMs: 0,
 *   tokenDelayMs: 0,
 *   reply: (request) => `You asked ${request.model}.`,
 * };
 * const upstream = createMockUpstream(options);
 * const response = await upstream(
 *   new Request("http://mock/v1/chat/completions", {
 *     method: "POST",
 *     body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "Hi" }] }),
 *   }),
 * );
 * assert.equal((await response.json()).choices[0].message.content, "You asked m.");
 * ```
 */
export interface MockUpstreamOptions {
  /**
   * Milliseconds before the first token of a stream (and added to a non-streaming reply's
   * latency). Default 200.
   */
  firstTokenDelayMs?: number;
  /** Milliseconds between two tokens of a stream. Default 30. */
  tokenDelayMs?: number;
  /**
   * The text of the answer, as a function of the request. Default
   * {@linkcode defaultMockReply}. A tool call, when the request asks for one, follows this text.
   */
  reply?: (request: LlmRequest) => string;
}

/**
 * The function {@linkcode createMockUpstream} returns: it takes a `Request` and answers like a
 * provider's server would, so it can stand in for `fetch` or serve as a `Deno.serve` handler.
 */
export type MockUpstream = (request: Request) => Promise<Response>;

/** `created` of every OpenAI reply (2026-01-01T00:00:00Z), so replies are deterministic. */
const MOCK_CREATED = 1767225600;
const DEFAULT_FIRST_TOKEN_DELAY_MS = 200;
const DEFAULT_TOKEN_DELAY_MS = 30;
const QUOTE_MAX_CHARS = 80;
const JSON_HEADERS = { "content-type": "application/json" };

/**
 * The default reply text of {@linkcode createMockUpstream}: a fixed sentence that quotes the
 * text of the last user message (whitespace collapsed, cut at 80 characters with `…`).
 *
 * @param request the normalized request
 * @returns the reply text
 *
 * @example
 * ```ts
 * import { defaultMockReply } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const text = defaultMockReply({
 *   model: "mock",
 *   system: [],
 *   messages: [{ role: "user", content: [{ type: "text", text: "Hello  there" }] }],
 * });
 * assert.equal(text, 'Hello from the llmwire mock model. You said: "Hello there"');
 * ```
 */
export function defaultMockReply(request: LlmRequest): string {
  const said = lastUserText(request).replace(/\s+/g, " ").trim();
  if (said === "") return "Hello from the llmwire mock model. You said nothing.";
  const quote = said.length > QUOTE_MAX_CHARS
    ? `${said.slice(0, QUOTE_MAX_CHARS).trimEnd()}…`
    : said;
  return `Hello from the llmwire mock model. You said: "${quote}"`;
}

/**
 * Creates a mock upstream that answers like the three providers' APIs:
 *
 * - Bedrock `POST /model/{modelId}/converse` and `POST /model/{modelId}/converse-stream`
 *   (`application/vnd.amazon.eventstream`);
 * - OpenAI `POST /v1/chat/completions` (streaming when `stream: true`, with the usage chunk when
 *   `stream_options.include_usage` is set) and `GET /v1/models`;
 * - Anthropic `POST /v1/messages` (streaming when `stream: true`).
 *
 * Only the path is routed on (any host and base URL work). The reply is a function of the
 * request: its text comes from `options.reply` (default {@linkcode defaultMockReply}), split
 * into word tokens; usage counts the words of the request (input) and the tokens sent
 * (output); ids are derived from a hash of the request. When the request offers function tools
 * and the last user message names one (or `tool_choice` names one, or asks for any), the text is
 * followed by a call to that tool, with arguments filled from its JSON Schema (the first `enum`
 * value, `"example"`, `1`, `true`, `[]`, `{}`), and the stop reason is `tool_use`. Stop sequences
 * cut the text (`stop_sequence`); a `max_tokens` smaller than the reply cuts it (`max_tokens`).
 *
 * Streams send the response head at once, then the first token after `firstTokenDelayMs` and
 * each next one after `tokenDelayMs`; a non-streaming reply waits for the time the stream would
 * take. Aborting the request's signal stops the stream (its body errors with the abort reason)
 * and clears every timer. An invalid body gets the provider's own error shape and status 400, an
 * unknown path 404, a wrong method 405.
 *
 * @param options pacing and reply text
 * @returns the upstream: a `Request` in, a `Response` out
 *
 * @example Stream an OpenAI reply
 * ```ts
 * import { createMockUpstream } from "@llmwire/llmwire/gateway";
 * import { OpenAIChatDecoderStream, SseDecoderStream } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const upstream = createMockUpstream({ firstTokenDelayMs: 0, tokenDelayMs: 0 });
 * const response = await upstream(
 *   new Request("http://mock/v1/chat/completions", {
 *     method: "POST",
 *     body: JSON.stringify({
 *       model: "mock-openai",
 *       stream: true,
 *       messages: [{ role: "user", content: "Hi" }],
 *     }),
 *   }),
 * );
 * assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
 * const events = await Array.fromAsync(
 *   response.body!
 *     .pipeThrough(new SseDecoderStream())
 *     .pipeThrough(new OpenAIChatDecoderStream()),
 * );
 * const text = events.map((event) => event.type === "text_delta" ? event.text : "").join("");
 * assert.equal(text, 'Hello from the llmwire mock model. You said: "Hi"');
 * ```
 *
 * @example Serve it on loopback and call it with Bedrock's non-streaming API
 * ```ts
 * import { createMockUpstream } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const upstream = createMockUpstream({ firstTokenDelayMs: 0, tokenDelayMs: 0 });
 * const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, upstream);
 * try {
 *   const response = await fetch(`http://127.0.0.1:${server.addr.port}/model/mock/converse`, {
 *     method: "POST",
 *     body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
 *   });
 *   const body = await response.json();
 *   assert.equal(body.stopReason, "end_turn");
 *   assert.deepEqual(body.usage, { inputTokens: 1, outputTokens: 9, totalTokens: 10 });
 * } finally {
 *   await server.shutdown();
 * }
 * ```
 */
export function createMockUpstream(options: MockUpstreamOptions = {}): MockUpstream {
  const pacing: Pacing = {
    firstTokenDelayMs: delayOption(options.firstTokenDelayMs, DEFAULT_FIRST_TOKEN_DELAY_MS),
    tokenDelayMs: delayOption(options.tokenDelayMs, DEFAULT_TOKEN_DELAY_MS),
  };
  const reply = options.reply ?? defaultMockReply;
  return (request) => handle(request, pacing, reply);
}

// ---------------------------------------------------------------------------------------------
// Routing

interface Pacing {
  firstTokenDelayMs: number;
  tokenDelayMs: number;
}

type Route =
  | { protocol: "bedrock"; stream: boolean; modelId: string }
  | { protocol: "openai"; models?: true }
  | { protocol: "anthropic" };

function delayOption(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`a mock upstream delay must be a non-negative number, got ${value}`);
  }
  return value;
}

async function handle(
  request: Request,
  pacing: Pacing,
  reply: (request: LlmRequest) => string,
): Promise<Response> {
  const signal = request.signal;
  signal.throwIfAborted();
  const path = new URL(request.url).pathname;
  const protocol = protocolOfPath(path);
  const route = routeOf(path);
  if (route === undefined) {
    return errorResponse(protocol, 404, "not_found", `no route for ${request.method} ${path}`);
  }
  const method = "models" in route ? "GET" : "POST";
  if (request.method !== method) {
    const response = errorResponse(
      route.protocol,
      405,
      "invalid_request",
      `${request.method} is not allowed on ${path}; use ${method}`,
    );
    response.headers.set("allow", method);
    return response;
  }
  if ("models" in route) {
    return Response.json({
      object: "list",
      data: [{ id: "mock", object: "model", created: MOCK_CREATED, owned_by: "llmwire" }],
    });
  }

  const text = await request.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return errorResponse(route.protocol, 400, "invalid_request", `invalid JSON body: ${why}`);
  }
  let parsed: LlmRequest;
  try {
    parsed = route.protocol === "bedrock"
      ? parseBedrockConverseRequest(body, { modelId: route.modelId })
      : route.protocol === "openai"
      ? parseOpenAIChatRequest(body)
      : parseAnthropicMessagesRequest(body);
  } catch (error) {
    // LlmConversionError names the JSON path of the offending field.
    const why = error instanceof Error ? error.message : String(error);
    return errorResponse(route.protocol, 400, "invalid_request", why);
  }
  const stream = route.protocol === "bedrock" ? route.stream : parsed.stream === true;
  const answer = buildReply(route.protocol, parsed, reply(parsed), `${path}\n${text}`);
  const chunks = stream ? streamChunks(route.protocol, parsed, answer, pacing) : undefined;
  const headers = new Headers({ [requestIdHeader(route.protocol)]: `mock-${answer.hash}` });

  if (chunks !== undefined) {
    headers.set(
      "content-type",
      route.protocol === "bedrock"
        ? "application/vnd.amazon.eventstream"
        : "text/event-stream; charset=utf-8",
    );
    headers.set("cache-control", "no-cache");
    return new Response(pacedBody(chunks, signal), { headers });
  }

  await sleep(streamDuration(answer.tokens, pacing), signal);
  headers.set("content-type", "application/json");
  const response = answer.response;
  const json = route.protocol === "bedrock"
    ? toBedrockConverseResponse(response)
    : route.protocol === "openai"
    ? toOpenAIChatResponse(response, { created: MOCK_CREATED })
    : toAnthropicMessagesResponse(response);
  return new Response(JSON.stringify(json), { headers });
}

/** Which provider's error shape a path calls for, before it is known to be a route. */
function protocolOfPath(path: string): LlmProtocol {
  if (path.startsWith("/model/")) return "bedrock";
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "anthropic";
  return "openai";
}

function routeOf(path: string): Route | undefined {
  if (path === "/v1/chat/completions") return { protocol: "openai" };
  if (path === "/v1/models") return { protocol: "openai", models: true };
  if (path === "/v1/messages") return { protocol: "anthropic" };
  // `/model/{modelId}/{operation}`: the model id is one path segment, percent-encoded.
  const segments = path.split("/");
  if (segments.length !== 4 || segments[1] !== "model") return undefined;
  const operation = segments[3];
  if (operation !== "converse" && operation !== "converse-stream") return undefined;
  let modelId: string;
  try {
    modelId = decodeURIComponent(segments[2]!);
  } catch {
    return undefined;
  }
  if (modelId === "") return undefined;
  return { protocol: "bedrock", stream: operation === "converse-stream", modelId };
}

function requestIdHeader(protocol: LlmProtocol): string {
  return protocol === "bedrock"
    ? "x-amzn-requestid"
    : protocol === "openai"
    ? "x-request-id"
    : "request-id";
}

/** A response in the provider's own error shape. */
function errorResponse(
  protocol: LlmProtocol,
  status: number,
  kind: "invalid_request" | "not_found",
  message: string,
): Response {
  switch (protocol) {
    case "bedrock": {
      // The AWS SDKs read the error type from this header; the body is `{"message": …}`.
      const type = status === 404
        ? "UnknownOperationException"
        : status === 405
        ? "UnknownOperationException"
        : "ValidationException";
      return new Response(JSON.stringify({ message }), {
        status,
        headers: { ...JSON_HEADERS, "x-amzn-errortype": type },
      });
    }
    case "openai":
      return new Response(
        JSON.stringify(toOpenAIChatError({ type: "error", kind, status, message })),
        { status, headers: JSON_HEADERS },
      );
    case "anthropic":
      return new Response(
        JSON.stringify(toAnthropicMessagesError({ kind, status, message })),
        { status, headers: JSON_HEADERS },
      );
  }
}

// ---------------------------------------------------------------------------------------------
// The reply

interface Answer {
  response: LlmResponse;
  /** How many token deltas the stream carries (text pieces and tool-argument pieces). */
  tokens: number;
  /** Text pieces, in order. */
  textPieces: string[];
  /** Tool-argument pieces, in order. */
  argumentPieces: string[];
  hash: string;
}

function buildReply(
  protocol: LlmProtocol,
  request: LlmRequest,
  replyText: string,
  fingerprint: string,
): Answer {
  const hash = fnv1a(`${protocol}\n${fingerprint}`);
  let stopReason: StopReason = "end_turn";
  let stopSequence: string | undefined;
  let text = replyText;

  // A stop sequence cuts the text where it first matches.
  let cut = -1;
  for (const sequence of request.stopSequences ?? []) {
    const at = sequence === "" ? -1 : text.indexOf(sequence);
    if (at !== -1 && (cut === -1 || at < cut)) {
      cut = at;
      stopSequence = sequence;
    }
  }
  if (cut !== -1) {
    text = text.slice(0, cut);
    stopReason = "stop_sequence";
  }

  let textPieces = tokenize(text);
  const tool = stopReason === "end_turn" ? chooseTool(request) : undefined;
  let argumentPieces: string[] = [];
  let toolInput: Record<string, unknown> | undefined;
  if (tool !== undefined) {
    toolInput = argumentsFor(tool.inputSchema);
    argumentPieces = jsonPieces(JSON.stringify(toolInput));
    stopReason = "tool_use";
  }
  const maxTokens = request.maxTokens;
  if (maxTokens !== undefined && textPieces.length + argumentPieces.length > maxTokens) {
    textPieces = textPieces.slice(0, Math.max(0, maxTokens));
    argumentPieces = [];
    toolInput = undefined;
    stopReason = "max_tokens";
    stopSequence = undefined;
  }

  const content: LlmResponsePart[] = [];
  if (textPieces.length > 0) content.push({ type: "text", text: textPieces.join("") });
  if (tool !== undefined && toolInput !== undefined) {
    content.push({
      type: "tool_use",
      id: `${TOOL_ID_PREFIX[protocol]}${hash}`,
      name: tool.name,
      input: toolInput,
    });
  }
  const tokens = textPieces.length + argumentPieces.length;
  const response: LlmResponse = {
    id: `${MESSAGE_ID_PREFIX[protocol]}${hash}`,
    model: request.model,
    content,
    stopReason,
    // The encoders and converters write the stop reason in each protocol's own terms.
    rawStopReason: null,
    ...(stopSequence !== undefined ? { stopSequence } : {}),
    usage: createUsage({ inputTokens: countInputWords(request), outputTokens: tokens }),
  };
  return { response, tokens, textPieces, argumentPieces, hash };
}

const MESSAGE_ID_PREFIX: Readonly<Record<LlmProtocol, string>> = {
  bedrock: "msg_mock",
  openai: "chatcmpl-mock",
  anthropic: "msg_mock",
};

const TOOL_ID_PREFIX: Readonly<Record<LlmProtocol, string>> = {
  bedrock: "tooluse_mock",
  openai: "call_mock",
  anthropic: "toolu_mock",
};

/** Word tokens: each word with the whitespace before it, so the pieces join to the text. */
function tokenize(text: string): string[] {
  const pieces: string[] = text.match(/\s*\S+/g) ?? [];
  const rest = text.length - pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (rest > 0) pieces.push(text.slice(text.length - rest)); // trailing whitespace
  return pieces;
}

/** JSON argument text in pieces that end after each `,` or `:`, as models stream them. */
function jsonPieces(json: string): string[] {
  return json.match(/[^,:]+[,:]?|[,:]/g) ?? [];
}

function countWords(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}

/** Input "tokens": the words of the system prompt, the messages and the tool definitions. */
function countInputWords(request: LlmRequest): number {
  let words = 0;
  for (const part of request.system) if (part.type === "text") words += countWords(part.text);
  for (const message of request.messages) {
    for (const part of message.content) {
      switch (part.type) {
        case "text":
        case "reasoning":
          words += countWords(part.text);
          break;
        case "tool_use":
          words += countWords(`${part.name} ${JSON.stringify(part.input)}`);
          break;
        case "tool_result":
          for (const item of part.content) {
            if (item.type === "text") words += countWords(item.text);
            else if (item.type === "json") words += countWords(JSON.stringify(item.value));
          }
          break;
        default:
          break;
      }
    }
  }
  for (const tool of request.tools ?? []) {
    if (tool.type !== "function") continue;
    words += countWords(`${tool.name} ${tool.description ?? ""}`);
  }
  return words;
}

/** The text of the last user message: its text parts and the text of its tool results. */
function lastUserText(request: LlmRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role !== "user") continue;
    const texts: string[] = [];
    for (const part of message.content) {
      if (part.type === "text") texts.push(part.text);
      else if (part.type === "tool_result") {
        for (const item of part.content) if (item.type === "text") texts.push(item.text);
      }
    }
    return texts.join(" ");
  }
  return "";
}

interface ChosenTool {
  name: string;
  inputSchema: Record<string, unknown>;
}

/** The function tool to call: the one `tool_choice` names, else the first the user names. */
function chooseTool(request: LlmRequest): ChosenTool | undefined {
  const choice = request.toolChoice;
  if (choice?.type === "none") return undefined;
  const tools = (request.tools ?? []).flatMap((tool) => tool.type === "function" ? [tool] : []);
  if (tools.length === 0) return undefined;
  if (choice?.type === "tool") return tools.find((tool) => tool.name === choice.name);
  const said = lastUserText(request);
  const named = tools.find((tool) =>
    new RegExp(`(?<![\\w-])${escapeRegExp(tool.name)}(?![\\w-])`).test(said)
  );
  return named ?? (choice?.type === "any" ? tools[0] : undefined);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** Arguments that fit a JSON Schema: its required properties (or all), each a plain value. */
function argumentsFor(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required)
    ? schema.required.filter((name): name is string => typeof name === "string")
    : Object.keys(properties);
  const args: Record<string, unknown> = {};
  for (const name of required) args[name] = exampleValue(properties[name]);
  return args;
}

function exampleValue(schema: unknown): unknown {
  if (!isRecord(schema)) return "example";
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "number":
    case "integer":
      return 1;
    case "boolean":
      return true;
    case "array":
      return [];
    case "object":
      return isRecord(schema.properties) ? argumentsFor(schema) : {};
    case "null":
      return null;
    default:
      return "example";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits: a stable id from the request. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** Bytes to send after waiting `delayMs`. */
interface Chunk {
  delayMs: number;
  bytes: Uint8Array;
}

function streamDuration(tokens: number, pacing: Pacing): number {
  return tokens === 0 ? 0 : pacing.firstTokenDelayMs + (tokens - 1) * pacing.tokenDelayMs;
}

/**
 * The stream as timed chunks: the events of the response (text and tool arguments split into
 * their pieces), encoded by the protocol's encoder, one chunk per event.
 */
function streamChunks(
  protocol: LlmProtocol,
  request: LlmRequest,
  answer: Answer,
  pacing: Pacing,
): Chunk[] {
  const { response } = answer;
  const events: LlmEvent[] = [];
  for (const event of responseToPacedEvents(answer)) {
    events.push(event);
    if (event.type === "message_start" && protocol === "anthropic") {
      // Anthropic reports the input tokens in `message_start`; the encoder writes a `usage`
      // that directly follows it there.
      events.push({
        type: "usage",
        usage: createUsage({ inputTokens: response.usage.inputTokens }),
      });
    }
  }
  const encode = encoderFor(protocol, request, response);
  const chunks: Chunk[] = [];
  let delayMs = 0;
  let tokensSent = 0;
  const push = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    chunks.push({ delayMs, bytes });
    delayMs = 0;
  };
  for (const event of events) {
    if (event.type === "text_delta" || event.type === "tool_call_delta") {
      delayMs += tokensSent === 0 ? pacing.firstTokenDelayMs : pacing.tokenDelayMs;
      tokensSent++;
    }
    push(encode.push(event));
  }
  push(encode.end());
  return chunks;
}

/** {@linkcode responseToEvents}, with each text and tool-argument delta split into tokens. */
function responseToPacedEvents(answer: Answer): LlmEvent[] {
  const events: LlmEvent[] = [];
  for (const event of responseToEvents(answer.response)) {
    if (event.type === "text_delta") {
      for (const text of answer.textPieces) events.push({ ...event, text });
    } else if (event.type === "tool_call_delta") {
      for (const piece of answer.argumentPieces) events.push({ ...event, arguments: piece });
    } else {
      events.push(event);
    }
  }
  return events;
}

interface ByteEncoder {
  push(event: LlmEvent): Uint8Array;
  end(): Uint8Array;
}

function encoderFor(protocol: LlmProtocol, request: LlmRequest, response: LlmResponse) {
  const utf8 = new TextEncoder();
  switch (protocol) {
    case "bedrock": {
      const encoder = new BedrockConverseEncoder();
      const bytes = (messages: ReturnType<BedrockConverseEncoder["end"]>) =>
        concat(messages.map((message) => encodeEventStreamMessage(message)));
      return {
        push: (event) => bytes(encoder.push(event)),
        end: () => bytes(encoder.end()),
      } satisfies ByteEncoder;
    }
    case "openai": {
      const encoder = new OpenAIChatEncoder({
        id: response.id,
        model: response.model,
        created: MOCK_CREATED,
        includeUsage: request.includeUsage === true,
      });
      const bytes = (events: ReturnType<OpenAIChatEncoder["end"]>) =>
        utf8.encode(events.map(encodeSseEvent).join(""));
      return {
        push: (event) => bytes(encoder.push(event)),
        end: () => bytes(encoder.end()),
      } satisfies ByteEncoder;
    }
    case "anthropic": {
      const encoder = new AnthropicMessagesEncoder({ id: response.id, model: response.model });
      const bytes = (events: ReturnType<AnthropicMessagesEncoder["end"]>) =>
        utf8.encode(events.map(encodeSseEvent).join(""));
      return {
        push: (event) => bytes(encoder.push(event)),
        end: () => bytes(encoder.end()),
      } satisfies ByteEncoder;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A body that sends each chunk after its delay. Aborting `signal` errors the body with the
 * abort reason at once; cancelling it stops it; either way no timer is left behind.
 */
function pacedBody(chunks: Chunk[], signal: AbortSignal): ReadableStream<Uint8Array> {
  let next = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let done = false;
  let onAbort: (() => void) | undefined;
  const finish = () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    onAbort = undefined;
    wake?.();
    wake = undefined;
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (signal.aborted) {
        done = true;
        controller.error(signal.reason);
        return;
      }
      onAbort = () => {
        finish();
        controller.error(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      const chunk = chunks[next++];
      if (chunk === undefined) {
        finish();
        controller.close();
        return;
      }
      if (chunk.delayMs > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(() => {
            timer = undefined;
            wake = undefined;
            resolve();
          }, chunk.delayMs);
        });
      }
      if (done) return;
      controller.enqueue(chunk.bytes);
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}

/** Waits `ms` (not at all for 0); rejects with the abort reason when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
