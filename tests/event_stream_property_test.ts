import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  encodeEventStreamMessage,
  EventStreamDecoder,
  EventStreamDecoderStream,
  type EventStreamHeaderValue,
  type EventStreamMessage,
} from "../src/framing/event_stream.ts";
import { collect } from "./_helpers.ts";

const utf8 = new TextEncoder();

const headerValue: fc.Arbitrary<EventStreamHeaderValue> = fc.oneof(
  fc.boolean().map((value) => ({ type: "boolean" as const, value })),
  fc.integer({ min: -128, max: 127 }).map((value) => ({ type: "byte" as const, value })),
  fc.integer({ min: -32768, max: 32767 }).map((value) => ({ type: "short" as const, value })),
  fc.integer().map((value) => ({ type: "integer" as const, value })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .map((value) => ({ type: "long" as const, value })),
  fc.uint8Array({ maxLength: 64 }).map((value) => ({ type: "binary" as const, value })),
  fc.string({ unit: "binary", maxLength: 40 }).map((value) => ({ type: "string" as const, value })),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
    .map((value) => ({ type: "timestamp" as const, value })),
  fc.uuid().map((value) => ({ type: "uuid" as const, value: value.toLowerCase() })),
);

// Integer-like names are listed first by JavaScript whatever their insertion order (documented
// on EventStreamMessage), so they are left out of the byte-identity property.
const headerName = fc.string({ unit: "binary", maxLength: 24 })
  .filter((name) => !/^\d+$/.test(name) && utf8.encode(name).length <= 255);

const message: fc.Arbitrary<EventStreamMessage> = fc.tuple(
  fc.uniqueArray(fc.tuple(headerName, headerValue), { selector: ([name]) => name, maxLength: 8 }),
  fc.uint8Array({ maxLength: 600 }),
).map(([entries, payload]) => ({ headers: Object.fromEntries(entries), payload }));

/** Cuts `bytes` into chunks whose sizes cycle through `sizes`. */
function cut(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 });

Deno.test("EventStream property: decode(encode(m)) = m, under any chunking, byte-identical", () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 6 }), chunkSizes, (messages, sizes) => {
      const frames = messages.map((m) => encodeEventStreamMessage(m));
      const bytes = concat(frames);
      for (const chunks of [[bytes], cut(bytes, sizes), cut(bytes, [1])]) {
        const decoder = new EventStreamDecoder();
        const decoded = chunks.flatMap((chunk) => decoder.push(chunk));
        decoder.end();
        assert.deepEqual(decoded, messages);
        assert.equal(decoder.offset, bytes.length);
        decoded.forEach((m, i) => assert.deepEqual(encodeEventStreamMessage(m), frames[i]));
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("EventStream property: the decoder stream agrees with the push parser", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(message, { maxLength: 4 }), chunkSizes, async (messages, sizes) => {
      const bytes = concat(messages.map((m) => encodeEventStreamMessage(m)));
      assert.deepEqual(await collect(cut(bytes, sizes), new EventStreamDecoderStream()), messages);
    }),
    { numRuns: 60 },
  );
});

Deno.test("EventStream property: a cut anywhere inside a frame is truncated at its start", () => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 4 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (messages, where) => {
        const frames = messages.map((m) => encodeEventStreamMessage(m));
        const bytes = concat(frames);
        const end = Math.floor(where * bytes.length);
        let start = 0;
        for (const f of frames) {
          if (start + f.length > end) break;
          start += f.length;
        }
        const decoder = new EventStreamDecoder();
        decoder.push(bytes.subarray(0, end));
        if (end === start) return decoder.end(); // cut on a frame boundary: nothing left over
        assert.throws(
          () => decoder.end(),
          (e) =>
            (e as { code?: string }).code === "truncated" &&
            (e as { offset?: number }).offset === start,
        );
      },
    ),
    { numRuns: 200 },
  );
});
