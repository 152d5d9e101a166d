/**
 * Client keys and their token budgets: which key a request presents (compared in constant
 * time), whether its budget allows another request, and charging what a request used.
 * @module
 */

import type { LlmProtocol } from "../protocols/bodies.ts";
import type { ClientKey } from "./config.ts";
import type { BudgetStore } from "./budget.ts";

const utf8 = new TextEncoder();
const MINUTE = 60_000;
const DAY = 86_400_000;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
}

/** Equal digests, compared without an early exit. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * The key a client presents: `Authorization: Bearer <key>` (OpenAI, Bedrock — as Bedrock API
 * keys are sent — and APISIX routes), `x-api-key` (Anthropic; `Authorization: Bearer` too, as
 * the Anthropic SDK's `authToken` sends it).
 */
export function presentedKey(headers: Headers, protocol: LlmProtocol): string | undefined {
  if (protocol === "anthropic") {
    const key = headers.get("x-api-key");
    if (key !== null && key !== "") return key;
  }
  const authorization = headers.get("authorization");
  if (authorization === null) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}

/** The configured keys, as SHA-256 digests (so every comparison is of 32 bytes). */
export class ClientKeys {
  readonly #keys: readonly ClientKey[];
  #digests: Promise<Uint8Array[]> | undefined;

  constructor(keys: readonly ClientKey[]) {
    this.#keys = keys;
  }

  /** Whether any key is configured (else the gateway is open). */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** The key matching `presented`, comparing against every key in constant time. */
  async match(presented: string | undefined): Promise<ClientKey | undefined> {
    this.#digests ??= Promise.all(this.#keys.map((key) => sha256(key.key.reveal())));
    const digests = await this.#digests;
    const digest = await sha256(presented ?? "");
    let found: ClientKey | undefined;
    digests.forEach((candidate, i) => {
      if (sameDigest(candidate, digest) && presented !== undefined) found = this.#keys[i];
    });
    return found;
  }
}

/** The counters of a key's budget at `now`: name, limit, and when the window ends. */
function windows(key: ClientKey, now: number) {
  const out: { counter: string; limit: number; endsAt: number; per: string }[] = [];
  const { tokensPerMinute, tokensPerDay } = key.budget;
  if (tokensPerMinute !== undefined) {
    const start = Math.floor(now / MINUTE) * MINUTE;
    out.push({
      counter: `${key.name}:m:${start / MINUTE}`,
      limit: tokensPerMinute,
      endsAt: start + MINUTE,
      per: "minute",
    });
  }
  if (tokensPerDay !== undefined) {
    const start = Math.floor(now / DAY) * DAY;
    out.push({
      counter: `${key.name}:d:${start / DAY}`,
      limit: tokensPerDay,
      endsAt: start + DAY,
      per: "day",
    });
  }
  return out;
}

/** A spent budget: seconds until its window ends, and what was spent. */
export interface OverBudget {
  retryAfterSeconds: number;
  message: string;
}

/**
 * Whether the key may send another request: every window it has spent less than its limit in.
 * Over → the longest wait among the spent windows (fixed windows free all at once at their end).
 */
export async function checkBudget(
  store: BudgetStore,
  key: ClientKey,
  now: number,
): Promise<OverBudget | undefined> {
  let over: OverBudget | undefined;
  for (const window of windows(key, now)) {
    const spent = await store.get(window.counter);
    if (spent < window.limit) continue;
    const seconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    if (over === undefined || seconds > over.retryAfterSeconds) {
      over = {
        retryAfterSeconds: seconds,
        message: `the token budget of key ${
          JSON.stringify(key.name)
        } is spent (${spent} of ${window.limit} tokens per ${window.per}); retry in ${seconds} s`,
      };
    }
  }
  return over;
}

/** Charges `tokens` to every window of the key's budget. */
export async function chargeBudget(
  store: BudgetStore,
  key: ClientKey,
  tokens: number,
  now: number,
): Promise<void> {
  if (tokens <= 0) return;
  await Promise.all(
    windows(key, now).map((window) => store.add(window.counter, tokens, window.endsAt)),
  );
}
