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
// One view per table: indexing sixteen 256-entry arrays is measurably faster (~15%) than
// adding a table offset to every index into one 4096-entry array.
const T0 = TABLES.subarray(0, 256);
const T1 = TABLES.subarray(256, 512);
const T2 = TABLES.subarray(512, 768);
const T3 = TABLES.subarray(768, 1024);
const T4 = TABLES.subarray(1024, 1280);
const T5 = TABLES.subarray(1280, 1536);
const T6 = TABLES.subarray(1536, 1792);
const T7 = TABLES.subarray(1792, 2048);
const T8 = TABLES.subarray(2048, 2304);
const T9 = TABLES.subarray(2304, 2560);
const T10 = TABLES.subarray(2560, 2816);
const T11 = TABLES.subarray(2816, 3072);
const T12 = TABLES.subarray(3072, 3328);
const T13 = TABLES.subarray(3328, 3584);
const T14 = TABLES.subarray(3584, 3840);
const T15 = TABLES.subarray(3840, 4096);

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
 * import { crc32 } from "@llmwire/llmwire";
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
  let c = ~initial;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORDS_FROM) {
    // Whole words read in one load each, four to a step: faster than sixteen byte loads. A
    // typed-array view must be aligned, so the first few bytes go one at a time.
    for (const aligned = i + ((4 - ((bytes.byteOffset + i) & 3)) & 3); i < aligned; i++) {
      c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    }
    const count = ((end - i) >>> 4) << 2;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, count);
    for (let w = 0; w < count; w += 4) {
      c ^= words[w]!;
      const b = words[w + 1]!;
      const d = words[w + 2]!;
      const e = words[w + 3]!;
      c = T15[c & 0xff]! ^ T14[(c >>> 8) & 0xff]! ^ T13[(c >>> 16) & 0xff]! ^ T12[c >>> 24]! ^
        T11[b & 0xff]! ^ T10[(b >>> 8) & 0xff]! ^ T9[(b >>> 16) & 0xff]! ^ T8[b >>> 24]! ^
        T7[d & 0xff]! ^ T6[(d >>> 8) & 0xff]! ^ T5[(d >>> 16) & 0xff]! ^ T4[d >>> 24]! ^
        T3[e & 0xff]! ^ T2[(e >>> 8) & 0xff]! ^ T1[(e >>> 16) & 0xff]! ^ T0[e >>> 24]!;
    }
    i += count * 4;
  } else {
    for (const last = end - 16; i <= last; i += 16) {
      c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
      c = T15[c & 0xff]! ^ T14[(c >>> 8) & 0xff]! ^ T13[(c >>> 16) & 0xff]! ^ T12[c >>> 24]! ^
        T11[bytes[i + 4]!]! ^ T10[bytes[i + 5]!]! ^ T9[bytes[i + 6]!]! ^ T8[bytes[i + 7]!]! ^
        T7[bytes[i + 8]!]! ^ T6[bytes[i + 9]!]! ^ T5[bytes[i + 10]!]! ^ T4[bytes[i + 11]!]! ^
        T3[bytes[i + 12]!]! ^ T2[bytes[i + 13]!]! ^ T1[bytes[i + 14]!]! ^ T0[bytes[i + 15]!]!;
    }
  }
  for (; i < end; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
