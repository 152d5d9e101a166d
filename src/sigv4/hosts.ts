/**
 * What to sign as, read from an AWS endpoint's host name; and Amazon Bedrock's model paths.
 * @module
 */

import { encodeRfc3986 } from "./canonical.ts";

/**
 * Endpoint prefixes whose signing name differs. Bedrock is the trap: its runtime, agent and
 * agent-runtime endpoints all sign as `bedrock`, and AWS rejects `bedrock-runtime`.
 */
const SIGNING_NAMES: Readonly<Record<string, string>> = {
  "bedrock-runtime": "bedrock",
  "bedrock-agent": "bedrock",
  "bedrock-agent-runtime": "bedrock",
  "appstream2": "appstream",
  "cloudhsmv2": "cloudhsm",
  "email": "ses",
  "git-codecommit": "codecommit",
  "marketplace": "aws-marketplace",
  "mturk-requester-sandbox": "mturk-requester",
  "personalize-runtime": "personalize",
  "queue": "sqs",
};

/** A region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-iso-east-1`… */
const REGION = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** Suffixes of AWS endpoints, longest first. */
const AWS_SUFFIXES = [".amazonaws.com.cn", ".amazonaws.com", ".api.aws", ".on.aws"];
/** Labels that only mark an endpoint variant. */
const VARIANT_LABELS = new Set(["dualstack", "fips"]);

interface ParsedHost {
  service: string;
  region: string;
}

function parseHost(host: string): ParsedHost | undefined {
  let name = host.toLowerCase();
  // Strip a port, and the brackets of no interest here (an IPv6 literal is no AWS endpoint).
  const colon = name.lastIndexOf(":");
  if (colon !== -1 && !name.endsWith("]")) name = name.slice(0, colon);
  if (name.endsWith(".")) name = name.slice(0, -1);
  const suffix = AWS_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix === undefined) return undefined;
  const labels = name.slice(0, -suffix.length).split(".").filter((l) => !VARIANT_LABELS.has(l));
  const at = labels.findIndex((label) => REGION.test(label));
  let service: string | undefined;
  let region: string | undefined;
  if (at !== -1) {
    region = labels[at];
    // `service.region` in general; `domain.region.service` for OpenSearch (`es`, `aoss`).
    service = labels[at + 1] ?? labels[at - 1];
  } else {
    service = labels[labels.length - 1];
    if (service === "us-gov") {
      // iam.us-gov.amazonaws.com
      service = labels[labels.length - 2];
      region = "us-gov-west-1";
    } else if (service !== undefined && /^s3-/.test(service)) {
      // Legacy S3 endpoints: s3-us-west-2.amazonaws.com, s3-external-1.amazonaws.com.
      const rest = service.slice(3).replace(/^fips-/, "");
      region = REGION.test(rest) ? rest : "us-east-1";
      service = "s3";
    } else {
      // Global services (iam, sts, route53, cloudfront, s3 without region) sign in the
      // partition's main region.
      region = suffix === ".amazonaws.com.cn" ? "cn-north-1" : "us-east-1";
    }
  }
  if (service === undefined || service === "") return undefined;
  if (suffix === ".on.aws") {
    // Lambda function URLs: <id>.lambda-url.<region>.on.aws
    if (service !== "lambda-url") return undefined;
    service = "lambda";
  }
  service = service.replace(/-fips$/, "");
  if (service === "s3-accelerate") service = "s3";
  if (region === undefined) return undefined;
  return { service: SIGNING_NAMES[service] ?? service, region };
}

/**
 * The SigV4 signing name (service) of an AWS endpoint host, or `undefined` for a host that is not
 * an AWS endpoint. Handles `service.region.amazonaws.com`, `.amazonaws.com.cn`, `.api.aws`,
 * FIPS and dual-stack variants, virtual-hosted S3 buckets, OpenSearch domains, Lambda function
 * URLs and global services; maps endpoint prefixes to signing names where they differ —
 * `bedrock-runtime` signs as `bedrock`.
 *
 * @example
 * ```ts
 * import { serviceFromHost } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(serviceFromHost("bedrock-runtime.us-east-1.amazonaws.com"), "bedrock");
 * assert.equal(serviceFromHost("sts-fips.us-east-2.amazonaws.com"), "sts");
 * assert.equal(serviceFromHost("my-bucket.s3.dualstack.eu-west-1.amazonaws.com"), "s3");
 * assert.equal(serviceFromHost("localhost:8080"), undefined);
 * ```
 */
export function serviceFromHost(host: string): string | undefined {
  return parseHost(host)?.service;
}

/**
 * The region of an AWS endpoint host, or `undefined` for a host that is not an AWS endpoint.
 * Global endpoints (`iam.amazonaws.com`, `sts.amazonaws.com`) sign in `us-east-1`
 * (`cn-north-1` in China).
 *
 * @example
 * ```ts
 * import { regionFromHost } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(regionFromHost("bedrock-runtime.eu-central-1.amazonaws.com"), "eu-central-1");
 * assert.equal(regionFromHost("bedrock-runtime-fips.us-west-2.amazonaws.com:443"), "us-west-2");
 * assert.equal(regionFromHost("iam.amazonaws.com"), "us-east-1");
 * assert.equal(regionFromHost("ec2.cn-northwest-1.amazonaws.com.cn"), "cn-northwest-1");
 * ```
 */
export function regionFromHost(host: string): string | undefined {
  return parseHost(host)?.region;
}

/** The Bedrock runtime operations addressed by model: `/model/{modelId}/{operation}`. */
export type BedrockOperation =
  | "converse"
  | "converse-stream"
  | "invoke"
  | "invoke-with-response-stream";

/**
 * The request path of a Bedrock runtime operation. The model ID (or ARN) is percent-encoded once
 * for the wire — `:` as `%3A`, `/` as `%2F` — so {@linkcode SigV4Signer} signs it encoded twice
 * (`%253A`, `%252F`), as Bedrock expects.
 *
 * @throws {TypeError} for `""`, `"."` and `".."`, which no encoding keeps inside the segment
 *
 * @example
 * ```ts
 * import { bedrockModelPath } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   bedrockModelPath("anthropic.claude-3-5-sonnet-20241022-v2:0", "converse-stream"),
 *   "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream",
 * );
 * assert.equal(
 *   bedrockModelPath("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0", "converse"),
 *   "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-pro-v1%3A0/converse",
 * );
 * ```
 */
export function bedrockModelPath(modelId: string, operation: BedrockOperation): string {
  // "", "." and ".." survive percent-encoding as path segments that URL parsers remove or
  // resolve ("%2E%2E" is a dot segment too), so the model would silently change the path.
  if (modelId === "" || modelId === "." || modelId === "..") {
    throw new TypeError(
      `bedrockModelPath: ${
        JSON.stringify(modelId)
      } is not a model ID (it cannot be a path segment)`,
    );
  }
  return "/model/" + encodeRfc3986(modelId) + "/" + operation;
}
