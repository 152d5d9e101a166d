/**
 * A small synchronous SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) for the short inputs of a
 * signature: the canonical request, small payloads, the string to sign. WebCrypto is faster per
 * byte, but every `crypto.subtle` call costs 10–30 µs of fixed work and a hop to another thread;
 * for a few kilobytes hashing here is quicker (see `bench/sigv4_bench.ts`). Module-private.
 * @module
 */

// deno-fmt-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * The message schedule and the chaining state, reused: hashing is synchronous, so no two calls ever
 * share them. Int32 (not Uint32) so that every value V8 reads back stays a small integer.
 */
const W = new Int32Array(64);
const H = new Int32Array(8);
/** The last one or two blocks (tail and padding). */
const TAIL = new Uint8Array(128);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function compress(bytes: Uint8Array, offset: number, end: number): void {
  let h0 = H[0]!, h1 = H[1]!, h2 = H[2]!, h3 = H[3]!;
  let h4 = H[4]!, h5 = H[5]!, h6 = H[6]!, h7 = H[7]!;
  for (; offset < end; offset += 64) {
    for (let i = 0, j = offset; i < 16; i++, j += 4) {
      W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15]!, w2 = W[i - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
}

// deno-fmt-ignore
const INITIAL = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/**
 * Hashes `bytes` into `H`, starting from `state` — the initial state, or the state after
 * `prefixLength` bytes (whole blocks) were already hashed, as for the pads of an HMAC key.
 */
function digestInto(bytes: Uint8Array, state: Int32Array = INITIAL, prefixLength = 0): void {
  H.set(state);
  const length = bytes.length;
  const whole = length - (length % 64);
  compress(bytes, 0, whole);
  const rest = length - whole;
  TAIL.fill(0);
  TAIL.set(bytes.subarray(whole), 0);
  TAIL[rest] = 0x80;
  const tailLength = rest < 56 ? 64 : 128;
  // The message length in bits, big-endian, in the last 8 bytes (inputs stay far below 2^53 bits).
  const bits = (prefixLength + length) * 8;
  const high = Math.floor(bits / 0x100000000);
  TAIL[tailLength - 8] = high >>> 24;
  TAIL[tailLength - 7] = high >>> 16;
  TAIL[tailLength - 6] = high >>> 8;
  TAIL[tailLength - 5] = high;
  TAIL[tailLength - 4] = bits >>> 24;
  TAIL[tailLength - 3] = bits >>> 16;
  TAIL[tailLength - 2] = bits >>> 8;
  TAIL[tailLength - 1] = bits;
  compress(TAIL, 0, tailLength);
}

/** Writes `H` big-endian into `out` (32 bytes). */
function writeDigest(out: Uint8Array): Uint8Array {
  for (let i = 0; i < 8; i++) {
    const word = H[i]!;
    out[i * 4] = word >>> 24;
    out[i * 4 + 1] = word >>> 16;
    out[i * 4 + 2] = word >>> 8;
    out[i * 4 + 3] = word;
  }
  return out;
}

function hexDigest(): string {
  let out = "";
  for (let i = 0; i < 8; i++) {
    const word = H[i]!;
    out += HEX[word >>> 24]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! +
      HEX[word & 0xff]!;
  }
  return out;
}

/** SHA-256 of `bytes`, as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  digestInto(bytes);
  return hexDigest();
}

/** SHA-256 of `bytes`, as 32 bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  digestInto(bytes);
  return writeDigest(new Uint8Array(32));
}

/**
 * An HMAC-SHA256 key, prepared once: the SHA-256 states after its inner and outer padded blocks,
 * so that each HMAC hashes only the message and one more block.
 */
export interface HmacKey {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

/** Prepares an HMAC-SHA256 key (RFC 2104: a key longer than a block is hashed first). */
export function hmacKey(key: Uint8Array): HmacKey {
  const block = new Uint8Array(64);
  block.set(key.length > 64 ? sha256(key) : key);
  for (let i = 0; i < 64; i++) block[i]! ^= 0x36;
  H.set(INITIAL);
  compress(block, 0, 64);
  const inner = H.slice();
  for (let i = 0; i < 64; i++) block[i]! ^= 0x36 ^ 0x5c;
  H.set(INITIAL);
  compress(block, 0, 64);
  const outer = H.slice();
  block.fill(0);
  return { inner, outer };
}

const INNER_HASH = new Uint8Array(32);

function hmacInto(key: HmacKey, message: Uint8Array): void {
  digestInto(message, key.inner, 64);
  digestInto(writeDigest(INNER_HASH), key.outer, 64);
}

/** HMAC-SHA256 of `message`, as 32 bytes. */
export function hmacSha256(key: HmacKey, message: Uint8Array): Uint8Array {
  hmacInto(key, message);
  return writeDigest(new Uint8Array(32));
}

/** HMAC-SHA256 of `message`, as 64 lowercase hex digits. */
export function hmacSha256Hex(key: HmacKey, message: Uint8Array): string {
  hmacInto(key, message);
  return hexDigest();
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!]!;
  return out;
}

const encoder = new TextEncoder();
/** Texts up to this many UTF-16 code units are encoded into a reused buffer, longer ones anew. */
const SCRATCH_TEXT_LIMIT = 16 * 1024;
let scratch = new Uint8Array(4096);

/**
 * The UTF-8 bytes of `text`. Short texts are encoded into a reused buffer, so the bytes are valid
 * only until the next call: hash them at once.
 */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  if (text.length > SCRATCH_TEXT_LIMIT) return encoder.encode(text);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.subarray(0, written);
}

/** SHA-256 of the UTF-8 form of `text`, as hex. */
export function sha256HexOfText(text: string): string {
  return sha256Hex(utf8(text));
}
