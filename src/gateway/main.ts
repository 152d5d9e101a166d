/**
 * The gateway's command line: parse flags, load and validate the configuration, serve
 * {@linkcode createGateway} with `Deno.serve`, and shut down gracefully on SIGINT / SIGTERM.
 * The only file of the gateway that uses Deno-only APIs; `mod.ts` imports it only when it runs as
 * the main module.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-read jsr:@llmwire/llmwire/gateway --config gateway.json
 * ```
 * @module
 */
import {
  defaultGatewayConfig,
  type GatewayConfig,
  GatewayConfigError,
  parseGatewayConfig,
} from "./config.ts";
import { createGateway } from "./handler.ts";

/** The default port of the gateway. */
const DEFAULT_PORT = 8787;
/** The default interface the gateway listens on (loopback: opt in to exposing it). */
const DEFAULT_HOST = "127.0.0.1";
/** How long in-flight requests may take to finish after a shutdown signal. */
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * The gateway's `--help` text: every flag, the environment variables, the signals.
 *
 * @example
 * ```ts
 * import { GATEWAY_USAGE } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(GATEWAY_USAGE, /--config <file>/);
 * ```
 */
export const GATEWAY_USAGE: string =
  `llmwire gateway — an AI gateway for OpenAI, Anthropic and Bedrock clients

Usage:
  deno run --allow-net --allow-env --allow-read jsr:@llmwire/llmwire/gateway [flags]
  deno task gateway [flags]            (in the llmwire repository)

Flags:
  --config <file>   JSON configuration: model aliases and their provider instances, routes,
                    limits, logging. Without it the embedded default serves the offline mock
                    models mock (Bedrock), mock-openai and mock-anthropic.
  --port <number>   Port to listen on (default ${DEFAULT_PORT}; 0 picks a free one).
  --host <name>     Interface to listen on (default ${DEFAULT_HOST}; 0.0.0.0 for all).
  -h, --help        Show this help and exit.

Environment:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                    Credentials of bedrock instances that have none in the configuration.
  Any secret in the configuration may be written { "env": "NAME" } to read it from NAME
  (e.g. { "env": "OPENAI_API_KEY" }, { "env": "ANTHROPIC_API_KEY" }).

Endpoints:
  POST /v1/chat/completions, GET /v1/models      OpenAI Chat Completions
  POST /v1/messages                              Anthropic Messages
  POST /model/{modelId}/converse[-stream]        Bedrock Converse
  GET /healthz, GET /metrics                     health and Prometheus metrics

Output: one startup line, then one JSON log line per request, on stdout.
SIGINT / SIGTERM: stop accepting, let requests in flight finish (up to ${
    DEFAULT_SHUTDOWN_GRACE_MS / 1000
  } s), then end the rest with their protocol's terminal error; a second signal ends them at once.`;

/** The parsed command line of the gateway. */
export interface GatewayArgs {
  /** The `--config` file, when given. */
  config?: string;
  /** The `--port` (default 8787). */
  port: number;
  /** The `--host` (default `127.0.0.1`). */
  host: string;
  /** `--help` or `-h` was given. */
  help: boolean;
}

/**
 * A command line the gateway cannot run with (unknown flag, missing or invalid value).
 *
 * @example
 * ```ts
 * import { GatewayArgsError, parseGatewayArgs } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseGatewayArgs(["--verbose"]), GatewayArgsError);
 * ```
 */
export class GatewayArgsError extends Error {
  /** Always `GatewayArgsError`. */
  override readonly name = "GatewayArgsError";
}

/**
 * Parses the gateway's flags: `--config <file>`, `--port <number>`, `--host <name>` (each also
 * as `--flag=value`), `--help` / `-h`. Pure: no file is read, nothing is printed.
 *
 * @param args the command-line arguments (`Deno.args`)
 * @returns the parsed flags, with defaults filled in
 * @throws {GatewayArgsError} for an unknown flag, a positional argument, a missing value or a
 *   port that is not an integer from 0 to 65535
 *
 * @example
 * ```ts
 * import { parseGatewayArgs } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseGatewayArgs(["--config", "gateway.json", "--port=9000"]), {
 *   config: "gateway.json",
 *   port: 9000,
 *   host: "127.0.0.1",
 *   help: false,
 * });
 * ```
 */
export function parseGatewayArgs(args: readonly string[]): GatewayArgs {
  const parsed: GatewayArgs = { port: DEFAULT_PORT, host: DEFAULT_HOST, help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") {
      parsed.help = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      throw new GatewayArgsError(`unexpected argument ${JSON.stringify(arg)}`);
    }
    const equals = arg.indexOf("=");
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (flag !== "--config" && flag !== "--port" && flag !== "--host") {
      throw new GatewayArgsError(`unknown flag ${flag}`);
    }
    let value: string;
    if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-")) {
        throw new GatewayArgsError(`${flag} needs a value`);
      }
      value = next;
      i++;
    }
    if (value === "") throw new GatewayArgsError(`${flag} needs a value`);
    switch (flag) {
      case "--config":
        parsed.config = value;
        break;
      case "--host":
        parsed.host = value;
        break;
      case "--port": {
        const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
        if (!(port >= 0 && port <= 65535)) {
          throw new GatewayArgsError(`--port must be an integer from 0 to 65535, got ${value}`);
        }
        parsed.port = port;
        break;
      }
    }
  }
  return parsed;
}

/**
 * Loads the gateway configuration: the JSON file at `path`, or the embedded default when there
 * is none, validated by {@linkcode parseGatewayConfig} with `env` for `{ "env": "NAME" }`
 * secrets.
 *
 * @param path the `--config` file, if any
 * @param env reads an environment variable (default `Deno.env.get`)
 * @returns the validated configuration
 * @throws {GatewayConfigError} when the file cannot be read, is not JSON, or is not a valid
 *   configuration; the message names the JSON path, never a secret's value (a JSON syntax error
 *   gives only its line and column, not the text around it)
 *
 * @example
 * ```ts
 * import { loadGatewayConfig } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * const config = await loadGatewayConfig(undefined, () => undefined);
 * assert.deepEqual([...config.models.keys()], ["mock", "mock-openai", "mock-anthropic"]);
 * ```
 */
export async function loadGatewayConfig(
  path: string | undefined,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<GatewayConfig> {
  if (path === undefined) return parseGatewayConfig(defaultGatewayConfig(), env);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new GatewayConfigError("", `cannot read the file: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error, which may be a secret: keep the position.
    const message = error instanceof Error ? error.message : "";
    const at = /line (\d+) column (\d+)/.exec(message);
    const where = at !== null ? ` at line ${at[1]}, column ${at[2]}` : "";
    throw new GatewayConfigError("", `not valid JSON${where}`);
  }
  return parseGatewayConfig(json, env);
}

/** A fetch handler the serve loop can end: `createGateway`'s result, or any stand-in. */
export interface ServableGateway {
  /** Serves one request. */
  fetch(request: Request): Promise<Response>;
  /** Ends everything in flight (streams get a terminal error); resolves when all have ended. */
  close(): Promise<void>;
  /** The number of streaming responses in flight, when known. */
  readonly activeStreams?: number;
}

/** Options of {@linkcode serveGateway}. */
export interface ServeGatewayOptions {
  /** What to serve. */
  gateway: ServableGateway;
  /** The port (default 8787; 0 picks a free one). */
  port?: number;
  /** The interface (default `127.0.0.1`). */
  host?: string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /**
   * After a shutdown begins, how long requests in flight may take to finish before
   * `gateway.close()` ends them. Default 10 000 ms.
   */
  shutdownGraceMs?: number;
  /** Called once the server listens, with its address. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Diagnostic lines (shutdown progress, handler failures). Default `console.error`. */
  log?: (line: string) => void;
}

/** A running gateway server. */
export interface ServedGateway {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Settles when the server has shut down and everything in flight has ended. */
  readonly finished: Promise<void>;
  /**
   * Shuts down: stop accepting, let requests in flight finish for `shutdownGraceMs`, then end
   * them with `gateway.close()`. With `force`, end them at once. Resolves with `finished`.
   */
  shutdown(options?: { force?: boolean }): Promise<void>;
}

/**
 * Serves a gateway with `Deno.serve` until `signal` aborts or `shutdown()` is called; a shutdown
 * stops accepting connections, lets the requests in flight finish for `shutdownGraceMs`, then
 * calls `gateway.close()` (which ends the rest with their protocol's terminal error).
 *
 * @param options what and where to serve, and how to stop
 * @returns the address and a promise that settles once everything has ended
 *
 * @example
 * ```ts
 * import { serveGateway } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const served = serveGateway({
 *   gateway: { fetch: () => Promise.resolve(new Response("ok")), close: () => Promise.resolve() },
 *   port: 0,
 *   signal: controller.signal,
 *   log: () => {},
 * });
 * const response = await fetch(`http://127.0.0.1:${served.addr.port}/`);
 * assert.equal(await response.text(), "ok");
 * controller.abort();
 * await served.finished;
 * ```
 */
export function serveGateway(options: ServeGatewayOptions): ServedGateway {
  const { gateway, signal } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const server = Deno.serve({
    port: options.port ?? DEFAULT_PORT,
    hostname: options.host ?? DEFAULT_HOST,
    onListen: (addr) => options.onListen?.(addr),
    onError: (error) => {
      log(`llmwire gateway: request failed: ${error instanceof Error ? error.name : "error"}`);
      return Response.json({ error: { message: "internal gateway error" } }, { status: 500 });
    },
  }, (request) => gateway.fetch(request));

  let closing: Promise<void> | undefined;
  let shuttingDown: Promise<void> | undefined;
  const close = () => (closing ??= gateway.close());
  const shutdown = (force = false): Promise<void> => {
    if (force) void close();
    if (shuttingDown !== undefined) return shuttingDown;
    const active = gateway.activeStreams;
    log(
      `llmwire gateway: shutting down${
        active !== undefined && active > 0 ? ` (${active} stream(s) in flight)` : ""
      }`,
    );
    const drained = server.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), force ? 0 : graceMs);
    });
    shuttingDown = (async () => {
      const outcome = await Promise.race([drained.then(() => "drained" as const), grace]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        log(`llmwire gateway: ending the requests still in flight after ${graceMs} ms`);
      }
      await close();
      await drained;
    })();
    return shuttingDown;
  };

  const onAbort = () => void shutdown();
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const finished = server.finished.then(async () => {
    signal?.removeEventListener("abort", onAbort);
    await (shuttingDown ?? close());
  });
  return {
    addr: server.addr,
    finished,
    shutdown: (options) => shutdown(options?.force === true).then(() => finished),
  };
}

/**
 * The startup line: `llmwire gateway listening on http://HOST:PORT (models: a, b, c)`.
 *
 * @param addr the address the server listens on
 * @param models the model aliases served
 * @returns the line
 *
 * @example
 * ```ts
 * import { startupLine } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   startupLine({ transport: "tcp", hostname: "127.0.0.1", port: 8787 }, ["mock", "mock-openai"]),
 *   "llmwire gateway listening on http://127.0.0.1:8787 (models: mock, mock-openai)",
 * );
 * ```
 */
export function startupLine(addr: Deno.NetAddr, models: Iterable<string>): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `llmwire gateway listening on http://${host}:${addr.port} (models: ${
    [...models].join(", ")
  })`;
}

/**
 * Runs the gateway command line: parses `args`, loads the configuration, serves until SIGINT or
 * SIGTERM, then shuts down gracefully (a second signal ends what is in flight at once). Prints
 * the startup line and one JSON line per request on stdout; errors on stderr. A bad command line
 * sets exit code 2, a bad configuration or an address it cannot listen on exit code 1; `--help`
 * prints {@linkcode GATEWAY_USAGE}.
 *
 * @param args the command-line arguments (`Deno.args`)
 * @returns when the gateway has shut down (or at once after `--help` or an error)
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 *
 * await main(["--port", "8787"]); // serves until SIGINT / SIGTERM
 * ```
 */
export async function main(args: string[]): Promise<void> {
  let parsed: GatewayArgs;
  try {
    parsed = parseGatewayArgs(args);
  } catch (error) {
    if (!(error instanceof GatewayArgsError)) throw error;
    console.error(`error: ${error.message}\n\n${GATEWAY_USAGE}`);
    Deno.exitCode = 2;
    return;
  }
  if (parsed.help) {
    console.log(GATEWAY_USAGE);
    return;
  }
  let config: GatewayConfig;
  try {
    config = await loadGatewayConfig(parsed.config);
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    const source = parsed.config ?? "the embedded default";
    console.error(`error: invalid gateway configuration (${source}): ${error.message}`);
    Deno.exitCode = 1;
    return;
  }

  const gateway = createGateway(config, { logger: (line) => console.log(line) });
  const controller = new AbortController();
  let served: ServedGateway | undefined;
  const onSignal = () => {
    if (!controller.signal.aborted) controller.abort();
    else void served?.shutdown({ force: true });
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    try {
      served = serveGateway({
        gateway,
        port: parsed.port,
        host: parsed.host,
        signal: controller.signal,
        onListen: (addr) => console.log(startupLine(addr, config.models.keys())),
      });
    } catch (error) {
      // Port in use, no permission, unknown host: say so in one line.
      const why = error instanceof Error ? error.message : String(error);
      console.error(`error: cannot listen on ${parsed.host}:${parsed.port}: ${why}`);
      Deno.exitCode = 1;
      await gateway.close();
      return;
    }
    await served.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}
