import assert from "node:assert/strict";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32, crc32Range } from "../src/framing/crc32.ts";
import { ChunkQueue } from "../src/framing/_chunk_queue.ts";

/** Deterministic pseudo-random bytes (xorshift32). */
function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("crc32 matches the standard check values", () => {
  const enc = new TextEncoder();
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(enc.encode("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  assert.equal(crc32(new Uint8Array(32)), 0x190a55ad);
  assert.equal(crc32(new Uint8Array(32).fill(0xff)), 0xff6cab0b);
});

Deno.test("crc32 agrees with node:zlib on every length, alignment and initial value", () => {
  const data = randomBytes(4096 + 64, 12345);
  for (let length = 0; length <= 300; length++) {
    for (const start of [0, 1, 3]) {
      const bytes = data.subarray(start, start + length);
      assert.equal(crc32(bytes), zlibCrc32(bytes) >>> 0, `length ${length} at ${start}`);
    }
  }
  for (const initial of [0, 1, 0xcbf43926, 0xffffffff, 0x80000000]) {
    const bytes = data.subarray(7, 4103);
    assert.equal(crc32(bytes, initial), zlibCrc32(bytes, initial) >>> 0, `initial ${initial}`);
  }
});

Deno.test("crc32 continues across parts, as node:zlib", () => {
  const data = randomBytes(1000, 99);
  for (const cut of [0, 1, 15, 16, 17, 500, 999, 1000]) {
    assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), crc32(data));
  }
  assert.equal(crc32Range(data, 10, 900, 5), crc32(data.subarray(10, 900), 5));
  assert.equal(crc32Range(data, 10, 10, 5), 5);
});

Deno.test("ChunkQueue copies ranges across chunk boundaries", () => {
  const queue = new ChunkQueue();
  const data = randomBytes(100, 7);
  const cuts = [0, 1, 2, 10, 11, 40, 41, 99, 100];
  for (let i = 1; i < cuts.length; i++) queue.push(data.subarray(cuts[i - 1], cuts[i]));
  queue.push(new Uint8Array(0));
  assert.equal(queue.length, 100);
  for (let at = 0; at < 100; at += 7) {
    for (const count of [0, 1, 4, 12, 100 - at]) {
      if (at + count > 100) continue;
      const out = new Uint8Array(count + 2);
      queue.copyTo(out, 1, at, count);
      assert.deepEqual(out.subarray(1, 1 + count), data.subarray(at, at + count));
    }
  }
  queue.skip(5);
  assert.equal(queue.length, 95);
  assert.equal(queue.headChunk?.[queue.headOffset], data[5]);
  const out = new Uint8Array(30);
  queue.copyTo(out, 0, 3, 30);
  assert.deepEqual(out, data.subarray(8, 38));
  queue.skip(95);
  assert.equal(queue.length, 0);
  assert.equal(queue.headChunk, undefined);
});

Deno.test("ChunkQueue never hands out bytes it does not have", () => {
  const queue = new ChunkQueue();
  queue.push(new Uint8Array(10));
  assert.throws(() => queue.copyTo(new Uint8Array(20), 0, 0, 11), RangeError);
  assert.throws(() => queue.copyTo(new Uint8Array(20), 0, 5, 6), RangeError);
  assert.throws(() => queue.skip(11), RangeError);
  assert.equal(queue.length, 10);
});

Deno.test("ChunkQueue stays correct over many small chunks (compaction)", () => {
  const queue = new ChunkQueue();
  const data = randomBytes(5000, 3);
  let pushed = 0;
  let consumed = 0;
  while (consumed < data.length) {
    const n = Math.min(3, data.length - pushed);
    if (n > 0) {
      queue.push(data.subarray(pushed, pushed + n));
      pushed += n;
    }
    if (queue.length >= 12 || pushed === data.length) {
      const count = Math.min(queue.length, 7);
      const out = new Uint8Array(count);
      queue.copyTo(out, 0, 0, count);
      assert.deepEqual(out, data.subarray(consumed, consumed + count));
      queue.skip(count);
      consumed += count;
    }
  }
  assert.equal(queue.length, 0);
});
