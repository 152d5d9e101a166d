/**
 * `deno task bench:gateway`: load on the gateway over real HTTP on loopback, against a local mock
 * upstream (a `Deno.serve` in its own process replaying a fixed stream with small token pacing),
 * all in one run so the figures compare:
 *
 * - **direct**: clients → mock upstream (OpenAI SSE);
 * - **passthrough**: OpenAI clients → gateway (`deno task gateway`, its own process) → the same
 *   upstream as an OpenAI-compatible instance;
 * - **conversion**: OpenAI clients → gateway → the upstream as a Bedrock instance (ConverseStream
 *   EventStream converted to OpenAI SSE).
 *
 * For 50 and 200 concurrent streaming clients (closed loop): requests/s, p50/p99 time to first
 * byte and total time, gateway CPU (from /proc/<pid>/stat) and peak RSS (/proc/<pid>/status).
 * Then 1,000 concurrently open slow streams through the gateway, with its RSS. Prints a markdown
 * table and the checks of issue 8; exits 1 when one fails.
 *
 * ```sh
 * deno task bench:gateway                      # 5 s per scenario
 * deno task bench:gateway --seconds 10 --tokens 40 --pace-ms 2
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { encodeEventStreamMessage } from "../../src/framing/event_stream.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    role: { type: "string", default: "bench" },
    port: { type: "string" },
    seconds: { type: "string", default: "5" },
    tokens: { type: "string", default: "20" },
    "pace-ms": { type: "string", default: "1" },
    slow: { type: "string", default: "1000" },
    upstream: { type: "string" },
  },
});
const TOKENS = Number(values.tokens);
const PACE_MS = Number(values["pace-ms"]);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// The mock upstream (its own process)
// ---------------------------------------------------------------------------------------------

/** The OpenAI stream the upstream replays: a role chunk, `TOKENS` token chunks, a stop. */
function openaiEvents(): Uint8Array[] {
  const chunk = (delta: unknown, finish: string | null) =>
    encoder.encode(
      `data: ${
        JSON.stringify({
          id: "chatcmpl-load",
          object: "chat.completion.chunk",
          created: 0,
          model: "load",
          choices: [{ index: 0, delta, finish_reason: finish }],
        })
      }\n\n`,
    );
  return [
    chunk({ role: "assistant", content: "" }, null),
    ...Array.from({ length: TOKENS }, (_, i) => chunk({ content: `token${i} ` }, null)),
    chunk({}, "stop"),
    encoder.encode("data: [DONE]\n\n"),
  ];
}

/** The same reply as a Bedrock ConverseStream: start, `TOKENS` deltas, stop, metadata. */
function bedrockFrames(): Uint8Array[] {
  const frame = (type: string, body: unknown) =>
    encodeEventStreamMessage({
      headers: {
        ":event-type": { type: "string", value: type },
        ":content-type": { type: "string", value: "application/json" },
        ":message-type": { type: "string", value: "event" },
      },
      payload: encoder.encode(JSON.stringify(body)),
    });
  return [
    frame("messageStart", { role: "assistant" }),
    ...Array.from(
      { length: TOKENS },
      (_, i) => frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: `token${i} ` } }),
    ),
    frame("contentBlockStop", { contentBlockIndex: 0 }),
    frame("messageStop", { stopReason: "end_turn" }),
    frame("metadata", {
      usage: { inputTokens: 5, outputTokens: TOKENS, totalTokens: 5 + TOKENS },
      metrics: { latencyMs: 1 },
    }),
  ];
}

function serveUpstream(port: number): void {
  const openai = openaiEvents();
  const bedrock = bedrockFrames();
  Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.text();
    const isBedrock = new URL(request.url).pathname.includes("/model/");
    const frames = isBedrock ? bedrock : openai;
    // Slow streams: one frame every 500 ms, held open for the RSS check.
    const pace = body.includes("SLOW") ? 500 : PACE_MS;
    let i = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i >= frames.length) return controller.close();
          if (i > 0 && pace > 0) await delay(pace);
          controller.enqueue(frames[i++]!);
        },
      }),
      {
        headers: {
          "content-type": isBedrock ? "application/vnd.amazon.eventstream" : "text/event-stream",
        },
      },
    );
  });
}

/**
 * The floor: the smallest proxy Deno can run (`Deno.serve` + `fetch`, the body piped through
 * untouched), for what the gateway's HTTP stack costs before any of its own work.
 */
function serveProxy(port: number, upstream: string): void {
  Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const response = await fetch(upstream + url.pathname, {
      method: request.method,
      headers: { "content-type": "application/json" },
      body: request.method === "GET" ? null : await request.arrayBuffer(),
      signal: request.signal,
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  });
}

// ---------------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------------

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      await delay(50);
    }
  }
  throw new Error(`${url} did not come up`);
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

interface Sample {
  ttfb: number;
  total: number;
}

interface ScenarioResult {
  name: string;
  concurrency: number;
  requests: number;
  failures: number;
  rps: number;
  ttfb50: number;
  ttfb99: number;
  total50: number;
  total99: number;
  /** Gateway CPU, as a share of one core; undefined for direct runs. */
  cpu: number | undefined;
  /** Gateway peak RSS, bytes. */
  rss: number | undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

const CHAT_BODY = (model: string, prompt = "Hi") =>
  JSON.stringify({ model, stream: true, messages: [{ role: "user", content: prompt }] });

/** One streaming request: time to the first body byte and to the end. */
async function streamOnce(url: string, body: string): Promise<Sample> {
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer load" },
    body,
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`status ${response.status}`);
  }
  const reader = response.body!.getReader();
  let ttfb = NaN;
  let bytes = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (bytes === 0) ttfb = performance.now() - started;
    bytes += value.length;
  }
  if (bytes === 0) throw new Error("empty body");
  return { ttfb, total: performance.now() - started };
}

async function scenario(
  name: string,
  url: string,
  body: string,
  concurrency: number,
  seconds: number,
  gatewayPid: number | undefined,
): Promise<ScenarioResult> {
  // Warm-up: one round of requests, not counted.
  await Promise.all(
    Array.from({ length: concurrency }, () => streamOnce(url, body).catch(() => {})),
  );
  const samples: Sample[] = [];
  let failures = 0;
  const cpuBefore = gatewayPid === undefined ? 0 : cpuSeconds(gatewayPid);
  let rssPeak = 0;
  const sampler = gatewayPid === undefined
    ? undefined
    : setInterval(() => rssPeak = Math.max(rssPeak, rssBytes(gatewayPid)), 100);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      try {
        samples.push(await streamOnce(url, body));
      } catch {
        failures++;
      }
    }
  }));
  const wall = (performance.now() - started) / 1000;
  if (sampler !== undefined) clearInterval(sampler);
  const cpu = gatewayPid === undefined ? undefined : (cpuSeconds(gatewayPid) - cpuBefore) / wall;
  if (gatewayPid !== undefined) rssPeak = Math.max(rssPeak, rssBytes(gatewayPid));
  const ttfbs = samples.map((s) => s.ttfb).sort((a, b) => a - b);
  const totals = samples.map((s) => s.total).sort((a, b) => a - b);
  return {
    name,
    concurrency,
    requests: samples.length,
    failures,
    rps: samples.length / wall,
    ttfb50: percentile(ttfbs, 50),
    ttfb99: percentile(ttfbs, 99),
    total50: percentile(totals, 50),
    total99: percentile(totals, 99),
    cpu,
    rss: gatewayPid === undefined ? undefined : rssPeak,
  };
}

/** Opens `count` slow streams through the gateway at once, holds them, samples gateway RSS. */
async function slowStreams(url: string, count: number, pid: number) {
  const rssBefore = rssBytes(pid);
  const controllers: AbortController[] = [];
  let firstBytes = 0;
  let failures = 0;
  const opened = Array.from({ length: count }, async () => {
    const controller = new AbortController();
    controllers.push(controller);
    try {
      const response = await fetch(url, {
        method: "POST",
        body: CHAT_BODY("pass", "SLOW"),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      const first = await reader.read();
      if (response.status === 200 && !first.done) firstBytes++;
      else failures++;
      // Keep reading until aborted.
      while (!(await reader.read()).done);
    } catch {
      if (!controller.signal.aborted) failures++;
    }
  });
  const deadline = performance.now() + 30_000;
  while (firstBytes + failures < count && performance.now() < deadline) await delay(100);
  // Hold them all open a moment, sampling.
  let rssPeak = rssBytes(pid);
  for (let i = 0; i < 10; i++) {
    await delay(100);
    rssPeak = Math.max(rssPeak, rssBytes(pid));
  }
  const open = firstBytes;
  for (const controller of controllers) controller.abort();
  await Promise.all(opened);
  return { count, open, failures, rssBefore, rssPeak };
}

async function bench(): Promise<void> {
  const seconds = Number(values.seconds);
  const upstreamPort = freePort();
  const upstream = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      import.meta.filename!,
      "--role",
      "upstream",
      "--port",
      String(upstreamPort),
      "--tokens",
      String(TOKENS),
      "--pace-ms",
      String(PACE_MS),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const proxyPort = freePort();
  const proxy = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--unstable-no-legacy-abort",
      import.meta.filename!,
      "--role",
      "proxy",
      "--port",
      String(proxyPort),
      "--upstream",
      upstreamUrl,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const config = {
    models: {
      pass: {
        instances: [{ type: "openai-compatible", baseUrl: `${upstreamUrl}/v1`, apiKey: "sk-load" }],
      },
      conv: {
        instances: [{
          type: "bedrock",
          region: "us-east-1",
          endpoint: upstreamUrl,
          credentials: { accessKeyId: "AKIDLOAD", secretAccessKey: "load-secret" },
        }],
      },
    },
  };
  const configFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(configFile, JSON.stringify(config));
  const startGateway = () => {
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--unstable-no-legacy-abort",
        new URL("../../src/gateway/mod.ts", import.meta.url).pathname,
        "--config",
        configFile,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
      ],
      stdout: "null", // one JSON log line per request; written, then discarded
      stderr: "inherit",
    }).spawn();
    return { child, url: `http://127.0.0.1:${port}` };
  };
  const { child: gateway, url: gatewayUrl } = startGateway();
  try {
    await waitFor(`${upstreamUrl}/`);
    await waitFor(`${gatewayUrl}/healthz`);
    await waitFor(`${proxyUrl}/`);
    console.log(
      `gateway load: ${seconds} s per scenario, ${TOKENS} tokens paced ${PACE_MS} ms; gateway pid ${gateway.pid}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
    );
    const results: ScenarioResult[] = [];
    for (const concurrency of [50, 200]) {
      results.push(
        await scenario(
          "direct (upstream, OpenAI SSE)",
          `${upstreamUrl}/v1/chat/completions`,
          CHAT_BODY("load"),
          concurrency,
          seconds,
          undefined,
        ),
      );
      results.push(
        await scenario(
          "minimal Deno proxy (fetch + pipe, reference)",
          `${proxyUrl}/v1/chat/completions`,
          CHAT_BODY("load"),
          concurrency,
          seconds,
          proxy.pid,
        ),
      );
      results.push(
        await scenario(
          "gateway passthrough (OpenAI → OpenAI)",
          `${gatewayUrl}/v1/chat/completions`,
          CHAT_BODY("pass"),
          concurrency,
          seconds,
          gateway.pid,
        ),
      );
      results.push(
        await scenario(
          "gateway conversion (Bedrock → OpenAI)",
          `${gatewayUrl}/v1/chat/completions`,
          CHAT_BODY("conv"),
          concurrency,
          seconds,
          gateway.pid,
        ),
      );
    }
    const ms = (n: number) => n.toFixed(2);
    console.log(
      "| scenario | clients | requests | failures | req/s | TTFB p50 (ms) | TTFB p99 (ms) | total p50 (ms) | total p99 (ms) | proxy CPU (cores) | proxy peak RSS (MB) |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
      console.log(
        `| ${r.name} | ${r.concurrency} | ${r.requests} | ${r.failures} | ${r.rps.toFixed(0)} | ${
          ms(r.ttfb50)
        } | ${ms(r.ttfb99)} | ${ms(r.total50)} | ${ms(r.total99)} | ${
          r.cpu === undefined ? "–" : r.cpu.toFixed(2)
        } | ${r.rss === undefined ? "–" : (r.rss / 1e6).toFixed(1)} |`,
      );
    }
    const proxySlow = await slowStreams(
      `${proxyUrl}/v1/chat/completions`,
      Number(values.slow),
      proxy.pid,
    );
    console.log(
      `\n${proxySlow.open} of ${proxySlow.count} slow streams open at once through the minimal proxy: its RSS ${
        (proxySlow.rssBefore / 1e6).toFixed(1)
      } MB before, ${(proxySlow.rssPeak / 1e6).toFixed(1)} MB peak (reference)`,
    );
    // A fresh gateway for the slow streams, so its RSS is not the load runs' heap.
    gateway.kill("SIGKILL");
    await gateway.status;
    const fresh = startGateway();
    await waitFor(`${fresh.url}/healthz`);
    let slow;
    try {
      slow = await slowStreams(
        `${fresh.url}/v1/chat/completions`,
        Number(values.slow),
        fresh.child.pid,
      );
    } finally {
      fresh.child.kill("SIGKILL");
      await fresh.child.status;
    }
    console.log(
      `\n${slow.open} of ${slow.count} slow streams open at once through a fresh gateway (${slow.failures} failed): gateway RSS ${
        (slow.rssBefore / 1e6).toFixed(1)
      } MB before, ${(slow.rssPeak / 1e6).toFixed(1)} MB peak`,
    );
    const checks: [string, boolean, string][] = [];
    for (const concurrency of [50, 200]) {
      const at = (prefix: string) =>
        results.find((r) => r.concurrency === concurrency && r.name.startsWith(prefix))!;
      const direct = at("direct");
      const pass = at("gateway passthrough");
      const conv = at("gateway conversion");
      const added = pass.ttfb50 - direct.ttfb50;
      checks.push([
        `${concurrency} clients: passthrough adds ≤ 1 ms to p50 TTFB`,
        added <= 1,
        `${ms(added)} ms`,
      ]);
      checks.push([
        `${concurrency} clients: passthrough keeps ≥ 80 % of direct throughput`,
        pass.rps >= 0.8 * direct.rps,
        `${((100 * pass.rps) / direct.rps).toFixed(0)} %`,
      ]);
      checks.push([
        `${concurrency} clients: conversion keeps ≥ 60 % of direct throughput`,
        conv.rps >= 0.6 * direct.rps,
        `${((100 * conv.rps) / direct.rps).toFixed(0)} %`,
      ]);
      checks.push([
        `${concurrency} clients: no failed request`,
        direct.failures + pass.failures + conv.failures === 0,
        `${direct.failures + pass.failures + conv.failures}`,
      ]);
    }
    checks.push([
      `${slow.count} slow streams held open with gateway RSS < 300 MB`,
      slow.open === slow.count && slow.rssPeak < 300e6,
      `${slow.open} open, ${(slow.rssPeak / 1e6).toFixed(1)} MB`,
    ]);
    console.log("\n| check | result | measured |\n|---|---|---|");
    for (const [what, ok, measured] of checks) {
      console.log(`| ${what} | ${ok ? "pass" : "FAIL"} | ${measured} |`);
    }
    if (checks.some(([, ok]) => !ok)) Deno.exitCode = 1;
  } finally {
    try {
      gateway.kill("SIGKILL");
    } catch { /* already ended */ }
    upstream.kill("SIGKILL");
    proxy.kill("SIGKILL");
    await Promise.allSettled([gateway.status, upstream.status, proxy.status]);
    await Deno.remove(configFile);
  }
}

if (values.role === "upstream") {
  serveUpstream(Number(values.port));
} else if (values.role === "proxy") {
  serveProxy(Number(values.port), values.upstream!);
} else {
  await bench();
}
