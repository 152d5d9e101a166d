import assert from "node:assert/strict";
import { observeStream, type StreamObservation } from "../mod.ts";
import type { FixtureDescription } from "../scripts/generate_fixtures.ts";
import { chunkings, corporaPresent, readCorpusBytes } from "./_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const index: FixtureDescription[] = JSON.parse(
  Deno.readTextFileSync(new URL("index.json", FIXTURES)),
);

type Protocol = "bedrock" | "openai" | "anthropic";
const protocolOf = (file: string): Protocol => file.split("/")[0] as Protocol;

/** Pipes chunks through an observer; returns the forwarded chunks and the final observation. */
async function passThrough(
  protocol: Protocol,
  chunks: Uint8Array[],
): Promise<{ forwarded: Uint8Array[]; observation: StreamObservation }> {
  const observed = observeStream({ protocol });
  const forwarded = await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(observed));
  return { forwarded, observation: await observed.done };
}

for (const description of index) {
  Deno.test(`observeStream forwards fixtures/${description.file} untouched and sees what it says`, async () => {
    const bytes = Deno.readFileSync(new URL(description.file, FIXTURES));
    for (const { name, chunks } of chunkings(bytes, 32)) {
      const { forwarded, observation } = await passThrough(protocolOf(description.file), chunks);
      // The very same chunk objects, in order: no copy, nothing held back.
      assert.equal(forwarded.length, chunks.length, name);
      forwarded.forEach((chunk, i) => assert.equal(chunk, chunks[i], name));
      assert.equal(observation.bytes, bytes.length);
      assert.equal(observation.text, description.text, name);
      assert.deepEqual(observation.toolCalls, description.toolCalls ?? [], name);
      if (description.usage) {
        assert.equal(observation.usage?.inputTokens, description.usage.input);
        assert.equal(observation.usage?.outputTokens, description.usage.output);
        assert.equal(observation.usage?.totalTokens, description.usage.total);
      } else {
        assert.equal(observation.usage, undefined);
      }
      assert.equal(observation.rawStopReason, description.stopReason);
      assert.equal(observation.error?.providerType, description.error?.type);
      assert.equal(observation.error?.message, description.error?.message);
      assert.equal(observation.state, "complete");
      assert.equal(observation.decodeError, undefined);
      assert.equal(typeof observation.ttftMs, "number");
    }
  });
}

Deno.test({
  name: "observeStream sees the usage of the recorded APISIX Bedrock stream",
  ignore: !corporaPresent("observeStream on recorded streams"),
  async fn() {
    const bytes = readCorpusBytes("recorded/bedrock/apisix/bedrock-converse-streaming.bin");
    const { forwarded, observation } = await passThrough("bedrock", [bytes]);
    assert.equal(forwarded[0], bytes);
    assert.equal(observation.text, "Hello.");
    assert.deepEqual(
      [
        observation.usage?.inputTokens,
        observation.usage?.outputTokens,
        observation.usage?.totalTokens,
      ],
      [13, 5, 18],
    );
    assert.equal(observation.stopReason, "end_turn");
  },
});

Deno.test("observeStream: corrupt framing stops the observation, never the bytes", async () => {
  const bytes = Deno.readFileSync(new URL("bedrock/converse_stream_text.bin", FIXTURES)).slice();
  bytes[300] = bytes[300]! ^ 0xff;
  const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000)];
  const { forwarded, observation } = await passThrough("bedrock", chunks);
  assert.deepEqual(forwarded, chunks);
  assert.match(observation.decodeError ?? "", /CRC/);
  assert.equal(observation.state, "incomplete");
  assert.equal(observation.bytes, bytes.length);
});

Deno.test("observeStream: a stream in another protocol is an error, not silence", async () => {
  const bytes = Deno.readFileSync(new URL("openai/chat_stream_text.sse", FIXTURES));
  const { forwarded, observation } = await passThrough("anthropic", [bytes]);
  assert.deepEqual(forwarded, [bytes]);
  assert.equal(observation.error?.kind, "protocol_error");
  assert.equal(observation.state, "incomplete");
});

Deno.test("observeStream: bytes that end mid-message are incomplete", async () => {
  const bytes = Deno.readFileSync(new URL("anthropic/messages_stream_text.sse", FIXTURES));
  const cut = bytes.subarray(0, 900);
  const { observation } = await passThrough("anthropic", [cut]);
  assert.equal(observation.state, "incomplete");
  assert.equal(observation.error?.kind, "protocol_error");
  assert.equal(observation.stopReason, undefined);
  assert.ok(
    observation.text.length > 0 &&
      "Hello! llmwire decodes".startsWith(observation.text.slice(0, 5)),
  );
});

Deno.test("observeStream: a consumer that cancels ends the observation as cancelled", async () => {
  const bytes = Deno.readFileSync(new URL("openai/chat_stream_text.sse", FIXTURES));
  const completed: StreamObservation[] = [];
  const observed = observeStream({ protocol: "openai", onComplete: (o) => completed.push(o) });
  const reader = ReadableStream.from([bytes.subarray(0, 400), bytes.subarray(400)])
    .pipeThrough(observed).getReader();
  await reader.read();
  await reader.cancel(new Error("client went away"));
  const observation = await observed.done;
  assert.equal(observation.state, "cancelled");
  assert.equal(observation.cancelReason, "client went away");
  assert.deepEqual(completed, [observation]);
});

Deno.test("observeStream: time to first token counts to the first chunk with model output", async () => {
  const bytes = Deno.readFileSync(new URL("bedrock/converse_stream_text.bin", FIXTURES));
  // The first frame (messageStart) carries no output; the text arrives 50 ms later.
  const first = bytes.subarray(0, 80);
  const rest = bytes.subarray(80);
  const startedAt = performance.now();
  const observed = observeStream({ protocol: "bedrock", startedAt });
  let sent = 0;
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) controller.enqueue(first);
      else if (sent === 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        controller.enqueue(rest);
      } else controller.close();
      sent++;
    },
  });
  await Array.fromAsync(source.pipeThrough(observed));
  const observation = await observed.done;
  assert.ok(observation.ttftMs! >= 45, `ttft ${observation.ttftMs}`);
  assert.ok(observation.durationMs! >= observation.ttftMs!);
});
