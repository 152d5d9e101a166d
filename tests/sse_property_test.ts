/** Property tests: encode → decode is the identity for every representable SSE event. */
import assert from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import {
  encodeSseEvent,
  SseDecoder,
  SseDecoderStream,
  SseEncoderStream,
  type SseEvent,
} from "../src/framing/mod.ts";

/** Any code points, lone surrogates excluded (UTF-8 cannot carry them). */
const text = (exclude: RegExp) =>
  fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !exclude.test(s));

/**
 * The events that survive the wire unchanged: `data` without CR (CR and CRLF come back as LF),
 * `event` non-empty (empty means "message" and is not written), no line breaks in `event` or
 * `id`, no NUL in `id`, `retry` a non-negative safe integer.
 */
const eventArbitrary: fc.Arbitrary<SseEvent> = fc.record(
  {
    event: text(/[\r\n]|^$/),
    data: text(/\r/),
    id: text(/[\r\n\0]/),
    retry: fc.maxSafeNat(),
  },
  { requiredKeys: ["data"], noNullPrototype: true },
);

/** Cuts `bytes` at the given offsets (taken modulo its length, sorted). */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

Deno.test("encodeSseEvent then SseDecoder gives back every representable event", () => {
  fc.assert(
    fc.property(eventArbitrary, (event) => {
      const decoder = new SseDecoder();
      const wire = encodeSseEvent(event);
      assert.deepEqual([...decoder.push(wire), ...decoder.end()], [event]);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("a sequence of encoded events decodes back for any byte chunking", () => {
  fc.assert(
    fc.property(
      fc.array(eventArbitrary, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      (events, offsets, bom) => {
        const wire = (bom ? "\uFEFF" : "") + events.map(encodeSseEvent).join("");
        const decoder = new SseDecoder();
        const decoded: SseEvent[] = [];
        for (const chunk of cut(new TextEncoder().encode(wire), offsets)) {
          decoded.push(...decoder.push(chunk));
        }
        decoded.push(...decoder.end());
        assert.deepEqual(decoded, events);
        const lastId = events.findLast((e) => e.id !== undefined)?.id ?? "";
        assert.equal(decoder.lastEventId, lastId);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("SseEncoderStream then SseDecoderStream is the identity", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(eventArbitrary, { maxLength: 8 }), async (events) => {
      const decoded = await Array.fromAsync(
        ReadableStream.from(events)
          .pipeThrough(new SseEncoderStream())
          .pipeThrough(new SseDecoderStream()),
      );
      assert.deepEqual(decoded, events);
    }),
    { numRuns: 200 },
  );
});

Deno.test("multi-line data written with any line ends comes back joined with LF", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(text(/[\r\n]/), fc.constantFrom("\n", "\r", "\r\n")), { maxLength: 12 }),
      (pieces) => {
        const data = pieces.join("");
        // A line end is CRLF, or a CR or LF that is not part of one.
        const normalized = data.replaceAll("\r\n", "\n").replaceAll("\r", "\n");
        const decoder = new SseDecoder();
        assert.deepEqual(decoder.push(encodeSseEvent({ data })), [{ data: normalized }]);
      },
    ),
    { numRuns: 1000 },
  );
});
