/**
 * Gateway metrics in the Prometheus text exposition format: requests by route and status, tokens
 * by direction, latency and time-to-first-token histograms, active streams.
 * @module
 */

/** What one finished request contributes to the metrics. */
export interface RequestSample {
  /** The route name (`openai.chat`, `bedrock.converse-stream`, …). */
  route: string;
  /** The HTTP status sent to the client. */
  status: number;
  /** Seconds from the request to the end of the response. */
  durationSeconds: number;
  /** Seconds to the first output token, when there was one. */
  ttftSeconds?: number;
  /** Token counts by direction (`input`, `output`, `cache_read`, `cache_write`, `reasoning`). */
  tokens?: Record<string, number>;
}

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  count = 0;
  sum = 0;

  observe(value: number): void {
    this.count++;
    this.sum += value;
    for (let i = 0; i < BUCKETS.length; i++) if (value <= BUCKETS[i]!) this.counts[i]!++;
  }
}

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/**
 * Counters and histograms of a gateway, rendered by {@linkcode GatewayMetrics.prototype.render}
 * as Prometheus text (`GET /metrics`).
 *
 * @example
 * ```ts
 * import { GatewayMetrics } from "@llmwire/llmwire/gateway";
 * import assert from "node:assert/strict";
 *
 * const metrics = new GatewayMetrics();
 * metrics.record({ route: "openai.chat", status: 200, durationSeconds: 0.2, tokens: { input: 12 } });
 * const text = metrics.render(0);
 * assert.match(text, /^llmwire_gateway_requests_total\{route="openai.chat",status="200"\} 1$/m);
 * assert.match(text, /^llmwire_gateway_tokens_total\{direction="input"\} 12$/m);
 * assert.match(text, /^llmwire_gateway_active_streams 0$/m);
 * ```
 */
export class GatewayMetrics {
  readonly #requests = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #ttft = new Map<string, Histogram>();

  /**
   * Records a finished request.
   *
   * @param sample what the request contributes
   */
  record(sample: RequestSample): void {
    const key = `route="${label(sample.route)}",status="${sample.status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    for (const [direction, count] of Object.entries(sample.tokens ?? {})) {
      if (count > 0) this.#tokens.set(direction, (this.#tokens.get(direction) ?? 0) + count);
    }
    const route = `route="${label(sample.route)}"`;
    histogram(this.#latency, route).observe(sample.durationSeconds);
    if (sample.ttftSeconds !== undefined) histogram(this.#ttft, route).observe(sample.ttftSeconds);
  }

  /**
   * The metrics as Prometheus text.
   *
   * @param activeStreams the number of streams in flight now
   * @returns the exposition text
   */
  render(activeStreams: number): string {
    const lines: string[] = [
      "# HELP llmwire_gateway_requests_total Requests served, by route and HTTP status.",
      "# TYPE llmwire_gateway_requests_total counter",
    ];
    for (const [key, count] of this.#requests) {
      lines.push(`llmwire_gateway_requests_total{${key}} ${count}`);
    }
    lines.push(
      "# HELP llmwire_gateway_tokens_total Tokens reported by upstreams, by direction.",
      "# TYPE llmwire_gateway_tokens_total counter",
    );
    for (const [direction, count] of this.#tokens) {
      lines.push(`llmwire_gateway_tokens_total{direction="${label(direction)}"} ${count}`);
    }
    renderHistogram(
      lines,
      "llmwire_gateway_request_duration_seconds",
      "Time from request to the end of the response.",
      this.#latency,
    );
    renderHistogram(
      lines,
      "llmwire_gateway_ttft_seconds",
      "Time from request to the first output token.",
      this.#ttft,
    );
    lines.push(
      "# HELP llmwire_gateway_active_streams Streaming responses in flight.",
      "# TYPE llmwire_gateway_active_streams gauge",
      `llmwire_gateway_active_streams ${activeStreams}`,
    );
    return lines.join("\n") + "\n";
  }
}

function histogram(map: Map<string, Histogram>, key: string): Histogram {
  let found = map.get(key);
  if (found === undefined) map.set(key, found = new Histogram());
  return found;
}

function renderHistogram(
  lines: string[],
  name: string,
  help: string,
  map: Map<string, Histogram>,
): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const [key, h] of map) {
    BUCKETS.forEach((bound, i) =>
      lines.push(`${name}_bucket{${key},le="${bound}"} ${h.counts[i]}`)
    );
    lines.push(`${name}_bucket{${key},le="+Inf"} ${h.count}`);
    lines.push(`${name}_sum{${key}} ${Number(h.sum.toFixed(6))}`);
    lines.push(`${name}_count{${key}} ${h.count}`);
  }
}
