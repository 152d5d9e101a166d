/**
 * EventStream decoding: llmwire's `EventStreamDecoderStream` against what the AWS SDK for
 * JavaScript does (`@smithy/core/event-streams`: `getChunkedStream` → `EventStreamCodec.decode`),
 * both fed the same bytes from a `ReadableStream` and drained with `for await`.
 *
 * Run: `deno bench --allow-read --allow-env --allow-sys bench/event_stream_bench.ts`
 * @module
 */

import { crc32 as zlibCrc32 } from "node:zlib";
import {
  EventStreamCodec,
  getChunkedStream,
  MessageDecoderStream,
} from "npm:@smithy/core@3.41.0/event-streams";
import { fromUtf8, toUtf8 } from "npm:@smithy/util-utf8@4.5.2";
import {
  encodeEventStreamMessage,
  type EventStreamDecoderOptions,
  EventStreamDecoderStream,
} from "../src/framing/event_stream.ts";

const utf8 = new TextEncoder();

/** 5,000 `contentBlockDelta` frames of about 200 bytes each, as Bedrock ConverseStream sends. */
function bedrockLikeStream(count: number): Uint8Array {
  const words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs"];
  const frames: Uint8Array[] = [];
  let length = 0;
  for (let i = 0; i < count; i++) {
    let text = "";
    for (let w = 0; w < 8 + (i % 5); w++) text += words[(i * 7 + w * 3) % words.length] + " ";
    const frame = encodeEventStreamMessage({
      headers: {
        ":event-type": { type: "string", value: "contentBlockDelta" },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      payload: utf8.encode(
        JSON.stringify({ contentBlockIndex: 0, delta: { text }, p: "abcd" }),
      ),
    });
    frames.push(frame);
    length += frame.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

/** One frame with a 4 MiB payload. */
function bigFrame(): Uint8Array {
  const payload = new Uint8Array(4 * 1024 * 1024 - 16 - 34);
  for (let i = 0; i < payload.length; i++) payload[i] = 0x61 + (i % 26);
  return encodeEventStreamMessage({
    headers: { ":event-type": { type: "string", value: "chunk" } },
    payload,
  });
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

async function llmwire(chunks: Uint8Array[], options?: EventStreamDecoderOptions): Promise<number> {
  let count = 0;
  const messages = ReadableStream.from(chunks).pipeThrough(new EventStreamDecoderStream(options));
  for await (const message of messages) count += message.payload.length > 0 ? 1 : 0;
  return count;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

async function smithy(chunks: Uint8Array[]): Promise<number> {
  let count = 0;
  const messages = new MessageDecoderStream({
    inputStream: getChunkedStream(ReadableStream.from(chunks)),
    decoder: codec,
  });
  for await (const message of messages) count += message.body.length > 0 ? 1 : 0;
  return count;
}

const stream = bedrockLikeStream(5000);
const big = bigFrame();
const cases = [
  {
    group: "a: 5,000 × ~200 B frames, 16 KiB chunks",
    chunks: split(stream, 16 * 1024),
    frames: 5000,
  },
  { group: "b: 5,000 × ~200 B frames, 64 B chunks", chunks: split(stream, 64), frames: 5000 },
  { group: "c: one 4 MiB frame, 1 KiB chunks", chunks: split(big, 1024), frames: 1 },
];

for (const { group, chunks, frames } of cases) {
  // Both sides must see the same messages, or the comparison means nothing.
  if ((await llmwire(chunks)) !== frames || (await smithy(chunks)) !== frames) {
    throw new Error(`${group}: decoders disagree`);
  }
  // `async fn`: Deno.bench awaits only functions declared async.
  Deno.bench({
    name: "smithy (AWS SDK)",
    group,
    baseline: true,
    async fn() {
      await smithy(chunks);
    },
  });
  Deno.bench({
    name: "llmwire",
    group,
    async fn() {
      await llmwire(chunks);
    },
  });
  Deno.bench({
    name: "llmwire + node:zlib crc32",
    group,
    async fn() {
      await llmwire(chunks, { crc32: zlibCrc32 });
    },
  });
}

console.log(
  `inputs: (a)/(b) ${stream.length} bytes, ${(stream.length / 5000).toFixed(0)} B/frame; ` +
    `(c) ${big.length} bytes`,
);
