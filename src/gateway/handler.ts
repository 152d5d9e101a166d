/**
 * `createGateway`: the gateway as a plain fetch handler — routing as data, no middleware, no
 * Deno-only API.
 * @module
 */

import {
  type LlmProtocol,
  type LlmRequest,
  LlmResponseAccumulator,
  responseToEvents,
} from "../protocols/bodies.ts";
import type { LlmErrorEvent, LlmErrorKind, LlmEvent, Usage } from "../protocols/events.ts";
import { observeStream, type StreamObservation } from "../protocols/observe.ts";
import type { GatewayConfig, InstanceConfig, ModelConfig } from "./config.ts";
import { GatewayMetrics } from "./metrics.ts";
import { RequestLog, type RequestLogLine } from "./log.ts";
import { ADAPTERS, type EventDecoder, type ProtocolAdapter } from "./_protocols.ts";
import { createUpstream, type FetchLike, type Upstream } from "./providers/upstream.ts";

/** Options of {@linkcode createGateway}. */
export interface GatewayOptions {
  /** Receives one JSON line per request. Default: `console.log`. */
  logger?: (line: string) => void;
  /** The `fetch` used to call upstreams (not the mock ones). Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
}

/** A gateway: a fetch handler, and a way to end what it has in flight. */
export interface Gateway {
  /** Serves one request. */
  fetch(request: Request): Promise<Response>;
  /**
   * Ends every request in flight: upstream calls are cancelled, streams get their protocol's
   * terminal error (`the gateway is shutting down`) and end; resolves when all have ended.
   */
  close(): Promise<void>;
  /** The number of streaming responses in flight. */
  readonly activeStreams: number;
}

/** A request's route, as data. */
type Route =
  | { kind: "healthz" | "metrics" | "models"; name: string }
  | {
    kind: "llm";
    name: string;
    protocol: LlmProtocol;
    /** The model alias, when the route names it (Bedrock path, APISIX route). */
    model?: string;
    /** Whether the route decides streaming (Bedrock native) or the body's `stream` does. */
    stream?: boolean;
    /** APISIX: `stream` is removed from the forwarded body. */
    apisix?: boolean;
  };

interface RouteSpec {
  method: "GET" | "POST";
  pattern: RegExp;
  route: (match: RegExpExecArray) => Route | undefined;
}

/** The built-in routes. */
const ROUTES: RouteSpec[] = [
  { method: "GET", pattern: /^\/healthz$/, route: () => ({ kind: "healthz", name: "healthz" }) },
  { method: "GET", pattern: /^\/metrics$/, route: () => ({ kind: "metrics", name: "metrics" }) },
  {
    method: "GET",
    pattern: /^\/v1\/models$/,
    route: () => ({ kind: "models", name: "openai.models" }),
  },
  {
    method: "POST",
    pattern: /^\/v1\/chat\/completions$/,
    route: () => ({ kind: "llm", name: "openai.chat", protocol: "openai" }),
  },
  {
    method: "POST",
    pattern: /^\/v1\/messages$/,
    route: () => ({ kind: "llm", name: "anthropic.messages", protocol: "anthropic" }),
  },
  {
    method: "POST",
    pattern: /^\/model\/([^/]+)\/(converse|converse-stream)$/,
    route: (match) => {
      let model: string;
      try {
        model = decodeURIComponent(match[1]!);
      } catch {
        return undefined;
      }
      const stream = match[2] === "converse-stream";
      return { kind: "llm", name: `bedrock.${match[2]}`, protocol: "bedrock", model, stream };
    },
  },
];

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Why a response was cut or a request abandoned. */
interface Cut {
  reason: string;
  error: LlmErrorEvent;
}

function gatewayError(kind: LlmErrorKind, status: number, message: string): LlmErrorEvent {
  return { type: "error", kind, status, message };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isStreamContentType(contentType: string): boolean {
  return contentType.includes("text/event-stream") ||
    contentType.includes("application/vnd.amazon.eventstream");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const PROTOCOL_NAMES: Record<LlmProtocol, string> = {
  bedrock: "Bedrock ConverseStream (application/vnd.amazon.eventstream)",
  openai: "OpenAI Chat Completions (text/event-stream)",
  anthropic: "Anthropic Messages (text/event-stream)",
};

/** Response headers of an upstream that are passed on to the client. */
const FORWARDED_RESPONSE_HEADERS = [
  "content-type",
  "x-amzn-requestid",
  "x-amzn-errortype",
  "x-request-id",
  "request-id",
];

function forwardedHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

const TOO_LARGE = Symbol("too large");

/** Reads a request body, up to `max` bytes (`Content-Length` checked first). */
async function readRequestBody(
  request: Request,
  max: number,
): Promise<Uint8Array | typeof TOO_LARGE> {
  const length = request.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length) && Number(length) > max) return TOO_LARGE;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel("request body too large").catch(() => {});
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** What a stream of events said, for the log. */
class EventTracker {
  usage: Usage | undefined;
  ttftMs: number | undefined;
  readonly text: string[] = [];
  /** Events other than errors seen so far. */
  content = 0;
  firstError: LlmErrorEvent | undefined;

  constructor(readonly started: number) {}

  observe(events: LlmEvent[]): void {
    for (const event of events) {
      if (event.type === "error") {
        if (this.content === 0 && this.firstError === undefined) this.firstError = event;
        continue;
      }
      this.content++;
      if (event.type === "usage") this.usage = event.usage;
      if (
        this.ttftMs === undefined &&
        (event.type === "text_delta" || event.type === "reasoning_delta" ||
          event.type === "tool_call_start" || event.type === "tool_call_delta")
      ) {
        this.ttftMs = performance.now() - this.started;
      }
      if (event.type === "text_delta") this.text.push(event.text);
    }
  }
}

/**
 * Where an SSE or EventStream byte stream may be cut cleanly: after a complete event or frame.
 * `push` returns the offset in the chunk after the last boundary (-1 when there is none).
 */
class FrameBoundary {
  readonly #eventstream: boolean;
  /** EventStream: bytes left in the current frame, or -1 while reading its length. */
  #remaining = -1;
  #prelude: number[] = [];
  /** SSE: at the start of a line; the last byte was CR. */
  #lineStart = true;
  #afterCR = false;
  /** The framing could not be followed (a bogus frame length): cut anywhere. */
  #lost = false;

  constructor(framing: "eventstream" | "sse") {
    this.#eventstream = framing === "eventstream";
  }

  push(chunk: Uint8Array): number {
    if (this.#lost) return chunk.length;
    let boundary = -1;
    if (this.#eventstream) {
      let i = 0;
      while (i < chunk.length) {
        if (this.#remaining < 0) {
          this.#prelude.push(chunk[i++]!);
          if (this.#prelude.length === 4) {
            const [a, b, c, d] = this.#prelude as [number, number, number, number];
            const total = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
            this.#prelude = [];
            if (total < 16) {
              this.#lost = true;
              return chunk.length;
            }
            this.#remaining = total - 4;
          }
          continue;
        }
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#remaining = -1;
          boundary = i;
        }
      }
      return boundary;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 10 && this.#afterCR) {
        // The LF of a CRLF: the line ended at the CR.
        this.#afterCR = false;
        if (this.#lineStart && boundary === i) boundary = i + 1;
        continue;
      }
      this.#afterCR = byte === 13;
      if (byte === 10 || byte === 13) {
        if (this.#lineStart) boundary = i + 1;
        this.#lineStart = true;
      } else {
        this.#lineStart = false;
      }
    }
    return boundary;
  }
}

/**
 * Creates the gateway: a fetch handler serving OpenAI Chat Completions
 * (`POST /v1/chat/completions`, `GET /v1/models`), Anthropic Messages (`POST /v1/messages`),
 * Bedrock Converse (`POST /model/{modelId}/converse` and `/converse-stream`) and the configured
 * APISIX routes from the configured upstreams, plus `GET /healthz` and `GET /metrics`.
 *
 * Same-protocol traffic passes through byte for byte (the request body too, unless the alias
 * maps to another model id or instance options apply), observed for the log; cross-protocol
 * traffic is converted. It uses no Deno-only API: serve it with `Deno.serve`, Bun, Node or a
 * Workers runtime.
 *
 * @param config the validated configuration ({@linkcode parseGatewayConfig})
 * @param options logger and upstream `fetch`
 * @returns the gateway
 *
 * @example An OpenAI client served by the built-in Bedrock-protocol mock
 * ```ts
 * import { createGateway, parseGatewayConfig } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const config = parseGatewayConfig({
 *   models: { mock: { instances: [{ type: "mock", protocol: "bedrock", firstTokenDelayMs: 0, tokenDelayMs: 0 }] } },
 * });
 * const lines: string[] = [];
 * const gateway = createGateway(config, { logger: (line) => lines.push(line) });
 * const response = await gateway.fetch(
 *   new Request("http://localhost/v1/chat/completions", {
 *     method: "POST",
 *     body: JSON.stringify({ model: "mock", messages: [{ role: "user", content: "Hi" }] }),
 *   }),
 * );
 * const body = await response.json();
 * assert.equal(response.status, 200);
 * assert.equal(body.object, "chat.completion");
 * assert.equal(body.choices[0].message.role, "assistant");
 * assert.equal(JSON.parse(lines[0]!).provider, "mock");
 * await gateway.close();
 * ```
 */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger = options.logger ?? ((line: string) => console.log(line));
  const upstreamFetch: FetchLike = options.fetch ?? ((request) => fetch(request));
  const upstreams = new Map<InstanceConfig, Upstream>();
  const apisix = new Map(config.routes.map((route) => [route.path, route.model]));
  const metrics = new GatewayMetrics();
  /** Shutdown hooks of the requests in flight, and promises that settle when they end. */
  const inFlight = new Map<() => void, Promise<void>>();
  let activeStreams = 0;
  let closing = false;

  function upstreamOf(instance: InstanceConfig): Upstream {
    let upstream = upstreams.get(instance);
    if (upstream === undefined) {
      upstream = createUpstream(instance, upstreamFetch);
      upstreams.set(instance, upstream);
    }
    return upstream;
  }

  function write(log: RequestLog, status: number): void {
    const line = log.finish(status);
    if (line === undefined) return;
    metrics.record({
      route: line.route,
      status,
      durationSeconds: line.duration_ms / 1000,
      ...(line.ttft_ms !== null ? { ttftSeconds: line.ttft_ms / 1000 } : {}),
      tokens: {
        input: line.input_tokens ?? 0,
        output: line.output_tokens ?? 0,
        cache_read: line.cache_read_tokens ?? 0,
        cache_write: line.cache_write_tokens ?? 0,
        reasoning: line.reasoning_tokens ?? 0,
      },
    });
    try {
      logger(JSON.stringify(line satisfies RequestLogLine));
    } catch {
      // A failing logger must not fail the request.
    }
  }

  function match(method: string, path: string): Route | { kind: "none"; allow?: string } {
    const model = apisix.get(path);
    if (model !== undefined) {
      if (method !== "POST") return { kind: "none", allow: "POST" };
      return { kind: "llm", name: "apisix", protocol: "bedrock", model, apisix: true };
    }
    let allow: string | undefined;
    for (const spec of ROUTES) {
      const found = spec.pattern.exec(path);
      if (found === null) continue;
      if (spec.method !== method) {
        allow = spec.method;
        continue;
      }
      const route = spec.route(found);
      if (route !== undefined) return route;
    }
    return allow !== undefined ? { kind: "none", allow } : { kind: "none" };
  }

  async function serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = match(request.method, url.pathname);
    if (route.kind === "none") {
      const adapter = url.pathname.startsWith("/model/")
        ? ADAPTERS.bedrock
        : url.pathname === "/v1/messages"
        ? ADAPTERS.anthropic
        : ADAPTERS.openai;
      const log = new RequestLog("none", request.method);
      if (route.allow !== undefined) {
        const response = adapter.errorResponse(
          gatewayError("invalid_request", 405, `${request.method} is not allowed here`),
        );
        response.headers.set("allow", route.allow);
        write(log, 405);
        return response;
      }
      write(log, 404);
      return adapter.errorResponse(
        gatewayError("not_found", 404, `no route for ${request.method} ${url.pathname}`),
      );
    }
    switch (route.kind) {
      case "healthz":
        return Response.json({ status: closing ? "closing" : "ok" }, {
          status: closing ? 503 : 200,
        });
      case "metrics":
        return new Response(metrics.render(activeStreams), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      case "models":
        return Response.json({
          object: "list",
          data: [...config.models.values()].map((model) => ({
            id: model.alias,
            object: "model",
            created: 0,
            owned_by: model.instances[0]!.type,
          })),
        });
      case "llm":
        return await serveLlm(request, route);
    }
  }

  async function serveLlm(
    request: Request,
    route: Extract<Route, { kind: "llm" }>,
  ): Promise<Response> {
    const log = new RequestLog(route.name, request.method);
    const client = ADAPTERS[route.protocol];
    const fail = (error: LlmErrorEvent, abortReason?: string): Response => {
      log.line.error = error.message;
      if (abortReason !== undefined) log.line.abort_reason = abortReason;
      write(log, error.status);
      return client.errorResponse(error);
    };
    if (closing) return fail(gatewayError("overloaded", 503, "the gateway is shutting down"));

    let body: Uint8Array | typeof TOO_LARGE;
    try {
      body = await readRequestBody(request, config.maxRequestBytes);
    } catch (error) {
      return fail(
        gatewayError(
          "invalid_request",
          400,
          `could not read the request body: ${errorMessage(error)}`,
        ),
        request.signal.aborted ? "client_disconnect" : undefined,
      );
    }
    if (body === TOO_LARGE) {
      return fail(
        gatewayError(
          "invalid_request",
          413,
          `the request body is larger than maxRequestBytes (${config.maxRequestBytes} bytes)`,
        ),
      );
    }
    const bodyText = utf8Decoder.decode(body);
    if (config.logging.payloads) log.line.request_body = bodyText;
    let json: unknown;
    try {
      json = JSON.parse(bodyText);
    } catch (error) {
      return fail(
        gatewayError(
          "invalid_request",
          400,
          `the request body is not valid JSON: ${errorMessage(error)}`,
        ),
      );
    }
    if (!isObject(json)) {
      return fail(gatewayError("invalid_request", 400, "the request body must be a JSON object"));
    }
    let alias = route.model;
    if (alias === undefined) {
      if (typeof json.model !== "string" || json.model === "") {
        return fail(gatewayError("invalid_request", 400, "model: required (a model alias)"));
      }
      alias = json.model;
    }
    const stream = route.stream ?? json.stream === true;
    log.line.model = alias;
    log.line.stream = stream;
    const model = config.models.get(alias);
    if (model === undefined) {
      return fail(
        gatewayError("not_found", 404, `model ${JSON.stringify(alias)} is not configured`),
      );
    }
    return await callUpstream(request, route, log, client, model, json, body, stream, fail);
  }

  async function callUpstream(
    request: Request,
    route: Extract<Route, { kind: "llm" }>,
    log: RequestLog,
    client: ProtocolAdapter,
    model: ModelConfig,
    json: Record<string, unknown>,
    body: Uint8Array,
    stream: boolean,
    fail: (error: LlmErrorEvent, abortReason?: string) => Response,
    attempt = 0,
  ): Promise<Response> {
    const instance = model.instances[attempt]!;
    log.line.attempts = attempt + 1;
    /** The next instance, when there is one: failover for unreachable or failing upstreams. */
    const next = attempt + 1 < model.instances.length
      ? () =>
        callUpstream(request, route, log, client, model, json, body, stream, fail, attempt + 1)
      : undefined;
    const upstream = upstreamOf(instance);
    const target = ADAPTERS[upstream.protocol];
    const upstreamModel = instance.options.model ?? model.alias;
    log.line.provider = upstream.provider;
    log.line.upstream_model = upstreamModel;
    const samePassthrough = upstream.protocol === client.protocol;
    let clientIncludeUsage = false;

    let upstreamBody: Uint8Array;
    try {
      if (samePassthrough) {
        upstreamBody = rewriteSameProtocol(route, instance, json, body, upstreamModel);
      } else {
        const source = { ...json };
        if (route.apisix) delete source.stream;
        const llm: LlmRequest = client.parseRequest(source, model.alias);
        clientIncludeUsage = llm.includeUsage === true;
        llm.model = upstreamModel;
        if (llm.maxTokens === undefined && instance.options.maxTokens !== undefined) {
          llm.maxTokens = instance.options.maxTokens;
        }
        delete llm.stream;
        delete llm.includeUsage;
        if (upstream.protocol !== "bedrock") llm.stream = stream;
        if (upstream.protocol === "openai" && stream) llm.includeUsage = true;
        upstreamBody = utf8.encode(JSON.stringify(target.toRequest(llm)));
      }
    } catch (error) {
      return fail(gatewayError("invalid_request", 400, errorMessage(error)));
    }

    // The upstream call: cancelled by a client disconnect, a timeout or close().
    const controller = new AbortController();
    let cut: Cut | undefined;
    let onCut: (() => void) | undefined;
    const cutWith = (reason: string, error: LlmErrorEvent) => {
      if (cut !== undefined) return;
      cut = { reason, error };
      controller.abort(new DOMException(reason, "AbortError"));
      onCut?.();
    };
    const onClientAbort = () =>
      cutWith("client_disconnect", gatewayError("other", 499, "the client went away"));
    if (request.signal.aborted) onClientAbort();
    request.signal.addEventListener("abort", onClientAbort, { once: true });
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => settle = resolve);
    const shutdown = () =>
      cutWith("shutdown", gatewayError("overloaded", 503, "the gateway is shutting down"));
    inFlight.set(shutdown, settled);
    const done = () => {
      request.signal.removeEventListener("abort", onClientAbort);
      inFlight.delete(shutdown);
      clearTimeout(durationTimer);
      settle();
    };
    const durationTimer = setTimeout(
      () =>
        cutWith(
          "max_stream_duration",
          gatewayError(
            "timeout",
            504,
            `the response took longer than maxStreamDurationMs (${instance.maxStreamDurationMs} ms)`,
          ),
        ),
      instance.maxStreamDurationMs,
    );
    const connectTimer = setTimeout(
      () =>
        cutWith(
          "connect_timeout",
          gatewayError(
            "timeout",
            504,
            `the upstream did not answer within connectTimeoutMs (${instance.connectTimeoutMs} ms)`,
          ),
        ),
      instance.connectTimeoutMs,
    );
    const failCut = (): Response => {
      done();
      return fail(cut!.error, cut!.reason);
    };

    let response: Response;
    try {
      const signed = await upstream.request({
        model: upstreamModel,
        stream,
        body: upstreamBody,
        clientHeaders: request.headers,
      });
      if (cut !== undefined) return failCut();
      response = await upstream.fetch(new Request(signed, { signal: controller.signal }));
    } catch (error) {
      clearTimeout(connectTimer);
      if (next !== undefined && (cut === undefined || cut.reason === "connect_timeout")) {
        done();
        return await next();
      }
      if (cut !== undefined) return failCut();
      done();
      return fail(
        gatewayError("server_error", 502, `the upstream request failed: ${errorMessage(error)}`),
        "upstream_error",
      );
    } finally {
      clearTimeout(connectTimer);
    }
    if (cut !== undefined) {
      response.body?.cancel().catch(() => {});
      return failCut();
    }

    const contentType = response.headers.get("content-type") ?? "";
    const upstreamStreams = isStreamContentType(contentType);
    const reader = response.body?.getReader();

    const firstByteError = () =>
      gatewayError(
        "timeout",
        504,
        `the upstream sent no data within firstByteTimeoutMs (${instance.firstByteTimeoutMs} ms)`,
      );

    /** Reads the whole upstream body within the limits. */
    const readAll = async (): Promise<Uint8Array | undefined> => {
      const chunks: Uint8Array[] = [];
      let total = 0;
      if (reader === undefined) return new Uint8Array(0);
      onCut = () => reader.cancel().catch(() => {});
      const firstByte = setTimeout(
        () => cutWith("first_byte_timeout", firstByteError()),
        instance.firstByteTimeoutMs,
      );
      try {
        for (;;) {
          const { done, value } = await reader.read();
          clearTimeout(firstByte);
          if (cut !== undefined) return undefined;
          if (done) break;
          total += value.length;
          if (total > instance.maxResponseBytes) {
            cutWith(
              "max_response_bytes",
              gatewayError(
                "protocol_error",
                502,
                `the upstream response is larger than maxResponseBytes (${instance.maxResponseBytes} bytes)`,
              ),
            );
            return undefined;
          }
          chunks.push(value);
        }
      } catch (error) {
        clearTimeout(firstByte);
        cutWith(
          "upstream_error",
          gatewayError(
            "server_error",
            502,
            `reading the upstream response failed: ${errorMessage(error)}`,
          ),
        );
        return undefined;
      }
      return concat(chunks, total);
    };

    // An upstream error before any byte: the same status; the body as is, or converted.
    if (!response.ok) {
      if (next !== undefined && (response.status >= 500 || response.status === 429)) {
        await response.body?.cancel().catch(() => {});
        done();
        return await next();
      }
      const bytes = await readAll();
      if (bytes === undefined) return failCut();
      done();
      const error = target.parseError(response.status, response.headers, utf8Decoder.decode(bytes));
      log.line.error = error.message;
      log.line.abort_reason = "upstream_error";
      write(log, response.status);
      if (samePassthrough) {
        return new Response(bytes as Uint8Array<ArrayBuffer>, {
          status: response.status,
          headers: forwardedHeaders(response.headers),
        });
      }
      return client.errorResponse(error);
    }

    const ids = { id: `msg_${crypto.randomUUID().replaceAll("-", "")}`, model: upstreamModel };

    // Non-streaming client.
    if (!stream) {
      const bytes = await readAll();
      if (bytes === undefined) return failCut();
      done();
      const tracker = new EventTracker(log.started);
      let llmResponse;
      try {
        if (upstreamStreams) {
          const decoder = target.decoder(ids);
          const events = decoder.push(bytes).concat(decoder.end());
          tracker.observe(events);
          if (tracker.content === 0) {
            const first = tracker.firstError;
            if (first !== undefined && first.kind !== "protocol_error") {
              return fail(first, "upstream_error");
            }
            return fail(mismatch(target, contentType, first));
          }
          const accumulator = new LlmResponseAccumulator();
          for (const event of events) accumulator.push(event);
          llmResponse = accumulator.response();
        } else {
          llmResponse = target.parseResponse(JSON.parse(utf8Decoder.decode(bytes)), ids);
        }
      } catch (error) {
        if (samePassthrough && !upstreamStreams) {
          // Not ours to judge: pass it on as it came.
          write(log, response.status);
          return new Response(bytes as Uint8Array<ArrayBuffer>, {
            status: response.status,
            headers: forwardedHeaders(response.headers),
          });
        }
        return fail(
          gatewayError(
            "protocol_error",
            502,
            `the upstream response is not a valid ${PROTOCOL_NAMES[target.protocol]} response: ${
              errorMessage(error)
            }`,
          ),
        );
      }
      log.usage(llmResponse.usage);
      if (config.logging.payloads) {
        log.line.response_text = llmResponse.content.map((p) => p.type === "text" ? p.text : "")
          .join("");
      }
      if (llmResponse.error !== undefined) return fail(llmResponse.error, "upstream_error");
      if (samePassthrough && !upstreamStreams) {
        write(log, response.status);
        return new Response(bytes as Uint8Array<ArrayBuffer>, {
          status: response.status,
          headers: forwardedHeaders(response.headers),
        });
      }
      try {
        const out = client.toResponse(llmResponse);
        write(log, 200);
        return Response.json(out);
      } catch (error) {
        return fail(gatewayError("protocol_error", 502, errorMessage(error)));
      }
    }

    // Streaming client.
    const tracker = new EventTracker(log.started);
    let source: ReadableStreamDefaultReader<Uint8Array> | undefined = reader;
    let onChunk: (chunk: Uint8Array) => Uint8Array[];
    let onEnd: () => Uint8Array[];
    let terminal: (error: LlmErrorEvent) => Uint8Array[];
    let observation: (() => StreamObservation) | undefined;
    let headers: Headers;

    if (samePassthrough && upstreamStreams && reader !== undefined) {
      // Byte for byte, observed on the side; cut only at frame boundaries.
      reader.releaseLock();
      const observed = observeStream({
        protocol: upstream.protocol,
        startedAt: log.started,
        id: ids.id,
        model: upstreamModel,
      });
      source = response.body!.pipeThrough(observed).getReader();
      observation = () => observed.observation;
      const boundary = new FrameBoundary(upstream.protocol === "bedrock" ? "eventstream" : "sse");
      let held: Uint8Array[] = [];
      onChunk = (chunk) => {
        const at = boundary.push(chunk);
        if (at < 0) {
          held.push(chunk);
          return [];
        }
        const out = held;
        held = [];
        if (at === chunk.length) out.push(chunk);
        else {
          out.push(chunk.subarray(0, at));
          held.push(chunk.subarray(at));
        }
        return out;
      };
      terminal = (error) => {
        held = [];
        return [client.errorFrame(error)];
      };
      onEnd = () => {
        const seen = observed.observation;
        if (seen.state === "complete") return held.splice(0);
        return terminal(
          seen.error ??
            gatewayError(
              "protocol_error",
              502,
              "the upstream stream ended before the message was complete",
            ),
        );
      };
      headers = forwardedHeaders(response.headers);
    } else {
      const encoder = client.encoder({ model: model.alias, includeUsage: clientIncludeUsage });
      const convert = (events: LlmEvent[]) => {
        tracker.observe(events);
        return events.flatMap((event) => encoder.push(event));
      };
      terminal = (error) => encoder.push(error).concat(encoder.end());
      headers = new Headers({ "content-type": client.streamContentType });
      if (upstreamStreams) {
        const decoder: EventDecoder = target.decoder(ids);
        onChunk = (chunk) => convert(decoder.push(chunk));
        onEnd = () => convert(decoder.end()).concat(encoder.end());
      } else {
        // A JSON answer to a streaming request: replayed as a stream.
        const bytes = await readAll();
        if (bytes === undefined) return failCut();
        let events: LlmEvent[];
        try {
          events = responseToEvents(
            target.parseResponse(JSON.parse(utf8Decoder.decode(bytes)), ids),
          );
        } catch (error) {
          done();
          return fail(
            gatewayError(
              "protocol_error",
              502,
              `the upstream answered ${contentType || "without a content type"}, not a ${
                PROTOCOL_NAMES[target.protocol]
              } stream or response: ${errorMessage(error)}`,
            ),
          );
        }
        source = undefined;
        let sent = false;
        onChunk = () => [];
        onEnd = () => {
          if (sent) return [];
          sent = true;
          return convert(events).concat(encoder.end());
        };
      }
    }

    // The first byte decides the status: until then, a cut or an early error is an HTTP error.
    const firstByteTimer = setTimeout(
      () => cutWith("first_byte_timeout", firstByteError()),
      instance.firstByteTimeoutMs,
    );
    onCut = () => {
      source?.cancel(cut?.reason).catch(() => {});
    };
    let received = 0;
    let ended = false;
    /** The next output; `ended` once the stream is over (ended by the upstream or cut). */
    const step = async (): Promise<Uint8Array[]> => {
      if (ended) return [];
      let result: { done: boolean; value?: Uint8Array | undefined };
      try {
        result = source === undefined ? { done: true, value: undefined } : await source.read();
      } catch (error) {
        cutWith(
          "upstream_error",
          gatewayError("server_error", 502, `the upstream stream failed: ${errorMessage(error)}`),
        );
        result = { done: true, value: undefined };
      }
      clearTimeout(firstByteTimer);
      if (cut !== undefined) {
        ended = true;
        return terminal(cut.error);
      }
      if (result.done || result.value === undefined) {
        ended = true;
        return onEnd();
      }
      received += result.value.length;
      if (received > instance.maxResponseBytes) {
        cutWith(
          "max_response_bytes",
          gatewayError(
            "protocol_error",
            502,
            `the upstream response is larger than maxResponseBytes (${instance.maxResponseBytes} bytes)`,
          ),
        );
        ended = true;
        return terminal(cut!.error);
      }
      return onChunk(result.value);
    };

    const pending: Uint8Array[] = [];
    while (pending.length === 0 && !ended) {
      const out = await step();
      if (cut !== undefined) {
        clearTimeout(firstByteTimer);
        return failCut();
      }
      pending.push(...out);
    }
    if (observation === undefined && tracker.content === 0) {
      clearTimeout(firstByteTimer);
      source?.cancel().catch(() => {});
      const error = tracker.firstError;
      if (error === undefined || error.kind === "protocol_error") {
        done();
        return fail(mismatch(target, contentType, error));
      }
      done();
      return fail(error, "upstream_error");
    }

    const finishStream = () => {
      if (log.written) return;
      activeStreams--;
      if (observation !== undefined) {
        const seen = observation();
        log.usage(seen.usage);
        if (seen.ttftMs !== undefined) log.line.ttft_ms = seen.ttftMs;
        if (seen.error !== undefined) log.line.error = seen.error.message;
        if (config.logging.payloads) log.line.response_text = seen.text;
      } else {
        log.usage(tracker.usage);
        if (tracker.ttftMs !== undefined) log.line.ttft_ms = tracker.ttftMs;
        if (config.logging.payloads) log.line.response_text = tracker.text.join("");
      }
      if (cut !== undefined) {
        log.line.abort_reason = cut.reason;
        log.line.error ??= cut.error.message;
      }
      done();
      write(log, 200);
    };

    activeStreams++;
    let streamController!: ReadableStreamDefaultController<Uint8Array>;
    let pulling = false;
    const closeWith = (chunks: Uint8Array[]) => {
      for (const chunk of chunks) streamController.enqueue(chunk);
      streamController.close();
      finishStream();
    };
    onCut = () => {
      source?.cancel(cut?.reason).catch(() => {});
      // Nobody is waiting on the upstream: end the stream now, with its terminal error.
      if (!pulling && !ended && cut?.reason !== "client_disconnect") {
        ended = true;
        try {
          closeWith(terminal(cut!.error));
        } catch {
          finishStream();
        }
      }
    };
    const responseBody = new ReadableStream<Uint8Array>({
      start(controller) {
        streamController = controller;
        for (const chunk of pending) controller.enqueue(chunk);
        if (ended) {
          controller.close();
          finishStream();
        }
      },
      async pull(controller) {
        if (ended) return;
        pulling = true;
        try {
          for (;;) {
            const out = await step();
            for (const chunk of out) controller.enqueue(chunk);
            if (ended) {
              controller.close();
              finishStream();
              return;
            }
            if (out.length > 0) return;
          }
        } catch {
          // The client cancelled while the upstream was read: nothing more to send.
          finishStream();
        } finally {
          pulling = false;
        }
      },
      cancel(reason) {
        cutWith(
          "client_disconnect",
          gatewayError(
            "other",
            499,
            `the client went away (${errorMessage(reason ?? "cancelled")})`,
          ),
        );
        ended = true;
        finishStream();
      },
    });
    return new Response(responseBody, { status: 200, headers });
  }

  return {
    async fetch(request: Request): Promise<Response> {
      try {
        return await serve(request);
      } catch (error) {
        // A bug, not a client or upstream problem: say so without details.
        const log = new RequestLog("internal", request.method);
        log.line.error = `internal error: ${errorMessage(error)}`;
        write(log, 500);
        return ADAPTERS.openai.errorResponse(
          gatewayError("server_error", 500, "internal gateway error"),
        );
      }
    },
    async close(): Promise<void> {
      closing = true;
      const waiting = [...inFlight];
      for (const [shutdown] of waiting) shutdown();
      await Promise.all(waiting.map(([, settled]) => settled));
    },
    get activeStreams(): number {
      return activeStreams;
    },
  };
}

/** The 502 for a stream that said nothing in its protocol. */
function mismatch(
  target: ProtocolAdapter,
  contentType: string,
  error: LlmErrorEvent | undefined,
): LlmErrorEvent {
  return gatewayError(
    "protocol_error",
    502,
    `the upstream response (content-type ${contentType || "none"}) produced no ${
      PROTOCOL_NAMES[target.protocol]
    } events — does the instance type match the upstream's protocol?${
      error !== undefined ? ` (${error.message})` : ""
    }`,
  );
}

/**
 * The request body for an upstream of the client's protocol: the client's bytes, unless the
 * alias maps to another model id, an instance option applies, or an APISIX `stream` flag must go.
 */
function rewriteSameProtocol(
  route: Extract<Route, { kind: "llm" }>,
  instance: InstanceConfig,
  json: Record<string, unknown>,
  body: Uint8Array,
  upstreamModel: string,
): Uint8Array {
  const edited = { ...json };
  let changed = false;
  if (route.apisix && "stream" in edited) {
    delete edited.stream;
    changed = true;
  }
  if (route.protocol !== "bedrock" && edited.model !== upstreamModel) {
    edited.model = upstreamModel;
    changed = true;
  }
  const maxTokens = instance.options.maxTokens;
  if (maxTokens !== undefined) {
    if (route.protocol === "openai") {
      if (edited.max_tokens === undefined && edited.max_completion_tokens === undefined) {
        edited[instance.type === "openai" ? "max_completion_tokens" : "max_tokens"] = maxTokens;
        changed = true;
      }
    } else if (route.protocol === "anthropic") {
      if (edited.max_tokens === undefined) {
        edited.max_tokens = maxTokens;
        changed = true;
      }
    } else {
      const inference = isObject(edited.inferenceConfig) ? edited.inferenceConfig : {};
      if (inference.maxTokens === undefined) {
        edited.inferenceConfig = { ...inference, maxTokens };
        changed = true;
      }
    }
  }
  return changed ? utf8.encode(JSON.stringify(edited)) : body;
}
