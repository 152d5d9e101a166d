/**
 * `SigV4Signer`: AWS Signature Version 4 for `fetch` requests, on web platform APIs only.
 * @module
 */

import { type HmacKey, PrefixHasher, sha256Hex, toHex, utf8 } from "./_sha256.ts";
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
/**
 * Payloads up to this many bytes are hashed here, synchronously; larger ones by WebCrypto, whose
 * fixed cost per call (15–30 µs in Deno) is repaid from about 2 KB on when signatures are
 * concurrent, as it hashes on another thread (see the bench).
 */
const SYNC_HASH_LIMIT = 2048;
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

/** A request reduced to what `#canonicalize` reads. */
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
 * Signs `fetch` requests with AWS Signature Version 4, on web platform APIs only (no
 * dependencies; Deno, Node, Bun, Cloudflare Workers and browsers).
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
 * Paths: with `uriEscapePath` (the default) the path as sent is normalized and encoded once more
 * (`%3A` is signed as `%253A`); without it (S3) it is signed as sent. Query strings are read as
 * `URLSearchParams` reads them (`+` is a space) and signed RFC 3986-encoded, sorted.
 *
 * The derived signing key is cached in a bounded LRU keyed by date, region, service and the
 * SHA-256 of the secret — never the secret itself; the last key used is also remembered with its
 * date and secret, in private fields, so that the next signature with the same skips the lookup.
 * Only bodies over 2 KB go to WebCrypto (`crypto.subtle.digest`); the rest of a signature is
 * computed synchronously, with no await. Credentials live in private fields; they never appear in
 * errors, `JSON.stringify` or `Deno.inspect`.
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
  #lastHref: string | undefined;
  #lastHrefRequest: Request | undefined;
  readonly #canonicalHasher = new PrefixHasher();
  readonly #stringToSignHasher = new PrefixHasher();
  #lastScope = "";
  #lastStringToSignHead = "";
  #lastKey: HmacKey | undefined;
  #lastKeySecret = "";
  #lastKeyDate = "";

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
    let prepared = prepare(input, options);
    if (prepared instanceof Promise) prepared = await prepared;
    let canonical = this.#canonicalize(prepared, options, undefined);
    if (canonical instanceof Promise) canonical = await canonical;
    const { headers } = this.#details(canonical);
    const href = prepared.href;
    return buildRequest(input, prepared, href, headers, () => this.#requestFor(href));
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
    const canonical = await this.#canonicalize(prepared, options, expiresIn);
    const { headers, query } = this.#details(canonical);
    const url = new URL(prepared.href);
    url.hash = "";
    url.search = query;
    return buildRequest(input, prepared, url.href, headers);
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
  async signParts(
    parts: SignableParts,
    options: SignOptions & { expiresIn?: number } = {},
  ): Promise<SignatureDetails> {
    const expiresIn = options.expiresIn === undefined
      ? undefined
      : validateExpiresIn(options.expiresIn);
    const headers: [string, string][] = [];
    for (const [name, value] of parts.headers) headers.push([name.toLowerCase(), value]);
    const content = (parts.body ?? null) as Bytes | string | null;
    const canonical = await this.#canonicalize(
      {
        method: parts.method,
        path: parts.path,
        query: parts.query ?? [],
        host: undefined,
        headers,
        body: { content, passThrough: null, contentType: null },
      },
      options,
      expiresIn,
    );
    return this.#details(canonical);
  }

  /** The signature, and everything about it. */
  #details(canonical: Canonical): SignatureDetails {
    const signature = this.#stringToSignHasher.hmacHex(
      canonical.key,
      canonical.stringToSignHead,
      canonical.canonicalRequestHash,
    );
    const headers = canonical.headers;
    let query = canonical.query;
    let authorization = "";
    if (canonical.presigned) {
      query += "&X-Amz-Signature=" + signature;
      if (canonical.unsignedToken !== undefined) {
        query += "&X-Amz-Security-Token=" + encodeRfc3986(canonical.unsignedToken);
      }
    } else {
      authorization = canonical.authorizationPrefix + signature;
      if (canonical.unsignedToken !== undefined) {
        headers.push(["x-amz-security-token", canonical.unsignedToken]);
      }
      headers.push(["authorization", authorization]);
    }
    return {
      canonicalRequest: canonical.canonicalRequest,
      stringToSign: canonical.stringToSign,
      signature,
      signedHeaders: canonical.signedHeaders,
      credentialScope: canonical.credentialScope,
      authorization,
      headers,
      query,
    };
  }

  /**
   * The heart of it: everything up to the string to sign — synchronous unless the credentials
   * come from a provider or a payload over 2 KB is hashed by WebCrypto.
   */
  #canonicalize(
    request: Prepared,
    options: SignOptions,
    expiresIn: number | undefined,
  ): Canonical | Promise<Canonical> {
    const provider = this.#credentials;
    if (typeof provider !== "function") {
      return this.#canonicalizeWith(provider, request, options, expiresIn);
    }
    return (async () => {
      let credentials: AwsCredentials;
      try {
        credentials = await provider();
      } catch (error) {
        throw new Error("SigV4Signer: the credential provider failed", { cause: error });
      }
      assertCredentials(credentials);
      return this.#canonicalizeWith(credentials, request, options, expiresIn);
    })();
  }

  #canonicalizeWith(
    credentials: AwsCredentials,
    request: Prepared,
    options: SignOptions,
    expiresIn: number | undefined,
  ): Canonical | Promise<Canonical> {
    const hash = payloadHash(request, options);
    return typeof hash === "string" || Array.isArray(hash)
      ? this.#build(credentials, request, options, expiresIn, hash)
      : hash.then((hash) => this.#build(credentials, request, options, expiresIn, hash));
  }

  /** The canonical request and string to sign, given the payload hash. */
  #build(
    credentials: AwsCredentials,
    request: Prepared,
    options: SignOptions,
    expiresIn: number | undefined,
    hash: PayloadHash,
  ): Canonical {
    const amzDate = this.#amzDate(options.signingDate ?? new Date());
    const shortDate = amzDate.slice(0, 8);
    const scope = this.#lastScope;
    const presign = expiresIn !== undefined;
    const token = credentials.sessionToken === "" ? undefined : credentials.sessionToken;
    const signToken = token !== undefined && this.#signSessionToken;

    // Headers: what is sent (`send`) and what is signed (`signed`, lowercase name → value).
    const send: [string, string][] = [];
    const signed = new Map<string, string>();
    const hoisted: [string, string][] = [];
    let host: string | undefined;
    let hasContentSha256 = false;
    let hasContentType = false;
    for (const pair of request.headers) {
      const name = pair[0];
      if (name === "authorization" || name === "x-amz-date") continue;
      if (token !== undefined && name === "x-amz-security-token") continue;
      if (name === "host") host = pair[1];
      else if (name === "content-type") hasContentType = true;
      else if (name === "x-amz-content-sha256") hasContentSha256 = true;
      if (presign && name.startsWith("x-amz-")) {
        hoisted.push(pair);
        continue;
      }
      send.push(pair);
      // `date` is sent but not signed: `x-amz-date` is the signature's time (the AWS SDK drops it).
      if (!isSignableHeader(name) || name === "date") continue;
      const value = canonicalHeaderValue(pair[1]);
      const previous = signed.get(name);
      signed.set(name, previous === undefined ? value : previous + "," + value);
    }
    const contentType = request.body.contentType;
    if (contentType !== null && !hasContentType) {
      send.push(["content-type", contentType]);
      signed.set("content-type", contentType);
    }
    if (host === undefined) {
      host = request.host;
      if (host === undefined) throw new TypeError("SigV4Signer: the parts have no host header");
      signed.set("host", host);
    }

    // What the signature adds: query parameters when presigning, headers otherwise.
    const hashValue = typeof hash === "string" ? hash : hash[0];
    let query: string;
    if (presign) {
      const params: [string, string][] = [];
      for (const [key, value] of request.query) {
        if (!PRESIGN_PARAMS.has(key)) params.push([key, value]);
      }
      for (const pair of hoisted) params.push(pair);
      params.push(
        ["X-Amz-Algorithm", SIGV4_ALGORITHM],
        ["X-Amz-Credential", credentials.accessKeyId + "/" + scope],
        ["X-Amz-Date", amzDate],
        ["X-Amz-Expires", String(expiresIn)],
        ["X-Amz-SignedHeaders", [...signed.keys()].sort().join(";")],
      );
      if (signToken) params.push(["X-Amz-Security-Token", token]);
      query = canonicalQuery(params);
    } else {
      query = canonicalQuery(request.query);
      send.push(["x-amz-date", amzDate]);
      signed.set("x-amz-date", amzDate);
      if (signToken) {
        send.push(["x-amz-security-token", token]);
        signed.set("x-amz-security-token", token);
      }
      // A hash given as an option is always declared: the service cannot compute it.
      if (!hasContentSha256 && (this.#applyChecksum || typeof hash !== "string")) {
        send.push(["x-amz-content-sha256", hashValue]);
        signed.set("x-amz-content-sha256", hashValue);
      }
    }

    const names = [...signed.keys()].sort();
    let headerBlock = "";
    for (const name of names) headerBlock += name + ":" + signed.get(name) + "\n";
    const signedHeaders = names.join(";");
    // All but the payload hash: what the canonical requests of a signer mostly share.
    const canonicalHead = request.method + "\n" + this.#canonicalPath(request.path) + "\n" +
      query + "\n" + headerBlock + "\n" + signedHeaders + "\n";
    const canonicalRequestHash = this.#canonicalHasher.hex(canonicalHead, hashValue);
    return {
      presigned: presign,
      canonicalRequest: canonicalHead + hashValue,
      stringToSign: this.#lastStringToSignHead + canonicalRequestHash,
      stringToSignHead: this.#lastStringToSignHead,
      canonicalRequestHash,
      signedHeaders,
      credentialScope: scope,
      authorizationPrefix: SIGV4_ALGORITHM + " Credential=" + credentials.accessKeyId + "/" +
        scope + ", SignedHeaders=" + signedHeaders + ", Signature=",
      unsignedToken: token !== undefined && !signToken ? token : undefined,
      headers: send,
      query,
      key: this.#signingKey(credentials, shortDate),
    };
  }

  /**
   * The signing key from the cache, memoized for the last secret and date: the next signature with
   * the same skips the cache's lookup (and its SHA-256 of the secret). The secret compared is the
   * string the credentials hold, not a copy.
   */
  #signingKey(credentials: AwsCredentials, shortDate: string): HmacKey {
    const secret = credentials.secretAccessKey;
    if (
      this.#lastKey === undefined || secret !== this.#lastKeySecret ||
      shortDate !== this.#lastKeyDate
    ) {
      this.#lastKey = this.#keys.get(credentials, shortDate, this.#region, this.#service);
      this.#lastKeySecret = secret;
      this.#lastKeyDate = shortDate;
    }
    return this.#lastKey;
  }

  /** `canonicalPath`, memoized for the last path (a gateway signs the same few paths). */
  #canonicalPath(path: string): string {
    if (path !== this.#lastPath) {
      this.#lastCanonicalPath = canonicalPath(path, this.#uriEscapePath);
      this.#lastPath = path;
    }
    return this.#lastCanonicalPath;
  }

  /**
   * A bodiless `Request` for `href`, kept for the next signature of the same URL (a gateway signs
   * the same few): a `Request` built from it copies its parsed URL instead of parsing the string
   * again. Made on the second signature of a URL in a row, so that URLs signed once (presigned
   * ones, with their signatures in the query) never pay for it.
   */
  #requestFor(href: string): Request | undefined {
    if (href !== this.#lastHref) {
      this.#lastHref = href;
      this.#lastHrefRequest = undefined;
      return undefined;
    }
    return this.#lastHrefRequest ??= new Request(href);
  }

  /**
   * `X-Amz-Date` of a time, memoized for the current second, with the credential scope and the
   * head of the string to sign for it (`#lastScope`, `#lastStringToSignHead`).
   */
  #amzDate(date: Date): string {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new RangeError("SigV4Signer: signingDate is an invalid Date");
    const second = Math.floor(ms / 1000);
    if (second !== this.#lastSecond) {
      const iso = date.toISOString(); // 2015-08-30T12:36:00.000Z
      const amzDate = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) +
        iso.slice(17, 19) + "Z";
      this.#lastAmzDate = amzDate;
      this.#lastScope = amzDate.slice(0, 8) + "/" + this.#region + "/" + this.#service +
        "/aws4_request";
      this.#lastStringToSignHead = SIGV4_ALGORITHM + "\n" + amzDate + "\n" + this.#lastScope +
        "\n";
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

/** A canonicalized request, waiting for its signature. */
interface Canonical {
  presigned: boolean;
  canonicalRequest: string;
  stringToSign: string;
  /** The string to sign up to the canonical request's hash (the same string all second). */
  stringToSignHead: string;
  canonicalRequestHash: string;
  signedHeaders: string;
  credentialScope: string;
  /** `Authorization` up to the signature. */
  authorizationPrefix: string;
  /** A session token to add after signing (`signSessionToken: false`). */
  unsignedToken: string | undefined;
  /** The headers to send, without `Authorization` (and the unsigned token). */
  headers: [string, string][];
  /** The query to send, without `X-Amz-Signature` (and the unsigned token). */
  query: string;
  key: HmacKey;
}

/**
 * A payload hash: computed from the body (a string), or given by an option (a one-element
 * tuple, declared with `x-amz-content-sha256` even without `applyChecksum`).
 */
type PayloadHash = string | [given: string];

/** The payload hash: given as an option, declared by a header, or computed from the body. */
function payloadHash(request: Prepared, options: SignOptions): PayloadHash | Promise<PayloadHash> {
  if (options.unsignedPayload) return [UNSIGNED_PAYLOAD];
  if (options.payloadHash !== undefined) return [validatePayloadHash(options.payloadHash)];
  for (const [name, value] of request.headers) if (name === "x-amz-content-sha256") return value;
  const { content, passThrough } = request.body;
  if (passThrough !== null) {
    throw new TypeError(
      "SigV4Signer: a ReadableStream body cannot be hashed without reading it; pass " +
        "{ unsignedPayload: true } or { payloadHash } (its hex SHA-256)",
    );
  }
  if (content === null || content.length === 0) return EMPTY_PAYLOAD_HASH;
  const bytes = typeof content === "string" ? utf8(content) : content;
  if (bytes.length <= SYNC_HASH_LIMIT) return sha256Hex(bytes);
  // `utf8` may have encoded into its reused buffer: hand WebCrypto a copy.
  return webCryptoSha256(typeof content === "string" ? bytes.slice() : bytes);
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

/**
 * Reads what `#canonicalize` needs from a `Request` or a `SignableRequest`, reading a body at
 * most once; synchronous unless a body must be read.
 */
function prepare(
  input: Request | SignableRequest,
  options: SignOptions,
): PreparedRequest | Promise<PreparedRequest> {
  if (input instanceof Request) {
    const headers: [string, string][] = [];
    for (const pair of input.headers) headers.push(pair);
    const stream = input.body;
    if (stream === null) return toPrepared(input.method, input.url, headers, NO_BODY);
    if (input.bodyUsed) throw new TypeError("SigV4Signer: the request's body was already read");
    const hashGiven = options.unsignedPayload === true || options.payloadHash !== undefined ||
      input.headers.has("x-amz-content-sha256");
    if (hashGiven) {
      const body = { content: null, passThrough: stream, contentType: null };
      return toPrepared(input.method, input.url, headers, body);
    }
    return input.arrayBuffer().then((buffer) => {
      const body = { content: new Uint8Array(buffer), passThrough: null, contentType: null };
      return toPrepared(input.method, input.url, headers, body);
    });
  }
  let method = input.method ?? "GET";
  const upper = method.toUpperCase();
  if (FETCH_NORMALIZED_METHODS.has(upper)) method = upper;
  const headers = headerPairs(input.headers);
  const body = prepareBody(input.body);
  return body instanceof Promise
    ? body.then((body) => toPrepared(method, input.url, headers, body))
    : toPrepared(method, input.url, headers, body);
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

function toPrepared(
  method: string,
  url: string | URL,
  headers: [string, string][],
  body: PreparedBody,
): PreparedRequest {
  const { href, path, search, host } = urlParts(url);
  return {
    method,
    href,
    path,
    query: search === "" ? [] : new URLSearchParams(search),
    host,
    headers,
    body,
  };
}

/** What a signature reads of a URL. */
interface UrlParts {
  /** The URL, serialized. */
  href: string;
  /** The path, as sent. */
  path: string;
  /** The query, without `?`. */
  search: string;
  host: string;
}

/** The last URL string read, and its parts: a gateway signs the same few URLs over and over. */
let lastUrl: string | undefined;
let lastUrlParts: UrlParts | undefined;

function urlParts(url: string | URL): UrlParts {
  if (typeof url !== "string") return parseUrl(url);
  if (url === lastUrl) return lastUrlParts!;
  const parts = parseUrl(url);
  lastUrl = url;
  lastUrlParts = parts;
  return parts;
}

function parseUrl(url: string | URL): UrlParts {
  if (typeof url === "string") {
    const match = PLAIN_URL.exec(url);
    if (match !== null && !DOT_SEGMENT.test(match[2]!) && !isDefaultPort(url, match[1]!)) {
      return { href: url, path: match[2]!, search: match[3] ?? "", host: match[1]! };
    }
  }
  const parsed = new URL(url);
  return {
    href: parsed.href,
    path: parsed.pathname,
    search: parsed.search.slice(1),
    host: parsed.host,
  };
}

function isDefaultPort(url: string, host: string): boolean {
  return url.startsWith("https:") ? host.endsWith(":443") : host.endsWith(":80");
}

const NO_BODY: PreparedBody = { content: null, passThrough: null, contentType: null };

/** A body init as bytes or text, with the content type fetch would give it. */
function prepareBody(body: BodyInit | null | undefined): PreparedBody | Promise<PreparedBody> {
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
    const contentType = body.type === "" ? null : body.type;
    return body.arrayBuffer().then((buffer) => ({
      content: new Uint8Array(buffer),
      passThrough: null,
      contentType,
    }));
  }
  // FormData and anything else fetch accepts: let fetch serialize it (with its boundary).
  const serialized = new Request("http://localhost/", { method: "POST", body });
  const contentType = serialized.headers.get("content-type");
  return serialized.arrayBuffer().then((buffer) => ({
    content: new Uint8Array(buffer),
    passThrough: null,
    contentType,
  }));
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
  requestFor?: () => Request | undefined,
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
  const { url: _url, headers: _headers, ...rest } = input;
  const init: RequestInit & { duplex?: "half" } = { ...rest, method: prepared.method };
  if (content !== null) init.body = content;
  else if (passThrough !== null) {
    init.body = passThrough;
    init.duplex = "half";
  } else delete init.body;
  // From a kept bodiless `Request` for the same URL when there is one (see `#requestFor`). Its
  // signal must not be followed: `null` gives the new `Request` a signal of its own, as a URL
  // does (and keeps the kept one from collecting dependent signals).
  const base = requestFor?.();
  if (base !== undefined) init.signal ??= null;
  const request = new Request(base ?? href, init);
  // Setting the headers one by one is cheaper than converting a HeadersInit; their names are
  // unique here, and `set` replaces the content-type fetch gives a string body by default.
  const requestHeaders = request.headers;
  for (const [name, value] of headers) requestHeaders.set(name, value);
  return request;
}
