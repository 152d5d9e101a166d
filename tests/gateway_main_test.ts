/**
 * The gateway command line (`src/gateway/main.ts`): flag parsing, configuration loading, the
 * serve loop's graceful shutdown, and the real thing as a subprocess — startup line, streamed
 * replies over HTTP, SIGTERM with a stream in flight, a bad configuration.
 * @module
 */
import assert from "node:assert/strict";
import {
  BedrockConverseDecoderStream,
  EventStreamDecoderStream,
  type LlmEvent,
  OpenAIChatDecoderStream,
  SseDecoderStream,
} from "../mod.ts";
import { parseGatewayConfig } from "../src/gateway/config.ts";
import { createGateway } from "../src/gateway/handler.ts";
import {
  GATEWAY_USAGE,
  GatewayArgsError,
  loadGatewayConfig,
  parseGatewayArgs,
  serveGateway,
  startupLine,
} from "../src/gateway/main.ts";

const MOD_PATH = new URL("../src/gateway/mod.ts", import.meta.url).pathname;
const REPO_DIR = new URL("../", import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------
// Flags

Deno.test("parseGatewayArgs: defaults, both flag forms, help", () => {
  assert.deepEqual(parseGatewayArgs([]), { port: 8787, host: "127.0.0.1", help: false });
  assert.deepEqual(
    parseGatewayArgs(["--config", "gw.json", "--port", "0", "--host", "0.0.0.0"]),
    { config: "gw.json", port: 0, host: "0.0.0.0", help: false },
  );
  assert.deepEqual(
    parseGatewayArgs(["--config=./a b.json", "--port=65535", "--host=::1"]),
    { config: "./a b.json", port: 65535, host: "::1", help: false },
  );
  assert.equal(parseGatewayArgs(["--help"]).help, true);
  assert.equal(parseGatewayArgs(["-h", "--port", "1"]).help, true);
  // The last occurrence wins.
  assert.equal(parseGatewayArgs(["--port", "1", "--port", "2"]).port, 2);
});

Deno.test("parseGatewayArgs: unknown flags, missing values and bad ports are errors", () => {
  const cases: Array<[string[], string]> = [
    [["--verbose"], "unknown flag --verbose"],
    [["--conf", "x"], "unknown flag --conf"],
    [["-p", "1"], 'unexpected argument "-p"'],
    [["serve"], 'unexpected argument "serve"'],
    [["--port"], "--port needs a value"],
    [["--config", "--port", "1"], "--config needs a value"],
    [["--host="], "--host needs a value"],
    [["--port", "http"], "--port must be an integer from 0 to 65535, got http"],
    [["--port", "65536"], "--port must be an integer from 0 to 65535, got 65536"],
    [["--port", "1.5"], "--port must be an integer from 0 to 65535, got 1.5"],
    [["--port=-1"], "--port must be an integer from 0 to 65535, got -1"],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseGatewayArgs(args),
      (error) => error instanceof GatewayArgsError && error.message === message,
      args.join(" "),
    );
  }
});

Deno.test("GATEWAY_USAGE documents every flag and the environment variables", () => {
  for (
    const text of [
      "--config <file>",
      "--port <number>",
      "--host <name>",
      "-h, --help",
      "default 8787",
      "default 127.0.0.1",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      '{ "env": "NAME" }',
      "SIGINT / SIGTERM",
    ]
  ) {
    assert.ok(GATEWAY_USAGE.includes(text), `--help mentions ${text}`);
  }
});

Deno.test("startupLine names the address and the models", () => {
  assert.equal(
    startupLine({ transport: "tcp", hostname: "127.0.0.1", port: 8787 }, ["a", "b", "c"]),
    "llmwire gateway listening on http://127.0.0.1:8787 (models: a, b, c)",
  );
  assert.equal(
    startupLine({ transport: "tcp", hostname: "::1", port: 80 }, new Set(["mock"])),
    "llmwire gateway listening on http://[::1]:80 (models: mock)",
  );
});

// ---------------------------------------------------------------------------------------------
// Configuration loading

const SECRET = "sk-ant-super-secret-value-1234";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";

async function withFile<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, text);
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("loadGatewayConfig: the embedded default, a file, and env secrets", async () => {
  const defaults = await loadGatewayConfig(undefined, () => undefined);
  assert.deepEqual([...defaults.models.keys()], ["mock", "mock-openai", "mock-anthropic"]);

  const config = await withFile(
    JSON.stringify({
      models: {
        claude: { instances: [{ type: "anthropic", apiKey: { env: "TEST_ANTHROPIC_KEY" } }] },
      },
    }),
    (path) => loadGatewayConfig(path, (name) => name === "TEST_ANTHROPIC_KEY" ? SECRET : undefined),
  );
  const instance = config.models.get("claude")?.instances[0];
  assert.equal(instance?.type === "anthropic" && instance.apiKey.reveal(), SECRET);
});

Deno.test("loadGatewayConfig: errors name the JSON path or position, never a secret", async () => {
  await withFile(
    JSON.stringify({
      models: {
        claude: {
          instances: [{
            type: "bedrock",
            credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: AWS_SECRET },
          }],
        },
      },
    }),
    async (path) => {
      await assert.rejects(loadGatewayConfig(path, () => undefined), (error) => {
        assert.ok(error instanceof Error);
        assert.equal(error.name, "GatewayConfigError");
        assert.equal(error.message, "models.claude.instances[0].region: required");
        return true;
      });
    },
  );

  // A JSON syntax error right after a secret: V8 would quote the text around it.
  await withFile(`{"models": {"x": {"apiKey": "${SECRET}" oops}}}`, async (path) => {
    await assert.rejects(loadGatewayConfig(path, () => undefined), (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /^not valid JSON( at line 1, column \d+)?$/);
      assert.ok(!error.message.includes(SECRET.slice(0, 10)));
      return true;
    });
  });

  await assert.rejects(
    loadGatewayConfig("/nonexistent/llmwire-gateway.json", () => undefined),
    (error) => error instanceof Error && /^cannot read the file: /.test(error.message),
  );
});

// ---------------------------------------------------------------------------------------------
// The serve loop

/** A stand-in gateway whose streams send `chunks` pieces `everyMs` apart. */
function standIn(chunks: number, everyMs: number) {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const enders = new Set<() => void>();
  let closed = 0;
  const gateway = {
    activeStreams: 0,
    fetch(): Promise<Response> {
      let sent = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          gateway.activeStreams++;
          const end = (text: string) => {
            if (timer !== undefined) clearTimeout(timer), timers.delete(timer);
            enders.delete(stop);
            gateway.activeStreams--;
            controller.enqueue(new TextEncoder().encode(text));
            controller.close();
          };
          const stop = () => end("ended by close\n");
          enders.add(stop);
          const tick = () => {
            if (timer !== undefined) timers.delete(timer);
            if (sent === chunks) return end("done\n");
            controller.enqueue(new TextEncoder().encode(`chunk ${sent++}\n`));
            timer = setTimeout(tick, everyMs);
            timers.add(timer);
          };
          tick();
        },
      });
      return Promise.resolve(new Response(body));
    },
    close(): Promise<void> {
      closed++;
      for (const stop of [...enders]) stop();
      return Promise.resolve();
    },
  };
  return { gateway, closed: () => closed };
}

Deno.test("serveGateway: a shutdown lets the stream in flight finish", async () => {
  const { gateway, closed } = standIn(5, 20);
  const controller = new AbortController();
  const lines: string[] = [];
  let listened: Deno.NetAddr | undefined;
  const served = serveGateway({
    gateway,
    port: 0,
    signal: controller.signal,
    log: (line) => lines.push(line),
    onListen: (addr) => listened = addr,
  });
  assert.equal(listened?.port, served.addr.port);
  const response = await fetch(`http://127.0.0.1:${served.addr.port}/`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = (await reader.read()).value ?? "";
  controller.abort();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await served.finished;
  assert.equal(text, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\ndone\n");
  assert.deepEqual(lines, ["llmwire gateway: shutting down (1 stream(s) in flight)"]);
  assert.equal(closed(), 1, "close() runs once the server has drained");
});

Deno.test("serveGateway: after the grace period, close() ends the stream in flight", async () => {
  const { gateway, closed } = standIn(1_000, 50);
  const lines: string[] = [];
  const served = serveGateway({
    gateway,
    port: 0,
    shutdownGraceMs: 100,
    log: (l) => lines.push(l),
  });
  const response = await fetch(`http://127.0.0.1:${served.addr.port}/`);
  const text = response.text();
  const started = performance.now();
  await served.shutdown();
  assert.ok(performance.now() - started >= 95, "waited for the grace period");
  assert.match(await text, /^chunk 0\n(chunk \d+\n)*ended by close\n$/);
  assert.equal(closed(), 1);
  assert.deepEqual(lines, [
    "llmwire gateway: shutting down (1 stream(s) in flight)",
    "llmwire gateway: ending the requests still in flight after 100 ms",
  ]);
});

Deno.test("serveGateway: a forced shutdown ends the stream at once", async () => {
  const { gateway } = standIn(1_000, 50);
  const served = serveGateway({ gateway, port: 0, log: () => {} });
  const response = await fetch(`http://127.0.0.1:${served.addr.port}/`);
  const text = response.text();
  const started = performance.now();
  await served.shutdown({ force: true });
  assert.ok(performance.now() - started < 5_000);
  assert.match(await text, /ended by close\n$/);
});

Deno.test("serveGateway: a handler that throws gives a 500 without details", async () => {
  const lines: string[] = [];
  const served = serveGateway({
    gateway: {
      fetch: () => Promise.reject(new Error(`upstream said ${SECRET}`)),
      close: () => Promise.resolve(),
    },
    port: 0,
    log: (line) => lines.push(line),
  });
  try {
    const response = await fetch(`http://127.0.0.1:${served.addr.port}/`);
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { error: { message: "internal gateway error" } });
    assert.deepEqual(lines, ["llmwire gateway: request failed: Error"]);
  } finally {
    await served.shutdown();
  }
});

Deno.test("serveGateway + createGateway: a mock stream in flight finishes during shutdown", async () => {
  const config = parseGatewayConfig({
    models: {
      "mock-openai": {
        instances: [{ type: "mock", protocol: "openai", firstTokenDelayMs: 20, tokenDelayMs: 5 }],
      },
    },
  });
  const logLines: string[] = [];
  const gateway = createGateway(config, { logger: (line) => logLines.push(line) });
  const controller = new AbortController();
  const served = serveGateway({ gateway, port: 0, signal: controller.signal, log: () => {} });
  const response = await fetch(`http://127.0.0.1:${served.addr.port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "mock-openai",
      stream: true,
      messages: [{ role: "user", content: "Hi" }],
    }),
  });
  assert.equal(response.status, 200);
  const events = response.body!.pipeThrough(new SseDecoderStream()).pipeThrough(
    new OpenAIChatDecoderStream(),
  );
  let text = "";
  const seen: string[] = [];
  for await (const event of events) {
    seen.push(event.type);
    if (event.type === "text_delta") {
      text += event.text;
      if (!controller.signal.aborted) controller.abort(); // shut down mid-stream
    }
  }
  await served.finished;
  assert.equal(text, 'Hello from the llmwire mock model. You said: "Hi"');
  assert.equal(seen.at(-1), "message_stop");
  assert.ok(!seen.includes("error"));
  assert.equal(logLines.length, 1);
  assert.equal(JSON.parse(logLines[0]!).status, 200);
});

// ---------------------------------------------------------------------------------------------
// The real thing, as a subprocess

interface Gateway {
  process: Deno.ChildProcess;
  base: string;
  /** Everything the process printed on stdout so far, and after it exits. */
  stdout: () => string;
  /** Settles with the exit status and the whole stderr. */
  exited: Promise<{ code: number; stderr: string; stdout: string }>;
}

async function collectText(stream: ReadableStream<Uint8Array>, into: string[]): Promise<string> {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) into.push(text);
  return into.join("");
}

function runGateway(args: string[]): {
  process: Deno.ChildProcess;
  out: string[];
  exited: Promise<{ code: number; stderr: string; stdout: string }>;
} {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", MOD_PATH, ...args],
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const exited = Promise.all([
    process.status,
    collectText(process.stdout, out),
    collectText(process.stderr, err),
  ]).then(([status, stdout, stderr]) => ({ code: status.code, stdout, stderr }));
  return { process, out, exited };
}

/** Starts the gateway on a free port and waits for its startup line. */
async function startGateway(args: string[] = []): Promise<Gateway> {
  const { process, out, exited } = runGateway(["--port", "0", ...args]);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out.join(""));
    if (match !== null) {
      return { process, base: match[1]!, stdout: () => out.join(""), exited };
    }
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      const { stderr } = await exited;
      throw new Error(`the gateway did not start: ${stderr}`);
    }
    const early = await Promise.race([
      exited.then((result) => result),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50)),
    ]);
    if (early !== undefined) throw new Error(`the gateway exited: ${early.stderr}`);
  }
}

function decodeEvents(
  response: Response,
  protocol: "openai" | "bedrock",
): ReadableStream<LlmEvent> {
  return protocol === "openai"
    ? response.body!.pipeThrough(new SseDecoderStream()).pipeThrough(new OpenAIChatDecoderStream())
    : response.body!.pipeThrough(new EventStreamDecoderStream()).pipeThrough(
      new BedrockConverseDecoderStream({ id: "msg_test", model: "mock" }),
    );
}

Deno.test("gateway subprocess: startup line, streams in two protocols, SIGTERM with a stream in flight", async () => {
  const gateway = await startGateway();
  try {
    assert.match(
      gateway.stdout(),
      /^llmwire gateway listening on http:\/\/127\.0\.0\.1:\d+ \(models: mock, mock-openai, mock-anthropic\)\n/,
    );

    // An OpenAI client, streaming with usage.
    const openai = await fetch(`${gateway.base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mock-openai",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "Hello gateway" }],
      }),
    });
    assert.equal(openai.status, 200);
    const openaiEvents = await Array.fromAsync(decodeEvents(openai, "openai"));
    const openaiText = openaiEvents.map((e) => e.type === "text_delta" ? e.text : "").join("");
    assert.equal(openaiText, 'Hello from the llmwire mock model. You said: "Hello gateway"');
    const usage = openaiEvents.findLast((e) => e.type === "usage");
    assert.equal(usage?.type === "usage" && usage.usage.outputTokens, 10);

    // A Bedrock client on the native path.
    const bedrock = await fetch(`${gateway.base}/model/mock/converse-stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hi Bedrock" }] }] }),
    });
    assert.equal(bedrock.headers.get("content-type"), "application/vnd.amazon.eventstream");
    const bedrockEvents = await Array.fromAsync(decodeEvents(bedrock, "bedrock"));
    const bedrockText = bedrockEvents.map((e) => e.type === "text_delta" ? e.text : "").join("");
    assert.equal(bedrockText, 'Hello from the llmwire mock model. You said: "Hi Bedrock"');
    assert.ok(bedrockEvents.some((e) => e.type === "message_stop" && e.stopReason === "end_turn"));

    // A stream in flight when SIGTERM arrives finishes cleanly.
    const inFlight = await fetch(`${gateway.base}/model/mock/converse-stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: [{ text: "one two three four five six" }] }],
      }),
    });
    const seen: LlmEvent[] = [];
    let signalled = false;
    for await (const event of decodeEvents(inFlight, "bedrock")) {
      seen.push(event);
      if (event.type === "text_delta" && !signalled) {
        gateway.process.kill("SIGTERM");
        signalled = true;
      }
    }
    assert.ok(signalled);
    const text = seen.map((e) => e.type === "text_delta" ? e.text : "").join("");
    assert.equal(
      text,
      'Hello from the llmwire mock model. You said: "one two three four five six"',
    );
    assert.deepEqual(seen.filter((e) => e.type === "error"), []);
    assert.equal(seen.findLast((e) => e.type === "message_stop")?.type, "message_stop");
    assert.equal(seen.at(-1)?.type, "usage");

    const { code, stdout, stderr } = await gateway.exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /llmwire gateway: shutting down/);
    // One JSON log line per request after the startup line.
    const logs = stdout.trim().split("\n").slice(1).map((line) => JSON.parse(line));
    assert.equal(logs.length, 3);
    assert.deepEqual(logs.map((log) => [log.model, log.status, log.stream]), [
      ["mock-openai", 200, true],
      ["mock", 200, true],
      ["mock", 200, true],
    ]);
  } finally {
    try {
      gateway.process.kill("SIGKILL");
    } catch {
      // already exited
    }
    await gateway.exited;
  }
});

Deno.test("gateway subprocess: --help, an unknown flag, a port in use, a bad configuration file", async () => {
  const help = await runGateway(["--help"]).exited;
  assert.equal(help.code, 0);
  assert.equal(help.stdout, `${GATEWAY_USAGE}\n`);

  const unknown = await runGateway(["--prot", "1"]).exited;
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, "");
  assert.ok(unknown.stderr.startsWith("error: unknown flag --prot\n\nllmwire gateway"));
  assert.ok(unknown.stderr.includes("--config <file>"));

  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const busy = await runGateway(["--port", String(taken.addr.port)]).exited;
    assert.equal(busy.code, 1);
    assert.equal(busy.stdout, "");
    assert.ok(
      busy.stderr.startsWith(`error: cannot listen on 127.0.0.1:${taken.addr.port}: `),
      busy.stderr,
    );
  } finally {
    taken.close();
  }

  await withFile(
    JSON.stringify({
      models: {
        claude: {
          instances: [{
            type: "bedrock",
            credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: AWS_SECRET },
          }],
        },
        other: { instances: [{ type: "anthropic", apiKey: SECRET }] },
      },
    }),
    async (path) => {
      const bad = await runGateway(["--config", path, "--port", "0"]).exited;
      assert.equal(bad.code, 1);
      assert.equal(bad.stdout, "");
      assert.ok(
        bad.stderr.includes(
          `error: invalid gateway configuration (${path}): models.claude.instances[0].region: required`,
        ),
        bad.stderr,
      );
      assert.ok(!bad.stderr.includes(AWS_SECRET) && !bad.stderr.includes(SECRET));
    },
  );
});
