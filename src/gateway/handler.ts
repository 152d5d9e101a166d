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
import type { LlmErrorEvent, LlmEvent } from "../protocols/events.ts";
import { observeStream } from "../protocols/observe.ts";
import type { ClientKey, GatewayConfig, InstanceConfig, ModelConfig } from "./config.ts";
import { GatewayMetrics } from "./metrics.ts";
import { type AttemptRecord, RequestLog, type RequestLogLine } from "./log.ts";
import { type AttemptOutcome, ModelBalancer } from "./_balancer.ts";
import { type BudgetStore, MemoryBudgetStore } from "./budget.ts";
import { chargeBudget, checkBudget, ClientKeys, presentedKey } from "./_clients.ts";
import { ADAPTERS, type ProtocolAdapter } from "./_protocols.ts";
import {
  concat,
  errorMessage,
  gatewayError,
  relay,
  type RelaySource,
  UpstreamCall,
} from "./_call.ts";
import { EventTracker, FrameBoundary } from "./_stream.ts";
import { createUpstream, type FetchLike, type Upstream } from "./providers/upstream.ts";
import { PLAYGROUND_HTML, PLAYGROUND_JS } from "./_playground_assets.ts";

/** Options of {@linkcode createGateway}. */
export interface GatewayOptions {
  /** Receives one JSON line per request. Default: `console.log`. */
  logger?: (line: string) => void;
  /** The `fetch` used to call upstreams (not the mock ones). Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Where client keys' token budgets are counted. Default: a {@linkcode MemoryBudgetStore} of
   * this gateway; a shared store (Deno KV, Redis) lets several gateway instances share budgets.
   */
  budgetStore?: BudgetStore;
  /**
   * The clock (milliseconds since the epoch) of budget windows and passive health (failure
   * windows, cooldowns). Default: `Date.now`.
   */
  now?: () => number;
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
  /** A static file of the playground page. */
  | { kind: "asset"; name: string; body: string; contentType: string }
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

/** A route to a model. */
type LlmRoute = Extract<Route, { kind: "llm" }>;

/** One LLM request, from routing to the upstream call. */
interface Exchange {
  request: Request;
  route: LlmRoute;
  log: RequestLog;
  /** The client's protocol. */
  client: ProtocolAdapter;
  model: ModelConfig;
  /** The client's body, parsed, and as it came. */
  json: Record<string, unknown>;
  body: Uint8Array;
  /** Whether the client asked for a stream. */
  stream: boolean;
}

/**
 * A failure before any byte reached the client that moves the request on to the next instance:
 * no connection, a timeout, a status in `fallbackOn`, a stream that died before its output.
 */
interface Fallback {
  fallback: true;
  /** The upstream's status, when it answered. */
  status: number | null;
  /** For the log: `connect_error`, `connect_timeout`, `upstream_status`, `first_byte_timeout`, … */
  reason: string;
}

/** Cuts (before any byte reached the client) that another instance may do better on. */
const FALLBACK_CUTS = new Set([
  "connect_timeout",
  "first_byte_timeout",
  "max_stream_duration",
  "upstream_error",
]);

interface RouteSpec {
  method: "GET" | "POST";
  pattern: RegExp;
  route: (match: RegExpExecArray) => Route | undefined;
}

/** The built-in routes. */
const ROUTES: RouteSpec[] = [
  {
    method: "GET",
    pattern: /^\/$/,
    route: () => ({
      kind: "asset",
      name: "playground",
      body: PLAYGROUND_HTML,
      contentType: "text/html; charset=utf-8",
    }),
  },
  {
    method: "GET",
    pattern: /^\/playground\.js$/,
    route: () => ({
      kind: "asset",
      name: "playground.js",
      body: PLAYGROUND_JS,
      contentType: "text/javascript; charset=utf-8",
    }),
  },
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

/** The playground loads only its own script and calls only its own gateway. */
const PLAYGROUND_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

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

/**
 * Creates the gateway: a fetch handler serving OpenAI Chat Completions
 * (`POST /v1/chat/completions`, `GET /v1/models`), Anthropic Messages (`POST /v1/messages`),
 * Bedrock Converse (`POST /model/{modelId}/converse` and `/converse-stream`) and the configured
 * APISIX routes from the configured upstreams, plus `GET /healthz`, `GET /metrics` and the
 * playground page (`GET /`, a page that streams a model's reply through these endpoints).
 *
 * Same-protocol traffic passes through byte for byte (the request body too, unless the alias
 * maps to another model id or instance options apply), observed for the log; cross-protocol
 * traffic is converted. It uses no Deno-only API: serve it with `Deno.serve`, Bun, Node or a
 * Workers runtime.
 *
 * Routing: an alias's instances are picked by `priority` group, then smooth weighted
 * round-robin (`weight`); a failure before any byte reached the client (connect error, timeout,
 * a status in `fallbackOn`, a stream that fails before its first output) moves on to the next
 * instance, up to `maxRetries` more; instances that keep failing are ejected for a cooldown
 * (passive health). When none could serve: 503, and the log line's `tries` lists every attempt.
 *
 * Clients: with `keys` configured, LLM routes need a key — `Authorization: Bearer <key>` for
 * OpenAI, Bedrock (as Bedrock API keys are sent) and APISIX routes; `x-api-key` (or Bearer) for
 * Anthropic — else 401 in the client's protocol. Keys are compared as SHA-256 digests in
 * constant time and logged by name only. A key's token budget is charged with the usage each
 * request reported (streams at their end) in `options.budgetStore`; a spent budget is 429 with
 * `Retry-After`. (The check is before a request, the charge after: concurrent requests may
 * overshoot a budget by what they use.) `/healthz`, `/metrics`, `/v1/models` and the playground
 * page stay open.
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
  const now = options.now ?? Date.now;
  const budgetStore = options.budgetStore ?? new MemoryBudgetStore({ now });
  const clientKeys = new ClientKeys(config.keys);
  /** The client key of each request, for charging its usage when its line is written. */
  const keyOf = new WeakMap<RequestLog, ClientKey>();
  /** The attempt of each request in progress, closed by its answer or its log line. */
  const openAttempt = new WeakMap<RequestLog, { record: AttemptRecord; started: number }>();
  const balancers = new Map<ModelConfig, ModelBalancer>();
  const upstreams = new Map<InstanceConfig, Upstream>();
  const apisix = new Map(config.routes.map((route) => [route.path, route.model]));
  const metrics = new GatewayMetrics();
  /** The upstream calls in flight. */
  const calls = new Set<UpstreamCall>();
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

  function balancerOf(model: ModelConfig): ModelBalancer {
    let balancer = balancers.get(model);
    if (balancer === undefined) {
      balancer = new ModelBalancer(model, now);
      balancers.set(model, balancer);
    }
    return balancer;
  }

  /** Closes the request's open attempt with the status it was answered with. */
  function closeAttempt(log: RequestLog, status: number): void {
    const open = openAttempt.get(log);
    if (open === undefined) return;
    openAttempt.delete(log);
    open.record.ms = Math.round((performance.now() - open.started) * 10) / 10;
    open.record.status = status;
    if (status >= 400) open.record.reason = log.line.abort_reason ?? "upstream_status";
  }

  function write(log: RequestLog, status: number): void {
    closeAttempt(log, status);
    const line = log.finish(status);
    if (line === undefined) return;
    const key = keyOf.get(log);
    if (key !== undefined) {
      const tokens = (line.input_tokens ?? 0) + (line.output_tokens ?? 0);
      // A failing store must not fail the request (it has been answered).
      void chargeBudget(budgetStore, key, tokens, now()).catch(() => {});
    }
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
      case "asset":
        return new Response(route.body, {
          headers: {
            "content-type": route.contentType,
            "cache-control": "no-cache",
            "content-security-policy": PLAYGROUND_CSP,
            "x-content-type-options": "nosniff",
          },
        });
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

  /** Answers an exchange with an error in its client's protocol, and logs it. */
  function fail(
    exchange: Pick<Exchange, "log" | "client">,
    error: LlmErrorEvent,
    abortReason?: string,
  ): Response {
    exchange.log.line.error = error.message;
    if (abortReason !== undefined) exchange.log.line.abort_reason = abortReason;
    write(exchange.log, error.status);
    return exchange.client.errorResponse(error);
  }

  /** Answers with the error of the call's cut. */
  function failCut(exchange: Exchange, call: UpstreamCall): Response {
    call.finish();
    return fail(exchange, call.cut!.error, call.cut!.reason);
  }

  async function serveLlm(request: Request, route: LlmRoute): Promise<Response> {
    const log = new RequestLog(route.name, request.method);
    const client = ADAPTERS[route.protocol];
    const failWith = (error: LlmErrorEvent, abortReason?: string) =>
      fail({ log, client }, error, abortReason);
    if (closing) return failWith(gatewayError("overloaded", 503, "the gateway is shutting down"));
    if (clientKeys.enabled) {
      const key = await clientKeys.match(presentedKey(request.headers, route.protocol));
      if (key === undefined) {
        await request.body?.cancel().catch(() => {});
        const response = failWith(
          gatewayError(
            "authentication",
            401,
            route.protocol === "anthropic"
              ? "a valid gateway API key is required (x-api-key or Authorization: Bearer)"
              : "a valid gateway API key is required (Authorization: Bearer)",
          ),
        );
        response.headers.set("www-authenticate", "Bearer");
        return response;
      }
      log.line.key = key.name;
      let over;
      try {
        over = await checkBudget(budgetStore, key, now());
      } catch (error) {
        return failWith(
          gatewayError("server_error", 503, `the budget store failed: ${errorMessage(error)}`),
        );
      }
      if (over !== undefined) {
        await request.body?.cancel().catch(() => {});
        const response = failWith(gatewayError("rate_limit", 429, over.message), "over_budget");
        response.headers.set("retry-after", String(over.retryAfterSeconds));
        return response;
      }
      keyOf.set(log, key);
    }

    let body: Uint8Array | typeof TOO_LARGE;
    try {
      body = await readRequestBody(request, config.maxRequestBytes);
    } catch (error) {
      return failWith(
        gatewayError(
          "invalid_request",
          400,
          `could not read the request body: ${errorMessage(error)}`,
        ),
        request.signal.aborted ? "client_disconnect" : undefined,
      );
    }
    if (body === TOO_LARGE) {
      return failWith(
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
      return failWith(
        gatewayError(
          "invalid_request",
          400,
          `the request body is not valid JSON: ${errorMessage(error)}`,
        ),
      );
    }
    if (!isObject(json)) {
      return failWith(
        gatewayError("invalid_request", 400, "the request body must be a JSON object"),
      );
    }
    let alias = route.model;
    if (alias === undefined) {
      if (typeof json.model !== "string" || json.model === "") {
        return failWith(gatewayError("invalid_request", 400, "model: required (a model alias)"));
      }
      alias = json.model;
    }
    const stream = route.stream ?? json.stream === true;
    log.line.model = alias;
    log.line.stream = stream;
    const model = config.models.get(alias);
    if (model === undefined) {
      return failWith(
        gatewayError("not_found", 404, `model ${JSON.stringify(alias)} is not configured`),
      );
    }
    return await callModel({ request, route, log, client, model, json, body, stream });
  }

  /** How an answered attempt counts for passive health. */
  function outcomeOf(status: number, model: ModelConfig): AttemptOutcome {
    if (status === 499) return "neutral";
    if (model.fallbackOn.includes(status) || status === 502 || status === 504) return "failure";
    return "success";
  }

  /**
   * Serves the exchange from its model's instances: the balancer picks one (priority group,
   * then weighted round-robin); a failure before any byte reached the client moves on to the
   * next, up to `maxRetries` more. When every instance tried failed, or none is available
   * (ejected), the answer is a 503 naming them; the log line's `tries` lists every attempt.
   */
  async function callModel(exchange: Exchange): Promise<Response> {
    const { model, log } = exchange;
    const balancer = balancerOf(model);
    const tried = new Set<InstanceConfig>();
    const budget = Math.min(model.maxRetries + 1, model.instances.length);
    // With one attempt at most, its failure is the answer, as it came (status, body).
    const canFallBack = budget > 1;
    const failed: string[] = [];
    while (tried.size < budget) {
      const instance = balancer.pick(tried);
      if (instance === undefined) break;
      tried.add(instance);
      const record: AttemptRecord = { instance: instance.name, status: null, reason: null, ms: 0 };
      log.line.tries.push(record);
      log.line.attempts = tried.size;
      openAttempt.set(log, { record, started: performance.now() });
      let result: Response | Fallback;
      try {
        result = await attempt(exchange, instance, canFallBack);
      } catch (error) {
        balancer.report(instance, "neutral");
        throw error;
      }
      if (result instanceof Response) {
        closeAttempt(log, result.status);
        balancer.report(instance, outcomeOf(result.status, model));
        return result;
      }
      closeAttempt(log, 0);
      record.status = result.status;
      record.reason = result.reason;
      balancer.report(instance, "failure");
      failed.push(`${instance.name} (${result.status ?? result.reason})`);
      if (closing || exchange.request.signal.aborted) break;
    }
    if (exchange.request.signal.aborted) {
      return fail(
        exchange,
        gatewayError("other", 499, "the client went away"),
        "client_disconnect",
      );
    }
    const ejected = balancer.ejected().filter((name) =>
      !failed.some((f) => f.startsWith(`${name} (`))
    );
    const parts: string[] = [];
    if (failed.length > 0) parts.push(`failed: ${failed.join(", ")}`);
    if (ejected.length > 0) parts.push(`ejected after repeated failures: ${ejected.join(", ")}`);
    return fail(
      exchange,
      gatewayError(
        "overloaded",
        503,
        `no instance of model ${JSON.stringify(model.alias)} could serve the request (${
          parts.join("; ")
        })`,
      ),
      "no_instance",
    );
  }

  /**
   * One attempt on one instance. With `canFallBack`, a failure before any byte reached the
   * client is returned as a {@linkcode Fallback} (the caller tries the next instance);
   * otherwise it is answered in the client's protocol.
   */
  async function attempt(
    exchange: Exchange,
    instance: InstanceConfig,
    canFallBack: boolean,
  ): Promise<Response | Fallback> {
    const { request, log, model, stream } = exchange;
    const upstream = upstreamOf(instance);
    const upstreamModel = instance.options.model ?? model.alias;
    log.line.provider = upstream.provider;
    log.line.upstream_model = upstreamModel;

    let prepared: { body: Uint8Array; includeUsage: boolean };
    try {
      prepared = upstreamBody(exchange, instance, upstream.protocol, upstreamModel);
    } catch (error) {
      return fail(exchange, gatewayError("invalid_request", 400, errorMessage(error)));
    }

    const call = new UpstreamCall(request.signal, instance, calls);
    const clearConnect = call.timer(
      instance.connectTimeoutMs,
      "connect_timeout",
      gatewayError(
        "timeout",
        504,
        `the upstream did not answer within connectTimeoutMs (${instance.connectTimeoutMs} ms)`,
      ),
    );
    let response: Response;
    try {
      const signed = await upstream.request({
        model: upstreamModel,
        stream,
        body: prepared.body,
        clientHeaders: request.headers,
      });
      if (call.cut !== undefined) return failCut(exchange, call);
      response = await upstream.fetch(new Request(signed, { signal: call.signal }));
    } catch (error) {
      const cut = call.cut;
      if (canFallBack && (cut === undefined || cut.reason === "connect_timeout")) {
        call.finish();
        return { fallback: true, status: null, reason: cut?.reason ?? "connect_error" };
      }
      if (cut !== undefined) return failCut(exchange, call);
      call.finish();
      return fail(
        exchange,
        gatewayError("server_error", 502, `the upstream request failed: ${errorMessage(error)}`),
        "upstream_error",
      );
    } finally {
      clearConnect();
    }
    if (call.cut !== undefined) {
      void response.body?.cancel().catch(() => {});
      return failCut(exchange, call);
    }
    if (!response.ok) {
      if (canFallBack && model.fallbackOn.includes(response.status)) {
        await response.body?.cancel().catch(() => {});
        call.finish();
        return { fallback: true, status: response.status, reason: "upstream_status" };
      }
      return await upstreamError(exchange, call, upstream, response);
    }
    const target = ADAPTERS[upstream.protocol];
    const ids = { id: `msg_${crypto.randomUUID().replaceAll("-", "")}`, model: upstreamModel };
    const fallback = canFallBack ? model.fallbackOn : undefined;
    return stream
      ? await streamResponse(exchange, call, target, response, ids, prepared.includeUsage, fallback)
      : await wholeResponse(exchange, call, target, response, ids, fallback);
  }

  /**
   * A cut before any byte reached the client, as a {@linkcode Fallback} when another instance
   * may do better (`fallbackOn` given: the request may fall back).
   */
  function cutFallback(
    call: UpstreamCall,
    fallbackOn: readonly number[] | undefined,
  ): Fallback | undefined {
    const cut = call.cut;
    if (fallbackOn === undefined || cut === undefined || !FALLBACK_CUTS.has(cut.reason)) {
      return undefined;
    }
    call.finish();
    return { fallback: true, status: null, reason: cut.reason };
  }

  /** An error the upstream reported before any output, as a {@linkcode Fallback} when it may. */
  function errorFallback(
    error: LlmErrorEvent,
    fallbackOn: readonly number[] | undefined,
  ): Fallback | undefined {
    if (fallbackOn === undefined) return undefined;
    // A stream that is not a well-formed stream of its protocol, or died early: this instance's fault.
    if (error.kind === "protocol_error" || fallbackOn.includes(error.status)) {
      return { fallback: true, status: error.status, reason: "upstream_stream_error" };
    }
    return undefined;
  }

  /** An upstream error before any byte: the same status; the body as is, or converted. */
  async function upstreamError(
    exchange: Exchange,
    call: UpstreamCall,
    upstream: Upstream,
    response: Response,
  ): Promise<Response> {
    const bytes = await call.readAll(response.body);
    if (bytes === undefined) return failCut(exchange, call);
    call.finish();
    const error = ADAPTERS[upstream.protocol].parseError(
      response.status,
      response.headers,
      utf8Decoder.decode(bytes),
    );
    if (upstream.protocol !== exchange.client.protocol) {
      return fail(exchange, error, "upstream_error");
    }
    exchange.log.line.error = error.message;
    exchange.log.line.abort_reason = "upstream_error";
    write(exchange.log, response.status);
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      status: response.status,
      headers: forwardedHeaders(response.headers),
    });
  }

  /** A non-streaming answer: the upstream's bytes as they are, or converted. */
  async function wholeResponse(
    exchange: Exchange,
    call: UpstreamCall,
    target: ProtocolAdapter,
    response: Response,
    ids: { id: string; model: string },
    fallbackOn?: readonly number[],
  ): Promise<Response | Fallback> {
    const { log, client } = exchange;
    const bytes = await call.readAll(response.body);
    if (bytes === undefined) return cutFallback(call, fallbackOn) ?? failCut(exchange, call);
    call.finish();
    const contentType = response.headers.get("content-type") ?? "";
    const upstreamStreams = isStreamContentType(contentType);
    const passthrough = target.protocol === client.protocol && !upstreamStreams;
    const asIs = () => {
      write(log, response.status);
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        status: response.status,
        headers: forwardedHeaders(response.headers),
      });
    };
    let answer;
    try {
      if (upstreamStreams) {
        // A stream for a non-streaming request: collected into one answer.
        const decoder = target.decoder(ids);
        const events = decoder.push(bytes).concat(decoder.end());
        const tracker = new EventTracker(log.started);
        tracker.observe(events);
        const early = earlyFailure(tracker, target, contentType);
        if (early !== undefined) {
          return errorFallback(early.error, fallbackOn) ??
            fail(exchange, early.error, early.reason);
        }
        const accumulator = new LlmResponseAccumulator();
        for (const event of events) accumulator.push(event);
        answer = accumulator.response();
      } else {
        answer = target.parseResponse(JSON.parse(utf8Decoder.decode(bytes)), ids);
      }
    } catch (error) {
      // Same protocol: not ours to judge, it goes on as it came.
      if (passthrough) return asIs();
      return fail(
        exchange,
        gatewayError(
          "protocol_error",
          502,
          `the upstream response is not a valid ${PROTOCOL_NAMES[target.protocol]} response: ${
            errorMessage(error)
          }`,
        ),
      );
    }
    log.usage(answer.usage);
    if (config.logging.payloads) {
      log.line.response_text = answer.content.map((p) => p.type === "text" ? p.text : "").join("");
    }
    if (answer.error !== undefined) return fail(exchange, answer.error, "upstream_error");
    if (passthrough) return asIs();
    try {
      const body = client.toResponse(answer);
      write(log, 200);
      return Response.json(body);
    } catch (error) {
      return fail(exchange, gatewayError("protocol_error", 502, errorMessage(error)));
    }
  }

  /**
   * A streaming answer: the upstream's bytes relayed as they are (observed on the side, cut
   * only at frame boundaries), or decoded and re-encoded in the client's protocol.
   */
  async function streamResponse(
    exchange: Exchange,
    call: UpstreamCall,
    target: ProtocolAdapter,
    response: Response,
    ids: { id: string; model: string },
    includeUsage: boolean,
    fallbackOn?: readonly number[],
  ): Promise<Response | Fallback> {
    const { log, client } = exchange;
    const contentType = response.headers.get("content-type") ?? "";
    const upstreamStreams = isStreamContentType(contentType);
    let source: RelaySource;
    let headers: Headers;
    let observe: () => void;

    if (target.protocol === client.protocol && upstreamStreams && response.body !== null) {
      const observed = observeStream({
        protocol: target.protocol,
        startedAt: log.started,
        id: ids.id,
        model: ids.model,
      });
      const boundary = new FrameBoundary(target.protocol === "bedrock" ? "eventstream" : "sse");
      let held: Uint8Array[] = [];
      /** Why the stream ended without completing, when it did. */
      let died: LlmErrorEvent | undefined;
      const terminal = (error: LlmErrorEvent) => {
        held = [];
        died ??= error;
        return [client.errorFrame(error)];
      };
      source = {
        reader: response.body.pipeThrough(observed).getReader(),
        onChunk(chunk) {
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
        },
        onEnd() {
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
        },
        terminal,
        check: () => undefined,
        hasOutput: () => observed.observation.ttftMs !== undefined,
        failedEarly: () => {
          const seen = observed.observation;
          return seen.ttftMs === undefined ? seen.error ?? died : undefined;
        },
      };
      headers = forwardedHeaders(response.headers);
      observe = () => {
        const seen = observed.observation;
        log.usage(seen.usage);
        if (seen.ttftMs !== undefined) log.line.ttft_ms = seen.ttftMs;
        if (seen.error !== undefined) log.line.error = seen.error.message;
        if (config.logging.payloads) log.line.response_text = seen.text;
      };
    } else {
      const tracker = new EventTracker(log.started);
      const encoder = client.encoder({ model: exchange.model.alias, includeUsage });
      /** The first error, when it came before any output. */
      let earlyError: LlmErrorEvent | undefined;
      const convert = (events: LlmEvent[]) => {
        tracker.observe(events);
        if (tracker.ttftMs === undefined) {
          earlyError ??= events.find((event) => event.type === "error");
        }
        return events.flatMap((event) => encoder.push(event));
      };
      const check = () => earlyFailure(tracker, target, contentType);
      const hasOutput = () => tracker.ttftMs !== undefined;
      const failedEarly = () => tracker.ttftMs === undefined ? earlyError : undefined;
      const terminal = (error: LlmErrorEvent) => encoder.push(error).concat(encoder.end());
      if (upstreamStreams) {
        const decoder = target.decoder(ids);
        source = {
          reader: response.body?.getReader(),
          onChunk: (chunk) => convert(decoder.push(chunk)),
          onEnd: () => convert(decoder.end()).concat(encoder.end()),
          terminal,
          check,
          hasOutput,
          failedEarly,
        };
      } else {
        // A JSON answer to a streaming request: replayed as a stream.
        const bytes = await call.readAll(response.body);
        if (bytes === undefined) return cutFallback(call, fallbackOn) ?? failCut(exchange, call);
        let events: LlmEvent[];
        try {
          events = responseToEvents(
            target.parseResponse(JSON.parse(utf8Decoder.decode(bytes)), ids),
          );
        } catch (error) {
          call.finish();
          return fail(
            exchange,
            gatewayError(
              "protocol_error",
              502,
              `the upstream answered ${contentType || "without a content type"}, not a ${
                PROTOCOL_NAMES[target.protocol]
              } stream or response: ${errorMessage(error)}`,
            ),
          );
        }
        source = {
          reader: undefined,
          onChunk: () => [],
          onEnd: () => convert(events).concat(encoder.end()),
          terminal,
          check,
          hasOutput,
          failedEarly,
        };
      }
      headers = new Headers({ "content-type": client.streamContentType });
      observe = () => {
        log.usage(tracker.usage);
        if (tracker.ttftMs !== undefined) log.line.ttft_ms = tracker.ttftMs;
        if (config.logging.payloads) log.line.response_text = tracker.text.join("");
      };
    }

    activeStreams++;
    const result = await relay(call, source, () => {
      activeStreams--;
      observe();
      const cut = call.cut;
      if (cut !== undefined) {
        log.line.abort_reason = cut.reason;
        log.line.error ??= cut.error.message;
      }
      call.finish();
      write(log, 200);
    }, fallbackOn !== undefined);
    if ("error" in result) {
      activeStreams--;
      const fallback = result.early
        ? errorFallback(result.error, fallbackOn)
        : cutFallback(call, fallbackOn);
      call.finish();
      if (fallback !== undefined) {
        // Nothing of this attempt is logged as the answer.
        log.line.ttft_ms = null;
        return fallback;
      }
      return fail(exchange, result.error, result.reason);
    }
    return new Response(result.body, { status: 200, headers });
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
      const waiting = [...calls];
      for (const call of waiting) {
        call.cutWith("shutdown", gatewayError("overloaded", 503, "the gateway is shutting down"));
      }
      await Promise.all(waiting.map((call) => call.settled));
    },
    get activeStreams(): number {
      return activeStreams;
    },
  };
}

/**
 * The HTTP error for a converted stream that has produced nothing but an error: the provider's
 * own error (its status), or a 502 naming the likely protocol mismatch.
 */
function earlyFailure(
  tracker: EventTracker,
  target: ProtocolAdapter,
  contentType: string,
): { error: LlmErrorEvent; reason?: string } | undefined {
  if (tracker.content > 0) return undefined;
  const first = tracker.firstError;
  if (first !== undefined && first.kind !== "protocol_error") {
    return { error: first, reason: "upstream_error" };
  }
  return { error: mismatch(target, contentType, first) };
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
 * The upstream request body: the client's (see {@linkcode rewriteSameProtocol}) for an upstream
 * of its protocol, else the client's request parsed and written in the upstream's protocol —
 * with `stream_options.include_usage` for a streaming OpenAI upstream, so usage is known.
 * `includeUsage` says whether an OpenAI client asked for the usage chunk.
 */
function upstreamBody(
  exchange: Exchange,
  instance: InstanceConfig,
  protocol: LlmProtocol,
  upstreamModel: string,
): { body: Uint8Array; includeUsage: boolean } {
  const { route, client, json, body, stream, model } = exchange;
  if (protocol === client.protocol) {
    return {
      body: rewriteSameProtocol(route, instance, json, body, upstreamModel),
      includeUsage: false,
    };
  }
  const source = { ...json };
  if (route.apisix) delete source.stream;
  const request: LlmRequest = client.parseRequest(source, model.alias);
  const includeUsage = request.includeUsage === true;
  request.model = upstreamModel;
  if (request.maxTokens === undefined && instance.options.maxTokens !== undefined) {
    request.maxTokens = instance.options.maxTokens;
  }
  delete request.stream;
  delete request.includeUsage;
  if (protocol !== "bedrock") request.stream = stream;
  if (protocol === "openai" && stream) request.includeUsage = true;
  return {
    body: utf8.encode(JSON.stringify(ADAPTERS[protocol].toRequest(request))),
    includeUsage,
  };
}

/**
 * The request body for an upstream of the client's protocol: the client's bytes, unless the
 * alias maps to another model id, an instance option applies, or an APISIX `stream` flag must go.
 */
function rewriteSameProtocol(
  route: LlmRoute,
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
