/**
 * The llmwire AI gateway: a plain fetch handler (`createGateway(config).fetch(request)`) that
 * serves OpenAI Chat Completions, Anthropic Messages and Bedrock Converse clients from Bedrock,
 * OpenAI(-compatible), Anthropic or built-in mock upstreams — same-protocol streams byte for byte,
 * cross-protocol streams converted. Run as the main module it serves with `Deno.serve`:
 * `deno run --allow-net --allow-env --allow-read jsr:@llmwire/llmwire/gateway --help`.
 * @module
 */
export * from "./config.ts";
export * from "./handler.ts";
export { GatewayMetrics, type RequestSample } from "./metrics.ts";
export type { AttemptRecord, RequestLogLine } from "./log.ts";
export { type BudgetStore, MemoryBudgetStore } from "./budget.ts";
export * from "./mock_upstream.ts";
// The normalized request and response model that mock replies and logs are written in.
export type * from "../protocols/bodies.ts";
export type * from "../protocols/events.ts";

// Runs only as Deno's main module (Node ≥ 24 defines import.meta.main too, without Deno).
if (import.meta.main && "Deno" in globalThis) {
  const { main } = await import("./main.ts");
  await main(Deno.args);
}
