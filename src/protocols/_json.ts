/**
 * Private helpers shared by the protocol files (streams and body converters): checks for
 * untrusted JSON values, generated ids, and the `protocol_error` event decoders emit for data
 * that is not the protocol they read.
 * @module
 */
import type { LlmErrorEvent } from "./events.ts";

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` when it is a non-empty string, else `undefined`. */
export function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Whether `value` is a token count: a finite number, not negative. */
export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/**
 * A generated id, `prefix` + 32 hex digits (a random UUID without its dashes), for what a
 * protocol needs an id for and the source did not give: `msg_…`, `toolu_…`, `call_…`.
 */
export function generatedId(prefix: string): string {
  return prefix + crypto.randomUUID().replaceAll("-", "");
}

/** A generated message id, `msg_` + 32 hex digits. */
export function generatedMessageId(): string {
  return generatedId("msg_");
}

/**
 * A short, single-line excerpt of untrusted data for an error message: runs of white space as
 * one space, at most `max` characters (then `…`), quoted as a JSON string.
 */
export function excerpt(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ");
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** The `error` event for data that breaks the protocol: kind `protocol_error`, status 502. */
export function protocolError(message: string): LlmErrorEvent {
  return { type: "error", kind: "protocol_error", message, status: 502 };
}

/**
 * `table[key]` when `key` is one of the table's own keys, else `undefined`: provider data
 * names the key, so a prototype member (`constructor`, `toString`) must never match.
 */
export function lookup<V>(
  table: Readonly<Record<string, V>>,
  key: string | null | undefined,
): V | undefined {
  return key !== null && key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}
