/**
 * Shared by the gateway tests: the body and path a client of each protocol sends.
 * @module
 */
import type { LlmProtocol } from "../src/protocols/bodies.ts";

/** How {@linkcode clientRequest} shapes the request. */
export interface ClientRequestOptions {
  /** Ask for a stream (default `true`). */
  stream?: boolean;
  /** The user message (default `"Hello there"`). */
  prompt?: string;
  /** Anthropic's required `max_tokens` (default 100). */
  maxTokens?: number;
  /** OpenAI streams: add `stream_options.include_usage` (default `false`). */
  includeUsage?: boolean;
}

/** The path and JSON body a `protocol` client sends to ask `model` for a reply. */
export function clientRequest(
  protocol: LlmProtocol,
  model: string,
  options: ClientRequestOptions = {},
): { path: string; body: Record<string, unknown> } {
  const { stream = true, prompt = "Hello there", maxTokens = 100, includeUsage = false } = options;
  switch (protocol) {
    case "openai":
      return {
        path: "/v1/chat/completions",
        body: {
          model,
          stream,
          ...(stream && includeUsage ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: "user", content: prompt }],
        },
      };
    case "anthropic":
      return {
        path: "/v1/messages",
        body: {
          model,
          stream,
          max_tokens: maxTokens,
          messages: [{ role: "user", content: prompt }],
        },
      };
    case "bedrock":
      return {
        path: `/model/${encodeURIComponent(model)}/${stream ? "converse-stream" : "converse"}`,
        body: { messages: [{ role: "user", content: [{ text: prompt }] }] },
      };
  }
}
