/**
 * CRC-32 (IEEE 802.3, the one zlib, gzip, PNG and AWS EventStream use) in plain TypeScript, so
 * the framing layer runs in browsers and workers without `node:zlib`.
 * @module
 */

/**
 * Sixteen 256-entry lookup tables for slice-by-16: table `k` maps a byte to the CRC of that
 * byte followed by `k` zero bytes, so sixteen input bytes fold into the CRC with sixteen
 * independent lookups per step instead of a dependent chain of sixteen.
 */
const TABLES: Int32Array = makeTables();

/** Words are read in the platform's byte order; the word path assumes little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes, creating the word view costs more than it saves. */
const WORDS_FROM = 512;

function makeTables(): Int32Array {
  const tables = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let k = 1; k < 16; k++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[k * 256 + n] = c;
    }
  }
  return tables;
}

/**
 * Computes the CRC-32 of `bytes`, continuing from `initial` — the same contract as `node:zlib`'s
 * `crc32(data, value)`, so `crc32(b, crc32(a))` equals the CRC of `a` followed by `b`.
 *
 * @param bytes the data
 * @param initial the CRC of the data before `bytes` (default `0`: nothing before)
 * @returns the CRC as an unsigned 32-bit integer
 *
 * @example Checksum a string, in one go or in parts
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("123456789");
 * assert.equal(crc32(bytes), 0xcbf43926);
 * assert.equal(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array, initial = 0): number {
  return crc32Range(bytes, 0, bytes.length, initial);
}

/**
 * {@linkcode crc32} of `bytes[start..end)`, without creating a subarray (the decoder checks a
 * CRC per frame, and a view per frame is a measurable share of its cost).
 *
 * @internal
 */
export function crc32Range(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  const t = TABLES;
  let c = ~initial;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORDS_FROM) {
    // Whole words read in one load each, four to a step: faster than sixteen byte loads. A
    // typed-array view must be aligned, so the first few bytes go one at a time.
    for (const aligned = i + ((4 - ((bytes.byteOffset + i) & 3)) & 3); i < aligned; i++) {
      c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    }
    const count = ((end - i) >>> 4) << 2;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, count);
    for (let w = 0; w < count; w += 4) {
      c ^= words[w]!;
      const b = words[w + 1]!;
      const d = words[w + 2]!;
      const e = words[w + 3]!;
      c = t[3840 + (c & 0xff)]! ^ t[3584 + ((c >>> 8) & 0xff)]! ^
        t[3328 + ((c >>> 16) & 0xff)]! ^ t[3072 + (c >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
        t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^
        t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
        t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^
        t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
    i += count * 4;
  } else {
    for (const last = end - 16; i <= last; i += 16) {
      c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
      c = t[3840 + (c & 0xff)]! ^ t[3584 + ((c >>> 8) & 0xff)]! ^
        t[3328 + ((c >>> 16) & 0xff)]! ^ t[3072 + (c >>> 24)]! ^
        t[2816 + bytes[i + 4]!]! ^ t[2560 + bytes[i + 5]!]! ^
        t[2304 + bytes[i + 6]!]! ^ t[2048 + bytes[i + 7]!]! ^
        t[1792 + bytes[i + 8]!]! ^ t[1536 + bytes[i + 9]!]! ^
        t[1280 + bytes[i + 10]!]! ^ t[1024 + bytes[i + 11]!]! ^
        t[768 + bytes[i + 12]!]! ^ t[512 + bytes[i + 13]!]! ^
        t[256 + bytes[i + 14]!]! ^ t[bytes[i + 15]!]!;
    }
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
