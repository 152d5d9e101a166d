/**
 * The canonical request of AWS Signature Version 4, from raw parts: pure, synchronous string
 * functions with no knowledge of credentials or of `fetch`.
 * @module
 */

import { sha256HexOfText } from "./_sha256.ts";

/** The algorithm name that opens every string to sign and every `Authorization` header. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** The payload hash that tells AWS the body is not part of the signature. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** SHA-256 of the empty string: the payload hash of a request without a body. */
export const EMPTY_PAYLOAD_HASH =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Header names never signed, as in the AWS SDK (`@smithy/signature-v4`'s
 * `ALWAYS_UNSIGNABLE_HEADERS`): hop-by-hop headers and headers that proxies, browsers or tracing
 * agents add or rewrite on the way. Names starting with `proxy-` or `sec-` are not signed either
 * (see {@linkcode isSignableHeader}).
 *
 * @example Checking a header name
 * ```ts
 * import { UNSIGNABLE_HEADERS } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.ok(UNSIGNABLE_HEADERS.has("user-agent"));
 * assert.ok(!UNSIGNABLE_HEADERS.has("content-type"));
 * ```
 */
export const UNSIGNABLE_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "cache-control",
  "connection",
  "expect",
  "from",
  "keep-alive",
  "max-forwards",
  "pragma",
  "referer",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "x-amzn-trace-id",
]);

/**
 * Whether a header (by its lowercase name) is signed: not one of {@linkcode UNSIGNABLE_HEADERS}
 * and not starting with `proxy-` or `sec-`.
 *
 * @example
 * ```ts
 * import { isSignableHeader } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isSignableHeader("content-type"));
 * assert.ok(!isSignableHeader("sec-fetch-mode"));
 * assert.ok(!isSignableHeader("connection"));
 * ```
 */
export function isSignableHeader(lowercaseName: string): boolean {
  return !UNSIGNABLE_HEADERS.has(lowercaseName) && !lowercaseName.startsWith("proxy-") &&
    !lowercaseName.startsWith("sec-");
}

const RESERVED_BY_RFC3986 = /[!'()*]/g;
const escapeReserved = (c: string) => "%" + c.charCodeAt(0).toString(16).toUpperCase();

/**
 * URI-encodes a string the way SigV4 requires (RFC 3986): every byte of its UTF-8 form except
 * the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX` with uppercase hex. `/` is encoded too.
 *
 * @example
 * ```ts
 * import { encodeRfc3986 } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeRfc3986("anthropic.claude-v2:1"), "anthropic.claude-v2%3A1");
 * assert.equal(encodeRfc3986("a b/c*"), "a%20b%2Fc%2A");
 * ```
 */
export function encodeRfc3986(value: string): string {
  // encodeURIComponent leaves exactly these five of RFC 3986's reserved characters alone.
  const encoded = encodeURIComponent(value);
  return RESERVED_BY_RFC3986.test(encoded)
    ? encoded.replace(RESERVED_BY_RFC3986, escapeReserved)
    : encoded;
}

/**
 * The canonical URI of a path.
 *
 * With `uriEscapePath` (every service but S3) the path is normalized — empty and `.` segments
 * dropped, `..` removes the segment before it, a leading and a trailing `/` kept — and each
 * segment is URI-encoded once more. Given the path as sent on the wire (already percent-encoded
 * once), that is the double encoding AWS expects: `%3A` on the wire is signed as `%253A`.
 *
 * Without it (S3) the path is used exactly as given.
 *
 * @example
 * ```ts
 * import { canonicalPath } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalPath("/model/amazon.nova-pro-v1%3A0/converse"), "/model/amazon.nova-pro-v1%253A0/converse");
 * assert.equal(canonicalPath("//a/./b/../c/"), "/a/c/");
 * assert.equal(canonicalPath("//a/./b/../c/", false), "//a/./b/../c/");
 * ```
 */
export function canonicalPath(path: string, uriEscapePath = true): string {
  if (path === "") return "/";
  if (!uriEscapePath) return path;
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(encodeRfc3986(segment));
  }
  if (segments.length === 0) return "/";
  const joined = segments.join("/");
  return (path.startsWith("/") ? "/" : "") + joined + (path.endsWith("/") ? "/" : "");
}

/**
 * The canonical query string of decoded `[key, value]` pairs: each key and value RFC 3986
 * encoded, sorted by key then by value (code-unit order of the encoded strings), joined with `&`.
 * Repeated keys and empty values are kept; a key `X-Amz-Signature` (any case) is left out.
 *
 * @example
 * ```ts
 * import { canonicalQuery } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const query = new URLSearchParams("b=2&a=z&a=y&c&d=a+b");
 * assert.equal(canonicalQuery(query), "a=y&a=z&b=2&c=&d=a%20b");
 * ```
 */
export function canonicalQuery(pairs: Iterable<readonly [string, string]>): string {
  const encoded: [string, string][] = [];
  for (const [key, value] of pairs) {
    if (key.length === 15 && key.toLowerCase() === "x-amz-signature") continue;
    encoded.push([encodeRfc3986(key), encodeRfc3986(value)]);
  }
  if (encoded.length === 0) return "";
  if (encoded.length > 1) encoded.sort(comparePairs);
  let out = encoded[0]![0] + "=" + encoded[0]![1];
  for (let i = 1; i < encoded.length; i++) out += "&" + encoded[i]![0] + "=" + encoded[i]![1];
  return out;
}

function comparePairs(a: readonly [string, string], b: readonly [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

const NEEDS_FOLDING = /[\t\r\n]| {2}|^ | $/;
const LINE_BREAKS = /[\r\n]/g;
const BLANK_RUNS = /[ \t]+/g;

/**
 * A header value as SigV4 signs it: line breaks become spaces, runs of spaces and tabs fold into
 * one space, and a leading or trailing space is dropped (the AWS SDK's rule, quotes included).
 *
 * @example
 * ```ts
 * import { canonicalHeaderValue } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * assert.equal(canonicalHeaderValue('  "a   b\tc" '), '"a b c"');
 * assert.equal(canonicalHeaderValue("value1\n  value2"), "value1 value2");
 * ```
 */
export function canonicalHeaderValue(value: string): string {
  if (!NEEDS_FOLDING.test(value)) return value;
  value = value.replace(LINE_BREAKS, " ").replace(BLANK_RUNS, " ");
  const start = value.startsWith(" ") ? 1 : 0;
  const end = value.length > start && value.endsWith(" ") ? value.length - 1 : value.length;
  return value.slice(start, end);
}

/** The raw parts of an HTTP request that {@linkcode createCanonicalRequest} canonicalizes. */
export interface CanonicalRequestInput {
  /** The HTTP method, e.g. `"POST"` (used as given). */
  method: string;
  /**
   * The path. With `uriEscapePath` (the default) it is normalized and URI-encoded (see
   * {@linkcode canonicalPath}): pass the path as sent on the wire (percent-encoded once) to get
   * the double encoding AWS services expect. Without it, it is signed exactly as given.
   */
  path: string;
  /** Decoded query `[key, value]` pairs (a `URLSearchParams` works); repeated keys allowed. */
  query?: Iterable<readonly [string, string]> | undefined;
  /**
   * The headers to sign, as `[name, value]` pairs, `host` included. Names are compared without
   * case; a name given more than once is signed once with its values joined by `,` in order.
   * Every pair given is signed: filtering unsignable headers is the caller's choice.
   */
  headers: Iterable<readonly [string, string]>;
  /** The hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` (or another value the service accepts). */
  payloadHash: string;
  /** Whether to normalize and URI-encode the path (default `true`; `false` for S3). */
  uriEscapePath?: boolean | undefined;
}

/** A canonical request, with the `SignedHeaders` list it signs. */
export interface CanonicalRequest {
  /** The canonical request text (six parts joined by `\n`). */
  canonicalRequest: string;
  /** The lowercase names of the signed headers, sorted, joined by `;`. */
  signedHeaders: string;
}

/**
 * Builds the canonical request of SigV4 from raw parts — the lower level under
 * {@linkcode SigV4Signer}, for requests a `fetch` `Request` cannot express (a header value with
 * a line break, a header given twice, a path with dot segments or raw non-ASCII characters…).
 *
 * @example
 * ```ts
 * import { createCanonicalRequest, EMPTY_PAYLOAD_HASH } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const { canonicalRequest, signedHeaders } = createCanonicalRequest({
 *   method: "GET",
 *   path: "/",
 *   query: [["Param2", "value2"], ["Param1", "value1"]],
 *   headers: [["Host", "example.amazonaws.com"], ["My-Header1", "b"], ["my-header1", "a"]],
 *   payloadHash: EMPTY_PAYLOAD_HASH,
 * });
 * assert.equal(signedHeaders, "host;my-header1");
 * assert.equal(
 *   canonicalRequest,
 *   "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nmy-header1:b,a\n\n" +
 *     "host;my-header1\n" + EMPTY_PAYLOAD_HASH,
 * );
 * ```
 */
export function createCanonicalRequest(input: CanonicalRequestInput): CanonicalRequest {
  const values = new Map<string, string>();
  for (const [name, value] of input.headers) {
    const key = name.toLowerCase();
    const canonical = canonicalHeaderValue(value);
    const previous = values.get(key);
    values.set(key, previous === undefined ? canonical : previous + "," + canonical);
  }
  const names = [...values.keys()].sort();
  let headerBlock = "";
  for (const name of names) headerBlock += name + ":" + values.get(name) + "\n";
  const signedHeaders = names.join(";");
  const canonicalRequest = input.method + "\n" + canonicalPath(input.path, input.uriEscapePath) +
    "\n" + canonicalQuery(input.query ?? []) + "\n" + headerBlock + "\n" + signedHeaders + "\n" +
    input.payloadHash;
  return { canonicalRequest, signedHeaders };
}

/**
 * The string to sign: algorithm, `X-Amz-Date` time, credential scope and the hex SHA-256 of the
 * canonical request, one per line.
 *
 * @example
 * ```ts
 * import { createStringToSign } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const stringToSign = createStringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", "");
 * assert.equal(
 *   stringToSign,
 *   "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
 *     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
 * );
 * ```
 */
export function createStringToSign(
  amzDate: string,
  credentialScope: string,
  canonicalRequest: string,
): string {
  return SIGV4_ALGORITHM + "\n" + amzDate + "\n" + credentialScope + "\n" +
    sha256HexOfText(canonicalRequest);
}
