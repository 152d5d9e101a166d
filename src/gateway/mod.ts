/**
 * The llmwire AI gateway: a plain fetch handler (`createGateway(config).fetch(request)`) that
 * serves OpenAI Chat Completions, Anthropic Messages and Bedrock Converse clients from Bedrock,
 * OpenAI(-compatible), Anthropic or built-in mock upstreams — same-protocol streams byte for byte,
 * cross-protocol streams converted. Run as the main module it serves with `Deno.serve`:
 * `deno run --allow-net --allow-env --allow-read jsr:@llmwire/llmwire/gateway --help`.
 * @module
 */
export * from "./config.ts";
