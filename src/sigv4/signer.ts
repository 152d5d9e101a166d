/**
 * `SigV4Signer`: AWS Signature Version 4 for `fetch` requests, on WebCrypto only.
 * @module
 */

import { sha256Hex, sha256HexOfText, toHex } from "./_sha256.ts";
import {
  canonicalHeaderValue,
  canonicalPath,
  canonicalQuery,
  EMPTY_PAYLOAD_HASH,
  encodeRfc3986,
  isSignableHeader,
  SIGV4_ALGORITHM,
  UNSIGNED_PAYLOAD,
} from "./canonical.ts";
import {
  assertCredentials,
  type AwsCredentialProvider,
  type AwsCredentials,
  SigningKeyCache,
} from "./credentials.ts";

/** Options of {@linkcode SigV4Signer}. */
export interface SigV4SignerOptions {
  /** The region to sign for, e.g. `us-east-1` (see {@linkcode regionFromHost}). */
  region: string;
  /** The signing name of the service, e.g. `bedrock` (see {@linkcode serviceFromHost}). */
  service: string;
  /** The credentials, or a function returning them, called once per signature. */
  credentials: AwsCredentials | AwsCredentialProvider;
  /**
   * Normalize the path and URI-encode it once more to sign it (double encoding), as every AWS
   * service but S3 expects. Default `true`; `false` for S3, where the wire path is signed as is.
   */
  uriEscapePath?: boolean;
  /** Add and sign `x-amz-content-sha256` when signing headers. Default `true`, as in the AWS SDK. */
  applyChecksum?: boolean;
  /**
   * Sign the session token. Default `true`. `false` adds `X-Amz-Security-Token` after signing,
   * unsigned, as AWS IoT's WebSocket endpoint requires.
   */
  signSessionToken?: boolean;
  /** How many derived signing keys to keep (per date, region, service and secret). Default 50. */
  signingKeyCacheSize?: number;
}

/** Options of {@linkcode SigV4Signer.prototype.sign}. */
export interface SignOptions {
  /** The time of the signature. Default: now. */
  signingDate?: Date;
  /**
   * Sign the payload as `UNSIGNED-PAYLOAD`: the body is not read (a stream stays a stream) and
   * `x-amz-content-sha256: UNSIGNED-PAYLOAD` is sent (S3 accepts it; most services do not).
   */
  unsignedPayload?: boolean;
  /**
   * The hex SHA-256 of the body, computed by the caller: the body is not read, and is sent with
   * `x-amz-content-sha256`. An `x-amz-content-sha256` header on the request works the same way.
   */
  payloadHash?: string;
}

/** Options of {@linkcode SigV4Signer.prototype.presign}. */
export interface PresignOptions extends SignOptions {
  /** Seconds the URL stays valid: an integer from 1 to 604800 (7 days). */
  expiresIn: number;
}

/**
 * A request described by its parts, for {@linkcode SigV4Signer.prototype.sign}: a `url` plus
 * `RequestInit`. Unlike a `Request`, it shows what its body is, so a `ReadableStream` body is
 * recognized (and must be signed with `unsignedPayload` or `payloadHash`) while strings, buffers,
 * `Blob`s, `URLSearchParams` and `FormData` are hashed.
 */
export interface SignableRequest extends RequestInit {
  /** The absolute URL. */
  url: string | URL;
}

/** The raw parts of a request for {@linkcode SigV4Signer.prototype.signParts}. */
export interface SignableParts {
  /** The HTTP method, used as given (fetch upper-cases only the six standard methods). */
  method: string;
  /**
   * The path: as sent on the wire when the signer's `uriEscapePath` is `true` (it is normalized
   * and encoded once more), or exactly as signed when it is `false`.
   */
  path: string;
  /** Decoded query `[key, value]` pairs (a `URLSearchParams` works). */
  query?: Iterable<readonly [string, string]>;
  /**
   * The request's headers as `[name, value]` pairs, `host` included. Unsignable ones (see
   * {@linkcode isSignableHeader}) are kept but not signed; a name given more than once is signed
   * with its values joined by `,`.
   */
  headers: Iterable<readonly [string, string]>;
  /** The body to hash, unless the options (or an `x-amz-content-sha256` header) give its hash. */
  body?: string | Uint8Array;
}

/** Everything a signature is made of, from {@linkcode SigV4Signer.prototype.signParts}. */
export interface SignatureDetails {
  /** The canonical request. */
  canonicalRequest: string;
  /** The string to sign. */
  stringToSign: string;
  /** The signature, 64 hex digits. */
  signature: string;
  /** The signed header names, `;`-separated. */
  signedHeaders: string;
  /** The credential scope, `<date>/<region>/<service>/aws4_request`. */
  credentialScope: string;
  /** The `Authorization` header value; `""` for a presigned request. */
  authorization: string;
  /**
   * All headers to send, lowercase names: the input's (less `authorization`, `x-amz-date`, and,
   * when presigning, the `x-amz-*` ones moved to the query) plus those the signature adds.
   */
  headers: [string, string][];
  /**
   * The query string to send, without `?`: for a presigned request the canonical query plus
   * `X-Amz-Signature`; otherwise the canonical query, a valid encoding of the input pairs.
   */
  query: string;
}

const FETCH_NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
/** Payloads up to this size are hashed synchronously; larger ones by WebCrypto (see the bench). */
const SYNC_HASH_LIMIT = 16 * 1024;
const MAX_EXPIRES_IN = 7 * 24 * 60 * 60;
/** Query parameters the presignature sets; the same keys in the input are replaced. */
const PRESIGN_PARAMS = new Set([
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-Security-Token",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
]);
const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

/** A body ready to be signed: its content (to hash and send), or a stream to pass through. */
interface PreparedBody {
  /** What to hash (a string as UTF-8) and send; `null` without a body. */
  content: Bytes | string | null;
  /** A body that is not read: a stream (or a `Request`'s body, kept on the `Request`). */
  passThrough: ReadableStream<Uint8Array> | null;
  /** The `content-type` fetch would add for this body type, if any. */
  contentType: string | null;
}

/** A request reduced to what `#sign` reads. */
interface Prepared {
  method: string;
  /** The path: the URL's (as sent) or the caller's raw one. */
  path: string;
  query: Iterable<readonly [string, string]>;
  /** The URL's host, signed when the headers have no `host`. */
  host: string | undefined;
  /** `[lowercase name, value]` pairs. */
  headers: [string, string][];
  body: PreparedBody;
}

/** A `Request` or `SignableRequest` reduced, with its URL. */
interface PreparedRequest extends Prepared {
  /** The URL, serialized. */
  href: string;
}

/**
 * Signs `fetch` requests with AWS Signature Version 4, on WebCrypto only (no dependencies;
 * Deno, Node, Bun, Cloudflare Workers and browsers).
 *
 * - {@linkcode SigV4Signer.prototype.sign} adds `x-amz-date`, `x-amz-security-token` (with a
 *   session token), `x-amz-content-sha256` (with `applyChecksum`) and `Authorization`, and signs
 *   every header present but the unsignable ones ({@linkcode UNSIGNABLE_HEADERS}).
 * - {@linkcode SigV4Signer.prototype.presign} signs in the query string instead.
 * - {@linkcode SigV4Signer.prototype.signParts} signs raw parts a `Request` cannot express.
 *
 * Bodies: the input's body is read once and hashed — string, `ArrayBuffer`, typed arrays,
 * `Blob`, `URLSearchParams`, `FormData`. A `ReadableStream` body (given as
 * `{ url, method, headers, body: stream }`) is never read: sign it with `unsignedPayload` or
 * `payloadHash`; the returned `Request` streams it (`duplex: "half"`). A `Request`'s body is read
 * unless one of those two options (or an `x-amz-content-sha256` header) is given, in which case
 * it passes through unread.
 *
 * The derived signing key is cached as a non-extractable `CryptoKey` in a bounded LRU keyed by
 * date, region, service and the SHA-256 of the secret. Credentials live in a private field; they
 * never appear in errors, `JSON.stringify` or `Deno.inspect`.
 *
 * @example Signing a Bedrock Converse request
 * ```ts
 * import { bedrockModelPath, SigV4Signer } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const signer = new SigV4Signer({
 *   region: "us-east-1",
 *   service: "bedrock",
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
 * });
 * const url = "https://bedrock-runtime.us-east-1.amazonaws.com" +
 *   bedrockModelPath("amazon.nova-lite-v1:0", "converse");
 * const request = await signer.sign(
 *   new Request(url, {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi" }] }] }),
 *   }),
 *   { signingDate: new Date("2024-11-01T00:00:00Z") },
 * );
 * assert.equal(request.headers.get("x-amz-date"), "20241101T000000Z");
 * assert.match(
 *   request.headers.get("authorization")!,
 *   /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20241101\/us-east-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
 * );
 * assert.equal(JSON.parse(await request.text()).messages[0].content[0].text, "Hi");
 * ```
 */
export class SigV4Signer {
  readonly #region: string;
  readonly #service: string;
  readonly #credentials: AwsCredentials | AwsCredentialProvider;
  readonly #uriEscapePath: boolean;
  readonly #applyChecksum: boolean;
  readonly #signSessionToken: boolean;
  readonly #keys: SigningKeyCache;
  #lastSecond = NaN;
  #lastAmzDate = "";
  #lastPath: string | undefined;
  #lastCanonicalPath = "";

  /** Creates a signer for one region and service. */
  constructor(options: SigV4SignerOptions) {
    const { region, service, credentials } = options;
    if (typeof region !== "string" || region === "") {
      throw new TypeError("SigV4Signer: region must be a non-empty string");
    }
    if (typeof service !== "string" || service === "") {
      throw new TypeError("SigV4Signer: service must be a non-empty string");
    }
    if (typeof credentials !== "function") assertCredentials(credentials);
    this.#region = region;
    this.#service = service;
    this.#credentials = credentials;
    this.#uriEscapePath = options.uriEscapePath ?? true;
    this.#applyChecksum = options.applyChecksum ?? true;
    this.#signSessionToken = options.signSessionToken ?? true;
    this.#keys = new SigningKeyCache(options.signingKeyCacheSize ?? 50);
  }

  /** The region this signer signs for. */
  get region(): string {
    return this.#region;
  }

  /** The service (signing name) this signer signs for. */
  get service(): string {
    return this.#service;
  }

  /**
   * Signs a request in its headers and returns a new `Request` carrying `x-amz-date`,
   * `x-amz-security-token` (with a session token), `x-amz-content-sha256` (with
   * `applyChecksum`, or when the payload hash is given) and `Authorization`.
   *
   * @example Signing a stream without reading it
   * ```ts
   * import { SigV4Signer } from "@llmwire/llmwire";
   * import assert from "node:assert/strict";
   *
   * const signer = new SigV4Signer({
   *   region: "us-east-1",
   *   service: "s3",
   *   uriEscapePath: false,
   *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
   * });
   * const request = await signer.sign(
   *   { url: "https://bucket.s3.amazonaws.com/key", method: "PUT", body: ReadableStream.from([new Uint8Array([1, 2, 3])]) },
   *   { unsignedPayload: true, signingDate: new Date("2024-11-01T00:00:00Z") },
   * );
   * assert.equal(request.headers.get("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
   * assert.deepEqual(new Uint8Array(await request.arrayBuffer()), new Uint8Array([1, 2, 3]));
   * ```
   */
  async sign(input: Request | SignableRequest, options: SignOptions = {}): Promise<Request> {
    const prepared = await prepare(input, options);
    const details = await this.#sign(prepared, options, undefined);
    return buildRequest(input, prepared, prepared.href, details.headers);
  }

  /**
   * Presigns a request: the signature goes in the query string (`X-Amz-Algorithm`,
   * `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-Security-Token`,
   * `X-Amz-SignedHeaders`, `X-Amz-Signature`), so the URL alone grants the request for
   * `expiresIn` seconds. `x-amz-*` headers move into the query, as the AWS SDK does; other headers
   * stay signed headers that the user of the URL must send. The returned `Request`'s query is the
   * canonical query string, so what is sent is exactly what was signed.
   *
   * @example A URL valid for 5 minutes
   * ```ts
   * import { SigV4Signer } from "@llmwire/llmwire";
   * import assert from "node:assert/strict";
   *
   * const signer = new SigV4Signer({
   *   region: "us-east-1",
   *   service: "service",
   *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
   * });
   * const request = await signer.presign(new Request("https://example.amazonaws.com/"), {
   *   expiresIn: 300,
   *   signingDate: new Date("2015-08-30T12:36:00Z"),
   * });
   * const url = new URL(request.url);
   * assert.equal(url.searchParams.get("X-Amz-Expires"), "300");
   * assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "host");
   * assert.match(url.searchParams.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
   * await assert.rejects(signer.presign(new Request(url), { expiresIn: 8 * 86400 }), RangeError);
   * ```
   */
  async presign(input: Request | SignableRequest, options: PresignOptions): Promise<Request> {
    const expiresIn = validateExpiresIn(options?.expiresIn);
    const prepared = await prepare(input, options);
    const details = await this.#sign(prepared, options, expiresIn);
    const url = new URL(prepared.href);
    url.hash = "";
    url.search = details.query;
    return buildRequest(input, prepared, url.href, details.headers);
  }

  /**
   * Signs raw parts — the lower level of {@linkcode SigV4Signer.prototype.sign} and
   * {@linkcode SigV4Signer.prototype.presign} (with `expiresIn`), for requests a `fetch`
   * `Request` cannot express: a header given twice or with a line break, dot segments or raw
   * characters in the path. Returns the canonical request, string to sign and signature, and the
   * headers and query to send.
   *
   * @example
   * ```ts
   * import { SigV4Signer } from "@llmwire/llmwire";
   * import assert from "node:assert/strict";
   *
   * const signer = new SigV4Signer({
   *   region: "us-east-1",
   *   service: "service",
   *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
   *   applyChecksum: false,
   * });
   * const details = await signer.signParts(
   *   { method: "GET", path: "/", headers: [["Host", "example.amazonaws.com"], ["My-Header1", "value1\n  value2"]] },
   *   { signingDate: new Date("2015-08-30T12:36:00Z") },
   * );
   * assert.equal(
   *   details.canonicalRequest,
   *   "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2\nx-amz-date:20150830T123600Z\n\n" +
   *     "host;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
   * );
   * assert.equal(details.signedHeaders, "host;my-header1;x-amz-date");
   * assert.match(details.signature, /^[0-9a-f]{64}$/);
   * ```
   */
  signParts(
    parts: SignableParts,
    options: SignOptions & { expiresIn?: number } = {},
  ): Promise<SignatureDetails> {
    try {
      const expiresIn = options.expiresIn === undefined
        ? undefined
        : validateExpiresIn(options.expiresIn);
      const headers: [string, string][] = [];
      for (const [name, value] of parts.headers) headers.push([name.toLowerCase(), value]);
      const body = parts.body;
      const prepared: Prepared = {
        method: parts.method,
        path: parts.path,
        query: parts.query ?? [],
        host: undefined,
        headers,
        body: {
          content: (body ?? null) as Bytes | string | null,
          passThrough: null,
          contentType: null,
        },
      };
      return this.#sign(prepared, options, expiresIn);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The heart of it: one await for the credentials (if a provider), one for the HMAC. */
  async #sign(
    request: Prepared,
    options: SignOptions,
    expiresIn: number | undefined,
  ): Promise<SignatureDetails> {
    const provider = this.#credentials;
    let credentials: AwsCredentials;
    if (typeof provider === "function") {
      try {
        credentials = await provider();
      } catch (error) {
        throw new Error("SigV4Signer: the credential provider failed", { cause: error });
      }
      assertCredentials(credentials);
    } else {
      credentials = provider;
    }
    const amzDate = this.#amzDate(options.signingDate ?? new Date());
    const shortDate = amzDate.slice(0, 8);
    const region = this.#region;
    const service = this.#service;
    const scope = shortDate + "/" + region + "/" + service + "/aws4_request";
    const keyOrPending = this.#keys.get(credentials, shortDate, region, service);

    const presign = expiresIn !== undefined;
    const token = credentials.sessionToken;
    const signToken = token !== undefined && token !== "" && this.#signSessionToken;
    const addToken = token !== undefined && token !== "" && !this.#signSessionToken;

    // Headers: what is sent (`send`) and what is signed (`signed`, lowercase name → value).
    const send: [string, string][] = [];
    const signed = new Map<string, string>();
    const hoisted: [string, string][] = [];
    let host: string | undefined;
    let contentSha256: string | undefined;
    let hasContentType = false;
    for (const pair of request.headers) {
      const name = pair[0];
      if (name === "authorization" || name === "x-amz-date") continue;
      if (token !== undefined && token !== "" && name === "x-amz-security-token") continue;
      if (name === "x-amz-content-sha256") contentSha256 = pair[1];
      else if (name === "host") host = pair[1];
      else if (name === "content-type") hasContentType = true;
      if (presign && name.startsWith("x-amz-")) {
        hoisted.push(pair);
        continue;
      }
      send.push(pair);
      if (!isSignableHeader(name)) continue;
      const value = canonicalHeaderValue(pair[1]);
      const previous = signed.get(name);
      signed.set(name, previous === undefined ? value : previous + "," + value);
    }
    const body = request.body;
    if (body.contentType !== null && !hasContentType) {
      send.push(["content-type", body.contentType]);
      signed.set("content-type", body.contentType);
    }
    if (host === undefined) {
      host = request.host;
      if (host === undefined) {
        throw new TypeError("SigV4Signer: the parts have no host header");
      }
      signed.set("host", host);
    }

    // The payload hash: given, declared by the request, or computed from the bytes.
    let payloadHash: string;
    let declareHash = false;
    if (options.unsignedPayload) {
      payloadHash = UNSIGNED_PAYLOAD;
      declareHash = true;
    } else if (options.payloadHash !== undefined) {
      payloadHash = validatePayloadHash(options.payloadHash);
      declareHash = true;
    } else if (contentSha256 !== undefined) {
      payloadHash = contentSha256;
    } else if (body.passThrough !== null) {
      throw new TypeError(
        "SigV4Signer: a ReadableStream body cannot be hashed without reading it; pass " +
          "{ unsignedPayload: true } or { payloadHash } (its hex SHA-256)",
      );
    } else if (body.content === null || body.content.length === 0) {
      payloadHash = EMPTY_PAYLOAD_HASH;
    } else if (typeof body.content === "string") {
      // A UTF-16 code unit takes at most 3 bytes of UTF-8.
      payloadHash = body.content.length * 3 <= SYNC_HASH_LIMIT
        ? sha256HexOfText(body.content)
        : await webCryptoSha256(encoder.encode(body.content));
    } else {
      payloadHash = body.content.length <= SYNC_HASH_LIMIT
        ? sha256Hex(body.content)
        : await webCryptoSha256(body.content);
    }

    // What the signature adds, signed (before) or not (after).
    const added: [string, string][] = [];
    let query: string;
    if (presign) {
      const params: [string, string][] = [];
      for (const [key, value] of request.query) {
        if (!PRESIGN_PARAMS.has(key)) params.push([key, value]);
      }
      for (const pair of hoisted) params.push(pair);
      const signedHeaders = [...signed.keys()].sort().join(";");
      params.push(
        ["X-Amz-Algorithm", SIGV4_ALGORITHM],
        ["X-Amz-Credential", credentials.accessKeyId + "/" + scope],
        ["X-Amz-Date", amzDate],
        ["X-Amz-Expires", String(expiresIn)],
        ["X-Amz-SignedHeaders", signedHeaders],
      );
      if (signToken) params.push(["X-Amz-Security-Token", token]);
      query = canonicalQuery(params);
    } else {
      query = canonicalQuery(request.query);
      added.push(["x-amz-date", amzDate]);
      signed.set("x-amz-date", amzDate);
      if (signToken) {
        added.push(["x-amz-security-token", token]);
        signed.set("x-amz-security-token", token);
      }
      if (contentSha256 === undefined && (this.#applyChecksum || declareHash)) {
        added.push(["x-amz-content-sha256", payloadHash]);
        signed.set("x-amz-content-sha256", payloadHash);
      }
    }

    const names = [...signed.keys()].sort();
    let headerBlock = "";
    for (const name of names) headerBlock += name + ":" + signed.get(name) + "\n";
    const signedHeaders = names.join(";");
    const canonicalRequest = request.method + "\n" + this.#canonicalPath(request.path) + "\n" +
      query + "\n" + headerBlock + "\n" +
      signedHeaders + "\n" + payloadHash;
    const stringToSign = SIGV4_ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" +
      sha256HexOfText(canonicalRequest);

    const key = keyOrPending instanceof CryptoKey ? keyOrPending : await keyOrPending;
    const signature = toHex(
      new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(stringToSign))),
    );

    let authorization = "";
    if (presign) {
      query += "&X-Amz-Signature=" + signature;
      if (addToken) query += "&X-Amz-Security-Token=" + encodeRfc3986(token);
    } else {
      authorization = SIGV4_ALGORITHM + " Credential=" + credentials.accessKeyId + "/" + scope +
        ", SignedHeaders=" + signedHeaders + ", Signature=" + signature;
      if (addToken) added.push(["x-amz-security-token", token]);
      added.push(["authorization", authorization]);
    }
    for (const pair of added) send.push(pair);
    return {
      canonicalRequest,
      stringToSign,
      signature,
      signedHeaders,
      credentialScope: scope,
      authorization,
      headers: send,
      query,
    };
  }

  /** `canonicalPath`, memoized for the last path (a gateway signs the same few paths). */
  #canonicalPath(path: string): string {
    if (path !== this.#lastPath) {
      this.#lastCanonicalPath = canonicalPath(path, this.#uriEscapePath);
      this.#lastPath = path;
    }
    return this.#lastCanonicalPath;
  }

  /** `X-Amz-Date` of a time, memoized for the current second. */
  #amzDate(date: Date): string {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new RangeError("SigV4Signer: signingDate is an invalid Date");
    const second = Math.floor(ms / 1000);
    if (second !== this.#lastSecond) {
      const iso = date.toISOString(); // 2015-08-30T12:36:00.000Z
      this.#lastAmzDate = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) +
        iso.slice(17, 19) + "Z";
      this.#lastSecond = second;
    }
    return this.#lastAmzDate;
  }

  /** What `JSON.stringify` shows: region and service, never credentials. */
  toJSON(): { region: string; service: string } {
    return { region: this.#region, service: this.#service };
  }

  /** What `String(signer)` shows. */
  toString(): string {
    return `SigV4Signer(${this.#region}/${this.#service})`;
  }

  /** What `Deno.inspect` and `console.log` show in Deno. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** What `util.inspect` and `console.log` show in Node. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function validateExpiresIn(expiresIn: unknown): number {
  if (
    typeof expiresIn !== "number" || !Number.isInteger(expiresIn) || expiresIn < 1 ||
    expiresIn > MAX_EXPIRES_IN
  ) {
    throw new RangeError(
      `SigV4Signer: expiresIn must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN} ` +
        `(7 days), got ${String(expiresIn)}`,
    );
  }
  return expiresIn;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function validatePayloadHash(hash: string): string {
  if (!HEX_SHA256.test(hash) && hash !== UNSIGNED_PAYLOAD) {
    throw new TypeError(
      "SigV4Signer: payloadHash must be 64 lowercase hex digits (a SHA-256) or UNSIGNED-PAYLOAD",
    );
  }
  return hash;
}

async function webCryptoSha256(bytes: Bytes): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** Reads what `#sign` needs from a `Request` or a `SignableRequest`; reads a body at most once. */
async function prepare(
  input: Request | SignableRequest,
  options: SignOptions,
): Promise<PreparedRequest> {
  const hashGiven = options.unsignedPayload === true || options.payloadHash !== undefined;
  if (input instanceof Request) {
    const headers: [string, string][] = [];
    for (const pair of input.headers) headers.push(pair);
    let body: PreparedBody = NO_BODY;
    if (input.body !== null) {
      if (input.bodyUsed) throw new TypeError("SigV4Signer: the request's body was already read");
      body = hashGiven || input.headers.has("x-amz-content-sha256")
        ? { content: null, passThrough: input.body, contentType: null }
        : {
          content: new Uint8Array(await input.arrayBuffer()),
          passThrough: null,
          contentType: null,
        };
    }
    return prepared(input.method, input.url, headers, body);
  }
  let method = input.method ?? "GET";
  const upper = method.toUpperCase();
  if (FETCH_NORMALIZED_METHODS.has(upper)) method = upper;
  return prepared(method, input.url, headerPairs(input.headers), await prepareBody(input.body));
}

/**
 * An absolute http(s) URL that the URL parser would leave exactly as written: lowercase host
 * name (not an IP address), no default or zero-padded port, a path of plain characters without
 * dot segments, no fragment. Its parts can be read off the string, saving a parse per signature;
 * anything else goes through `new URL`.
 */
const PLAIN_URL =
  /^https?:\/\/((?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?::[1-9]\d{0,4})?)(\/[\w\-.~!$&'()*+,;=:@%/]*)(?:\?([\w\-.~!$&()*+,;=:@%/?]*))?$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)|%2e/i;

function prepared(
  method: string,
  url: string | URL,
  headers: [string, string][],
  body: PreparedBody,
): PreparedRequest {
  if (typeof url === "string") {
    const match = PLAIN_URL.exec(url);
    if (match !== null && !DOT_SEGMENT.test(match[2]!) && !isDefaultPort(url, match[1]!)) {
      const search = match[3];
      return {
        method,
        href: url,
        path: match[2]!,
        query: search === undefined || search === "" ? [] : new URLSearchParams(search),
        host: match[1]!,
        headers,
        body,
      };
    }
  }
  const parsed = new URL(url);
  const query = parsed.search === "" ? [] : parsed.searchParams;
  return {
    method,
    href: parsed.href,
    path: parsed.pathname,
    query,
    host: parsed.host,
    headers,
    body,
  };
}

function isDefaultPort(url: string, host: string): boolean {
  return url.startsWith("https:") ? host.endsWith(":443") : host.endsWith(":80");
}

const NO_BODY: PreparedBody = { content: null, passThrough: null, contentType: null };

/** A body init as bytes or text, with the content type fetch would give it. */
async function prepareBody(body: BodyInit | null | undefined): Promise<PreparedBody> {
  if (body === undefined || body === null) return NO_BODY;
  if (typeof body === "string") {
    return { content: body, passThrough: null, contentType: "text/plain;charset=UTF-8" };
  }
  if (body instanceof Uint8Array) {
    return { content: body as Bytes, passThrough: null, contentType: null };
  }
  if (ArrayBuffer.isView(body)) {
    const bytes = new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
    return { content: bytes, passThrough: null, contentType: null };
  }
  if (body instanceof ArrayBuffer) {
    return { content: new Uint8Array(body), passThrough: null, contentType: null };
  }
  if (body instanceof ReadableStream) {
    return { content: null, passThrough: body, contentType: null };
  }
  if (body instanceof URLSearchParams) {
    return {
      content: body.toString(),
      passThrough: null,
      contentType: "application/x-www-form-urlencoded;charset=UTF-8",
    };
  }
  if (body instanceof Blob) {
    const bytes = new Uint8Array(await body.arrayBuffer());
    return { content: bytes, passThrough: null, contentType: body.type === "" ? null : body.type };
  }
  // FormData and anything else fetch accepts: let fetch serialize it (with its boundary).
  const serialized = new Request("http://localhost/", { method: "POST", body });
  return {
    content: new Uint8Array(await serialized.arrayBuffer()),
    passThrough: null,
    contentType: serialized.headers.get("content-type"),
  };
}

/** `HeadersInit` as `[lowercase name, value]` pairs, values trimmed, repeats joined like fetch. */
function headerPairs(init: HeadersInit | undefined): [string, string][] {
  if (init === undefined) return [];
  if (init instanceof Headers) return [...init];
  const pairs: [string, string][] = [];
  const entries = Array.isArray(init) ? init : Object.entries(init);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.length !== 2) {
      throw new TypeError("SigV4Signer: a header must be a [name, value] pair");
    }
    const name = String(entry[0]).toLowerCase();
    // Repeated names: let fetch join them (", ") as it will on the wire.
    for (let j = 0; j < i; j++) if (pairs[j]![0] === name) return [...new Headers(init)];
    let value = String(entry[1]);
    if (HTTP_WHITESPACE_AT_ENDS.test(value)) value = value.replace(HTTP_WHITESPACE_AT_ENDS_G, "");
    pairs.push([name, value]);
  }
  return pairs;
}

const HTTP_WHITESPACE_AT_ENDS = /^[\t\n\r ]|[\t\n\r ]$/;
const HTTP_WHITESPACE_AT_ENDS_G = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** The signed `Request`: the input's properties, the signed headers, the body read or streamed. */
function buildRequest(
  input: Request | SignableRequest,
  prepared: PreparedRequest,
  href: string,
  headers: [string, string][],
): Request {
  const { content, passThrough } = prepared.body;
  if (input instanceof Request) {
    if (href === prepared.href) {
      return content === null
        ? new Request(input, { headers })
        : new Request(input, { headers, body: content });
    }
    const init: RequestInit & { duplex?: "half" } = {
      method: input.method,
      headers,
      signal: input.signal,
      redirect: input.redirect,
    };
    if (content !== null) init.body = content;
    else if (passThrough !== null) {
      init.body = passThrough;
      init.duplex = "half";
    }
    return new Request(href, init);
  }
  const { url: _url, ...rest } = input;
  const init: RequestInit & { duplex?: "half" } = { ...rest, method: prepared.method, headers };
  if (content !== null) init.body = content;
  else if (passThrough !== null) {
    init.body = passThrough;
    init.duplex = "half";
  } else delete init.body;
  return new Request(href, init);
}
