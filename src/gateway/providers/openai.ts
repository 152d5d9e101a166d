/**
 * The OpenAI (and OpenAI-compatible) upstream: `POST <baseUrl>/chat/completions`, Bearer auth.
 * @module
 */

import type { OpenAIInstance } from "../config.ts";
import { type FetchLike, jsonHeaders, type Upstream } from "./upstream.ts";

/** An OpenAI or OpenAI-compatible instance as an upstream. */
export function openAIUpstream(instance: OpenAIInstance, fetch: FetchLike): Upstream {
  const url = `${instance.baseUrl}/chat/completions`;
  return {
    provider: instance.type,
    protocol: "openai",
    fetch,
    request: ({ stream, body }) => {
      const headers: Record<string, string> = jsonHeaders(stream, "text/event-stream");
      if (instance.apiKey !== undefined) {
        headers.authorization = `Bearer ${instance.apiKey.reveal()}`;
      }
      return Promise.resolve(
        new Request(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> }),
      );
    },
  };
}
