/**
 * AWS Signature Version 4: {@linkcode SigV4Signer} signs `fetch` requests (headers or presigned
 * URLs) with web platform APIs only, in Deno, Node, Bun, Workers and browsers;
 * {@linkcode createCanonicalRequest} and {@linkcode SigV4Signer.prototype.signParts} work on raw
 * parts; {@linkcode serviceFromHost}, {@linkcode regionFromHost} and {@linkcode bedrockModelPath}
 * handle Amazon Bedrock's traps.
 *
 * @example
 * ```ts
 * import { SigV4Signer } from "@llmwire/llmwire/sigv4";
 * import assert from "node:assert/strict";
 *
 * const signer = new SigV4Signer({
 *   region: "us-east-1",
 *   service: "service",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
 *   applyChecksum: false,
 * });
 * const signed = await signer.sign(new Request("https://example.amazonaws.com/"), {
 *   signingDate: new Date("2015-08-30T12:36:00Z"),
 * });
 * // The AWS SigV4 test suite's get-vanilla case.
 * assert.equal(
 *   signed.headers.get("authorization"),
 *   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
 *     "SignedHeaders=host;x-amz-date, " +
 *     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
 * );
 * ```
 * @module
 */
export {
  type PresignOptions,
  type SignableParts,
  type SignableRequest,
  type SignatureDetails,
  type SignOptions,
  SigV4Signer,
  type SigV4SignerOptions,
} from "./signer.ts";
export {
  canonicalHeaderValue,
  canonicalPath,
  canonicalQuery,
  type CanonicalRequest,
  type CanonicalRequestInput,
  createCanonicalRequest,
  createStringToSign,
  EMPTY_PAYLOAD_HASH,
  encodeRfc3986,
  isSignableHeader,
  SIGV4_ALGORITHM,
  UNSIGNABLE_HEADERS,
  UNSIGNED_PAYLOAD,
} from "./canonical.ts";
export type { AwsCredentialProvider, AwsCredentials } from "./credentials.ts";
export {
  bedrockModelPath,
  type BedrockOperation,
  regionFromHost,
  serviceFromHost,
} from "./hosts.ts";
