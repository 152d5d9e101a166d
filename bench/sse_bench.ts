/**
 * SSE decoding throughput, bytes in → events out, against what a web-streams user of
 * eventsource-parser writes: `TextDecoderStream` → `EventSourceParserStream`. Same inputs in one
 * process; the summary prints ratios against the eventsource-parser baseline of each group.
 *
 *   deno bench --allow-read --allow-env --allow-sys bench/sse_bench.ts
 *
 * Targets: ours ≥ 1× on "openai 16 KiB", ≥ 1.5× on "openai 64 B" and "4 MB line".
 */
import { EventSourceParserStream } from "npm:eventsource-parser@3.1.1/stream";
import { SseDecoderStream } from "../src/framing/mod.ts";

const encoder = new TextEncoder();

/** A 20k-event OpenAI chat-completion-chunk stream, as a server sends it. */
function openaiStream(events: number): Uint8Array {
  const words = [
    "The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    ".",
  ];
  const lines: string[] = [];
  for (let i = 0; i < events; i++) {
    const chunk = {
      id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      object: "chat.completion.chunk",
      created: 1741569952,
      model: "gpt-4o-2024-08-06",
      service_tier: "default",
      system_fingerprint: "fp_f9f4fb6dbf",
      choices: [{
        index: 0,
        delta: { content: words[i % words.length] },
        logprobs: null,
        finish_reason: null,
      }],
      usage: null,
      obfuscation: "x".repeat(i % 12),
    };
    lines.push(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  lines.push("data: [DONE]\n\n");
  return encoder.encode(lines.join(""));
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** A body stream over prepared chunks, one chunk per pull. */
function body(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

async function count(events: ReadableStream<unknown>, expected: number): Promise<void> {
  let n = 0;
  for await (const _ of events) n++;
  if (n !== expected) throw new Error(`decoded ${n} events, expected ${expected}`);
}

const EVENTS = 20_000;
const openai = openaiStream(EVENTS);
const openai16k = split(openai, 16 * 1024);
const openai64 = split(openai, 64);

const LINE = 4 * 1024 * 1024;
const bigLine = new Uint8Array(LINE + 8);
bigLine.set(encoder.encode("data: "));
bigLine.fill(0x61, 6, LINE + 6);
bigLine.set([0x0a, 0x0a], LINE + 6);
const bigLine1k = split(bigLine, 1024);

const cases: [group: string, chunks: Uint8Array[], events: number][] = [
  ["openai 16 KiB chunks", openai16k, EVENTS + 1],
  ["openai 64 B chunks", openai64, EVENTS + 1],
  ["4 MB line in 1 KiB chunks", bigLine1k, 1],
];

for (const [group, chunks, events] of cases) {
  Deno.bench({
    name: `eventsource-parser (${group})`,
    group,
    baseline: true,
    async fn() {
      await count(
        body(chunks)
          .pipeThrough(new TextDecoderStream())
          .pipeThrough(new EventSourceParserStream()),
        events,
      );
    },
  });
  Deno.bench({
    name: `llmwire SseDecoderStream (${group})`,
    group,
    async fn() {
      await count(
        body(chunks).pipeThrough(new SseDecoderStream({ maxEventBytes: 2 * LINE })),
        events,
      );
    },
  });
}
