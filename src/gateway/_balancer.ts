/**
 * Which instance of a model serves the next attempt: priority groups, smooth weighted
 * round-robin within a group (nginx's), and passive health (ejection, cooldown, half-open probe).
 * @module
 */

import type { HealthConfig, InstanceConfig, ModelConfig } from "./config.ts";

/** What the balancer keeps of one instance. */
interface InstanceState {
  readonly instance: InstanceConfig;
  /** nginx's `current_weight`. */
  current: number;
  /** When the recent failures happened (within the window). */
  failures: number[];
  /** Ejected until then (ms on the clock); 0 when not ejected. */
  ejectedUntil: number;
  /** A half-open probe is in flight: no other request goes there. */
  probing: boolean;
}

/** How an attempt on an instance went, for passive health. */
export type AttemptOutcome = "success" | "failure" | "neutral";

/** The balancer of one model alias. */
export class ModelBalancer {
  readonly #states: InstanceState[];
  readonly #health: HealthConfig;
  /** A model with one instance never ejects it (nginx does the same with `max_fails`). */
  readonly #ejects: boolean;
  readonly #now: () => number;

  constructor(model: ModelConfig, now: () => number) {
    this.#states = model.instances.map((instance) => ({
      instance,
      current: 0,
      failures: [],
      ejectedUntil: 0,
      probing: false,
    }));
    this.#health = model.health;
    this.#ejects = model.instances.length > 1;
    this.#now = now;
  }

  /** Whether the instance may get a request now: not ejected, or due for its one probe. */
  #available(state: InstanceState, now: number): boolean {
    if (state.ejectedUntil === 0) return true;
    return now >= state.ejectedUntil && !state.probing;
  }

  /**
   * The instance for the next attempt of a request that has tried `tried`: the highest priority
   * group with an available untried instance, then smooth weighted round-robin within it.
   * `undefined` when there is none (all tried, ejected or being probed).
   */
  pick(tried: ReadonlySet<InstanceConfig>): InstanceConfig | undefined {
    const now = this.#now();
    let group: InstanceState[] = [];
    let priority = -Infinity;
    for (const state of this.#states) {
      if (tried.has(state.instance) || !this.#available(state, now)) continue;
      if (state.instance.priority > priority) {
        priority = state.instance.priority;
        group = [state];
      } else if (state.instance.priority === priority) {
        group.push(state);
      }
    }
    if (group.length === 0) return undefined;
    let best: InstanceState | undefined;
    let total = 0;
    for (const state of group) {
      state.current += state.instance.weight;
      total += state.instance.weight;
      if (best === undefined || state.current > best.current) best = state;
    }
    best!.current -= total;
    // An ejected instance past its cooldown gets exactly one request: the probe.
    if (best!.ejectedUntil !== 0) best!.probing = true;
    return best!.instance;
  }

  /** Records how an attempt on `instance` went. */
  report(instance: InstanceConfig, outcome: AttemptOutcome): void {
    const state = this.#states.find((s) => s.instance === instance);
    if (state === undefined) return;
    const probe = state.probing;
    state.probing = false;
    if (outcome === "neutral") return;
    const now = this.#now();
    if (outcome === "success") {
      if (probe || state.ejectedUntil !== 0) state.ejectedUntil = 0;
      state.failures = [];
      return;
    }
    if (!this.#ejects) return;
    if (probe) {
      // The probe failed: ejected for another cooldown.
      state.ejectedUntil = now + this.#health.cooldownMs;
      state.failures = [];
      return;
    }
    const since = now - this.#health.windowMs;
    state.failures = state.failures.filter((at) => at > since);
    state.failures.push(now);
    if (state.failures.length >= this.#health.failures) {
      state.ejectedUntil = now + this.#health.cooldownMs;
      state.failures = [];
    }
  }

  /** The names of the instances ejected now (cooldown not over). */
  ejected(): string[] {
    const now = this.#now();
    return this.#states
      .filter((state) => state.ejectedUntil !== 0 && (now < state.ejectedUntil || state.probing))
      .map((state) => state.instance.name);
  }
}
