/**
 * `deno task soak`: decodes a 1 GiB synthetic Bedrock ConverseStream (AWS EventStream) and a
 * 1 GiB OpenAI Chat Completions stream (SSE), each generated on the fly and cut into random
 * chunks, through the framing decoder and the protocol decoder, and checks that RSS grows by less
 * than 50 MB (with V8's `--optimize-for-size`, so the heap tracks live data; runs with default
 * heap sizing are printed too). Prints RSS at the start, after 64 MiB, at the end and at its
 * peak, the duration and throughput; exits 1 when a stream grows RSS by 50 MB or more, or decodes
 * to anything but what was generated.
 *
 * ```sh
 * deno task soak                 # 1 GiB each
 * deno task soak --mib 256 --seed 7
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { encodeEventStreamMessage, EventStreamDecoder } from "../src/framing/event_stream.ts";
import { SseDecoder } from "../src/framing/sse.ts";
import { BedrockConverseDecoder } from "../src/protocols/bedrock_converse.ts";
import { OpenAIChatDecoder } from "../src/protocols/openai_chat.ts";
import type { LlmEvent } from "../src/protocols/events.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "1024" },
    seed: { type: "string" },
    "limit-mb": { type: "string", default: "50" },
    stream: { type: "string" },
    gate: { type: "boolean", default: false },
  },
});
const TARGET_BYTES = Number(values.mib) * 1024 * 1024;
const LIMIT_BYTES = Number(values["limit-mb"]) * 1e6;
/** Bytes decoded before the RSS baseline is taken. */
const WARMUP_BYTES = Math.min(64 * 1024 * 1024, TARGET_BYTES / 16);
const SEED = values.seed === undefined ? (Date.now() & 0x7fffffff) : Number(values.seed);

/** mulberry32: a small seeded PRNG, so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = "the quick brown fox jumps over a lazy dog while streaming tokens é ü 漢字 🙂".split(
  " ",
);

/** A text delta of one to a few hundred words, sometimes (0.2 %) 10–45 KB of them. */
function textOf(random: () => number): string {
  const r = random();
  const words = r < 0.002 ? 2_000 + Math.floor(random() * 6_000) : 1 + Math.floor(r * r * 300);
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(WORDS[Math.floor(random() * WORDS.length)]!);
  return parts.join(" ") + " ";
}

/** Chunk sizes: mostly network-sized, sometimes tiny, sometimes large. */
function chunkSize(random: () => number): number {
  const r = random();
  if (r < 0.1) return 1 + Math.floor(random() * 16);
  if (r < 0.9) return 1 + Math.floor(random() * 16_384);
  return 1 + Math.floor(random() * 262_144);
}

const utf8 = new TextEncoder();

interface Stream {
  /**
   * The next block of stream bytes, or `undefined` at the end. Blocks hold whole frames, so the
   * decoder is done with a block once it has been pushed; the next call reuses its buffer.
   */
  next(): Uint8Array | undefined;
  /** Text generated so far (UTF-16 code units). */
  textLength: number;
}

/** A pool of encoded frames, each with the text it carries. */
interface Pool {
  frames: Uint8Array[];
  texts: number[];
}

const BLOCK_BYTES = 1024 * 1024;

/**
 * A stream of `head`, then frames drawn at random from `pool` until about `target` bytes, then
 * `tail`: generated on the fly into one reused block buffer, so the generator allocates next to
 * nothing and RSS growth is the decoders'.
 */
function randomStream(
  target: number,
  random: () => number,
  head: Uint8Array,
  pool: Pool,
  tail: Uint8Array,
  headText: number,
): Stream {
  const buffer = new Uint8Array(
    BLOCK_BYTES + Math.max(...pool.frames.map((f) => f.length)) +
      head.length + tail.length,
  );
  let produced = 0;
  let phase: "head" | "body" | "done" = "head";
  const stream: Stream = {
    textLength: 0,
    next() {
      if (phase === "done") return undefined;
      let size = 0;
      if (phase === "head") {
        buffer.set(head, 0);
        size = head.length;
        stream.textLength += headText;
        phase = "body";
      }
      while (size < BLOCK_BYTES && produced + size < target) {
        const i = Math.floor(random() * pool.frames.length);
        const frame = pool.frames[i]!;
        buffer.set(frame, size);
        size += frame.length;
        stream.textLength += pool.texts[i]!;
      }
      if (produced + size >= target) {
        buffer.set(tail, size);
        size += tail.length;
        phase = "done";
      }
      produced += size;
      return buffer.subarray(0, size);
    },
  };
  return stream;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const POOL_FRAMES = 4096;

/** A ConverseStream of about `target` bytes: start, one text block of many deltas, stop, metadata. */
function bedrockStream(target: number, random: () => number): Stream {
  const header = (value: string) => ({ type: "string" as const, value });
  const frame = (type: string, body: unknown) =>
    encodeEventStreamMessage({
      headers: {
        ":event-type": header(type),
        ":content-type": header("application/json"),
        ":message-type": header("event"),
      },
      payload: utf8.encode(JSON.stringify(body)),
    });
  const pool: Pool = { frames: [], texts: [] };
  for (let i = 0; i < POOL_FRAMES; i++) {
    const text = textOf(random);
    pool.frames.push(
      frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text }, p: "abcd" }),
    );
    pool.texts.push(text.length);
  }
  const tail = concatBytes([
    frame("contentBlockStop", { contentBlockIndex: 0 }),
    frame("messageStop", { stopReason: "end_turn" }),
    frame("metadata", {
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      metrics: { latencyMs: 1 },
    }),
  ]);
  return randomStream(target, random, frame("messageStart", { role: "assistant" }), pool, tail, 0);
}

/** An OpenAI chunk stream of about `target` bytes, with LF and CRLF line ends and comments. */
function openaiStream(target: number, random: () => number): Stream {
  const chunk = (delta: unknown, finish: string | null) =>
    JSON.stringify({
      id: "chatcmpl-soak",
      object: "chat.completion.chunk",
      created: 0,
      model: "gpt-soak",
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  const pool: Pool = { frames: [], texts: [] };
  for (let i = 0; i < POOL_FRAMES; i++) {
    const text = textOf(random);
    const eol = random() < 0.5 ? "\n" : "\r\n";
    const comment = random() < 0.01 ? `: keep-alive${eol}${eol}` : "";
    pool.frames.push(utf8.encode(`${comment}data: ${chunk({ content: text }, null)}${eol}${eol}`));
    pool.texts.push(text.length);
  }
  const head = utf8.encode(`data: ${chunk({ role: "assistant", content: "Hi" }, null)}\n\n`);
  const tail = utf8.encode(`data: ${chunk({}, "stop")}\n\ndata: [DONE]\n\n`);
  return randomStream(target, random, head, pool, tail, 2);
}

interface SoakResult {
  name: string;
  bytes: number;
  seconds: number;
  /** RSS when decoding started. */
  rssStart: number;
  /** RSS after the warm-up: the baseline growth is measured from. */
  rssBefore: number;
  rssAfter: number;
  rssPeak: number;
  ok: boolean;
  problem: string | undefined;
}

function rss(): number {
  return Deno.memoryUsage().rss;
}

/** Decodes a stream through `decode` (bytes → events), sampling RSS every 16 MiB. */
function soak(
  name: string,
  stream: Stream,
  random: () => number,
  decoder: { push(chunk: Uint8Array): LlmEvent[]; end(): LlmEvent[] },
): SoakResult {
  const rssStart = rss();
  // Also measured from after a warm-up, when V8 has sized its heap to the garbage rate.
  let rssBefore = Infinity;
  let rssPeak = rssStart;
  let bytes = 0;
  let nextSample = 16 * 1024 * 1024;
  let text = 0;
  let stops = 0;
  let errors: LlmEvent | undefined;
  const count = (events: LlmEvent[]) => {
    for (const event of events) {
      if (event.type === "text_delta") text += event.text.length;
      else if (event.type === "message_stop") stops++;
      else if (event.type === "error") errors ??= event;
    }
  };
  const started = performance.now();
  for (let block = stream.next(); block !== undefined; block = stream.next()) {
    for (let at = 0; at < block.length;) {
      const size = chunkSize(random);
      count(decoder.push(block.subarray(at, at + size)));
      at += size;
    }
    bytes += block.length;
    if (rssBefore === Infinity && bytes >= WARMUP_BYTES) {
      rssBefore = rss();
      rssPeak = Math.max(rssPeak, rssBefore);
    }
    if (bytes >= nextSample) {
      nextSample += 16 * 1024 * 1024;
      rssPeak = Math.max(rssPeak, rss());
    }
  }
  count(decoder.end());
  const seconds = (performance.now() - started) / 1000;
  const rssAfter = rss();
  rssPeak = Math.max(rssPeak, rssAfter);
  if (rssBefore === Infinity) rssBefore = rssStart;
  let problem: string | undefined;
  if (errors !== undefined) problem = `error event: ${JSON.stringify(errors)}`;
  else if (text !== stream.textLength) {
    problem = `decoded ${text} text units of ${stream.textLength}`;
  } else if (stops !== 1) problem = `${stops} message_stop events`;
  else if (values.gate && rssPeak - rssStart >= LIMIT_BYTES) {
    problem = `RSS grew by ≥ ${LIMIT_BYTES / 1e6} MB`;
  }
  return {
    name,
    bytes,
    seconds,
    rssStart,
    rssBefore,
    rssAfter,
    rssPeak,
    ok: problem === undefined,
    problem,
  };
}

/** Framing and protocol decoder as one bytes → events push parser. */
function bedrockPipeline(): { push(chunk: Uint8Array): LlmEvent[]; end(): LlmEvent[] } {
  const framing = new EventStreamDecoder();
  const protocol = new BedrockConverseDecoder({ id: "msg_soak", model: "soak" });
  return {
    push: (chunk) => framing.push(chunk).flatMap((m) => protocol.push(m)),
    end: () => {
      framing.end();
      return protocol.end();
    },
  };
}

function openaiPipeline(): { push(chunk: Uint8Array): LlmEvent[]; end(): LlmEvent[] } {
  const framing = new SseDecoder();
  const protocol = new OpenAIChatDecoder();
  return {
    push: (chunk) => framing.push(chunk).flatMap((e) => protocol.push(e)),
    end: () => [...framing.end().flatMap((e) => protocol.push(e)), ...protocol.end()],
  };
}

const mb = (n: number) => (n / 1e6).toFixed(1);

const STREAMS: Record<string, () => SoakResult> = {
  bedrock: () =>
    soak(
      "EventStream → Bedrock Converse",
      bedrockStream(TARGET_BYTES, prng(SEED)),
      prng(SEED + 1),
      bedrockPipeline(),
    ),
  openai: () =>
    soak(
      "SSE → OpenAI Chat",
      openaiStream(TARGET_BYTES, prng(SEED + 2)),
      prng(SEED + 3),
      openaiPipeline(),
    ),
};

if (values.stream !== undefined) {
  // Child: one stream in a fresh process, the result as JSON.
  console.log(JSON.stringify(STREAMS[values.stream]!()));
  Deno.exit(0);
}

console.log(
  `soak: ${values.mib} MiB per stream, seed ${SEED}, limit ${mb(LIMIT_BYTES)} MB of RSS growth`,
);
/**
 * Each stream runs twice, each time in a fresh process: with V8's default heap sizing (which
 * lets the heap grow with the garbage rate on a large machine: that growth is the runtime's
 * choice, not memory the decoders hold) and with `--optimize-for-size`, where V8 sizes the heap
 * to the live data, so RSS growth shows what decoding retains. The limit applies to the latter.
 */
const RUNS = [
  { flags: [] as string[], gate: false },
  { flags: ["--v8-flags=--optimize-for-size"], gate: true },
];
const results: (SoakResult & { flags: string; gated: boolean })[] = [];
for (const run of RUNS) {
  for (const name of Object.keys(STREAMS)) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        ...run.flags,
        import.meta.filename!,
        "--stream",
        name,
        "--mib",
        values.mib,
        "--seed",
        String(SEED),
        "--limit-mb",
        values["limit-mb"],
        ...(run.gate ? ["--gate"] : []),
      ],
      stderr: "inherit",
    }).output();
    if (!output.success) {
      console.error(`the ${name} soak process failed`);
      Deno.exit(1);
    }
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    results.push({
      ...JSON.parse(lines.at(-1)!),
      flags: run.flags.join(" ") || "(default)",
      gated: run.gate,
    });
  }
}
console.log(
  "\n| stream | V8 flags | bytes | time (s) | MB/s | RSS at start (MB) | RSS after 64 MiB (MB) | RSS at end (MB) | peak (MB) | peak growth after 64 MiB (MB) | peak growth (MB) | result |",
);
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.flags} | ${r.bytes.toLocaleString("en")} | ${r.seconds.toFixed(1)} | ${
      (r.bytes / 1e6 / r.seconds).toFixed(0)
    } | ${mb(r.rssStart)} | ${mb(r.rssBefore)} | ${mb(r.rssAfter)} | ${mb(r.rssPeak)} | ${
      mb(r.rssPeak - r.rssBefore)
    } | ${mb(r.rssPeak - r.rssStart)} | ${
      r.ok ? (r.gated ? "ok" : "ok (not gated)") : `FAILED: ${r.problem}`
    } |`,
  );
}
if (results.some((r) => !r.ok)) Deno.exit(1);
