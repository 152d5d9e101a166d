/**
 * The Anthropic upstream: `POST <baseUrl>/v1/messages` with `x-api-key` and `anthropic-version`.
 * @module
 */

import type { AnthropicInstance } from "../config.ts";
import { type FetchLike, jsonHeaders, type Upstream } from "./upstream.ts";

/** An Anthropic instance as an upstream. */
export function anthropicUpstream(instance: AnthropicInstance, fetch: FetchLike): Upstream {
  const url = `${instance.baseUrl}/v1/messages`;
  return {
    provider: "anthropic",
    protocol: "anthropic",
    fetch,
    request: ({ stream, body, clientHeaders }) => {
      const headers: Record<string, string> = {
        ...jsonHeaders(stream, "text/event-stream"),
        "x-api-key": instance.apiKey.reveal(),
        "anthropic-version": instance.version,
      };
      const beta = clientHeaders.get("anthropic-beta");
      if (beta !== null) headers["anthropic-beta"] = beta;
      return Promise.resolve(
        new Request(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> }),
      );
    },
  };
}
