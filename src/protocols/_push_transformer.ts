/**
 * Private helper of the protocol streams: each is a thin `TransformStream` over a synchronous
 * push core (`push(input) → outputs`, `end() → outputs`), and this is that transformer.
 * @module
 */

/** A synchronous push core: a decoder or encoder that returns what each input completes. */
export interface PushCore<I, O> {
  /** Takes the next input; returns the outputs it completes. */
  push(input: I): O[];
  /** Ends the input; returns the last outputs. */
  end(): O[];
}

/**
 * The transformer of a stream over `core`: every input goes to `push`, the end of the input to
 * `end`, and what they return is enqueued in order.
 */
export function pushTransformer<I, O>(core: PushCore<I, O>): Transformer<I, O> {
  return {
    transform(input, controller) {
      const outputs = core.push(input);
      for (let i = 0; i < outputs.length; i++) controller.enqueue(outputs[i]!);
    },
    flush(controller) {
      for (const output of core.end()) controller.enqueue(output);
    },
  };
}
