/**
 * llmwire — the wire layer of LLM streaming: AWS EventStream and Server-Sent Events as web
 * streams, protocol streams that turn Bedrock, OpenAI and Anthropic events into one model and
 * back, and an AWS SigV4 signer on WebCrypto. Browser-safe, zero dependencies.
 * @module
 */
export * from "./src/framing/mod.ts";
export * from "./src/protocols/mod.ts";
export * from "./src/sigv4/mod.ts";
