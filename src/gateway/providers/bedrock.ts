/**
 * The Bedrock upstream: Converse and ConverseStream, signed with SigV4 (service `bedrock`).
 * @module
 */

import { bedrockModelPath } from "../../sigv4/hosts.ts";
import { SigV4Signer } from "../../sigv4/signer.ts";
import type { BedrockInstance } from "../config.ts";
import { type FetchLike, jsonHeaders, type Upstream } from "./upstream.ts";

/**
 * The URL of a Bedrock operation. The model id is one escaped path segment (`bedrockModelPath`),
 * and the result is checked: the host and the path structure are the endpoint's, whatever the
 * model id. A model id of only dots cannot be sent at all (URLs resolve `.`, `..`, `%2E%2E`).
 */
export function bedrockUrl(endpoint: string, modelId: string, stream: boolean): string {
  const operation = stream ? "converse-stream" : "converse";
  const path = bedrockModelPath(modelId, operation);
  const base = new URL(endpoint);
  const url = new URL(base.href.replace(/\/$/, "") + path);
  const expectedPath = base.pathname.replace(/\/$/, "") + path;
  if (
    url.host !== base.host || url.pathname !== expectedPath || url.search !== "" || url.hash !== ""
  ) {
    throw new TypeError("the model id does not fit in a Bedrock URL path");
  }
  return url.href;
}

/** A Bedrock instance as an upstream. */
export function bedrockUpstream(instance: BedrockInstance, fetch: FetchLike): Upstream {
  const { accessKeyId, secretAccessKey, sessionToken } = instance.credentials;
  const signer = new SigV4Signer({
    region: instance.region,
    service: "bedrock",
    credentials: {
      accessKeyId: accessKeyId.reveal(),
      secretAccessKey: secretAccessKey.reveal(),
      ...(sessionToken !== undefined ? { sessionToken: sessionToken.reveal() } : {}),
    },
  });
  return {
    provider: "bedrock",
    protocol: "bedrock",
    fetch,
    request: ({ model, stream, body }) =>
      signer.sign({
        url: bedrockUrl(instance.endpoint, model, stream),
        method: "POST",
        headers: jsonHeaders(stream, "application/vnd.amazon.eventstream"),
        body: body as Uint8Array<ArrayBuffer>,
      }),
  };
}
