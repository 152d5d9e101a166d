/**
 * The framing layer of the built npm package under Node: the AWS EventStream vectors (smithy and
 * aws-c-event-stream), the WHATWG SSE conformance cases, and the project's fixtures — decoded in
 * every chunking and re-encoded byte for byte.
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  decodeEventStreamMessage,
  encodeEventStreamMessage,
  encodeSseEvent,
  EventStreamDecoder,
  EventStreamDecoderStream,
  EventStreamError,
  SseDecoder,
  SseDecoderStream,
} from "llmwire/framing";
import {
  chunkings,
  collect,
  concat,
  corpusSkip,
  corpusText,
  fixtureBytes,
  FIXTURES,
  fromBase64,
  fromHex,
} from "./_helpers.mjs";

/** A header of the corpora's unified JSON format as llmwire's tagged value. */
function headerValue(h) {
  switch (h.type) {
    case 0:
    case 1:
      return { type: "boolean", value: h.value };
    case 2:
      return { type: "byte", value: h.value };
    case 3:
      return { type: "short", value: h.value };
    case 4:
      return { type: "integer", value: h.value };
    case 5:
      return { type: "long", value: BigInt(h.value) };
    case 6:
      return { type: "binary", value: fromBase64(h.value) };
    case 7:
      return { type: "string", value: h.value };
    case 8:
      return { type: "timestamp", value: new Date(Number(h.value)) };
    case 9:
      return { type: "uuid", value: h.value };
    default:
      throw new Error(`unknown header type ${h.type}`);
  }
}

const CODE_OF_REASON = {
  prelude_crc_mismatch: "prelude_crc_mismatch",
  message_crc_mismatch: "message_crc_mismatch",
  invalid_headers_length: "invalid_headers_length",
  invalid_total_length: "invalid_total_length",
  duplicate_header_name: "duplicate_header",
  payload_too_large: "message_too_large",
};

/** Pushes the chunks through the push decoder: the messages, then the error if any. */
function pushAll(chunks) {
  const decoder = new EventStreamDecoder();
  const messages = [];
  try {
    for (const chunk of chunks) messages.push(...decoder.push(chunk));
    decoder.end();
    return { messages };
  } catch (error) {
    return { messages, error };
  }
}

for (const file of ["smithy-test-vectors.json", "aws-c-event-stream.json"]) {
  test(`EventStream: every vector of ${file}, in every chunking, both ways`, {
    skip: corpusSkip(`EventStream ${file}`),
  }, async () => {
    const { vectors } = JSON.parse(corpusText(`eventstream/${file}`));
    assert.ok(vectors.length >= 9);
    let passed = 0;
    let failed = 0;
    for (const v of vectors) {
      const bytes = fromHex(v.hex);
      if (v.expect === "fail") {
        const code = CODE_OF_REASON[v.reason];
        assert.ok(code, `${v.name}: unknown reason ${v.reason}`);
        for (const [how, chunks] of chunkings(bytes)) {
          const outcome = pushAll(chunks);
          assert.deepEqual(outcome.messages, [], `${v.name}, ${how}`);
          assert.ok(outcome.error instanceof EventStreamError, `${v.name}, ${how}`);
          assert.equal(outcome.error.code, code, `${v.name}, ${how}`);
        }
        await assert.rejects(
          collect([bytes], new EventStreamDecoderStream()),
          (e) => e instanceof EventStreamError && e.code === code,
          v.name,
        );
        failed++;
        continue;
      }
      const expected = v.messages.map((m) => ({
        headers: Object.fromEntries(m.headers.map((h) => [h.name, headerValue(h)])),
        payload: fromBase64(m.payload_base64),
      }));
      for (const [how, chunks] of chunkings(bytes)) {
        assert.deepEqual(pushAll(chunks), { messages: expected }, `${v.name}, ${how}`);
        assert.deepEqual(
          await collect(chunks, new EventStreamDecoderStream()),
          expected,
          `${v.name}, ${how} (stream)`,
        );
      }
      v.messages.forEach((m, i) => {
        const frame = bytes.subarray(m.offset, m.offset + m.total_length);
        assert.deepEqual(decodeEventStreamMessage(frame), expected[i], v.name);
        assert.deepEqual(encodeEventStreamMessage(expected[i]), frame, `${v.name} #${i} encoded`);
      });
      passed++;
    }
    assert.equal(passed + failed, vectors.length);
    assert.ok(passed > 0 && failed > 0);
  });
}

test("EventStream: the smithy all_headers vector decodes every header type", {
  skip: corpusSkip("EventStream smithy vectors"),
}, () => {
  const { vectors } = JSON.parse(corpusText("eventstream/smithy-test-vectors.json"));
  const message = decodeEventStreamMessage(
    fromHex(vectors.find((v) => v.name === "all_headers").hex),
  );
  assert.deepEqual(message.headers, {
    "event-type": { type: "integer", value: 40972 },
    "content-type": { type: "string", value: "application/json" },
    "bool false": { type: "boolean", value: false },
    "bool true": { type: "boolean", value: true },
    "byte": { type: "byte", value: -49 },
    "byte buf": { type: "binary", value: new TextEncoder().encode("I'm a little teapot!") },
    "timestamp": { type: "timestamp", value: new Date(8675309) },
    "int16": { type: "short", value: 42 },
    "int64": { type: "long", value: 42424242n },
    "uuid": { type: "uuid", value: "01020304-0506-0708-090a-0b0c0d0e0f10" },
  });
  assert.equal(new TextDecoder().decode(message.payload), "{'foo':'bar'}");
});

/** Decodes SSE with the push decoder: events (with the sticky last event id), retry, comments. */
function sseDecode(chunks) {
  const out = { events: [], retry: [], comments: [] };
  const decoder = new SseDecoder({
    onRetry: (ms) => out.retry.push(ms),
    onComment: (comment) => out.comments.push(comment),
  });
  const take = (events) => {
    for (const e of events) {
      out.events.push({
        type: e.event ?? "message",
        data: e.data,
        lastEventId: decoder.lastEventId,
        id: e.id ?? null,
      });
    }
  };
  for (const chunk of chunks) take(decoder.push(chunk));
  take(decoder.end());
  return out;
}

test("SSE: the WHATWG conformance cases, in every chunking", {
  skip: corpusSkip("SSE conformance"),
}, async () => {
  const { cases } = JSON.parse(corpusText("sse/conformance.json"));
  assert.equal(cases.length, 51);
  for (const c of cases) {
    const given = c.chunks_base64?.map(fromBase64);
    const bytes = c.input_base64 !== undefined ? fromBase64(c.input_base64) : concat(given);
    const { events, retry, comments } = c.expected;
    // Byte by byte, each event is returned with the sticky lastEventId of its moment.
    const bytewise = sseDecode([...bytes].map((b) => new Uint8Array([b])));
    assert.deepEqual(bytewise, { events, retry, comments }, `${c.name}: byte by byte`);
    const wanted = events.map(({ type, data, id }) => ({ type, data, id }));
    const runs = chunkings(bytes);
    if (given) runs.push(["chunks_base64", given]);
    runs.push(["text", [new TextDecoder().decode(bytes)]]);
    for (const [how, chunks] of runs) {
      const got = sseDecode(chunks);
      assert.deepEqual(
        got.events.map(({ type, data, id }) => ({ type, data, id })),
        wanted,
        `${c.name}: ${how}`,
      );
      assert.deepEqual(got.retry, retry, `${c.name}: ${how}`);
      assert.deepEqual(got.comments, comments, `${c.name}: ${how}`);
      const streamed = await collect(chunks, new SseDecoderStream());
      assert.deepEqual(
        streamed.map((e) => ({ type: e.event ?? "message", data: e.data, id: e.id ?? null })),
        wanted,
        `${c.name}: ${how} (stream)`,
      );
    }
  }
});

const fixtures = JSON.parse(readFileSync(join(FIXTURES, "index.json"), "utf8"));

for (const description of fixtures) {
  test(`fixtures/${description.file}: decodes in every chunking and re-encodes byte for byte`, async () => {
    const bytes = fixtureBytes(description.file);
    const eventStream = description.contentType === "application/vnd.amazon.eventstream";
    const frames = [];
    for (const [how, chunks] of chunkings(bytes)) {
      const decoded = await collect(
        chunks,
        eventStream ? new EventStreamDecoderStream() : new SseDecoderStream(),
      );
      if (frames.length === 0) frames.push(...decoded);
      else assert.deepEqual(decoded, frames, how);
    }
    assert.equal(frames.length, description.frames);
    const text = new TextDecoder();
    if (eventStream) {
      assert.deepEqual(concat(frames.map((m) => encodeEventStreamMessage(m))), bytes);
      assert.ok(
        frames.every((m) => JSON.parse(text.decode(m.payload)) !== null),
        "every payload is JSON",
      );
    } else {
      assert.equal(frames.map((e) => encodeSseEvent(e)).join(""), text.decode(bytes));
    }
  });
}
