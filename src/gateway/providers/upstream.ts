/**
 * Upstreams: how a provider instance is called — its URL, authentication and transport.
 * @module
 */

import type { LlmProtocol } from "../../protocols/bodies.ts";
import type { InstanceConfig } from "../config.ts";
import { anthropicUpstream } from "./anthropic.ts";
import { bedrockUpstream } from "./bedrock.ts";
import { mockUpstream } from "./mock.ts";
import { openAIUpstream } from "./openai.ts";

/** A `fetch`-like function. */
export type FetchLike = (input: Request) => Promise<Response>;

/** What an upstream call needs. */
export interface UpstreamCall {
  /** The model id to send upstream. */
  model: string;
  /** Whether a stream is asked for. */
  stream: boolean;
  /** The request body (JSON). */
  body: Uint8Array;
  /** The client's request headers (only a few provider headers are forwarded). */
  clientHeaders: Headers;
}

/** A provider instance, ready to be called. */
export interface Upstream {
  /** The instance type (`bedrock`, `openai`, …), for logs. */
  readonly provider: string;
  /** The protocol it speaks. */
  readonly protocol: LlmProtocol;
  /** Builds the (signed) request. */
  request(call: UpstreamCall): Promise<Request>;
  /** Sends a request built by `request`. */
  readonly fetch: FetchLike;
}

/** The upstream of an instance. */
export function createUpstream(instance: InstanceConfig, fetch: FetchLike): Upstream {
  switch (instance.type) {
    case "bedrock":
      return bedrockUpstream(instance, fetch);
    case "openai":
    case "openai-compatible":
      return openAIUpstream(instance, fetch);
    case "anthropic":
      return anthropicUpstream(instance, fetch);
    case "mock":
      return mockUpstream(instance);
  }
}

/** `Content-Type` and `Accept` of a JSON request. */
export function jsonHeaders(stream: boolean, streamType: string): Record<string, string> {
  return { "content-type": "application/json", accept: stream ? streamType : "application/json" };
}
