import assert from "node:assert/strict";
import {
  encodeSseEvent,
  SseDecoder,
  type SseDecoderOptions,
  SseDecoderStream,
  SseEncoderStream,
  SseError,
  type SseEvent,
} from "../src/framing/mod.ts";
import { chunkings, collect } from "./_helpers.ts";

const utf8 = new TextEncoder();

interface Decoded {
  events: SseEvent[];
  retry: number[];
  comments: string[];
  lastEventId: string;
}

/** Feeds `chunks` to a fresh push parser and records everything it reports. */
function decode(chunks: Iterable<Uint8Array | string>, options: SseDecoderOptions = {}): Decoded {
  const retry: number[] = [];
  const comments: string[] = [];
  const decoder = new SseDecoder({
    ...options,
    onRetry: (ms) => retry.push(ms),
    onComment: (comment) => comments.push(comment),
  });
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...decoder.push(chunk));
  events.push(...decoder.end());
  return { events, retry, comments, lastEventId: decoder.lastEventId };
}

function decodeText(text: string, options: SseDecoderOptions = {}): SseEvent[] {
  return decode([utf8.encode(text)], options).events;
}

Deno.test("SseDecoder dispatches a data-only event", () => {
  assert.deepEqual(decodeText("data: hello\n\n"), [{ data: "hello" }]);
});

Deno.test("SseDecoderStream joins multi-line data", async () => {
  const events = await collect(
    [utf8.encode("data: YHOO\ndata: +2\n"), utf8.encode("data: 10\n\n")],
    new SseDecoderStream(),
  );
  assert.deepEqual(events, [{ data: "YHOO\n+2\n10" }]);
});

Deno.test("SseDecoder reports event type, own id and retry on the event", () => {
  const retries: number[] = [];
  const decoder = new SseDecoder({ onRetry: (ms) => retries.push(ms) });
  const events = decoder.push(
    "event: update\nid: 7\nretry: 2500\ndata: x\n\nretry: 10a\nretry: 30\n\ndata: y\n\n",
  );
  assert.deepEqual(events, [
    { event: "update", data: "x", id: "7", retry: 2500 },
    { data: "y" },
  ]);
  assert.deepEqual(retries, [2500, 30]);
  assert.equal(decoder.lastEventId, "7");
});

Deno.test("SseDecoder keeps an explicit 'message' type and drops an empty one", () => {
  assert.deepEqual(decodeText("event: message\ndata: a\n\nevent:\ndata: b\n\n"), [
    { event: "message", data: "a" },
    { data: "b" },
  ]);
});

Deno.test("SseDecoder ignores an id with NUL and fields that only start like known ones", () => {
  const decoded = decode([
    "id: 1\ndata: a\n\nid: 2\u00003\ndatax: no\ndata: b\nevents: no\nidx: no\nretryx: 5\n\n",
  ]);
  assert.deepEqual(decoded.events, [{ data: "a", id: "1" }, { data: "b" }]);
  assert.equal(decoded.lastEventId, "1");
  assert.deepEqual(decoded.retry, []);
});

Deno.test("SseDecoder strips a BOM only at the start, also when split or given as text", () => {
  const bom = [0xef, 0xbb, 0xbf];
  const bytes = new Uint8Array([...bom, ...utf8.encode("data: a\n\n"), ...bom, 0x3a, 0x0a]);
  for (const { name, chunks } of chunkings(bytes)) {
    const decoded = decode(chunks);
    assert.deepEqual(decoded.events, [{ data: "a" }], name);
    assert.deepEqual(decoded.comments, [], name); // "\uFEFF:" is a field named "\uFEFF"
  }
  assert.deepEqual(decode(["\uFEFF", "data: a\n\n"]).events, [{ data: "a" }]);
  assert.deepEqual(decode(["", "\uFEFFdata: a\n\n"]).events, [{ data: "a" }]);
  assert.deepEqual(decode(["data: a\n\n", "\uFEFFdata: b\n\n"]).events, [{ data: "a" }]);
});

Deno.test("SseDecoder treats CR, LF and CRLF alike, also when CRLF is split", () => {
  const text = "data: a\r\ndata: b\rdata: c\n\r\n" + "data: d\r\r";
  const bytes = utf8.encode(text);
  for (const { name, chunks } of chunkings(bytes)) {
    assert.deepEqual(decode(chunks).events, [{ data: "a\nb\nc" }, { data: "d" }], name);
  }
  // CR at the end of one string chunk, LF at the start of the next: one terminator.
  assert.deepEqual(decode(["data: a\r", "\ndata: b\r", "\n\r", "\n"]).events, [{ data: "a\nb" }]);
  // An empty chunk between CR and LF does not forget the pending CR.
  assert.deepEqual(
    decode([utf8.encode("data: a\r"), new Uint8Array(0), "", utf8.encode("\n\n")]).events,
    [{ data: "a" }],
  );
});

Deno.test("SseDecoder reassembles UTF-8 split inside a code point", () => {
  const text = "event: \u00e9v\u00e9nement\ndata: 我現在 😀\n\n";
  const bytes = utf8.encode(text);
  for (const { name, chunks } of chunkings(bytes)) {
    assert.deepEqual(decode(chunks).events, [{ event: "événement", data: "我現在 😀" }], name);
  }
});

Deno.test("SseDecoder replaces invalid and truncated UTF-8 with U+FFFD", () => {
  const bytes = new Uint8Array([...utf8.encode("data: a"), 0xff, 0x0a, 0x0a, 0xe6, 0x88]);
  assert.deepEqual(decode([bytes]).events, [{ data: "a\ufffd" }]);
  assert.deepEqual(decode([bytes], { flushIncompleteEvent: true }).events, [{ data: "a\ufffd" }]);
  const truncated = new Uint8Array([...utf8.encode("data: b"), 0xe6, 0x88]);
  assert.deepEqual(decode([truncated], { flushIncompleteEvent: true }).events, [
    { data: "b\ufffd" },
  ]);
});

Deno.test("SseDecoder accepts bytes and text mixed", () => {
  const euro = utf8.encode("\u20ac");
  assert.deepEqual(
    decode([utf8.encode("data: a"), "b", euro, "\ndata:", euro.subarray(0, 1), "\n\n"]).events,
    [{ data: "ab\u20ac\n\ufffd" }],
  );
});

Deno.test("SseDecoder discards an unterminated last event unless flushIncompleteEvent", () => {
  for (const tail of ["data: b\n", "data: b", "data: b\r"]) {
    const text = `data: a\n\n${tail}`;
    assert.deepEqual(decodeText(text), [{ data: "a" }], JSON.stringify(text));
    assert.deepEqual(
      decodeText(text, { flushIncompleteEvent: true }),
      [{ data: "a" }, { data: "b" }],
      JSON.stringify(text),
    );
  }
  assert.deepEqual(decodeText("event: e\nid: 3\n", { flushIncompleteEvent: true }), []);
});

Deno.test("SseDecoder.end resets for a new stream and keeps lastEventId", () => {
  const decoder = new SseDecoder();
  assert.deepEqual(decoder.push("id: 9\ndata: a\n\ndata: partial"), [{ data: "a", id: "9" }]);
  assert.deepEqual(decoder.end(), []);
  assert.deepEqual(decoder.push("\uFEFFdata: b\n\n"), [{ data: "b" }]);
  assert.equal(decoder.lastEventId, "9");
});

Deno.test("SseDecoderStream exposes lastEventId and accepts text chunks", async () => {
  const stream = new SseDecoderStream({ flushIncompleteEvent: true });
  const events = await collect(["id: a\ndata: 1\n\nid\n\n", "id: b\ndata: 2"], stream);
  assert.deepEqual(events, [{ data: "1", id: "a" }, { data: "2", id: "b" }]);
  assert.equal(stream.lastEventId, "b");
});

Deno.test("SseDecoder passes comment text after the colon to onComment", () => {
  assert.deepEqual(decode([": ping\n:\n::x\ndata: a\n: in block\n\n"]).comments, [
    " ping",
    "",
    ":x",
    " in block",
  ]);
});

Deno.test("SseDecoder rejects a non-positive maxEventBytes", () => {
  assert.throws(() => new SseDecoder({ maxEventBytes: 0 }), RangeError);
  assert.throws(() => new SseDecoder({ maxEventBytes: Number.NaN }), RangeError);
});

// --- limits ------------------------------------------------------------------------------------

function assertTooLarge(fn: () => unknown, message?: string): void {
  assert.throws(
    fn,
    (error) => error instanceof SseError && error.code === "event_too_large",
    message,
  );
}

Deno.test("SseDecoder throws event_too_large for data accumulated over many lines", () => {
  const decoder = new SseDecoder({ maxEventBytes: 1000 });
  const line = `data: ${"x".repeat(99)}\n`; // 99 bytes of data + 1 LF join per line
  assert.deepEqual(decoder.push(line.repeat(10)), []); // 10 * 99 + 9 = 999 bytes
  assertTooLarge(() => decoder.push(line)); // 1099 bytes
  // The error is sticky.
  assertTooLarge(() => decoder.push("\n"));
  assertTooLarge(() => decoder.end());
});

Deno.test("SseDecoder counts maxEventBytes in UTF-8 bytes", () => {
  const euro5 = "\u20ac".repeat(5); // 15 bytes, 5 code units
  // 15 + 1 + 12 = 28 bytes of data.
  assert.deepEqual(
    decodeText(`data: ${euro5}\ndata: ${euro5.slice(1)}\n\n`, { maxEventBytes: 30 }),
    [{ data: `${euro5}\n${euro5.slice(1)}` }],
  );
  // 15 + 1 + 15 = 31 bytes.
  assertTooLarge(() => decodeText(`data: ${euro5}\ndata: ${euro5}\n\n`, { maxEventBytes: 30 }));
  // A 24-byte line (6 + 6 * 3) passes a 24-byte limit, a 26-byte one (2 + 8 * 3) does not.
  assert.deepEqual(decodeText(`data: ${euro5}\u20ac\n\n`, { maxEventBytes: 24 }), [
    { data: euro5 + "\u20ac" },
  ]);
  assertTooLarge(() => decodeText(`: ${euro5}\u20ac\u20ac\u20ac\n\n`, { maxEventBytes: 24 }));
});

Deno.test("SseDecoder measures long non-ASCII lines exactly for any chunking", () => {
  const euro = "\u20ac";
  const cases: [text: string, fits: boolean][] = [
    [`data: ${euro.repeat(998)}\n\n`, true], // 6 + 2994 = 3000 bytes
    [`data: ${euro.repeat(999)}\n\n`, false], // 3003 bytes
    [`data: ${"a".repeat(1500)}${euro.repeat(498)}\n\n`, true], // 3000 bytes
    [`data: ${"a".repeat(1500)}${euro.repeat(499)}\n\n`, false], // 3003 bytes
    [`data: ${euro.repeat(500)}${"a".repeat(1494)}\n\n`, true], // 3000 bytes
    [`data: ${euro.repeat(500)}${"a".repeat(1495)}\n\n`, false], // 3001 bytes
  ];
  for (const [text, fits] of cases) {
    const bytes = utf8.encode(text);
    const runs: [string, (Uint8Array | string)[]][] = [...chunkings(bytes, 16)].map((
      { name, chunks },
    ) => [name, chunks]);
    runs.push(["text", [text]], ["text in 100s", text.match(/[^]{1,100}/g)!]);
    for (const [name, chunks] of runs) {
      const label = `${text.length} code units, ${name}`;
      if (fits) {
        const events = decode(chunks, { maxEventBytes: 3000 }).events;
        assert.equal(events.length, 1, label);
        assert.equal(utf8.encode(events[0]!.data).length, 2994, label);
      } else {
        assertTooLarge(() => decode(chunks, { maxEventBytes: 3000 }), label);
      }
    }
  }
});

Deno.test("SseDecoder throws event_too_large for a big unterminated line before it ends", () => {
  const max = 64 * 1024;
  const decoder = new SseDecoder({ maxEventBytes: max });
  const piece = "x".repeat(1024);
  assert.deepEqual(decoder.push("data: "), []);
  let fed = 6;
  let thrown: unknown;
  try {
    for (let i = 0; i < 1000; i++) {
      decoder.push(utf8.encode(piece));
      fed += piece.length;
    }
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof SseError && thrown.code === "event_too_large");
  // Rejected as soon as the pending line exceeded the limit: memory stays bounded.
  assert.ok(fed <= max && fed + piece.length > max, `fed ${fed}`);
});

Deno.test("SseDecoder enforces the line limit for any chunking, including comments", () => {
  const bytes = utf8.encode(`data: a\n\n: ${"c".repeat(300)}\n\ndata: b\n\n`);
  for (const { name, chunks } of chunkings(bytes, 64)) {
    assertTooLarge(() => decode(chunks, { maxEventBytes: 256 }), name);
    assert.equal(decode(chunks, { maxEventBytes: 303 }).events.length, 2, name);
  }
});

Deno.test("SseDecoderStream errors with event_too_large", async () => {
  await assert.rejects(
    collect(
      [utf8.encode(`data: ${"x".repeat(2000)}`)],
      new SseDecoderStream({ maxEventBytes: 1000 }),
    ),
    (error) => error instanceof SseError && error.code === "event_too_large",
  );
  // The default limit is 1 MiB.
  const big = `data: ${"y".repeat(1024 * 1024)}\n\n`;
  await assert.rejects(
    collect([big], new SseDecoderStream()),
    (error) => error instanceof SseError && error.code === "event_too_large",
  );
  const events = await collect([big], new SseDecoderStream({ maxEventBytes: 2 * 1024 * 1024 }));
  assert.equal(events[0]?.data.length, 1024 * 1024);
});

Deno.test("SseDecoder returns the events before an oversized one, then throws", async () => {
  const input = utf8.encode(`data: one\n\ndata: two\n\ndata: ${"x".repeat(200)}\n\n`);
  const decoder = new SseDecoder({ maxEventBytes: 100 });
  assert.deepEqual(decoder.push(input), [{ data: "one" }, { data: "two" }]);
  assert.throws(
    () => decoder.push(utf8.encode("data: later\n\n")),
    (error) => error instanceof SseError && error.code === "event_too_large",
  );
  assert.throws(() => decoder.end(), SseError);
  // Through the stream: both events arrive before the stream errors.
  const seen: string[] = [];
  await assert.rejects(
    ReadableStream.from([input]).pipeThrough(new SseDecoderStream({ maxEventBytes: 100 }))
      .pipeTo(new WritableStream({ write: (event) => void seen.push(event.data) })),
    (error) => error instanceof SseError && error.code === "event_too_large",
  );
  assert.deepEqual(seen, ["one", "two"]);
});

Deno.test("SseDecoderStream delivers the events before an error found at the end", async () => {
  // Both events come out of one push(); the reader takes the first, the second waits in the
  // readable queue while the end of input errors the stream.
  const input = utf8.encode(`data: a\n\ndata: b\n\ndata: ${"x".repeat(200)}`);
  const reader = ReadableStream.from([input])
    .pipeThrough(new SseDecoderStream({ maxEventBytes: 100, flushIncompleteEvent: true }))
    .getReader();
  assert.deepEqual(await reader.read(), { done: false, value: { data: "a" } });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(await reader.read(), { done: false, value: { data: "b" } });
  await assert.rejects(
    reader.read(),
    (error) => error instanceof SseError && error.code === "event_too_large",
  );
});

// --- linear time -------------------------------------------------------------------------------

/**
 * Runs `work` while counting the characters that `String.prototype.indexOf` scans and that
 * `Array.prototype.join` produces: a parser that re-scans or re-joins its buffer per chunk makes
 * these grow with the square of the input, a linear one keeps them proportional to it.
 */
function countScansAndJoins(work: () => void): { scanned: number; joined: number } {
  const indexOf = String.prototype.indexOf;
  const join = Array.prototype.join;
  const counts = { scanned: 0, joined: 0 };
  String.prototype.indexOf = function (this: string, search: string, from?: number) {
    const start = Math.max(0, Math.min(from ?? 0, this.length));
    const found = indexOf.call(this, search, start);
    counts.scanned += (found === -1 ? this.length : found) - start;
    return found;
  };
  Array.prototype.join = function (this: unknown[], separator?: string) {
    const joined = join.call(this, separator);
    counts.joined += joined.length;
    return joined;
  };
  try {
    work();
  } finally {
    String.prototype.indexOf = indexOf;
    Array.prototype.join = join;
  }
  return counts;
}

Deno.test("SseDecoder decodes one 4 MB line fed in 1 KiB chunks in linear work", () => {
  const size = 4 * 1024 * 1024;
  const bytes = new Uint8Array(size + 8);
  bytes.set(utf8.encode("data: "));
  bytes.fill(0x61, 6, size + 6);
  bytes.set([0x0a, 0x0a], size + 6);
  let events: SseEvent[] = [];
  const counts = countScansAndJoins(() => {
    const decoder = new SseDecoder({ maxEventBytes: 8 * 1024 * 1024 });
    for (let i = 0; i < bytes.length; i += 1024) {
      events.push(...decoder.push(bytes.subarray(i, i + 1024)));
    }
    events = events.concat(decoder.end());
  });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.data.length, size);
  assert.equal(events[0]!.data.charCodeAt(size - 1), 0x61);
  // One pass each for LF, CR and the ASCII check; quadratic re-scanning would be ~4096 * 2 MB
  // = 8 GB of characters.
  assert.ok(counts.scanned <= 3 * bytes.length, `scanned ${counts.scanned}`);
  assert.ok(counts.joined <= 2 * bytes.length, `joined ${counts.joined}`);
});

Deno.test("SseDecoder does linear work for many small events in small chunks", () => {
  const text = "event: e\ndata: 0123456789\r\n\r\n".repeat(5000) + ": done\r";
  const bytes = utf8.encode(text);
  const counts = countScansAndJoins(() => {
    for (const size of [1, 7, 1024, bytes.length]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const decoded = decode(chunks);
      assert.equal(decoded.events.length, 5000);
      assert.deepEqual(decoded.comments, [" done"]);
    }
  });
  assert.ok(counts.scanned <= 4 * 3 * bytes.length, `scanned ${counts.scanned}`);
});

// --- encoder -----------------------------------------------------------------------------------

Deno.test("encodeSseEvent writes fields and one data line per line", () => {
  assert.equal(encodeSseEvent({ data: "" }), "data: \n\n");
  assert.equal(encodeSseEvent({ data: "a\r\nb\rc\nd" }), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  assert.equal(encodeSseEvent({ event: "", data: "x" }), "data: x\n\n");
  assert.equal(encodeSseEvent({ data: "x", id: "" }), "id\ndata: x\n\n");
  assert.equal(
    encodeSseEvent({ event: " e", data: " x", id: " 1", retry: 0 }),
    "event:  e\nid:  1\nretry: 0\ndata:  x\n\n",
  );
  assert.deepEqual(decodeText(encodeSseEvent({ event: " e", data: " x", id: " 1", retry: 0 })), [
    { event: " e", data: " x", id: " 1", retry: 0 },
  ]);
});

Deno.test("encodeSseEvent rejects events it cannot write", () => {
  const bad: unknown[] = [
    { event: "a\nb", data: "" },
    { event: "a\rb", data: "" },
    { data: "", id: "1\n" },
    { data: "", id: "\r" },
    { data: "", id: "a\u0000b" },
    { data: "", retry: -1 },
    { data: "", retry: 1.5 },
    { data: "", retry: Number.NaN },
    { data: "", retry: Number.POSITIVE_INFINITY },
    { data: "", retry: 2 ** 53 },
    { data: 42 },
    { event: 1, data: "" },
  ];
  for (const event of bad) {
    assert.throws(
      () => encodeSseEvent(event as SseEvent),
      (error) => error instanceof SseError && error.code === "invalid_event",
      JSON.stringify(event),
    );
  }
});

Deno.test("SseEncoderStream writes UTF-8 and errors on an invalid event", async () => {
  const chunks = await collect(
    [{ event: "ping", data: "é" }, { data: "[DONE]" }] satisfies SseEvent[],
    new SseEncoderStream(),
  );
  assert.deepEqual(
    chunks.map((c) => new TextDecoder().decode(c)),
    ["event: ping\ndata: é\n\n", "data: [DONE]\n\n"],
  );
  await assert.rejects(
    collect(
      [{ data: "ok" }, { data: "x", id: "a\nb" }] satisfies SseEvent[],
      new SseEncoderStream(),
    ),
    (error) => error instanceof SseError && error.code === "invalid_event",
  );
});

Deno.test("SseEncoderStream output decodes back through SseDecoderStream", async () => {
  const events: SseEvent[] = [
    { event: "message_start", data: '{"type":"message_start"}', id: "1" },
    { data: "two\nlines", retry: 1500 },
    { data: "" },
    { event: "message", data: "explicit message type", id: "" },
  ];
  const decoded = await Array.fromAsync(
    ReadableStream.from(events).pipeThrough(new SseEncoderStream()).pipeThrough(
      new SseDecoderStream(),
    ),
  );
  assert.deepEqual(decoded, events);
});
