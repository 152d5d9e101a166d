/**
 * AWS credentials, credential providers, and the cache of derived signing keys.
 * @module
 */

import { type HmacKey, hmacKey, hmacSha256, sha256HexOfText } from "./_sha256.ts";

/** AWS credentials: an access key, its secret, and the session token of temporary credentials. */
export interface AwsCredentials {
  /** The access key ID, e.g. `AKIDEXAMPLE` (sent in the clear in every signature). */
  readonly accessKeyId: string;
  /** The secret access key; never sent, never logged. */
  readonly secretAccessKey: string;
  /** The session token of temporary (STS) credentials, sent as `X-Amz-Security-Token`. */
  readonly sessionToken?: string | undefined;
}

/**
 * A function that returns the credentials to sign with, called once per signature: rotating
 * credentials (STS, instance roles) are picked up on the next signature. It should cache what it
 * fetches; the signer does not.
 */
export type AwsCredentialProvider = () => AwsCredentials | Promise<AwsCredentials>;

/** Why a credential object cannot be used; never includes any of its values. */
export function assertCredentials(credentials: unknown): asserts credentials is AwsCredentials {
  const c = credentials as AwsCredentials | null | undefined;
  if (
    typeof c !== "object" || c === null || typeof c.accessKeyId !== "string" ||
    c.accessKeyId === "" || typeof c.secretAccessKey !== "string" || c.secretAccessKey === "" ||
    (c.sessionToken !== undefined && typeof c.sessionToken !== "string")
  ) {
    throw new TypeError(
      "SigV4Signer: credentials must be an object with non-empty string accessKeyId and " +
        "secretAccessKey (and an optional string sessionToken)",
    );
  }
}

const encoder = new TextEncoder();

/**
 * Derives the SigV4 signing key — the HMAC chain `AWS4<secret>` → date → region → service →
 * `aws4_request` — and prepares it for HMAC (see {@linkcode HmacKey}). The raw secret and the
 * intermediate keys are not kept.
 */
export function deriveSigningKey(
  secretAccessKey: string,
  shortDate: string,
  region: string,
  service: string,
): HmacKey {
  let key: Uint8Array = encoder.encode("AWS4" + secretAccessKey);
  for (const part of [shortDate, region, service, "aws4_request"]) {
    const next = hmacSha256(hmacKey(key), encoder.encode(part));
    key.fill(0);
    key = next;
  }
  const signingKey = hmacKey(key);
  key.fill(0);
  return signingKey;
}

/**
 * A bounded LRU of derived signing keys, keyed by date, region, service and the SHA-256 of the
 * secret — never the secret itself.
 *
 * A key is kept as the two SHA-256 states of its HMAC pads ({@linkcode HmacKey}), in this private
 * map only, not as a WebCrypto `CryptoKey`: in Deno every `crypto.subtle.sign` call costs
 * 10–30 µs of work on the calling thread plus a hop to a worker thread, which made it the
 * largest cost of a signature (measured in `bench/sigv4_bench.ts`: about 1.7× fewer signatures
 * per second). Nothing is lost in secrecy: the signer holds the credentials themselves in memory
 * anyway, and neither the credentials nor these states are reachable from outside the signer.
 */
export class SigningKeyCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, HmacKey>();

  /** A cache of at most `maxEntries` keys. */
  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`SigV4Signer: signingKeyCacheSize must be an integer >= 1`);
    }
    this.#maxEntries = maxEntries;
  }

  /** How many keys are cached. */
  get size(): number {
    return this.#entries.size;
  }

  /** The signing key for these credentials and scope: cached, or derived now. */
  get(credentials: AwsCredentials, shortDate: string, region: string, service: string): HmacKey {
    // Hashed on every call, not remembered per credentials object: an object whose secret is
    // replaced in place must not keep signing with the old key.
    const cacheKey = sha256HexOfText(credentials.secretAccessKey) + "/" + shortDate + "/" +
      region + "/" + service;
    const entries = this.#entries;
    let key = entries.get(cacheKey);
    if (key !== undefined) {
      // Move to the most recently used end (a Map iterates in insertion order).
      entries.delete(cacheKey);
    } else {
      key = deriveSigningKey(credentials.secretAccessKey, shortDate, region, service);
      if (entries.size >= this.#maxEntries) entries.delete(entries.keys().next().value!);
    }
    entries.set(cacheKey, key);
    return key;
  }
}
