/**
 * Signatures per second for a 1 KB Amazon Bedrock Converse POST (session credentials), llmwire's
 * `SigV4Signer` against the signers users pick today: aws4fetch's `AwsV4Signer` (service forced
 * to `bedrock`) and the AWS SDK's `@smithy/signature-v4` (with `@aws-crypto/sha256-js`). Once with
 * one signature in flight, once with 64 (a gateway signs concurrently: one bench iteration is a
 * `Promise.all` of 64 signatures). Read the ratios of the summary, never absolute times.
 *
 * The last groups justify the signer's payload-hashing threshold: with 64 hashes in flight (as
 * when 64 signatures are), the synchronous SHA-256 in `src/sigv4/_sha256.ts` and
 * `crypto.subtle.digest` (which hashes on another thread) cross at about 2 KB; one at a time,
 * the synchronous one stays quicker up to a few KB more.
 *
 *     deno bench --allow-read --allow-env --allow-sys bench/sigv4_bench.ts
 */
import assert from "node:assert/strict";
import { AwsV4Signer } from "npm:aws4fetch@1.0.20";
import { SignatureV4 } from "npm:@smithy/signature-v4@5.7.5";
import { Sha256 } from "npm:@aws-crypto/sha256-js@5.2.0";
import { bedrockModelPath, SigV4Signer } from "../src/sigv4/mod.ts";
import { sha256Hex } from "../src/sigv4/_sha256.ts";

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQD",
};
const region = "us-east-1";
const host = "bedrock-runtime.us-east-1.amazonaws.com";
const path = bedrockModelPath("anthropic.claude-3-5-sonnet-20241022-v2:0", "converse");
const url = `https://${host}${path}`;
const body = JSON.stringify({
  messages: [{ role: "user", content: [{ text: "Summarize this. " + "lorem ipsum ".repeat(75) }] }],
  inferenceConfig: { maxTokens: 512, temperature: 0.5 },
}).padEnd(1024, " ");
assert.equal(body.length, 1024);
const signingDate = new Date("2024-11-01T12:00:00Z");
const contentType = "application/json";

// llmwire. applyChecksum off: aws4fetch adds no x-amz-content-sha256 outside S3, and the three
// must sign the very same headers.
const llmwire = new SigV4Signer({ region, service: "bedrock", credentials, applyChecksum: false });
const llmwireSign = () =>
  llmwire.sign(
    { url, method: "POST", headers: { "content-type": contentType }, body },
    { signingDate },
  );

// The same, given a fetch Request (its body is read once, asynchronously, to be hashed).
const llmwireSignRequest = () =>
  llmwire.sign(
    new Request(url, { method: "POST", headers: { "content-type": contentType }, body }),
    { signingDate },
  );

// aws4fetch: one AwsV4Signer per request (its API), sharing a key cache as AwsClient does;
// `allHeaders` so that it signs content-type as the AWS SDK does.
const aws4fetchCache = new Map();
const aws4fetchSign = () =>
  new AwsV4Signer({
    url,
    method: "POST",
    headers: { "content-type": contentType },
    body,
    ...credentials,
    service: "bedrock",
    region,
    datetime: "20241101T120000Z",
    cache: aws4fetchCache,
    allHeaders: true,
  }).sign();

// The AWS SDK's signer, as the SDK configures it in JavaScript runtimes without node:crypto.
const smithy = new SignatureV4({
  credentials,
  region,
  service: "bedrock",
  sha256: Sha256,
  applyChecksum: false,
});
const smithySign = () =>
  smithy.sign(
    {
      method: "POST",
      protocol: "https:",
      hostname: host,
      path,
      query: {},
      headers: { host, "content-type": contentType },
      body,
    },
    { signingDate },
  );

// The three agree on the benched request.
const ours = (await llmwireSign()).headers.get("authorization");
assert.equal((await llmwireSignRequest()).headers.get("authorization"), ours);
const theirs = (await aws4fetchSign()).headers.get("authorization");
const sdk = (await smithySign()).headers["authorization"];
assert.match(ours!, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,/);
assert.equal(ours, theirs);
assert.equal(ours, sdk);

const IN_FLIGHT = 64;
type Sign = () => Promise<unknown>;
const one = (sign: Sign) => async () => void await sign();
const many = (sign: Sign) => async () => {
  const pending = new Array<Promise<unknown>>(IN_FLIGHT);
  for (let i = 0; i < IN_FLIGHT; i++) pending[i] = sign();
  await Promise.all(pending);
};

for (const [group, wrap] of [["1 in flight", one], [`${IN_FLIGHT} in flight`, many]] as const) {
  Deno.bench({ name: "aws4fetch", group, baseline: true, fn: wrap(aws4fetchSign) });
  Deno.bench({ name: "@smithy/signature-v4", group, fn: wrap(smithySign) });
  Deno.bench({ name: "llmwire SigV4Signer", group, fn: wrap(llmwireSign) });
}

// What a fetch Request as input costs: reading its body and building a Request from a Request.
Deno.bench({
  name: "parts ({ url, method, headers, body })",
  group: "llmwire input",
  baseline: true,
  fn: one(llmwireSign),
});
Deno.bench({ name: "a fetch Request", group: "llmwire input", fn: one(llmwireSignRequest) });

// Where hashing synchronously stops paying: the signer's SYNC_HASH_LIMIT.
for (const size of [1024, 2048, 4096, 8192]) {
  const bytes = new Uint8Array(size).map((_, i) => i);
  const group = `payload SHA-256, ${size / 1024} KB`;
  Deno.bench({
    name: "crypto.subtle.digest",
    group,
    baseline: true,
    fn: async () => void await crypto.subtle.digest("SHA-256", bytes),
  });
  Deno.bench({ name: "synchronous sha256Hex", group, fn: () => void sha256Hex(bytes) });
  if (size === 1024) continue;
  const concurrent = `payload SHA-256, ${size / 1024} KB, ${IN_FLIGHT} in flight`;
  Deno.bench({
    name: "crypto.subtle.digest",
    group: concurrent,
    baseline: true,
    fn: many(() => crypto.subtle.digest("SHA-256", bytes)),
  });
  Deno.bench({
    name: "synchronous sha256Hex",
    group: concurrent,
    fn: many(() => Promise.resolve(sha256Hex(bytes))),
  });
}
