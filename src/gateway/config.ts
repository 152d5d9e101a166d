/**
 * The gateway configuration: model aliases served by provider instances, APISIX-style routes,
 * limits and logging — parsed and validated once, at startup.
 * @module
 */

import type { LlmProtocol } from "../protocols/bodies.ts";

/**
 * A configuration problem, found at startup. The message starts with the JSON path of the
 * offending field (`models.claude.instances[0].region: required`) and never contains the value
 * of a secret.
 *
 * @example
 * ```ts
 * import { GatewayConfigError, parseGatewayConfig } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => parseGatewayConfig({ models: { claude: { instances: [{ type: "bedrock" }] } } }),
 *   (error) =>
 *     error instanceof GatewayConfigError &&
 *     error.path === "models.claude.instances[0].region" &&
 *     error.message === "models.claude.instances[0].region: required",
 * );
 * ```
 */
export class GatewayConfigError extends Error {
  /** The JSON path of the offending field (`""` for the whole document). */
  readonly path: string;
  /** Always `GatewayConfigError`. */
  override readonly name = "GatewayConfigError";

  /**
   * Creates the error.
   *
   * @param path the JSON path of the offending field
   * @param reason what is wrong with it (the message is `"<path>: <reason>"`)
   */
  constructor(path: string, reason: string) {
    super(path === "" ? reason : `${path}: ${reason}`);
    this.path = path;
  }
}

/**
 * A secret read from the configuration or the environment. Its value is only given out by
 * {@linkcode Secret.prototype.reveal}; `String()`, `JSON.stringify` and `Deno.inspect` show
 * `[redacted]`.
 *
 * @example
 * ```ts
 * import { Secret } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const key = new Secret("sk-test-1234");
 * assert.equal(key.reveal(), "sk-test-1234");
 * assert.equal(`${key}`, "[redacted]");
 * assert.equal(JSON.stringify({ key }), '{"key":"[redacted]"}');
 * ```
 */
export class Secret {
  readonly #value: string;

  /**
   * Wraps a secret value.
   *
   * @param value the secret
   */
  constructor(value: string) {
    this.#value = value;
  }

  /** The secret value, for the one place that sends it upstream. */
  reveal(): string {
    return this.#value;
  }

  /** Always `[redacted]`. */
  toString(): string {
    return "[redacted]";
  }

  /** Always `[redacted]`. */
  toJSON(): string {
    return "[redacted]";
  }

  /** Always `[redacted]` (`Deno.inspect`, `console.log`). */
  [Symbol.for("Deno.customInspect")](): string {
    return "[redacted]";
  }

  /** Always `[redacted]` (Node's `util.inspect`). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[redacted]";
  }
}

/** Options applied to every request an instance serves. */
export interface InstanceOptions {
  /** The model id sent upstream; default: the alias the client named. */
  model?: string;
  /** Maximum output tokens when the client gives none. */
  maxTokens?: number;
}

/** Timeouts and limits of an instance (all resolved, with defaults filled in). */
export interface InstanceLimits {
  /** Milliseconds until the upstream's response headers arrive; then 504. Default 30 000. */
  connectTimeoutMs: number;
  /** Milliseconds until the first byte of the upstream's body arrives; then 504. Default 60 000. */
  firstByteTimeoutMs: number;
  /** Milliseconds a response may take in all; a longer stream is cut. Default 600 000. */
  maxStreamDurationMs: number;
  /** Bytes an upstream response body may have; a longer one is cut. Default 64 MiB. */
  maxResponseBytes: number;
}

/** What every instance type has: options, timeouts and limits, and its place in the balancing. */
export interface InstanceCommon extends InstanceLimits {
  /** Per-request options. */
  options: InstanceOptions;
  /** The name in logs; default `<type>#<index>` (e.g. `openai#1`). */
  name: string;
  /** The share of requests within its priority group (smooth weighted round-robin); default 1. */
  weight: number;
  /**
   * The priority group: higher groups are used first, lower ones only when every instance of the
   * higher ones is ejected or has failed for this request. Default 0 — unless no instance of the
   * model sets `weight` or `priority`: then the list is an ordered failover list (the first
   * instance has the highest priority, `instances.length - 1`).
   */
  priority: number;
}

/**
 * Passive health checking: an instance that fails `failures` times within `windowMs` is ejected
 * for `cooldownMs`, then probed with one request (half-open) — a success brings it back, a
 * failure ejects it again. A model with one instance never ejects it.
 */
export interface HealthConfig {
  /** Failures within the window that eject an instance; default 3. */
  failures: number;
  /** The window, in milliseconds; default 10 000. */
  windowMs: number;
  /** How long an ejected instance gets no requests, in milliseconds; default 30 000. */
  cooldownMs: number;
}

/** A token budget of a client key; charged from the usage upstreams report. */
export interface KeyBudget {
  /** Tokens (input + output) per minute (fixed windows, from the full minute). */
  tokensPerMinute?: number;
  /** Tokens (input + output) per day (fixed windows, from 00:00 UTC). */
  tokensPerDay?: number;
}

/** A gateway API key a client may present. */
export interface ClientKey {
  /** The key's name: what logs show (`key` field) and what budgets are counted under. */
  name: string;
  /** The key. */
  key: Secret;
  /** Its token budget. */
  budget: KeyBudget;
}

/** An Amazon Bedrock Converse upstream, signed with SigV4. */
export interface BedrockInstance extends InstanceCommon {
  /** Discriminator. */
  type: "bedrock";
  /** The AWS region, e.g. `us-east-1`. */
  region: string;
  /** The credentials (from the config, else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`). */
  credentials: { accessKeyId: Secret; secretAccessKey: Secret; sessionToken?: Secret };
  /** The endpoint (origin, optionally a path prefix); default `https://bedrock-runtime.<region>.amazonaws.com`. */
  endpoint: string;
}

/** An OpenAI Chat Completions upstream (OpenAI itself or a compatible server). */
export interface OpenAIInstance extends InstanceCommon {
  /** Discriminator. */
  type: "openai" | "openai-compatible";
  /** The API base URL, `/chat/completions` is appended; default `https://api.openai.com/v1` for `openai`. */
  baseUrl: string;
  /** The API key, sent as `Authorization: Bearer …` (optional for `openai-compatible`). */
  apiKey?: Secret;
}

/** An Anthropic Messages upstream. */
export interface AnthropicInstance extends InstanceCommon {
  /** Discriminator. */
  type: "anthropic";
  /** The API key, sent as `x-api-key`. */
  apiKey: Secret;
  /** The `anthropic-version` header; default `2023-06-01`. */
  version: string;
  /** The base URL, `/v1/messages` is appended; default `https://api.anthropic.com`. */
  baseUrl: string;
}

/** The built-in mock upstream, speaking one protocol with deterministic replies. */
export interface MockInstance extends InstanceCommon {
  /** Discriminator. */
  type: "mock";
  /** The protocol the mock speaks. */
  protocol: "bedrock" | "openai" | "anthropic";
  /** Delay before the first token, in milliseconds. */
  firstTokenDelayMs?: number;
  /** Delay between tokens, in milliseconds. */
  tokenDelayMs?: number;
}

/** A provider instance. */
export type InstanceConfig = BedrockInstance | OpenAIInstance | AnthropicInstance | MockInstance;

/** A model alias and the instances that serve it. */
export interface ModelConfig {
  /** The alias clients name. */
  alias: string;
  /** The instances (see `weight` and `priority`). */
  instances: InstanceConfig[];
  /**
   * Upstream statuses that move a request on to the next instance (as long as nothing was sent
   * to the client); connect errors, timeouts and streams that die before their first byte
   * always do. Default: the top-level `fallbackOn`, else `[429, 500, 502, 503, 504, 529]`.
   */
  fallbackOn: number[];
  /** Further instances tried after the first one failed; default: all of them (`instances.length - 1`). */
  maxRetries: number;
  /** Passive health checking of the instances. */
  health: HealthConfig;
}

/**
 * An APISIX-style route: `POST <path>` (a path ending in `/converse`) with a Bedrock Converse
 * body is served by `model`; `"stream": true` in the body selects `/converse-stream` upstream,
 * and `stream` is removed from the forwarded body.
 */
export interface RouteConfig {
  /** The exact request path. */
  path: string;
  /** The model alias. */
  model: string;
}

/** A validated gateway configuration, from {@linkcode parseGatewayConfig}. */
export interface GatewayConfig {
  /** The model aliases, by alias. */
  models: Map<string, ModelConfig>;
  /** The APISIX-style routes. */
  routes: RouteConfig[];
  /** The largest request body accepted, in bytes (default 64 MiB); larger ones get 413. */
  maxRequestBytes: number;
  /** Gateway API keys; when there is none, the gateway is open to every client. */
  keys: ClientKey[];
  /** Logging options. */
  logging: {
    /** Log request and response text (default `false`: never payloads, only counts). */
    payloads: boolean;
  };
}

const MIB = 1024 * 1024;
const DEFAULT_LIMITS: InstanceLimits = {
  connectTimeoutMs: 30_000,
  firstByteTimeoutMs: 60_000,
  maxStreamDurationMs: 600_000,
  maxResponseBytes: 64 * MIB,
};
const PROTOCOLS: readonly string[] = ["bedrock", "openai", "anthropic"];
const INSTANCE_TYPES: readonly string[] = [
  "bedrock",
  "openai",
  "openai-compatible",
  "anthropic",
  "mock",
];
const DEFAULT_FALLBACK_ON: readonly number[] = [429, 500, 502, 503, 504, 529];
const DEFAULT_HEALTH: HealthConfig = { failures: 3, windowMs: 10_000, cooldownMs: 30_000 };
const COMMON_KEYS = [
  "type",
  "options",
  "name",
  "weight",
  "priority",
  ...Object.keys(DEFAULT_LIMITS),
];
const TYPE_KEYS: Record<string, string[]> = {
  bedrock: ["region", "credentials", "endpoint"],
  openai: ["baseUrl", "apiKey"],
  "openai-compatible": ["baseUrl", "apiKey"],
  anthropic: ["apiKey", "version", "baseUrl"],
  mock: ["protocol", "firstTokenDelayMs", "tokenDelayMs"],
};

type Json = Record<string, unknown>;
type Env = (name: string) => string | undefined;

function key(path: string, name: string | number): string {
  if (typeof name === "number") return `${path}[${name}]`;
  const plain = /^[A-Za-z_$][\w$-]*$/.test(name) ? name : JSON.stringify(name);
  if (path === "") return plain;
  return /^[A-Za-z_$]/.test(plain) ? `${path}.${plain}` : `${path}[${plain}]`;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function object(value: unknown, path: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new GatewayConfigError(path, `must be an object, got ${kind(value)}`);
  }
  return value as Json;
}

function onlyKeys(o: Json, path: string, allowed: readonly string[]): void {
  for (const name of Object.keys(o)) {
    if (!allowed.includes(name)) {
      throw new GatewayConfigError(
        key(path, name),
        `unknown field (expected one of ${allowed.join(", ")})`,
      );
    }
  }
}

function string(value: unknown, path: string): string {
  if (value === undefined) throw new GatewayConfigError(path, "required");
  if (typeof value !== "string" || value === "") {
    throw new GatewayConfigError(path, `must be a non-empty string, got ${kind(value)}`);
  }
  return value;
}

function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : string(value, path);
}

function integer(value: unknown, path: string, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new GatewayConfigError(
      path,
      `must be an integer ≥ ${min}, got ${typeof value === "number" ? value : kind(value)}`,
    );
  }
  return value;
}

function signedInteger(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new GatewayConfigError(
      path,
      `must be an integer, got ${typeof value === "number" ? value : kind(value)}`,
    );
  }
  return value;
}

/** A list of HTTP error statuses (400–599), without duplicates. */
function statuses(value: unknown, path: string): number[] {
  if (!Array.isArray(value)) {
    throw new GatewayConfigError(path, `must be an array of HTTP statuses, got ${kind(value)}`);
  }
  const out: number[] = [];
  value.forEach((item, i) => {
    const status = integer(item, key(path, i), 400);
    if (status > 599) {
      throw new GatewayConfigError(
        key(path, i),
        `must be an HTTP error status (400–599), got ${status}`,
      );
    }
    if (out.includes(status)) {
      throw new GatewayConfigError(key(path, i), `duplicate status ${status}`);
    }
    out.push(status);
  });
  return out;
}

function readHealth(value: unknown, path: string, base: HealthConfig): HealthConfig {
  if (value === undefined) return base;
  const o = object(value, path);
  onlyKeys(o, path, Object.keys(DEFAULT_HEALTH));
  const health = { ...base };
  for (const name of Object.keys(DEFAULT_HEALTH) as (keyof HealthConfig)[]) {
    if (o[name] !== undefined) health[name] = integer(o[name], key(path, name), 1);
  }
  return health;
}

function readKeys(value: unknown, env: Env): ClientKey[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new GatewayConfigError("keys", `must be an array, got ${kind(value)}`);
  }
  const names = new Set<string>();
  const values = new Set<string>();
  return value.map((item, i) => {
    const path = key("keys", i);
    const o = object(item, path);
    onlyKeys(o, path, ["name", "key", "tokensPerMinute", "tokensPerDay"]);
    const name = string(o.name, key(path, "name"));
    if (names.has(name)) {
      throw new GatewayConfigError(key(path, "name"), `duplicate key name ${JSON.stringify(name)}`);
    }
    names.add(name);
    const secretKey = secret(o.key, key(path, "key"), env);
    if (values.has(secretKey.reveal())) {
      throw new GatewayConfigError(key(path, "key"), "the same key is configured twice");
    }
    values.add(secretKey.reveal());
    const budget: KeyBudget = {};
    if (o.tokensPerMinute !== undefined) {
      budget.tokensPerMinute = integer(o.tokensPerMinute, key(path, "tokensPerMinute"), 1);
    }
    if (o.tokensPerDay !== undefined) {
      budget.tokensPerDay = integer(o.tokensPerDay, key(path, "tokensPerDay"), 1);
    }
    return { name, key: secretKey, budget };
  });
}

function url(value: unknown, path: string): string {
  const text = string(value, path);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new GatewayConfigError(path, "must be an absolute http(s) URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new GatewayConfigError(path, "must be an absolute http(s) URL");
  }
  if (parsed.search !== "" || parsed.hash !== "" || parsed.username !== "") {
    throw new GatewayConfigError(path, "must not have a query, fragment or user info");
  }
  return parsed.href.replace(/\/+$/, "");
}

/** A secret: a string, or `{ "env": "NAME" }` read from the environment. Never echoes a value. */
function secret(value: unknown, path: string, env: Env): Secret {
  if (value === undefined) throw new GatewayConfigError(path, "required");
  if (typeof value === "string") {
    if (value === "") throw new GatewayConfigError(path, "must not be empty");
    return new Secret(value);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const o = value as Json;
    onlyKeys(o, path, ["env"]);
    const name = string(o.env, key(path, "env"));
    const found = env(name);
    if (found === undefined || found === "") {
      throw new GatewayConfigError(path, `environment variable ${name} is not set`);
    }
    return new Secret(found);
  }
  throw new GatewayConfigError(path, `must be a string or { "env": "NAME" }, got ${kind(value)}`);
}

function readOptions(value: unknown, path: string): InstanceOptions {
  if (value === undefined) return {};
  const o = object(value, path);
  onlyKeys(o, path, ["model", "maxTokens"]);
  const options: InstanceOptions = {};
  const model = optionalString(o.model, key(path, "model"));
  if (model !== undefined) options.model = model;
  if (o.maxTokens !== undefined) {
    options.maxTokens = integer(o.maxTokens, key(path, "maxTokens"), 1);
  }
  return options;
}

function readLimits(o: Json, path: string): InstanceLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof InstanceLimits)[]) {
    if (o[name] !== undefined) limits[name] = integer(o[name], key(path, name), 1);
  }
  return limits;
}

function readBedrockCredentials(
  value: unknown,
  path: string,
  env: Env,
): BedrockInstance["credentials"] {
  if (value !== undefined) {
    const o = object(value, path);
    onlyKeys(o, path, ["accessKeyId", "secretAccessKey", "sessionToken"]);
    const credentials: BedrockInstance["credentials"] = {
      accessKeyId: secret(o.accessKeyId, key(path, "accessKeyId"), env),
      secretAccessKey: secret(o.secretAccessKey, key(path, "secretAccessKey"), env),
    };
    if (o.sessionToken !== undefined) {
      credentials.sessionToken = secret(o.sessionToken, key(path, "sessionToken"), env);
    }
    return credentials;
  }
  const fromEnv = (name: string): Secret => {
    const found = env(name);
    if (found === undefined || found === "") {
      throw new GatewayConfigError(
        path,
        `not in the config, and environment variable ${name} is not set`,
      );
    }
    return new Secret(found);
  };
  const credentials: BedrockInstance["credentials"] = {
    accessKeyId: fromEnv("AWS_ACCESS_KEY_ID"),
    secretAccessKey: fromEnv("AWS_SECRET_ACCESS_KEY"),
  };
  const token = env("AWS_SESSION_TOKEN");
  if (token !== undefined && token !== "") credentials.sessionToken = new Secret(token);
  return credentials;
}

function readInstance(
  value: unknown,
  path: string,
  env: Env,
  index: number,
  ordered: number,
): InstanceConfig {
  const o = object(value, path);
  const type = string(o.type, key(path, "type"));
  if (!INSTANCE_TYPES.includes(type)) {
    throw new GatewayConfigError(
      key(path, "type"),
      `unknown instance type ${JSON.stringify(type)} (expected one of ${
        INSTANCE_TYPES.join(", ")
      })`,
    );
  }
  onlyKeys(o, path, [...COMMON_KEYS, ...TYPE_KEYS[type]!]);
  const base: InstanceCommon = {
    ...readLimits(o, path),
    options: readOptions(o.options, key(path, "options")),
    name: optionalString(o.name, key(path, "name")) ?? `${type}#${index}`,
    weight: o.weight === undefined ? 1 : integer(o.weight, key(path, "weight"), 1),
    priority: o.priority === undefined ? ordered : signedInteger(o.priority, key(path, "priority")),
  };
  switch (type) {
    case "bedrock": {
      const region = string(o.region, key(path, "region"));
      if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(region)) {
        throw new GatewayConfigError(
          key(path, "region"),
          `${JSON.stringify(region)} is not an AWS region name (like us-east-1)`,
        );
      }
      return {
        ...base,
        type,
        region,
        credentials: readBedrockCredentials(o.credentials, key(path, "credentials"), env),
        endpoint: o.endpoint === undefined
          ? `https://bedrock-runtime.${region}.amazonaws.com`
          : url(o.endpoint, key(path, "endpoint")),
      };
    }
    case "openai":
    case "openai-compatible": {
      const instance: OpenAIInstance = {
        ...base,
        type,
        baseUrl: o.baseUrl === undefined && type === "openai"
          ? "https://api.openai.com/v1"
          : url(o.baseUrl, key(path, "baseUrl")),
      };
      if (o.apiKey !== undefined || type === "openai") {
        instance.apiKey = secret(o.apiKey, key(path, "apiKey"), env);
      }
      return instance;
    }
    case "anthropic":
      return {
        ...base,
        type,
        apiKey: secret(o.apiKey, key(path, "apiKey"), env),
        version: optionalString(o.version, key(path, "version")) ?? "2023-06-01",
        baseUrl: o.baseUrl === undefined
          ? "https://api.anthropic.com"
          : url(o.baseUrl, key(path, "baseUrl")),
      };
    default: {
      const protocol = string(o.protocol, key(path, "protocol"));
      if (!PROTOCOLS.includes(protocol)) {
        throw new GatewayConfigError(
          key(path, "protocol"),
          `must be one of ${PROTOCOLS.join(", ")}, got ${JSON.stringify(protocol)}`,
        );
      }
      const instance: MockInstance = { ...base, type: "mock", protocol: protocol as LlmProtocol };
      if (o.firstTokenDelayMs !== undefined) {
        instance.firstTokenDelayMs = integer(
          o.firstTokenDelayMs,
          key(path, "firstTokenDelayMs"),
          0,
        );
      }
      if (o.tokenDelayMs !== undefined) {
        instance.tokenDelayMs = integer(o.tokenDelayMs, key(path, "tokenDelayMs"), 0);
      }
      return instance;
    }
  }
}

interface ModelDefaults {
  fallbackOn: readonly number[];
  health: HealthConfig;
}

function readModels(value: unknown, env: Env, defaults: ModelDefaults): Map<string, ModelConfig> {
  if (value === undefined) throw new GatewayConfigError("models", "required");
  const o = object(value, "models");
  const models = new Map<string, ModelConfig>();
  for (const [alias, entry] of Object.entries(o)) {
    const path = key("models", alias);
    if (alias === "") throw new GatewayConfigError(path, "a model alias must not be empty");
    const model = object(entry, path);
    onlyKeys(model, path, ["instances", "fallbackOn", "maxRetries", "health"]);
    const instancesPath = key(path, "instances");
    if (model.instances === undefined) throw new GatewayConfigError(instancesPath, "required");
    if (!Array.isArray(model.instances) || model.instances.length === 0) {
      throw new GatewayConfigError(instancesPath, "must be a non-empty array");
    }
    const list: unknown[] = model.instances;
    // Without weights and priorities, the list is an ordered failover list (as before them).
    const ordered = !list.some((item) =>
      typeof item === "object" && item !== null &&
      ((item as Json).weight !== undefined || (item as Json).priority !== undefined)
    );
    const instances = list.map((item, i) =>
      readInstance(item, key(instancesPath, i), env, i, ordered ? list.length - 1 - i : 0)
    );
    const names = new Set<string>();
    instances.forEach((instance, i) => {
      if (names.has(instance.name)) {
        throw new GatewayConfigError(
          key(key(instancesPath, i), "name"),
          `duplicate instance name ${JSON.stringify(instance.name)}`,
        );
      }
      names.add(instance.name);
    });
    models.set(alias, {
      alias,
      instances,
      fallbackOn: model.fallbackOn === undefined
        ? [...defaults.fallbackOn]
        : statuses(model.fallbackOn, key(path, "fallbackOn")),
      maxRetries: model.maxRetries === undefined
        ? instances.length - 1
        : integer(model.maxRetries, key(path, "maxRetries"), 0),
      health: readHealth(model.health, key(path, "health"), defaults.health),
    });
  }
  if (models.size === 0) throw new GatewayConfigError("models", "must name at least one model");
  return models;
}

function readRoutes(value: unknown, models: Map<string, ModelConfig>): RouteConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new GatewayConfigError("routes", `must be an array, got ${kind(value)}`);
  }
  const seen = new Set<string>();
  return value.map((item, i) => {
    const path = key("routes", i);
    const o = object(item, path);
    onlyKeys(o, path, ["path", "model"]);
    const routePath = string(o.path, key(path, "path"));
    if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*\/converse$/.test(routePath)) {
      throw new GatewayConfigError(
        key(path, "path"),
        "must be an absolute path ending in /converse (like /v1/llm/converse)",
      );
    }
    if (seen.has(routePath)) {
      throw new GatewayConfigError(key(path, "path"), `duplicate route ${routePath}`);
    }
    seen.add(routePath);
    const model = string(o.model, key(path, "model"));
    if (!models.has(model)) {
      throw new GatewayConfigError(
        key(path, "model"),
        `unknown model alias ${JSON.stringify(model)}`,
      );
    }
    return { path: routePath, model };
  });
}

/**
 * Validates a gateway configuration (parsed JSON) and resolves it: defaults filled in, secrets
 * given as `{ "env": "NAME" }` read from `env`, Bedrock credentials not in the config read from
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
 *
 * The document: `models` (alias → `{ instances: [...] }`; instance `type` is `bedrock`
 * (`region`, `credentials?`, `endpoint?`), `openai` / `openai-compatible` (`baseUrl`, `apiKey`),
 * `anthropic` (`apiKey`, `version?`, `baseUrl?`) or `mock` (`protocol`, `firstTokenDelayMs?`,
 * `tokenDelayMs?`); every instance may have `options` (`model`, `maxTokens`),
 * `connectTimeoutMs`, `firstByteTimeoutMs`, `maxStreamDurationMs` and `maxResponseBytes`),
 * `routes` (`[{ path, model }]`, APISIX style), `maxRequestBytes` and `logging.payloads`.
 *
 * Routing: every instance may have `name`, `weight` (≥ 1) and `priority`; a model may have
 * `fallbackOn` (statuses), `maxRetries` and `health` (`failures`, `windowMs`, `cooldownMs`), whose
 * defaults come from the top-level `fallbackOn` and `health`. Clients: `keys`
 * (`[{ name, key, tokensPerMinute?, tokensPerDay? }]`, `key` a secret).
 *
 * @param json the parsed configuration document
 * @param env reads an environment variable (e.g. `Deno.env.get`); default: none is set
 * @returns the validated configuration
 * @throws {GatewayConfigError} naming the JSON path and the reason, never a secret's value
 *
 * @example
 * ```ts
 * import { parseGatewayConfig } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const env = (name: string) => name === "ANTHROPIC_API_KEY" ? "sk-ant-test" : undefined;
 * const config = parseGatewayConfig({
 *   models: {
 *     claude: {
 *       instances: [{
 *         type: "anthropic",
 *         apiKey: { env: "ANTHROPIC_API_KEY" },
 *         options: { model: "claude-sonnet-4-5", maxTokens: 1024 },
 *       }],
 *     },
 *   },
 *   routes: [{ path: "/v1/llm/converse", model: "claude" }],
 * }, env);
 * const instance = config.models.get("claude")!.instances[0]!;
 * assert.equal(instance.type === "anthropic" && instance.apiKey.reveal(), "sk-ant-test");
 * assert.equal(instance.type === "anthropic" && instance.version, "2023-06-01");
 * assert.equal(config.maxRequestBytes, 64 * 1024 * 1024);
 * ```
 */
export function parseGatewayConfig(
  json: unknown,
  env: (name: string) => string | undefined = () => undefined,
): GatewayConfig {
  const o = object(json, "");
  onlyKeys(o, "", [
    "$schema",
    "models",
    "routes",
    "maxRequestBytes",
    "logging",
    "fallbackOn",
    "health",
    "keys",
  ]);
  const models = readModels(o.models, env, {
    fallbackOn: o.fallbackOn === undefined
      ? DEFAULT_FALLBACK_ON
      : statuses(o.fallbackOn, "fallbackOn"),
    health: readHealth(o.health, "health", DEFAULT_HEALTH),
  });
  const keys = readKeys(o.keys, env);
  const routes = readRoutes(o.routes, models);
  const maxRequestBytes = o.maxRequestBytes === undefined
    ? 64 * MIB
    : integer(o.maxRequestBytes, "maxRequestBytes", 1);
  let payloads = false;
  if (o.logging !== undefined) {
    const logging = object(o.logging, "logging");
    onlyKeys(logging, "logging", ["payloads"]);
    if (logging.payloads !== undefined) {
      if (typeof logging.payloads !== "boolean") {
        throw new GatewayConfigError(
          "logging.payloads",
          `must be a boolean, got ${kind(logging.payloads)}`,
        );
      }
      payloads = logging.payloads;
    }
  }
  return { models, routes, maxRequestBytes, keys, logging: { payloads } };
}

/**
 * The embedded default configuration, used when the gateway starts without `--config`: model
 * aliases served by the built-in mock upstream — `mock` (Bedrock protocol), `mock-openai` and
 * `mock-anthropic` — and the APISIX route `/v1/llm/converse` to `mock`. Works offline.
 *
 * @returns a fresh configuration document, for {@linkcode parseGatewayConfig}
 *
 * @example
 * ```ts
 * import { defaultGatewayConfig, parseGatewayConfig } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const config = parseGatewayConfig(defaultGatewayConfig());
 * assert.deepEqual([...config.models.keys()], ["mock", "mock-openai", "mock-anthropic"]);
 * assert.deepEqual(config.routes, [{ path: "/v1/llm/converse", model: "mock" }]);
 * ```
 */
export function defaultGatewayConfig(): unknown {
  return {
    models: {
      mock: { instances: [{ type: "mock", protocol: "bedrock" }] },
      "mock-openai": { instances: [{ type: "mock", protocol: "openai" }] },
      "mock-anthropic": { instances: [{ type: "mock", protocol: "anthropic" }] },
    },
    routes: [{ path: "/v1/llm/converse", model: "mock" }],
  };
}
