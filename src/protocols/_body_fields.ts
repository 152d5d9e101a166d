/**
 * Private helpers of the body converters: typed field readers that throw an
 * {@linkcode LlmConversionError} naming the field, path building, base64 and data URLs, and the
 * checks shared by the three providers (provider parts, provider fields, effort values). The
 * usage readers of the protocol files read through {@linkcode optionalCount} and
 * {@linkcode optionalObject}, strictly for bodies and leniently for streams.
 * @module
 */
import {
  type LlmCacheHint,
  LlmConversionError,
  type LlmProtocol,
  type LlmProviderFields,
  type LlmRequest,
} from "./bodies.ts";
import { isCount, isObject, type JsonObject } from "./_json.ts";

/** Human names of the protocols, for error messages. */
export const PROTOCOL_NAMES: Readonly<Record<LlmProtocol, string>> = {
  bedrock: "Bedrock Converse",
  openai: "OpenAI Chat Completions",
  anthropic: "Anthropic Messages",
};

/** Throws an {@linkcode LlmConversionError}. */
export function fail(field: string, message: string): never {
  throw new LlmConversionError(field, message);
}

/** `base` + `.key` or `[index]`. */
export function at(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** What kind of JSON value `value` is, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  return `${typeof value} ${String(value)}`;
}

/** `value` as an object, or throws naming `field`. */
export function object(value: unknown, field: string): JsonObject {
  if (!isObject(value)) fail(field, `must be an object, got ${describe(value)}`);
  return value;
}

/** `value` as an array, or throws naming `field`. */
export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, `must be an array, got ${describe(value)}`);
  return value;
}

/** `value` as a string, or throws naming `field`. */
export function string(value: unknown, field: string): string {
  if (typeof value !== "string") fail(field, `must be a string, got ${describe(value)}`);
  return value;
}

/** `value` as a finite number, or throws naming `field`. */
export function number(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail(field, `must be a number, got ${describe(value)}`);
  }
  return value;
}

/** `value` as a boolean, or throws naming `field`. */
export function boolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") fail(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** `undefined` for an absent or `null` field, else `read(value, field)`. */
export function optional<T>(
  value: unknown,
  field: string,
  read: (value: unknown, field: string) => T,
): T | undefined {
  return value === undefined || value === null ? undefined : read(value, field);
}

/**
 * How a reader meets a field of the wrong type. A body parser is `strict`: it throws an
 * {@linkcode LlmConversionError} naming the field. A stream decoder is `lenient`: the field
 * reads as absent (a decoder never throws, and a bad count must not cost the answer).
 */
export type Strictness = "strict" | "lenient";

/**
 * An optional token count: `undefined` when absent or `null`; strict, a finite number or throws;
 * lenient, a finite number that is not negative, else `undefined`.
 */
export function optionalCount(
  value: unknown,
  field: string,
  strictness: Strictness,
): number | undefined {
  if (strictness === "strict") return optional(value, field, number);
  return isCount(value) ? value : undefined;
}

/**
 * An optional object: `undefined` when absent or `null`; strict, an object or throws; lenient,
 * an object, else `undefined`.
 */
export function optionalObject(
  value: unknown,
  field: string,
  strictness: Strictness,
): JsonObject | undefined {
  if (strictness === "strict") return optional(value, field, object);
  return isObject(value) ? value : undefined;
}

/** `value` as an array of strings. */
export function strings(value: unknown, field: string): string[] {
  return array(value, field).map((item, i) => string(item, at(field, i)));
}

/**
 * Throws for the first key of `o` outside `known` (ignoring `null` values): nested fields
 * the converter does not know are refused, never dropped.
 */
export function onlyKeys(
  o: JsonObject,
  field: string,
  known: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key) && o[key] !== undefined && o[key] !== null) {
      fail(at(field, key), `is not supported in ${what}`);
    }
  }
}

/** `T` with every property that may be `undefined` made optional instead. */
export type Defined<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

/** Copies the defined entries of `fields` (skips `undefined`), for exactOptionalPropertyTypes. */
export function defined<T extends object>(fields: T): Defined<T> {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as Defined<T>;
}

/** Decodes standard base64 into a binary string (one character per byte), or throws. */
export function base64ToBinary(data: string, field: string): string {
  try {
    return atob(data);
  } catch {
    return fail(field, "is not valid base64");
  }
}

/** Encodes a binary string (one character per byte) as base64. */
export function binaryToBase64(data: string, field: string): string {
  try {
    return btoa(data);
  } catch {
    return fail(field, "holds characters above U+00FF and cannot be encoded as bytes");
  }
}

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*);base64,(.*)$/s;

/** Splits a `data:<type>;base64,<data>` URL, or returns `undefined` for other URLs. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = DATA_URL.exec(url);
  if (match === null) return undefined;
  return { mediaType: match[1]!.toLowerCase(), data: match[3]! };
}

/** Reads an Anthropic `cache_control` object (`{type: "ephemeral", ttl?}`). */
export function readCacheControl(value: unknown, field: string): LlmCacheHint | undefined {
  if (value === undefined || value === null) return undefined;
  const o = object(value, field);
  onlyKeys(o, field, ["type", "ttl"], "cache_control");
  if (o.type !== "ephemeral") fail(at(field, "type"), `must be "ephemeral"`);
  const ttl = optional(o.ttl, at(field, "ttl"), string);
  return ttl === undefined ? {} : { ttl };
}

/**
 * Per source protocol, the top-level fields another protocol may drop: hints that cannot change
 * the answer, and fields set to their default. (Listed in each provider file's module docs.)
 */
const DROPPABLE_FIELDS: Readonly<Record<LlmProtocol, (key: string, value: unknown) => boolean>> = {
  openai(key, value) {
    switch (key) {
      case "store":
      case "metadata":
      case "service_tier":
      case "safety_identifier":
      case "prompt_cache_key":
      case "prompt_cache_retention":
      case "prompt_cache_options":
        return true;
      case "n":
        return value === 1;
      case "logprobs":
        return value === false;
      case "frequency_penalty":
      case "presence_penalty":
        return value === 0;
      case "modalities":
        return Array.isArray(value) && value.length === 1 && value[0] === "text";
    }
    return false;
  },
  anthropic(key) {
    return key === "service_tier";
  },
  bedrock(key) {
    return key === "requestMetadata" || key === "performanceConfig" || key === "serviceTier" ||
      key === "additionalModelResponseFieldPaths";
  },
};

/**
 * A provider part, tool or field of `protocol` is being written in `target`: the same protocol
 * gets it back; another one cannot express it.
 */
export function refuseForeign(
  protocol: LlmProtocol,
  target: LlmProtocol,
  field: string,
  what: string,
): void {
  if (protocol !== target) {
    fail(
      field,
      `${what} from ${PROTOCOL_NAMES[protocol]} has no equivalent in ${PROTOCOL_NAMES[target]}`,
    );
  }
}

/**
 * Keeps what the parser of a `protocol` request body did not normalize as the request's provider
 * fields: `partial` (what remains of fields read in part, say a `thinking` of another shape),
 * then every top-level field outside `known`. Written back to the same protocol; other protocols
 * drop or refuse them (see {@linkcode providerFieldsFor}).
 */
export function keepProviderFields(
  request: LlmRequest,
  protocol: LlmProtocol,
  body: JsonObject,
  known: readonly string[],
  partial: JsonObject,
): void {
  const fields: JsonObject = { ...partial };
  for (const [key, value] of Object.entries(body)) {
    if (!known.includes(key) && value !== undefined) fields[key] = value;
  }
  if (Object.keys(fields).length > 0) request.providerFields = { protocol, fields };
}

/**
 * The provider fields to copy into a `target` body: all of them when they come from `target`;
 * none when they come from elsewhere and every one is `null` or droppable; otherwise throws
 * naming the first field `target` cannot express.
 */
export function providerFieldsFor(
  providerFields: LlmProviderFields | undefined,
  target: LlmProtocol,
): JsonObject {
  if (providerFields === undefined) return {};
  if (providerFields.protocol === target) return providerFields.fields;
  const droppable = DROPPABLE_FIELDS[providerFields.protocol];
  for (const [key, value] of Object.entries(providerFields.fields)) {
    if (value === null || value === undefined || droppable(key, value)) continue;
    fail(
      key,
      `the ${PROTOCOL_NAMES[providerFields.protocol]} field "${key}" has no equivalent in ${
        PROTOCOL_NAMES[target]
      }`,
    );
  }
  return {};
}

/** The effort levels Anthropic Messages and Bedrock Converse accept. */
export const CLAUDE_EFFORTS = ["low", "medium", "high", "xhigh", "max"] as const;

/** One of {@linkcode CLAUDE_EFFORTS}. */
export type ClaudeEffort = typeof CLAUDE_EFFORTS[number];

/**
 * A normalized effort as Anthropic/Bedrock `effort`: `none` → no effort field (no reasoning is
 * their default), `minimal` → `low` (their lowest level); values outside the list are refused.
 */
export function claudeEffort(
  effort: string | undefined,
  target: LlmProtocol,
): ClaudeEffort | undefined {
  if (effort === undefined || effort === "none") return undefined;
  if (effort === "minimal") return "low";
  if ((CLAUDE_EFFORTS as readonly string[]).includes(effort)) return effort as ClaudeEffort;
  return fail(
    "reasoning.effort",
    `"${effort}" is not an effort ${PROTOCOL_NAMES[target]} accepts (${CLAUDE_EFFORTS.join(", ")})`,
  );
}

/** Parses a request's tool-call arguments text into an object, or throws naming `field`. */
export function parseArgumentsObject(text: string, field: string): JsonObject {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return fail(field, `is not valid JSON (${why})`);
  }
  if (!isObject(value)) fail(field, `must encode a JSON object, got ${describe(value)}`);
  return value;
}

/** Subtracts cache counts from a normalized input count (never below zero). */
export function uncachedInput(inputTokens: number, cacheRead: number, cacheWrite: number): number {
  return Math.max(0, inputTokens - cacheRead - cacheWrite);
}
