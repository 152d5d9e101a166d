/**
 * Shared helpers of the Node tests (`node --test`), which run against the built npm package
 * (`import … from "llmwire/…"`): where the fixtures and the shared corpora are, and how bytes are
 * fed to a stream. Plain Node APIs only, no newer than Node 18 (no `Array.fromAsync`).
 *
 * `LLMWIRE_FIXTURES` and `LLMWIRE_CORPORA` name the directories when the tests are copied into a
 * consumer project (as `tests/npm_package_test.ts` does); otherwise they are found beside the
 * repository.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's `fixtures/` directory. */
export const FIXTURES = process.env.LLMWIRE_FIXTURES ??
  fileURLToPath(new URL("../../fixtures/", import.meta.url));

/** The shared conformance corpora (`../shared/corpora/` beside the repository). */
export const CORPORA = process.env.LLMWIRE_CORPORA ??
  fileURLToPath(new URL("../../../shared/corpora/", import.meta.url));

/** Whether the corpora are present; corpus tests skip with a notice when they are not. */
export const HAS_CORPORA = existsSync(CORPORA);

/** The `skip` option of a corpus test: false, or the notice printed for the skip. */
export function corpusSkip(suite) {
  if (HAS_CORPORA) return false;
  const notice = `notice: ${CORPORA} is absent; skipping ${suite}`;
  console.log(notice);
  return notice;
}

/** Reads a fixture as bytes. */
export function fixtureBytes(path) {
  return new Uint8Array(readFileSync(join(FIXTURES, path)));
}

/** Reads a corpus file as bytes. */
export function corpusBytes(path) {
  return new Uint8Array(readFileSync(join(CORPORA, path)));
}

/** Reads a corpus file as text. */
export function corpusText(path) {
  return readFileSync(join(CORPORA, path), "utf8");
}

/** Lists a corpus directory, sorted. */
export function corpusList(path) {
  return readdirSync(join(CORPORA, path)).sort();
}

/** Hex → bytes. */
export function fromHex(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Base64 → bytes. */
export function fromBase64(base64) {
  return new Uint8Array(Buffer.from(base64, "base64"));
}

/** The chunkings every decoder must agree on: whole, byte by byte, 7-byte chunks. */
export function chunkings(bytes) {
  const every = (size) => {
    const chunks = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    return chunks;
  };
  return [["whole", [bytes]], ["byte by byte", every(1)], ["7-byte chunks", every(7)]];
}

/** A stream of the given chunks. */
export function streamOf(chunks) {
  const list = [...chunks];
  return new ReadableStream({
    pull(controller) {
      if (list.length === 0) controller.close();
      else controller.enqueue(list.shift());
    },
  });
}

/** Everything a stream yields. */
export async function readAll(stream) {
  const out = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

/** Pipes the chunks through a transform stream and collects its output. */
export function collect(chunks, transform) {
  return readAll(streamOf(chunks).pipeThrough(transform));
}

/** Concatenates byte chunks. */
export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
