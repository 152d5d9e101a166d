/**
 * Decodes the project's recorded streams in `fixtures/` with llmwire's framing decoders and prints
 * every frame: AWS EventStream frames (Bedrock ConverseStream) with their headers and JSON payload,
 * SSE events (OpenAI, Anthropic) with their event type and data. It streams each file from disk
 * in small chunks, as a network body would arrive.
 *
 * Run: `deno task demo` (or `npx -y deno@2.9.6 task demo`). Pass file paths to decode other
 * `.bin` / `.sse` files.
 * @module
 */
import { EventStreamDecoderStream, SseDecoderStream } from "../mod.ts";
import type { EventStreamMessage } from "../mod.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const textDecoder = new TextDecoder();

/** Reads a file as a stream of small chunks, so frames arrive split as they do on a network. */
async function openChunked(
  path: string | URL,
  chunkSize = 61,
): Promise<ReadableStream<Uint8Array>> {
  const bytes = await Deno.readFile(path);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + chunkSize));
      at += chunkSize;
    },
  });
}

function describeFrame(message: EventStreamMessage): string {
  const headers = Object.entries(message.headers)
    .map(([name, header]) => `${name}=${String(header.value)}`)
    .join(" ");
  return `${headers}\n      ${textDecoder.decode(message.payload)}`;
}

async function decodeFile(path: string | URL, label: string): Promise<void> {
  console.log(`\n== ${label}`);
  const body = await openChunked(path);
  if (String(path).endsWith(".bin")) {
    let n = 0;
    for await (const message of body.pipeThrough(new EventStreamDecoderStream())) {
      console.log(`  #${n++} ${describeFrame(message)}`);
    }
  } else {
    let n = 0;
    for await (const event of body.pipeThrough(new SseDecoderStream())) {
      console.log(`  #${n++} event=${event.event ?? "message"}\n      ${event.data}`);
    }
  }
}

if (import.meta.main) {
  if (Deno.args.length > 0) {
    for (const path of Deno.args) await decodeFile(path, path);
  } else {
    const index: { file: string }[] = JSON.parse(
      await Deno.readTextFile(new URL("index.json", FIXTURES)),
    );
    for (const { file } of index) await decodeFile(new URL(file, FIXTURES), `fixtures/${file}`);
  }
}
