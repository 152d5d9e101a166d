import assert from "node:assert/strict";
import { crc32 as zlibCrc32 } from "node:zlib";
import {
  decodeEventStreamMessage,
  encodeEventStreamMessage,
  EventStreamDecoder,
  type EventStreamDecoderOptions,
  EventStreamDecoderStream,
  EventStreamEncoderStream,
  type EventStreamHeaderValue,
  type EventStreamMessage,
  type EventStreamResyncInfo,
} from "../src/framing/event_stream.ts";
import { EventStreamError } from "../src/framing/errors.ts";
import {
  chunkings,
  collect,
  corporaPresent,
  fromBase64,
  fromHex,
  listCorpus,
  readCorpusBytes,
  readCorpusText,
} from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = new TextEncoder();
const dec = new TextDecoder();

function crc(bytes: Uint8Array, initial = 0): number {
  return zlibCrc32(bytes, initial) >>> 0;
}

function u32(value: number): number[] {
  return [value >>> 24 & 0xff, value >>> 16 & 0xff, value >>> 8 & 0xff, value & 0xff];
}

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Builds a frame from raw header bytes with correct CRCs (computed by node:zlib, independent of
 * the code under test), optionally lying about the lengths.
 */
function rawFrame(
  headerBytes: Uint8Array | number[],
  payload: Uint8Array | number[] = [],
  lie: { total?: number; headersLength?: number } = {},
): Uint8Array {
  const h = Uint8Array.from(headerBytes);
  const p = Uint8Array.from(payload);
  const realTotal = 16 + h.length + p.length;
  const prelude = Uint8Array.from([
    ...u32(lie.total ?? realTotal),
    ...u32(lie.headersLength ?? h.length),
  ]);
  const head = concat(prelude, Uint8Array.from(u32(crc(prelude))), h, p);
  return concat(head, Uint8Array.from(u32(crc(head))));
}

/** A raw header: name, type code, value bytes. */
function rawHeader(name: string, type: number, value: number[] = []): number[] {
  const n = enc.encode(name);
  return [n.length, ...n, type, ...value];
}

interface Outcome {
  messages: EventStreamMessage[];
  error?: EventStreamError;
}

/** Runs chunks through the push parser, collecting messages until (and including) an error. */
function pushAll(chunks: Iterable<Uint8Array>, options?: EventStreamDecoderOptions): Outcome {
  const decoder = new EventStreamDecoder(options);
  const messages: EventStreamMessage[] = [];
  try {
    for (const chunk of chunks) messages.push(...decoder.push(chunk));
    decoder.end();
  } catch (error) {
    assert.ok(error instanceof EventStreamError, `not an EventStreamError: ${error}`);
    return { messages, error };
  }
  return { messages };
}

/** Runs chunks through the decoder stream, reading until (and including) an error. */
async function streamAll(
  chunks: Uint8Array[],
  options?: EventStreamDecoderOptions,
): Promise<Outcome> {
  const reader = ReadableStream.from(chunks)
    .pipeThrough(new EventStreamDecoderStream(options))
    .getReader();
  const messages: EventStreamMessage[] = [];
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return { messages };
      messages.push(value);
    }
  } catch (error) {
    assert.ok(error instanceof EventStreamError, `not an EventStreamError: ${error}`);
    return { messages, error };
  }
}

function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function uuidFromBytes(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** A header in the corpora's unified JSON format (see corpora/README.md). */
interface JsonHeader {
  name: string;
  type: number;
  value: unknown;
}

function headerFromUnifiedJson(h: JsonHeader): EventStreamHeaderValue {
  switch (h.type) {
    case 0:
    case 1:
      return { type: "boolean", value: h.value as boolean };
    case 2:
      return { type: "byte", value: h.value as number };
    case 3:
      return { type: "short", value: h.value as number };
    case 4:
      return { type: "integer", value: h.value as number };
    case 5:
      return { type: "long", value: BigInt(h.value as string) };
    case 6:
      return { type: "binary", value: fromBase64(h.value as string) };
    case 7:
      return { type: "string", value: h.value as string };
    case 8:
      return { type: "timestamp", value: new Date(Number(h.value as string)) };
    case 9:
      return { type: "uuid", value: h.value as string };
    default:
      throw new Error(`unknown type ${h.type}`);
  }
}

/** A header in smithy's `decoded/positive/*` format: strings, byte arrays and uuids as base64. */
function headerFromSmithyJson(h: JsonHeader): EventStreamHeaderValue {
  switch (h.type) {
    case 5:
      return { type: "long", value: BigInt(h.value as number) };
    case 7:
      return { type: "string", value: dec.decode(fromBase64(h.value as string)) };
    case 8:
      return { type: "timestamp", value: new Date(h.value as number) };
    case 9:
      return { type: "uuid", value: uuidFromBytes(fromBase64(h.value as string)) };
    default:
      return headerFromUnifiedJson(h);
  }
}

function headersOf(list: JsonHeader[], convert: (h: JsonHeader) => EventStreamHeaderValue) {
  const headers: Record<string, EventStreamHeaderValue> = {};
  for (const h of list) headers[h.name] = convert(h);
  return headers;
}

/** Byte equality with a readable failure (assert.deepEqual on big arrays prints too much). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Every chunking of `bytes` through the push parser gives `expected`. */
function assertAllChunkings(
  bytes: Uint8Array,
  expected: Outcome,
  options?: EventStreamDecoderOptions,
): void {
  for (const { name, chunks } of chunkings(bytes)) {
    const outcome = pushAll(chunks, options);
    assert.deepEqual(outcome.messages, expected.messages, name);
    assert.equal(outcome.error?.code, expected.error?.code, `${name}: error code`);
    assert.equal(outcome.error?.offset, expected.error?.offset, `${name}: error offset`);
  }
}

const CODE_OF_REASON: Record<string, string> = {
  prelude_crc_mismatch: "prelude_crc_mismatch",
  message_crc_mismatch: "message_crc_mismatch",
  invalid_headers_length: "invalid_headers_length",
  invalid_total_length: "invalid_total_length",
  duplicate_header_name: "duplicate_header",
  payload_too_large: "message_too_large",
};

// ---------------------------------------------------------------------------------------------
// Conformance: smithy test vectors (raw files)

const SMITHY = "eventstream/smithy-test-vectors/";

Deno.test({
  name: "EventStream decodes every smithy positive vector, in every chunking, losslessly",
  ignore: !corporaPresent("EventStream smithy vectors"),
  async fn() {
    const names = listCorpus(`${SMITHY}encoded/positive`);
    assert.deepEqual(names, [
      "all_headers",
      "empty_message",
      "int32_header",
      "payload_no_headers",
      "payload_one_str_header",
    ]);
    for (const name of names) {
      const bytes = readCorpusBytes(`${SMITHY}encoded/positive/${name}`);
      const json = JSON.parse(readCorpusText(`${SMITHY}decoded/positive/${name}`));
      assert.equal(bytes.length, json.total_length, name);
      assert.equal(readU32(bytes, 4), json.headers_length, name);
      assert.equal(readU32(bytes, 8) | 0, json.prelude_crc, name);
      assert.equal(readU32(bytes, bytes.length - 4) | 0, json.message_crc, name);
      const expected: EventStreamMessage = {
        headers: headersOf(json.headers, headerFromSmithyJson),
        payload: fromBase64(json.payload),
      };
      assert.deepEqual(decodeEventStreamMessage(bytes), expected, name);
      assertAllChunkings(bytes, { messages: [expected] });
      assert.deepEqual(await collect([bytes], new EventStreamDecoderStream()), [expected]);
      assertBytes(encodeEventStreamMessage(expected), bytes, `${name} re-encoded`);
    }
  },
});

Deno.test({
  name: "EventStream all_headers vector decodes every header type to its tagged value",
  ignore: !corporaPresent("EventStream smithy vectors"),
  fn() {
    const message = decodeEventStreamMessage(
      readCorpusBytes(`${SMITHY}encoded/positive/all_headers`),
    );
    assert.deepEqual(Object.keys(message.headers), [
      "event-type",
      "content-type",
      "bool false",
      "bool true",
      "byte",
      "byte buf",
      "timestamp",
      "int16",
      "int64",
      "uuid",
    ]);
    assert.deepEqual(message.headers, {
      "event-type": { type: "integer", value: 40972 },
      "content-type": { type: "string", value: "application/json" },
      "bool false": { type: "boolean", value: false },
      "bool true": { type: "boolean", value: true },
      "byte": { type: "byte", value: -49 },
      "byte buf": { type: "binary", value: enc.encode("I'm a little teapot!") },
      "timestamp": { type: "timestamp", value: new Date(8675309) },
      "int16": { type: "short", value: 42 },
      "int64": { type: "long", value: 42424242n },
      "uuid": { type: "uuid", value: "01020304-0506-0708-090a-0b0c0d0e0f10" },
    });
    assert.equal(dec.decode(message.payload), "{'foo':'bar'}");
  },
});

Deno.test({
  name: "EventStream rejects every smithy negative vector with its code, in every chunking",
  ignore: !corporaPresent("EventStream smithy vectors"),
  async fn() {
    const expectedCodes: Record<string, string> = {
      corrupted_header_len: "prelude_crc_mismatch",
      corrupted_headers: "message_crc_mismatch",
      corrupted_length: "prelude_crc_mismatch",
      corrupted_payload: "message_crc_mismatch",
    };
    const names = listCorpus(`${SMITHY}encoded/negative`);
    assert.deepEqual(names, Object.keys(expectedCodes));
    for (const name of names) {
      const bytes = readCorpusBytes(`${SMITHY}encoded/negative/${name}`);
      const text = readCorpusText(`${SMITHY}decoded/negative/${name}`);
      const code = expectedCodes[name]!;
      assert.equal(text.startsWith(code === "prelude_crc_mismatch" ? "Prelude" : "Message"), true);
      assert.throws(
        () => decodeEventStreamMessage(bytes),
        (e) => e instanceof EventStreamError && e.code === code && e.offset === 0,
        name,
      );
      for (const { name: how, chunks } of chunkings(bytes)) {
        const outcome = pushAll(chunks);
        assert.deepEqual(outcome.messages, [], `${name}, ${how}`);
        assert.equal(outcome.error?.code, code, `${name}, ${how}`);
        assert.equal(outcome.error?.offset, 0, `${name}, ${how}`);
      }
      const streamed = await streamAll([bytes]);
      assert.equal(streamed.error?.code, code, name);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Conformance: unified JSON vectors (smithy and aws-c-event-stream)

interface Vector {
  name: string;
  expect: "pass" | "fail";
  hex: string;
  reason?: string;
  messages?: {
    offset: number;
    total_length: number;
    headers_length: number;
    prelude_crc: number;
    message_crc: number;
    headers: JsonHeader[];
    payload_base64: string;
  }[];
}

for (const file of ["smithy-test-vectors.json", "aws-c-event-stream.json"]) {
  Deno.test({
    name: `EventStream passes every vector of ${file}, in every chunking, both ways`,
    ignore: !corporaPresent(`EventStream ${file}`),
    async fn() {
      const vectors: Vector[] = JSON.parse(readCorpusText(`eventstream/${file}`)).vectors;
      assert.ok(vectors.length >= 9);
      for (const v of vectors) {
        const bytes = fromHex(v.hex);
        if (v.expect === "fail") {
          const code = CODE_OF_REASON[v.reason!];
          assert.ok(code, `${v.name}: unknown reason ${v.reason}`);
          assertAllChunkings(bytes, {
            messages: [],
            error: new EventStreamError(code as "truncated", "", 0),
          });
          assert.throws(
            () => decodeEventStreamMessage(bytes),
            (e) => e instanceof EventStreamError && e.code === code,
            v.name,
          );
          continue;
        }
        const expected = v.messages!.map((m) => ({
          headers: headersOf(m.headers, headerFromUnifiedJson),
          payload: fromBase64(m.payload_base64),
        }));
        assertAllChunkings(bytes, { messages: expected });
        assert.deepEqual(
          await collect(splitEvery(bytes, 7), new EventStreamDecoderStream()),
          expected,
        );
        // Encoding the expected messages gives the vector's bytes: this covers the expected
        // encoder output of aws-c-event-stream's `int32_header_event_id`.
        v.messages!.forEach((m, i) => {
          const frame = bytes.subarray(m.offset, m.offset + m.total_length);
          assert.equal(readU32(frame, 4), m.headers_length, v.name);
          assert.equal(readU32(frame, 8), m.prelude_crc, v.name);
          assert.equal(readU32(frame, m.total_length - 4), m.message_crc, v.name);
          assertBytes(encodeEventStreamMessage(expected[i]!), frame, `${v.name} #${i}`);
          assert.deepEqual(decodeEventStreamMessage(frame), expected[i], v.name);
        });
      }
    },
  });
}

Deno.test({
  name: "EventStream encoder writes aws-c-event-stream's int32_header_event_id bytes exactly",
  ignore: !corporaPresent("EventStream aws-c-event-stream vectors"),
  fn() {
    const vectors: Vector[] = JSON.parse(readCorpusText("eventstream/aws-c-event-stream.json"))
      .vectors;
    const vector = vectors.find((v) => v.name === "int32_header_event_id")!;
    const bytes = encodeEventStreamMessage({
      headers: { "event-id": { type: "integer", value: 0xa00c } },
      payload: enc.encode("{'foo':'bar'}"),
    });
    assert.equal([...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""), vector.hex);
  },
});

// ---------------------------------------------------------------------------------------------
// Recorded Bedrock streams

interface Recording {
  name: string;
  bytes: Uint8Array;
  expected: {
    byte_length: number;
    message_count: number;
    messages: {
      offset: number;
      total_length: number;
      headers_length: number;
      prelude_crc: number;
      message_crc: number;
      headers: Record<string, string>;
      payload_json: unknown;
    }[];
  };
}

function recordings(): Recording[] {
  const out: Recording[] = [];
  for (const dir of listCorpus("recorded/bedrock")) {
    for (const file of listCorpus(`recorded/bedrock/${dir}`)) {
      if (!file.endsWith(".bin")) continue;
      const base = `recorded/bedrock/${dir}/${file.slice(0, -4)}`;
      out.push({
        name: `${dir}/${file}`,
        bytes: readCorpusBytes(`${base}.bin`),
        expected: JSON.parse(readCorpusText(`${base}.expected.json`)),
      });
    }
  }
  return out;
}

/** Checks decoded messages against a recording's expected decode, frame by frame. */
function assertRecording(rec: Recording, messages: EventStreamMessage[], how: string): void {
  const expected = rec.expected.messages;
  assert.equal(messages.length, expected.length, `${rec.name}, ${how}: message count`);
  let offset = 0;
  messages.forEach((message, i) => {
    const e = expected[i]!;
    const what = `${rec.name}, ${how}, message ${i}`;
    assert.equal(offset, e.offset, `${what}: offset`);
    const headers: Record<string, EventStreamHeaderValue> = {};
    for (const [name, value] of Object.entries(e.headers)) {
      headers[name] = { type: "string", value };
    }
    assert.deepEqual(message.headers, headers, what);
    assert.deepEqual(JSON.parse(dec.decode(message.payload)), e.payload_json, what);
    // Decode → encode is byte-identical, so the lengths and CRCs are the recorded ones.
    const encoded = encodeEventStreamMessage(message);
    assertBytes(encoded, rec.bytes.subarray(e.offset, e.offset + e.total_length), what);
    assert.equal(readU32(encoded, 0), e.total_length, what);
    assert.equal(readU32(encoded, 4), e.headers_length, what);
    assert.equal(readU32(encoded, 8), e.prelude_crc, what);
    assert.equal(readU32(encoded, e.total_length - 4), e.message_crc, what);
    offset += encoded.length;
  });
  assert.equal(offset, rec.expected.byte_length, `${rec.name}, ${how}: all bytes`);
}

Deno.test({
  name: "EventStream decodes every recorded Bedrock stream exactly, in every chunking",
  ignore: !corporaPresent("EventStream Bedrock recordings"),
  async fn() {
    const recs = recordings();
    assert.equal(recs.length, 11);
    for (const rec of recs) {
      assert.equal(rec.bytes.length, rec.expected.byte_length, rec.name);
      assert.equal(rec.expected.messages.length, rec.expected.message_count, rec.name);
      for (const { name, chunks } of chunkings(rec.bytes, 512)) {
        const outcome = pushAll(chunks);
        assert.equal(outcome.error, undefined, `${rec.name}, ${name}: ${outcome.error}`);
        assertRecording(rec, outcome.messages, name);
      }
      for (const size of [1, 64, 16384]) {
        const messages = await collect(splitEvery(rec.bytes, size), new EventStreamDecoderStream());
        assertRecording(rec, messages, `stream of ${size}-byte chunks`);
      }
      // The plugged-in node:zlib CRC gives the same result.
      assertRecording(rec, pushAll([rec.bytes], { crc32: zlibCrc32 }).messages, "node:zlib crc32");
    }
  },
});

Deno.test({
  name: "EventStream payloads are zero-copy views inside a chunk and one copy across chunks",
  ignore: !corporaPresent("EventStream Bedrock recordings"),
  fn() {
    const rec = recordings().find((r) => r.name.startsWith("apisix/"))!;
    const inOne = new EventStreamDecoder().push(rec.bytes);
    for (const m of inOne) assert.equal(m.payload.buffer, rec.bytes.buffer);
    const [first, second] = [rec.bytes.subarray(0, 200), rec.bytes.subarray(200)];
    const decoder = new EventStreamDecoder();
    const a = decoder.push(first); // frame 0 (137 bytes) inside, frame 1 spans
    const b = decoder.push(second);
    assert.equal(a.length, 1);
    assert.equal(a[0]!.payload.buffer, rec.bytes.buffer);
    assert.notEqual(b[0]!.payload.buffer, rec.bytes.buffer); // the single copy
    assert.deepEqual(JSON.parse(dec.decode(b[0]!.payload)), rec.expected.messages[1]!.payload_json);
    for (const m of b.slice(1)) assert.equal(m.payload.buffer, rec.bytes.buffer);
  },
});

Deno.test("EventStream copies a large frame that spans chunks into a buffer of its own", () => {
  const payload = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff);
  const bytes = encodeEventStreamMessage({ headers: {}, payload });
  const [message] = pushAll(splitEvery(bytes, 1000)).messages;
  assert.equal(message!.payload.buffer.byteLength, bytes.length);
  assertBytes(message!.payload, payload, "payload");
});

// ---------------------------------------------------------------------------------------------
// Corruption, truncation, limits

/** A synthetic Bedrock-like stream of `count` frames, and the offset of each frame. */
function bedrockLike(count: number): { bytes: Uint8Array; offsets: number[] } {
  const frames: Uint8Array[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const bytes = encodeEventStreamMessage({
      headers: {
        ":event-type": { type: "string", value: "contentBlockDelta" },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      payload: enc.encode(
        JSON.stringify({ contentBlockIndex: 0, delta: { text: `token ${i}` }, p: "abcd" }),
      ),
    });
    offsets.push(at);
    frames.push(bytes);
    at += bytes.length;
  }
  return { bytes: concat(...frames), offsets };
}

function textOf(m: EventStreamMessage): string {
  return JSON.parse(dec.decode(m.payload)).delta.text;
}

Deno.test("EventStream reports a bad prelude CRC with its code and frame offset", async () => {
  const { bytes, offsets } = bedrockLike(5);
  const corrupt = bytes.slice();
  corrupt[offsets[2]! + 3]! ^= 0x01; // total length: the prelude CRC no longer matches
  for (const { name, chunks } of chunkings(corrupt)) {
    const outcome = pushAll(chunks);
    assert.deepEqual(outcome.messages.map(textOf), ["token 0", "token 1"], name);
    assert.equal(outcome.error?.code, "prelude_crc_mismatch", name);
    assert.equal(outcome.error?.offset, offsets[2], name);
  }
  // The stream delivers the messages before the error, then errors.
  const streamed = await streamAll([corrupt]);
  assert.deepEqual(streamed.messages.map(textOf), ["token 0", "token 1"]);
  assert.equal(streamed.error?.code, "prelude_crc_mismatch");
  assert.equal(streamed.error?.offset, offsets[2]);
});

Deno.test("EventStream reports a bad message CRC with its code and frame offset", async () => {
  const { bytes, offsets } = bedrockLike(5);
  const corrupt = bytes.slice();
  corrupt[offsets[3]! - 10]! ^= 0x20; // inside frame 2's payload
  for (const { name, chunks } of chunkings(corrupt)) {
    const outcome = pushAll(chunks);
    assert.deepEqual(outcome.messages.map(textOf), ["token 0", "token 1"], name);
    assert.equal(outcome.error?.code, "message_crc_mismatch", name);
    assert.equal(outcome.error?.offset, offsets[2], name);
  }
  const streamed = await streamAll(splitEvery(corrupt, 100));
  assert.deepEqual(streamed.messages.map(textOf), ["token 0", "token 1"]);
  assert.equal(streamed.error?.code, "message_crc_mismatch");
});

Deno.test("EventStream reports 1–3 leftover bytes at the end as truncated", async () => {
  const { bytes } = bedrockLike(3);
  for (const extra of [1, 2, 3, 11]) {
    const input = concat(bytes, new Uint8Array(extra));
    for (const { name, chunks } of chunkings(input)) {
      const outcome = pushAll(chunks);
      assert.equal(outcome.messages.length, 3, name);
      assert.equal(outcome.error?.code, "truncated", `${extra} extra, ${name}`);
      assert.equal(outcome.error?.offset, bytes.length, name);
    }
    // All three messages come out of the stream before the error, even from one chunk.
    const streamed = await streamAll([input]);
    assert.deepEqual(streamed.messages.map(textOf), ["token 0", "token 1", "token 2"]);
    assert.equal(streamed.error?.code, "truncated");
    // Resync mode does not turn a truncated tail into a skipped one.
    assert.equal(pushAll([input], { onCorruption: "resync" }).error?.code, "truncated");
  }
});

Deno.test("EventStream reports a stream cut mid-frame as truncated at the frame start", async () => {
  const { bytes, offsets } = bedrockLike(4);
  for (const cut of [offsets[3]! + 5, offsets[3]! + 12, offsets[3]! + 60, bytes.length - 1]) {
    const input = bytes.subarray(0, cut);
    for (const { name, chunks } of chunkings(input)) {
      const outcome = pushAll(chunks);
      assert.equal(outcome.messages.length, 3, name);
      assert.equal(outcome.error?.code, "truncated", name);
      assert.equal(outcome.error?.offset, offsets[3], name);
    }
    const streamed = await streamAll(splitEvery(input, 4096));
    assert.equal(streamed.messages.length, 3);
    assert.equal(streamed.error?.code, "truncated");
  }
  assert.equal(pushAll([new Uint8Array(0)]).error, undefined);
  assert.deepEqual(await collect([], new EventStreamDecoderStream()), []);
});

Deno.test("EventStream checks the prelude CRC before the lengths", () => {
  // Absurd lengths under a wrong CRC: the CRC is what is reported (reference decoder order).
  const bad = Uint8Array.from([...u32(0xfffffff0), ...u32(0xffffffff), 0, 0, 0, 0]);
  const outcome = pushAll([bad]);
  assert.equal(outcome.error?.code, "prelude_crc_mismatch");
});

Deno.test("EventStream rejects an absurd length without allocating it", () => {
  const prelude = Uint8Array.from([...u32(0xfffffff0), ...u32(0)]);
  const head = concat(prelude, Uint8Array.from(u32(crc(prelude))));
  // Default limit: rejected as soon as the prelude is in.
  const decoder = new EventStreamDecoder();
  assert.throws(
    () => decoder.push(head),
    (e) => e instanceof EventStreamError && e.code === "message_too_large" && e.offset === 0,
  );
  assert.throws(() => decoder.push(new Uint8Array(1)), /message_too_large|exceeds/);
  // Also behind a valid frame, with the right offset.
  const { bytes } = bedrockLike(1);
  const after = pushAll([bytes, head]);
  assert.equal(after.messages.length, 1);
  assert.equal(after.error?.code, "message_too_large");
  assert.equal(after.error?.offset, bytes.length);
  // A limit raised to the maximum: the decoder waits for 4 GiB that never come, without
  // allocating them — the external (ArrayBuffer) memory does not grow by more than the input.
  const before = Deno.memoryUsage().external;
  const raised = new EventStreamDecoder({ maxMessageBytes: 0xffffffff });
  assert.deepEqual(raised.push(head), []);
  const filler = new Uint8Array(1 << 20);
  for (let i = 0; i < 16; i++) assert.deepEqual(raised.push(filler), []);
  assert.equal(raised.bufferedBytes, 12 + 16 * (1 << 20));
  const grown = Deno.memoryUsage().external - before;
  assert.ok(grown < 64 * 1024 * 1024, `external memory grew by ${grown} bytes`);
  assert.throws(
    () => raised.end(),
    (e) => e instanceof EventStreamError && e.code === "truncated" && e.offset === 0,
  );
  // decodeEventStreamMessage likewise.
  assert.throws(
    () => decodeEventStreamMessage(head, { maxMessageBytes: 0xffffffff }),
    (e) => e instanceof EventStreamError && e.code === "truncated",
  );
});

Deno.test("EventStream enforces maxMessageBytes exactly", () => {
  const { bytes } = bedrockLike(1);
  assert.equal(pushAll([bytes], { maxMessageBytes: bytes.length }).messages.length, 1);
  const outcome = pushAll([bytes], { maxMessageBytes: bytes.length - 1 });
  assert.equal(outcome.error?.code, "message_too_large");
  assert.throws(() => new EventStreamDecoder({ maxMessageBytes: 15 }), RangeError);
  assert.throws(
    () =>
      encodeEventStreamMessage({ headers: {}, payload: new Uint8Array(100) }, {
        maxMessageBytes: 115,
      }),
    (e) => e instanceof EventStreamError && e.code === "message_too_large",
  );
});

Deno.test("EventStream rejects impossible total and headers lengths", () => {
  const tooShort = rawFrame([], [], { total: 15 });
  assert.equal(pushAll([tooShort]).error?.code, "invalid_total_length");
  const zero = rawFrame([], [], { total: 0 });
  assert.equal(pushAll([zero]).error?.code, "invalid_total_length");
  const headersTooLong = rawFrame([], [1, 2, 3], { headersLength: 4 });
  assert.equal(pushAll([headersTooLong]).error?.code, "invalid_headers_length");
  const fits = rawFrame([], [1, 2, 3], { headersLength: 3 }); // 3 bytes of "headers": malformed
  assert.equal(pushAll([fits]).error?.code, "invalid_header");
  for (const bytes of [tooShort, headersTooLong]) {
    assert.ok(pushAll([bytes]).error instanceof EventStreamError);
  }
});

Deno.test("EventStream rejects malformed headers with invalid_header", () => {
  const cases: [string, number[]][] = [
    ["unknown type 10", rawHeader("x", 10)],
    ["unknown type 255", rawHeader("x", 255)],
    ["name past the section", [5, 0x61, 0x62]],
    ["no type byte", [1, 0x61]],
    ["int32 cut short", rawHeader("x", 4, [0, 0, 1])],
    ["int64 cut short", rawHeader("x", 5, [0, 0, 0, 0, 0, 0, 1])],
    ["uuid cut short", rawHeader("x", 9, Array(15).fill(1))],
    ["string length past the section", rawHeader("x", 7, [0, 5, 0x61])],
    ["bytes length cut short", rawHeader("x", 6, [0])],
    ["string over 32767 bytes", rawHeader("x", 7, [0x80, 0x00, ...Array(0x8000).fill(0x61)])],
    ["invalid UTF-8 name", [1, 0xff, 0]],
    ["invalid UTF-8 string", rawHeader("x", 7, [0, 2, 0xc3, 0x28])],
    ["timestamp beyond Date", rawHeader("x", 8, [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
  ];
  for (const [what, header] of cases) {
    const bytes = concat(bedrockLike(1).bytes, rawFrame(header, [1, 2]));
    const outcome = pushAll([bytes]);
    assert.equal(outcome.messages.length, 1, what);
    assert.equal(outcome.error?.code, "invalid_header", what);
    assert.equal(outcome.error?.offset, bedrockLike(1).bytes.length, what);
    assert.throws(
      () => decodeEventStreamMessage(rawFrame(header)),
      (e) => e instanceof EventStreamError && e.code === "invalid_header",
      what,
    );
  }
  // Exactly 32767 bytes is fine, and so is a 255-byte name.
  const max = decodeEventStreamMessage(
    rawFrame(rawHeader("x", 6, [0x7f, 0xff, ...Array(0x7fff).fill(7)])),
  );
  assert.equal((max.headers.x!.value as Uint8Array).length, 32767);
  const longName = "n".repeat(255);
  assert.deepEqual(decodeEventStreamMessage(rawFrame(rawHeader(longName, 0))).headers, {
    [longName]: { type: "boolean", value: true },
  });
});

Deno.test("EventStream rejects duplicate header names", () => {
  const header = [...rawHeader(":event-type", 7, [0, 1, 0x61]), ...rawHeader(":event-type", 0)];
  const outcome = pushAll([rawFrame(header, [0x7b, 0x7d])]);
  assert.equal(outcome.error?.code, "duplicate_header");
  assert.equal(outcome.error?.offset, 0);
  assert.match(outcome.error!.message, /":event-type"/);
  // Names that exist on Object.prototype are not duplicates of anything.
  const odd = rawFrame([...rawHeader("constructor", 0), ...rawHeader("__proto__", 1)]);
  const message = decodeEventStreamMessage(odd);
  assert.deepEqual(Object.keys(message.headers), ["constructor", "__proto__"]);
  assert.deepEqual(message.headers["__proto__"], { type: "boolean", value: false });
  assert.equal(Object.getPrototypeOf(message.headers), Object.prototype);
  assertBytes(encodeEventStreamMessage(message), odd, "re-encoded");
  const twice = rawFrame([...rawHeader("__proto__", 1), ...rawHeader("__proto__", 1)]);
  assert.equal(pushAll([twice]).error?.code, "duplicate_header");
});

Deno.test("EventStream checks headers before the message CRC, as the reference decoder", () => {
  const frame = rawFrame(rawHeader("x", 12));
  frame[frame.length - 1]! ^= 1; // the message CRC is wrong too
  assert.equal(pushAll([frame]).error?.code, "invalid_header");
});

Deno.test("EventStream decoder keeps failing with the first error", () => {
  const { bytes, offsets } = bedrockLike(3);
  const corrupt = bytes.slice();
  corrupt[offsets[1]! + 20]! ^= 1;
  const decoder = new EventStreamDecoder();
  const first = decoder.push(corrupt);
  assert.equal(first.length, 1); // the error is deferred behind the message before it
  let error: unknown;
  try {
    decoder.push(new Uint8Array(0));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof EventStreamError && error.code === "message_crc_mismatch");
  assert.throws(() => decoder.push(bytes), (e) => e === error);
  assert.throws(() => decoder.end(), (e) => e === error);
});

Deno.test("decodeEventStreamMessage wants exactly one message", () => {
  const { bytes, offsets } = bedrockLike(2);
  const one = bytes.subarray(0, offsets[1]);
  assert.equal(textOf(decodeEventStreamMessage(one)), "token 0");
  assert.throws(
    () => decodeEventStreamMessage(bytes),
    (e) => e instanceof EventStreamError && e.code === "invalid_total_length" && e.offset === 0,
  );
  assert.throws(
    () => decodeEventStreamMessage(concat(one, new Uint8Array(1))),
    (e) => e instanceof EventStreamError && e.code === "invalid_total_length",
  );
  for (const length of [0, 3, 11, 12, one.length - 1]) {
    assert.throws(
      () => decodeEventStreamMessage(one.subarray(0, length)),
      (e) => e instanceof EventStreamError && e.code === "truncated",
      `${length} bytes`,
    );
  }
  // Works on a view at a non-zero offset of a larger buffer.
  const padded = concat(new Uint8Array(3), one);
  assert.equal(textOf(decodeEventStreamMessage(padded.subarray(3))), "token 0");
});

// ---------------------------------------------------------------------------------------------
// Resync

function resyncAll(chunks: Iterable<Uint8Array>): Outcome & { skips: EventStreamResyncInfo[] } {
  const skips: EventStreamResyncInfo[] = [];
  const outcome = pushAll(chunks, { onCorruption: "resync", onResync: (i) => skips.push(i) });
  return { ...outcome, skips };
}

Deno.test("EventStream resync skips a frame with a bad message CRC and loses no other", () => {
  const { bytes, offsets } = bedrockLike(8);
  const corrupt = bytes.slice();
  corrupt[offsets[4]! + 40]! ^= 0x04;
  const expected = [0, 1, 2, 3, 5, 6, 7].map((i) => `token ${i}`);
  for (const { name, chunks } of chunkings(corrupt, 256)) {
    const { messages, error, skips } = resyncAll(chunks);
    assert.equal(error, undefined, name);
    assert.deepEqual(messages.map(textOf), expected, name);
    assert.equal(skips.length, 1, name);
    assert.equal(skips[0]!.offset, offsets[4], name);
    assert.equal(skips[0]!.skippedBytes, offsets[5]! - offsets[4]!, name);
    assert.equal(skips[0]!.error.code, "message_crc_mismatch", name);
    assert.equal(skips[0]!.error.offset, offsets[4], name);
  }
});

Deno.test("EventStream resync skips bad preludes, garbage and lying lengths", () => {
  const { bytes, offsets } = bedrockLike(6);
  const frameLength = (i: number) => offsets[i + 1]! - offsets[i]!;
  // Frame 1's prelude CRC, 37 garbage bytes after frame 2, frame 4 claiming too many headers.
  const f1 = bytes.slice(offsets[1], offsets[2]);
  f1[9]! ^= 0xff;
  const f4 = rawFrame([], [1, 2, 3], { headersLength: 4 });
  const garbage = Uint8Array.from({ length: 37 }, (_, i) => (i * 89 + 7) & 0xff);
  const input = concat(
    bytes.subarray(0, offsets[1]),
    f1,
    bytes.subarray(offsets[2], offsets[3]),
    garbage,
    bytes.subarray(offsets[3], offsets[4]),
    f4,
    bytes.subarray(offsets[4]),
  );
  for (const { name, chunks } of chunkings(input, 256)) {
    const { messages, error, skips } = resyncAll(chunks);
    assert.equal(error, undefined, name);
    assert.deepEqual(messages.map(textOf), [0, 2, 3, 4, 5].map((i) => `token ${i}`), name);
    assert.deepEqual(
      skips.map((s) => [s.offset, s.skippedBytes, s.error.code]),
      [
        [offsets[1], frameLength(1), "prelude_crc_mismatch"],
        [offsets[3], 37, "prelude_crc_mismatch"],
        [offsets[4]! + 37, f4.length, "invalid_headers_length"],
      ],
      name,
    );
    const skipped = skips.reduce((n, s) => n + s.skippedBytes, 0);
    const decoded = messages.reduce((n, m) => n + encodeEventStreamMessage(m).length, 0);
    assert.equal(skipped + decoded, input.length, name);
  }
});

Deno.test("EventStream resync reports a corrupt last frame at the end, without error", async () => {
  const { bytes, offsets } = bedrockLike(3);
  const corrupt = bytes.slice();
  corrupt[corrupt.length - 2]! ^= 1;
  for (const { name, chunks } of chunkings(corrupt)) {
    const { messages, error, skips } = resyncAll(chunks);
    assert.equal(error, undefined, name);
    assert.equal(messages.length, 2, name);
    assert.deepEqual(skips.map((s) => [s.offset, s.skippedBytes]), [
      [offsets[2], bytes.length - offsets[2]!],
    ]);
  }
  const skips: EventStreamResyncInfo[] = [];
  const messages = await collect(
    [corrupt],
    new EventStreamDecoderStream({ onCorruption: "resync", onResync: (i) => skips.push(i) }),
  );
  assert.equal(messages.length, 2);
  assert.equal(skips.length, 1);
});

Deno.test({
  name: "EventStream resync recovers every other frame of every recording",
  ignore: !corporaPresent("EventStream Bedrock recordings"),
  async fn() {
    for (const rec of recordings()) {
      const frames = rec.expected.messages;
      const victim = Math.floor(frames.length / 2);
      const { offset, total_length } = frames[victim]!;
      for (const [what, at] of [["prelude", offset + 2], ["payload", offset + total_length - 6]]) {
        const corrupt = rec.bytes.slice();
        corrupt[at as number]! ^= 0x10;
        const skips: EventStreamResyncInfo[] = [];
        const options: EventStreamDecoderOptions = {
          onCorruption: "resync",
          onResync: (info) => skips.push(info),
        };
        for (const chunks of [[corrupt], splitEvery(corrupt, 1), splitEvery(corrupt, 100)]) {
          skips.length = 0;
          const messages = await collect(chunks, new EventStreamDecoderStream(options));
          const payloads = messages.map((m) => JSON.parse(dec.decode(m.payload)));
          assert.deepEqual(
            payloads,
            frames.filter((_, i) => i !== victim).map((f) => f.payload_json),
            `${rec.name}: ${what}`,
          );
          assert.equal(skips.length, 1, `${rec.name}: ${what}`);
          assert.equal(skips[0]!.offset, offset);
          assert.equal(skips[0]!.skippedBytes, total_length);
          assert.equal(
            skips[0]!.error.code,
            what === "prelude" ? "prelude_crc_mismatch" : "message_crc_mismatch",
          );
        }
        // Without resync, the frames before the corrupt one come out, then the error.
        const streamed = await streamAll([corrupt]);
        assert.equal(streamed.messages.length, victim, rec.name);
        assert.equal(streamed.error?.offset, offset);
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Encoder

Deno.test("EventStream encoder validates what it writes", () => {
  const bad: [string, Record<string, unknown>][] = [
    ["name over 255 bytes", { ["é".repeat(128)]: { type: "boolean", value: true } }],
    ["byte 128", { x: { type: "byte", value: 128 } }],
    ["byte -129", { x: { type: "byte", value: -129 } }],
    ["byte 1.5", { x: { type: "byte", value: 1.5 } }],
    ["short 32768", { x: { type: "short", value: 32768 } }],
    ["integer 2^31", { x: { type: "integer", value: 2 ** 31 } }],
    ["integer as string", { x: { type: "integer", value: "1" } }],
    ["long 2^63", { x: { type: "long", value: 2n ** 63n } }],
    ["long as number", { x: { type: "long", value: 1 } }],
    ["binary over 32767", { x: { type: "binary", value: new Uint8Array(32768) } }],
    ["binary as array", { x: { type: "binary", value: [1] } }],
    ["string over 32767 bytes", { x: { type: "string", value: "é".repeat(16384) } }],
    ["lone surrogate", { x: { type: "string", value: "a\uD800b" } }],
    ["invalid Date", { x: { type: "timestamp", value: new Date(NaN) } }],
    ["uuid malformed", { x: { type: "uuid", value: "0102-0304" } }],
    ["unknown type", { x: { type: "float", value: 1 } }],
    ["boolean as number", { x: { type: "boolean", value: 1 } }],
    ["not an object", { x: null }],
  ];
  for (const [what, headers] of bad) {
    assert.throws(
      () =>
        encodeEventStreamMessage({
          headers: headers as Record<string, EventStreamHeaderValue>,
          payload: new Uint8Array(0),
        }),
      (e) => e instanceof EventStreamError && e.code === "invalid_header" && e.offset === 0,
      what,
    );
  }
  // The limits themselves are fine.
  const ok = encodeEventStreamMessage({
    headers: {
      ["é".repeat(127) + "x"]: { type: "string", value: "é".repeat(16383) + "x" },
      b: { type: "byte", value: -128 },
      s: { type: "short", value: -32768 },
      i: { type: "integer", value: 2147483647 },
      l: { type: "long", value: -(2n ** 63n) },
      t: { type: "timestamp", value: new Date(-8.64e15) },
      u: { type: "uuid", value: "ABCDEF01-2345-6789-abcd-ef0123456789" },
    },
    payload: new Uint8Array(0),
  });
  const back = decodeEventStreamMessage(ok);
  assert.equal(back.headers.u!.value, "abcdef01-2345-6789-abcd-ef0123456789");
  assert.equal(back.headers.l!.value, -(2n ** 63n));
  assert.deepEqual(back.headers.t!.value, new Date(-8.64e15));
});

Deno.test("EventStreamEncoderStream reports the output offset of a bad message", async () => {
  const good: EventStreamMessage = { headers: {}, payload: new Uint8Array(4) };
  const bad = { headers: { x: { type: "byte", value: 300 } }, payload: new Uint8Array(0) };
  const stream = ReadableStream.from([good, good, bad as EventStreamMessage])
    .pipeThrough(new EventStreamEncoderStream());
  const chunks: Uint8Array[] = [];
  await assert.rejects(
    async () => {
      for await (const chunk of stream) chunks.push(chunk);
    },
    (e) => e instanceof EventStreamError && e.code === "invalid_header" && e.offset === 40,
  );
  assert.equal(chunks.length, 2);
});

Deno.test("EventStream round-trips timestamps, longs and headers in insertion order", async () => {
  const message: EventStreamMessage = {
    headers: {
      z: { type: "timestamp", value: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)) },
      a: { type: "long", value: -1n },
      m: { type: "timestamp", value: new Date(-1) },
      "": { type: "binary", value: new Uint8Array(0) },
      "\uFEFFbom": { type: "string", value: "\uFEFF😀" },
    },
    payload: enc.encode("x"),
  };
  const bytes = encodeEventStreamMessage(message, { crc32: zlibCrc32 });
  const back = decodeEventStreamMessage(bytes, { crc32: zlibCrc32 });
  assert.deepEqual(back, message);
  assert.deepEqual(Object.keys(back.headers), ["z", "a", "m", "", "\uFEFFbom"]);
  assertBytes(encodeEventStreamMessage(back), bytes, "re-encoded");
  const streamed = await collect(
    [message, message],
    new EventStreamEncoderStream({ crc32: zlibCrc32 }),
  );
  assertBytes(concat(...streamed), concat(bytes, bytes), "encoder stream");
});

Deno.test("EventStream decoder exposes its offset and buffered bytes", () => {
  const { bytes, offsets } = bedrockLike(3);
  const decoder = new EventStreamDecoder();
  assert.equal(decoder.push(bytes.subarray(0, offsets[1]! + 5)).length, 1);
  assert.equal(decoder.offset, offsets[1]);
  assert.equal(decoder.bufferedBytes, 5);
  assert.equal(decoder.push(bytes.subarray(offsets[1]! + 5)).length, 2);
  assert.equal(decoder.offset, bytes.length);
  assert.equal(decoder.bufferedBytes, 0);
  decoder.end();
});
