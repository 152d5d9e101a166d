/**
 * The built-in mock upstream: {@linkcode createMockUpstream} called in process, no network.
 * @module
 */

import { bedrockModelPath } from "../../sigv4/hosts.ts";
import type { MockInstance } from "../config.ts";
import { createMockUpstream, type MockUpstreamOptions } from "../mock_upstream.ts";
import { jsonHeaders, type Upstream } from "./upstream.ts";

const ORIGIN = "http://mock.llmwire.invalid";

/** A mock instance as an upstream. */
export function mockUpstream(instance: MockInstance): Upstream {
  const options: MockUpstreamOptions = {};
  if (instance.firstTokenDelayMs !== undefined) {
    options.firstTokenDelayMs = instance.firstTokenDelayMs;
  }
  if (instance.tokenDelayMs !== undefined) options.tokenDelayMs = instance.tokenDelayMs;
  const mock = createMockUpstream(options);
  const protocol = instance.protocol;
  return {
    provider: "mock",
    protocol,
    fetch: (request) => mock(request),
    request: ({ model, stream, body }) => {
      const path = protocol === "bedrock"
        ? bedrockModelPath(model, stream ? "converse-stream" : "converse")
        : protocol === "openai"
        ? "/v1/chat/completions"
        : "/v1/messages";
      const streamType = protocol === "bedrock"
        ? "application/vnd.amazon.eventstream"
        : "text/event-stream";
      return Promise.resolve(
        new Request(ORIGIN + path, {
          method: "POST",
          headers: jsonHeaders(stream, streamType),
          body: body as Uint8Array<ArrayBuffer>,
        }),
      );
    },
  };
}
