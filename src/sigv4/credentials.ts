/**
 * AWS credentials, credential providers, and the cache of derived signing keys.
 * @module
 */

import { sha256HexOfText } from "./_sha256.ts";

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

const HMAC_SHA256 = { name: "HMAC", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

async function hmac(key: BufferSource, data: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, HMAC_SHA256, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data));
}

/**
 * Derives the SigV4 signing key — HMAC chain `AWS4<secret>` → date → region → service →
 * `aws4_request` — and imports it as a non-extractable HMAC `CryptoKey`.
 */
export async function deriveSigningKey(
  secretAccessKey: string,
  shortDate: string,
  region: string,
  service: string,
): Promise<CryptoKey> {
  const kDate = await hmac(encoder.encode("AWS4" + secretAccessKey), shortDate);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const kSigning = await hmac(kService, "aws4_request");
  const key = await crypto.subtle.importKey("raw", kSigning, HMAC_SHA256, false, ["sign"]);
  // The intermediate keys are usable for a day: do not leave them to the garbage collector.
  for (const bytes of [kDate, kRegion, kService, kSigning]) new Uint8Array(bytes).fill(0);
  return key;
}

/**
 * A bounded LRU of derived signing keys, each a non-extractable `CryptoKey`, keyed by date,
 * region, service and the SHA-256 of the secret — never the secret itself. A key being derived
 * is shared by every signature that asks for it meanwhile.
 */
export class SigningKeyCache {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, CryptoKey | Promise<CryptoKey>>();

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

  /** The signing key for these credentials and scope: cached, being derived, or derived now. */
  get(
    credentials: AwsCredentials,
    shortDate: string,
    region: string,
    service: string,
  ): CryptoKey | Promise<CryptoKey> {
    // Hashed on every call, not remembered per credentials object: an object whose secret is
    // replaced in place must not keep signing with the old key.
    const secretHash = sha256HexOfText(credentials.secretAccessKey);
    const cacheKey = secretHash + "/" + shortDate + "/" + region + "/" + service;
    const entries = this.#entries;
    const cached = entries.get(cacheKey);
    if (cached !== undefined) {
      // Move to the most recently used end (a Map iterates in insertion order).
      entries.delete(cacheKey);
      entries.set(cacheKey, cached);
      return cached;
    }
    const pending = deriveSigningKey(credentials.secretAccessKey, shortDate, region, service)
      .then(
        (key) => {
          // Replace the promise by the key itself, so later signatures skip an await.
          if (entries.get(cacheKey) === pending) entries.set(cacheKey, key);
          return key;
        },
        (error) => {
          if (entries.get(cacheKey) === pending) entries.delete(cacheKey);
          throw error;
        },
      );
    entries.set(cacheKey, pending);
    if (entries.size > this.#maxEntries) {
      entries.delete(entries.keys().next().value!);
    }
    return pending;
  }
}
