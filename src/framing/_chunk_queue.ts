/**
 * A FIFO of byte chunks read as one contiguous stream, for framing decoders. Chunks are kept by
 * reference (never concatenated on arrival): a decoder parses a frame in place when it lies
 * inside the head chunk, and copies it out once with `copyTo` when it spans chunks.
 * @module
 */

/** Up to this many bytes, `copyTo` copies by hand instead of through a subarray view. */
const SMALL_COPY = 128;
/** Past this many consumed slots at the front, the chunk array is compacted. */
const COMPACT_AFTER = 64;

/**
 * Buffered input of a framing decoder.
 *
 * Positions in the methods below are relative to the first unconsumed byte.
 */
export class ChunkQueue {
  /** Chunks in arrival order; entries before `#first` are consumed and only await compaction. */
  #chunks: Uint8Array[] = [];
  #first = 0;
  /** Bytes already consumed from `#chunks[#first]`. */
  #firstOffset = 0;
  #length = 0;

  /** Number of buffered (unconsumed) bytes. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (by reference). Empty chunks are ignored. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /**
   * Copies `count` bytes from position `at` into `target` at `targetOffset`. Asking for bytes
   * that have not arrived is a decoder bug (decoders check `length` before they allocate a
   * buffer from a length read off the wire), so it throws rather than reading short.
   */
  copyTo(target: Uint8Array, targetOffset: number, at: number, count: number): void {
    if (at + count > this.#length) throw overrun(at + count, this.#length);
    if (count === 0) return;
    let i = this.#first;
    let pos = at + this.#firstOffset;
    let chunk = this.#chunks[i]!;
    while (pos >= chunk.length) {
      pos -= chunk.length;
      chunk = this.#chunks[++i]!;
    }
    while (count > 0) {
      const n = Math.min(count, chunk.length - pos);
      if (n <= SMALL_COPY) {
        // Creating a subarray view costs more than copying a few dozen bytes by hand.
        for (let k = 0; k < n; k++) target[targetOffset + k] = chunk[pos + k]!;
      } else if (n === chunk.length) {
        target.set(chunk, targetOffset);
      } else {
        target.set(chunk.subarray(pos, pos + n), targetOffset);
      }
      targetOffset += n;
      count -= n;
      pos = 0;
      chunk = this.#chunks[++i]!;
    }
  }

  /** The first chunk (holding the first unconsumed byte), or `undefined` when empty. */
  get headChunk(): Uint8Array | undefined {
    return this.#chunks[this.#first];
  }

  /** Offset of the first unconsumed byte inside {@linkcode ChunkQueue.headChunk}. */
  get headOffset(): number {
    return this.#firstOffset;
  }

  /** Discards the first `count` bytes. */
  skip(count: number): void {
    if (count > this.#length) throw overrun(count, this.#length);
    this.#length -= count;
    let offset = this.#firstOffset + count;
    let i = this.#first;
    const chunks = this.#chunks;
    while (i < chunks.length && offset >= chunks[i]!.length) {
      offset -= chunks[i]!.length;
      i++;
    }
    if (i === chunks.length) {
      // Everything consumed: drop the references so the chunks can be collected.
      chunks.length = 0;
      this.#first = 0;
      this.#firstOffset = 0;
      return;
    }
    this.#firstOffset = offset;
    if (i >= COMPACT_AFTER) {
      chunks.splice(0, i);
      i = 0;
    } else {
      for (let j = this.#first; j < i; j++) chunks[j] = EMPTY;
    }
    this.#first = i;
  }
}

function overrun(needed: number, length: number): RangeError {
  return new RangeError(`ChunkQueue: ${needed} bytes needed, ${length} buffered`);
}

/** Placeholder for consumed slots, so consumed chunks are not kept alive until compaction. */
const EMPTY = new Uint8Array(0);
