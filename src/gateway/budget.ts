/**
 * Where the gateway counts the tokens each client key spent: {@linkcode BudgetStore}, in memory
 * by default ({@linkcode MemoryBudgetStore}), or shared by several gateway instances.
 * @module
 */

/**
 * Token counters of client keys, one per key and fixed window (`<key name>:m:<minute>`,
 * `<key name>:d:<day>`). The gateway reads them before a request (`get`) and adds the tokens a
 * request used when it ends (`add`, streams included). `add` must be atomic: concurrent requests
 * charging the same key must not lose counts. A counter may be dropped after `expiresAt`.
 *
 * The default is {@linkcode MemoryBudgetStore}, which counts per gateway process. To share budgets
 * between several gateway instances, back it with a shared store — Redis (`INCRBY` +
 * `PEXPIREAT`) or Deno KV (`sum`), as in the example.
 *
 * @example A Deno KV store (atomic `sum`; counters expire with the window)
 * ```ts ignore
 * import { type BudgetStore, createGateway, parseGatewayConfig } from "@llmwire/llmwire/gateway";
 *
 * const kv = await Deno.openKv();
 * const store: BudgetStore = {
 *   async add(counter, tokens, expiresAt) {
 *     const key = ["llmwire-budget", counter];
 *     await kv.atomic()
 *       .sum(key, BigInt(tokens))
 *       .commit();
 *     // KV has no per-key expiry on sum: a cleanup job (or `expireIn` on a set) drops old windows.
 *     void expiresAt;
 *     const entry = await kv.get<Deno.KvU64>(key);
 *     return Number(entry.value?.value ?? 0n);
 *   },
 *   async get(counter) {
 *     const entry = await kv.get<Deno.KvU64>(["llmwire-budget", counter]);
 *     return Number(entry.value?.value ?? 0n);
 *   },
 * };
 * const config = parseGatewayConfig(JSON.parse(await Deno.readTextFile("gateway.json")), Deno.env.get);
 * Deno.serve(createGateway(config, { budgetStore: store }).fetch);
 * ```
 *
 * @example The in-memory default
 * ```ts
 * import { type BudgetStore, MemoryBudgetStore } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const store: BudgetStore = new MemoryBudgetStore();
 * await Promise.all([store.add("team-a:m:1", 10, Date.now() + 60_000), store.add("team-a:m:1", 5, Date.now() + 60_000)]);
 * assert.equal(await store.get("team-a:m:1"), 15);
 * assert.equal(await store.get("team-b:m:1"), 0);
 * ```
 */
export interface BudgetStore {
  /**
   * Adds tokens to a counter, atomically.
   *
   * @param counter the counter's name
   * @param tokens the tokens to add (≥ 0)
   * @param expiresAt when the counter may be dropped (milliseconds since the epoch, on the gateway's clock)
   * @returns the counter's new total
   */
  add(counter: string, tokens: number, expiresAt: number): Promise<number>;
  /**
   * Reads a counter.
   *
   * @param counter the counter's name
   * @returns its total; 0 when there is none
   */
  get(counter: string): Promise<number>;
}

/**
 * The default {@linkcode BudgetStore}: counters in a `Map` of this process, dropped once expired.
 *
 * @example
 * ```ts
 * import { MemoryBudgetStore } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const store = new MemoryBudgetStore({ now: () => now });
 * assert.equal(await store.add("k:m:0", 7, 60_000), 7);
 * now = 60_000;
 * assert.equal(await store.get("k:m:0"), 0);
 * ```
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly #counters = new Map<string, { total: number; expiresAt: number }>();
  readonly #now: () => number;

  /**
   * Creates an empty store.
   *
   * @param options `now`: the clock counters expire on (default `Date.now`)
   */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** {@inheritDoc BudgetStore.add} */
  add(counter: string, tokens: number, expiresAt: number): Promise<number> {
    this.#sweep();
    const found = this.#counters.get(counter);
    if (found === undefined || found.expiresAt <= this.#now()) {
      this.#counters.set(counter, { total: tokens, expiresAt });
      return Promise.resolve(tokens);
    }
    found.total += tokens;
    found.expiresAt = Math.max(found.expiresAt, expiresAt);
    return Promise.resolve(found.total);
  }

  /** {@inheritDoc BudgetStore.get} */
  get(counter: string): Promise<number> {
    const found = this.#counters.get(counter);
    if (found === undefined || found.expiresAt <= this.#now()) return Promise.resolve(0);
    return Promise.resolve(found.total);
  }

  /** Drops expired counters (at most once a second of the clock). */
  #swept = -Infinity;
  #sweep(): void {
    const now = this.#now();
    if (now - this.#swept < 1000) return;
    this.#swept = now;
    for (const [name, counter] of this.#counters) {
      if (counter.expiresAt <= now) this.#counters.delete(name);
    }
  }
}
