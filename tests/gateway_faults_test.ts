/**
 * The gateway under faults, served by `Deno.serve` on loopback in front of local upstreams:
 * upstreams that reset mid-stream, stall, or answer garbage for their declared framing; clients
 * that dribble their headers or body (slow-loris) or abort at random points. Every client gets a
 * terminal error in its protocol or a clean end, no upstream request is left open (the upstreams
 * count them), no log line carries a secret, and a control client's requests all succeed
 * throughout.
 * @module
 */

import assert from "node:assert/strict";
import type { LlmProtocol } from "../src/protocols/bodies.ts";
import type { LlmEvent } from "../src/protocols/events.ts";
import { ADAPTERS } from "../src/gateway/_protocols.ts";
import { createGateway, type Gateway } from "../src/gateway/handler.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";
import { clientRequest as request } from "./_gateway_helpers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const SECRET_KEY = "sk-FAULTS-secret-canary-0123456789";
const AWS_SECRET = "AWS/FAULTS/secret+canary/9876543210";
const CREDENTIALS = { accessKeyId: "AKIDFAULTS", secretAccessKey: AWS_SECRET };
const PROTOCOLS: LlmProtocol[] = ["openai", "anthropic", "bedrock"];
const FIXTURE_FILES: Record<LlmProtocol, string> = {
  openai: "openai/chat_stream_text.sse",
  anthropic: "anthropic/messages_stream_text.sse",
  bedrock: "bedrock/converse_stream_text.bin",
};
const fixtures = Object.fromEntries(
  PROTOCOLS.map((p) => [p, Deno.readFileSync(new URL(FIXTURE_FILES[p], FIXTURES))]),
) as Record<LlmProtocol, Uint8Array<ArrayBuffer>>;

const DEBUG = Deno.env.get("FAULTS_DEBUG") === "1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32, so the random trials repeat. */
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

function streamType(protocol: LlmProtocol): string {
  return protocol === "bedrock" ? "application/vnd.amazon.eventstream" : "text/event-stream";
}

/** Which protocol an upstream request speaks, by its path. */
function protocolOfPath(path: string): LlmProtocol {
  if (path.includes("/model/")) return "bedrock";
  if (path.endsWith("/messages")) return "anthropic";
  return "openai";
}

/** Waits until `condition()` holds, up to `ms`; returns whether it did. */
async function settle(condition: () => boolean, ms = 2000): Promise<boolean> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) return false;
    await delay(10);
  }
  return true;
}

/**
 * An upstream on `Deno.serve` that counts its open requests: a request is open from its arrival
 * until its response body ends or is cancelled, or (when the handler never answers) until the
 * gateway aborts it.
 */
function upstreamServer(
  reply: (request: Request, body: string) => Response | Promise<Response>,
) {
  const state = { open: 0, total: 0 };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    state.open++;
    state.total++;
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        state.open--;
      }
    };
    request.signal.addEventListener("abort", close);
    const body = await request.text();
    let response: Response;
    try {
      response = await reply(request, body);
    } catch (error) {
      close();
      throw error;
    }
    if (response.body === null) {
      close();
      return response;
    }
    const reader = response.body.getReader();
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              close();
              controller.close();
            } else {
              controller.enqueue(value);
            }
          } catch (error) {
            close();
            controller.error(error);
          }
        },
        cancel(reason) {
          close();
          return reader.cancel(reason);
        },
      }),
      { status: response.status, headers: response.headers },
    );
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    state,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/**
 * An upstream on a raw TCP listener, for faults `Deno.serve` cannot produce (a connection closed
 * in the middle of a chunked body). `respond` gets the connection after the request was read.
 */
function rawUpstream(respond: (conn: Deno.Conn, path: string) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { open: 0, total: 0 };
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        let request = "";
        const buffer = new Uint8Array(65536);
        try {
          // Read the head and the body (Content-Length or chunked) of one request.
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) return;
            request += decoder.decode(buffer.subarray(0, n));
            const end = request.indexOf("\r\n\r\n");
            if (end === -1) continue;
            const head = request.slice(0, end).toLowerCase();
            const length = /content-length: *(\d+)/.exec(head);
            const body = request.slice(end + 4);
            if (length ? body.length >= Number(length[1]) : body.endsWith("0\r\n\r\n")) break;
          }
          state.open++;
          state.total++;
          try {
            await respond(conn, request.split(" ")[1] ?? "/");
          } finally {
            state.open--;
          }
        } catch {
          // The gateway hung up: that is what some faults are about.
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* already closed */ }
        }
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    state,
    [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      return Promise.resolve();
    },
  };
}

function instanceFor(protocol: LlmProtocol, url: string, limits: Record<string, number> = {}) {
  switch (protocol) {
    case "openai":
      return { type: "openai-compatible", baseUrl: url, apiKey: SECRET_KEY, ...limits };
    case "anthropic":
      return { type: "anthropic", baseUrl: url, apiKey: SECRET_KEY, ...limits };
    case "bedrock":
      return {
        type: "bedrock",
        region: "us-east-1",
        endpoint: url,
        credentials: CREDENTIALS,
        ...limits,
      };
  }
}

/** Models `openai`, `anthropic` and `bedrock` on `url`, plus `control` on an in-process mock. */
function modelsFor(url: string, limits: Record<string, number> = {}) {
  return {
    openai: { instances: [instanceFor("openai", url, limits)] },
    anthropic: { instances: [instanceFor("anthropic", url, limits)] },
    bedrock: { instances: [instanceFor("bedrock", url, limits)] },
    control: {
      instances: [{ type: "mock", protocol: "openai", firstTokenDelayMs: 0, tokenDelayMs: 0 }],
    },
  };
}

function gatewayServer(json: unknown) {
  const lines: string[] = [];
  const gateway: Gateway = createGateway(parseGatewayConfig(json), {
    logger: (line) => lines.push(line),
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => gateway.fetch(request),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    gateway,
    lines,
    async [Symbol.asyncDispose]() {
      await gateway.close();
      await server.shutdown();
    },
  };
}

function send(
  gw: { url: string },
  client: LlmProtocol,
  model: string,
  signal?: AbortSignal,
): Promise<Response> {
  const { path, body } = clientRequest(client, model);
  return fetch(gw.url + path, {
    method: "POST",
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

function decodeEvents(client: LlmProtocol, bytes: Uint8Array): LlmEvent[] {
  const d = ADAPTERS[client].decoder({ id: "x", model: "x" });
  return d.push(bytes).concat(d.end());
}

/**
 * What the client got: `"error"` for a terminal error in its protocol (an error status with an
 * error body in the client's shape, or a 200 stream whose last event is an error), `"complete"`
 * for a stream that ended with `message_stop` (and for Bedrock its metadata). Anything else
 * (a body that fails to read, a stream that just stops) fails the test.
 */
async function outcome(
  client: LlmProtocol,
  response: Response,
  what: string,
  passthrough = false,
) {
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) {
    const body = JSON.parse(decoder.decode(bytes));
    if (client === "openai") assert.equal(typeof body.error?.message, "string", what);
    else if (client === "anthropic") assert.equal(body.type, "error", what);
    else assert.ok(response.headers.get("x-amzn-errortype"), what);
    return { kind: "error" as const, status: response.status, events: [] as LlmEvent[] };
  }
  const events = decodeEvents(client, bytes);
  const last = events.at(-1);
  assert.ok(last !== undefined, `${what}: an empty stream`);
  if (last.type === "error") {
    if (DEBUG) console.log(what, JSON.stringify(last));
    // A well-formed error in the client's protocol, not our decoder's complaint about its bytes;
    // except in passthrough, where the upstream's bytes are relayed as they are, garbage too.
    if (!passthrough) {
      assert.ok(
        !(last.kind === "protocol_error" && /JSON|expected/.test(last.message)),
        `${what}: ${last.message}`,
      );
    }
    return { kind: "error" as const, status: 200, events };
  }
  assert.ok(
    events.some((e) => e.type === "message_stop"),
    `${what}: stream ended without a terminal event: ${JSON.stringify(last)}`,
  );
  return { kind: "complete" as const, status: 200, events };
}

/** Fails when a log line holds a secret or the prompt. */
function assertNoSecrets(lines: readonly string[]): void {
  assert.ok(lines.length > 0, "no log lines were captured");
  const all = lines.join("\n");
  for (const secret of [SECRET_KEY, AWS_SECRET, "PROMPT-CANARY"]) {
    assert.ok(!all.includes(secret), `a log line leaked ${secret}`);
  }
}

/**
 * A control client: streaming requests to the in-process mock model, one after another, until
 * stopped; every one must complete.
 */
function controlClient(gw: { url: string }) {
  let running = true;
  const failures: string[] = [];
  let done = 0;
  const loop = (async () => {
    while (running) {
      try {
        const response = await send(gw, "openai", "control");
        const result = await outcome("openai", response, "control");
        if (result.kind !== "complete") failures.push(`control: ${JSON.stringify(result)}`);
      } catch (error) {
        failures.push(`control: ${error}`);
      }
      done++;
      await delay(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      assert.deepEqual(failures, [], "the control client's requests failed");
      assert.ok(done > 0, "the control client made no request");
      return done;
    },
  };
}

/** Writes an HTTP/1.1 chunked response head. */
async function writeHead(conn: Deno.Conn, contentType: string): Promise<void> {
  await conn.write(encoder.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\n\r\n`,
  ));
}

async function writeChunk(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  await conn.write(encoder.encode(`${bytes.length.toString(16)}\r\n`));
  await conn.write(bytes);
  await conn.write(encoder.encode("\r\n"));
}

Deno.test("faults: an upstream connection reset mid-stream ends every client with a terminal error", async () => {
  await using upstream = rawUpstream(async (conn, path) => {
    const protocol = protocolOfPath(path);
    const fixture = fixtures[protocol];
    await writeHead(conn, streamType(protocol));
    await writeChunk(conn, fixture.subarray(0, Math.floor(fixture.length / 2)));
    await delay(20);
    // Close the socket inside a chunked body: the upstream went away.
    conn.close();
  });
  await using gw = gatewayServer({ models: modelsFor(upstream.url) });
  const control = controlClient(gw);
  for (const upstreamProtocol of PROTOCOLS) {
    for (const client of PROTOCOLS) {
      const what = `${client} client, ${upstreamProtocol} upstream`;
      const result = await outcome(client, await send(gw, client, upstreamProtocol), what);
      assert.equal(result.kind, "error", what);
      assert.ok(result.events.some((e) => e.type === "text_delta"), what);
    }
  }
  await control.stop();
  assert.ok(await settle(() => upstream.state.open === 0), `${upstream.state.open} left open`);
  assert.equal(upstream.state.total, 9);
  assert.ok(await settle(() => gw.gateway.activeStreams === 0));
  assertNoSecrets(gw.lines);
});

Deno.test("faults: upstream stalls past the first-byte timeout and the stream duration limit", async () => {
  await using upstream = upstreamServer((request, body) => {
    const protocol = protocolOfPath(new URL(request.url).pathname);
    if (body.includes("stall-headers")) {
      // Never answers: only the gateway's abort ends it (then the handler returns, so that the
      // server can shut down).
      return new Promise<Response>((resolve) =>
        request.signal.addEventListener("abort", () => resolve(new Response(null)))
      );
    }
    const fixture = fixtures[protocol];
    const first = body.includes("stall-body") ? [] : [fixture.subarray(0, 300)];
    let sent = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent < first.length) controller.enqueue(first[sent++]!);
          else await delay(1000); // stalls, pulled again only when the gateway reads on
        },
      }),
      { headers: { "content-type": streamType(protocol) } },
    );
  });
  await using gw = gatewayServer({
    models: modelsFor(upstream.url, { firstByteTimeoutMs: 150, maxStreamDurationMs: 600 }),
  });
  const control = controlClient(gw);
  const trials: Promise<void>[] = [];
  for (const stall of ["stall-headers", "stall-body", "stall-mid-stream"]) {
    for (const upstreamProtocol of PROTOCOLS) {
      for (const client of PROTOCOLS) {
        const what = `${stall}: ${client} client, ${upstreamProtocol} upstream`;
        const { path, body } = clientRequest(client, upstreamProtocol);
        // The stall marker rides in the prompt, which the gateway forwards.
        const text = JSON.stringify(body).replace("PROMPT-CANARY", `PROMPT-CANARY ${stall}`);
        trials.push((async () => {
          const started = performance.now();
          const response = await fetch(gw.url + path, { method: "POST", body: text });
          const result = await outcome(client, response, what);
          const elapsed = performance.now() - started;
          assert.equal(result.kind, "error", what);
          if (stall === "stall-mid-stream") {
            // Cut by maxStreamDurationMs: a 200 stream ending in an error, or a 504 when the
            // 300 bytes did not complete a frame (the gateway answers only once one is whole).
            assert.ok(result.status === 200 || result.status === 504, `${what}: ${result.status}`);
            assert.ok(elapsed >= 500 && elapsed < 3000, `${what}: ended after ${elapsed} ms`);
          } else {
            assert.equal(result.status, 504, what);
            assert.ok(elapsed < 2000, `${what}: ended after ${elapsed} ms`);
          }
        })());
      }
    }
  }
  await Promise.all(trials);
  await control.stop();
  assert.ok(await settle(() => upstream.state.open === 0), `${upstream.state.open} left open`);
  assert.equal(upstream.state.total, 27);
  assert.ok(await settle(() => gw.gateway.activeStreams === 0));
  assertNoSecrets(gw.lines);
});

Deno.test("faults: an upstream answering garbage for its framing gives each client a terminal error", async () => {
  const random = prng(0x6a7ba6e);
  const garbage = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const kinds = [
    // Random bytes.
    () => garbage(2000),
    // A valid start, then random bytes.
    (p: LlmProtocol) => new Uint8Array([...fixtures[p].subarray(0, 200), ...garbage(500)]),
    // The right framing around payloads that are not the protocol's JSON.
    (p: LlmProtocol) =>
      p === "bedrock"
        ? new Uint8Array([...fixtures.bedrock.subarray(0, 100), ...garbage(100)])
        : encoder.encode('data: {"not":"it"}\n\ndata: [1,2\n\nevent: x\ndata: }\n\n'),
    // One absurd length: an EventStream prelude claiming 4 GiB, an SSE line of 2 MiB.
    (p: LlmProtocol) =>
      p === "bedrock"
        ? new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x8d, 0xc1, 0x6e, 0x46, 1, 2, 3])
        : encoder.encode("data: " + "x".repeat(2 * 1024 * 1024)),
    // Nothing at all.
    () => new Uint8Array(),
  ];
  let kind = 0;
  await using upstream = upstreamServer((request) => {
    const protocol = protocolOfPath(new URL(request.url).pathname);
    const bytes = kinds[kind]!(protocol);
    return new Response(bytes, { headers: { "content-type": streamType(protocol) } });
  });
  await using gw = gatewayServer({ models: modelsFor(upstream.url) });
  const control = controlClient(gw);
  for (kind = 0; kind < kinds.length; kind++) {
    for (const upstreamProtocol of PROTOCOLS) {
      for (const client of PROTOCOLS) {
        const what = `garbage ${kind}: ${client} client, ${upstreamProtocol} upstream`;
        const response = await send(gw, client, upstreamProtocol);
        const result = await outcome(client, response, what, client === upstreamProtocol);
        assert.equal(result.kind, "error", what);
        if (result.status !== 200) assert.ok(result.status >= 500, `${what}: ${result.status}`);
      }
    }
  }
  await control.stop();
  assert.ok(await settle(() => upstream.state.open === 0), `${upstream.state.open} left open`);
  assert.ok(await settle(() => gw.gateway.activeStreams === 0));
  assertNoSecrets(gw.lines);
});

Deno.test("faults: slow-loris clients (headers or body dribbled) do not stall other clients", async () => {
  await using upstream = upstreamServer((request) => {
    const protocol = protocolOfPath(new URL(request.url).pathname);
    return new Response(fixtures[protocol], { headers: { "content-type": streamType(protocol) } });
  });
  await using gw = gatewayServer({ models: modelsFor(upstream.url) });
  const control = controlClient(gw);
  // Longer than the 100 bytes dribbled, so a client that hangs up never completes its body.
  const body = JSON.stringify(clientRequest("openai", "anthropic").body)
    .replace("PROMPT-CANARY", "PROMPT-CANARY " + "padding ".repeat(40));
  const head = (length: number) =>
    `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
    `content-length: ${length}\r\nconnection: close\r\n\r\n`;
  const request = encoder.encode(head(encoder.encode(body).length) + body);
  const headLength = encoder.encode(head(encoder.encode(body).length)).length;

  /** Dribbles `request` a byte at a time from `from` to `to`, then finishes or hangs up. */
  async function loris(from: number, to: number, finish: boolean): Promise<string | undefined> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: gw.port });
    try {
      await conn.write(request.subarray(0, from));
      for (let i = from; i < to; i++) {
        await conn.write(request.subarray(i, i + 1));
        await delay(15);
      }
      if (!finish) return undefined;
      await conn.write(request.subarray(to));
      let answer = "";
      const buffer = new Uint8Array(65536);
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        answer += decoder.decode(buffer.subarray(0, n));
      }
      return answer;
    } finally {
      conn.close();
    }
  }

  const started = performance.now();
  const lorises = [
    // Headers dribbled over ~1.5 s, then hang up / then finish.
    ...Array.from({ length: 10 }, (_, i) => loris(0, 100, i % 2 === 0)),
    // Full headers, body dribbled.
    ...Array.from({ length: 10 }, (_, i) => loris(headLength, headLength + 100, i % 2 === 0)),
  ];
  const answers = await Promise.all(lorises);
  const elapsed = performance.now() - started;
  for (const answer of answers) {
    if (answer === undefined) continue;
    assert.match(answer, /^HTTP\/1\.1 200 /, answer.slice(0, 200));
    assert.ok(answer.includes("data: [DONE]"), answer.slice(-200));
  }
  const controls = await control.stop();
  // The control client kept going while the slow clients dribbled.
  assert.ok(controls >= 10, `only ${controls} control requests in ${elapsed} ms`);
  assert.ok(await settle(() => upstream.state.open === 0), `${upstream.state.open} left open`);
  assert.equal(upstream.state.total, 10);
  assert.ok(await settle(() => gw.gateway.activeStreams === 0));
  assertNoSecrets(gw.lines);
});

Deno.test("faults: 200 clients aborting at random points leave no upstream request open", async () => {
  const SEED = 0x5eed8;
  const random = prng(SEED);
  // An upstream replaying each protocol's recording in small paced pieces.
  await using upstream = upstreamServer((request) => {
    const protocol = protocolOfPath(new URL(request.url).pathname);
    const fixture = fixtures[protocol];
    let at = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (at >= fixture.length) return controller.close();
          await delay(2);
          controller.enqueue(fixture.slice(at, at + 256));
          at += 256;
        },
      }),
      { headers: { "content-type": streamType(protocol) } },
    );
  });
  await using gw = gatewayServer({ models: modelsFor(upstream.url) });
  const control = controlClient(gw);
  const tally = { aborted: 0, error: 0, complete: 0 };
  async function trial(i: number): Promise<void> {
    const client = PROTOCOLS[Math.floor(random() * 3)]!;
    const upstreamProtocol = PROTOCOLS[Math.floor(random() * 3)]!;
    const mode = Math.floor(random() * 4);
    const wait = random() * 30;
    const reads = Math.floor(random() * 8);
    const what =
      `trial ${i} (seed ${SEED}): ${client} client, ${upstreamProtocol} upstream, mode ${mode}`;
    const controller = new AbortController();
    try {
      if (mode === 0) setTimeout(() => controller.abort(), wait); // at any time, headers included
      const response = await send(gw, client, upstreamProtocol, controller.signal);
      if (mode === 3) {
        // Reads to the end: must complete.
        const result = await outcome(client, response, what);
        assert.equal(result.kind, "complete", what);
        tally.complete++;
        return;
      }
      const reader = response.body!.getReader();
      for (let r = 0; r < reads; r++) if ((await reader.read()).done) break;
      if (mode === 1) await reader.cancel();
      else controller.abort();
      tally.aborted++;
    } catch (error) {
      if (controller.signal.aborted) tally.aborted++;
      else throw new Error(`${what}: ${error}`);
    }
  }
  for (let batch = 0; batch < 200; batch += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => trial(batch + j)));
  }
  await control.stop();
  assert.equal(tally.aborted + tally.complete + tally.error, 200);
  assert.ok(
    upstream.state.total >= 100,
    `only ${upstream.state.total} requests reached the upstream`,
  );
  assert.ok(tally.complete > 20 && tally.aborted > 100, JSON.stringify(tally));
  assert.ok(
    await settle(() => upstream.state.open === 0),
    `${upstream.state.open} upstream requests left open (seed ${SEED})`,
  );
  assert.ok(await settle(() => gw.gateway.activeStreams === 0), "gateway streams left active");
  assertNoSecrets(gw.lines);
});

/** A client request carrying a recognizable prompt, which must never reach a log line. */
function clientRequest(protocol: LlmProtocol, model: string, stream = true) {
  return request(protocol, model, { stream, prompt: "PROMPT-CANARY", maxTokens: 50 });
}
