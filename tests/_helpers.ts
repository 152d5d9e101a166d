/**
 * Shared test helpers: where the conformance corpora live, and the chunkings every decoder is fed.
 * @module
 */

/** `../shared/corpora/` beside the repository, as a directory URL. */
export const CORPORA_URL: URL = new URL("../../shared/corpora/", import.meta.url);

/** Whether `../shared/corpora/` exists; corpus tests are ignored (with a notice) when it does not. */
export const HAS_CORPORA: boolean = (() => {
  try {
    return Deno.statSync(CORPORA_URL).isDirectory;
  } catch {
    return false;
  }
})();

const noticed = new Set<string>();

/**
 * Returns `true` when the corpora are present; otherwise prints a one-time notice naming the
 * suite that is skipped and returns `false`. Use as `ignore: !corporaPresent("sigv4 suite")`.
 */
export function corporaPresent(suite: string): boolean {
  if (!HAS_CORPORA && !noticed.has(suite)) {
    noticed.add(suite);
    console.log(`notice: ../shared/corpora is absent; skipping ${suite}`);
  }
  return HAS_CORPORA;
}

/** Reads a file below `../shared/corpora/` as bytes. */
export function readCorpusBytes(path: string): Uint8Array {
  return Deno.readFileSync(new URL(path, CORPORA_URL));
}

/** Reads a file below `../shared/corpora/` as text. */
export function readCorpusText(path: string): string {
  return Deno.readTextFileSync(new URL(path, CORPORA_URL));
}

/** Lists the names in a directory below `../shared/corpora/`, sorted. */
export function listCorpus(path: string): string[] {
  return [...Deno.readDirSync(new URL(path, CORPORA_URL))].map((e) => e.name).sort();
}

/** A named way of cutting an input into chunks. */
export interface Chunking {
  name: string;
  chunks: Uint8Array[];
}

/**
 * The chunkings every decoder must agree on: whole, byte by byte, and — when the input is at most
 * `maxSplitBytes` long — split in two at every offset; above that, split at `maxSplitBytes`
 * evenly spread offsets, plus a few fixed chunk sizes.
 */
export function* chunkings(bytes: Uint8Array, maxSplitBytes = 2048): Generator<Chunking> {
  yield { name: "whole", chunks: [bytes] };
  yield { name: "byte by byte", chunks: [...bytes].map((_, i) => bytes.subarray(i, i + 1)) };
  for (const size of [2, 3, 7, 64]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    yield { name: `${size}-byte chunks`, chunks };
  }
  const step = Math.max(1, Math.ceil(bytes.length / maxSplitBytes));
  for (let at = 1; at < bytes.length; at += step) {
    yield { name: `split at ${at}`, chunks: [bytes.subarray(0, at), bytes.subarray(at)] };
  }
}

/** Pipes `chunks` through `transform` and collects everything it emits. */
export function collect<I, O>(
  chunks: Iterable<I>,
  transform: TransformStream<I, O>,
): Promise<O[]> {
  return Array.fromAsync(ReadableStream.from(chunks).pipeThrough(transform));
}

/** Decodes base64 to bytes. */
export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Decodes a hex string to bytes. */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
