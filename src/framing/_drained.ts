/**
 * Module-private helper shared by the framing decoder streams.
 * @module
 */

/**
 * Waits until a transform stream's readable side has handed out everything enqueued so far.
 *
 * Erroring a stream discards the chunks still queued in it, so an error found at the end
 * (a truncated tail) would swallow the valid messages decoded from the last chunk. The streams
 * API gives a transformer no "drained" signal, hence the polling; it runs only on that error
 * path and stops when the reader cancels (the desired size is then no longer negative).
 */
export async function drained(
  controller: TransformStreamDefaultController<unknown>,
): Promise<void> {
  while ((controller.desiredSize ?? 0) < 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
