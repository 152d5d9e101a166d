/**
 * llmwire in a browser: headless Chromium (Debian `chromium`, driven by `playwright-core`) opens
 * `tests/browser/index.html` from a loopback server that also serves llmwire's built ESM and the
 * fixtures. The page (`tests/browser/page.js`) imports the ESM, decodes every fixture fetched
 * from the server — whole and in 5-byte chunks — with EventStream/SSE framing plus the Bedrock,
 * OpenAI and Anthropic decoders, signs AWS SigV4 suite cases (expected signatures hard-coded in
 * the page) and Bedrock requests (expected headers computed here, under Deno, by the same
 * signer), and checks everything in the page. This test asserts the page's report, and that the
 * page logged no console error, threw no page error and requested nothing the server lacks.
 *
 * Needs `/usr/bin/chromium` (`apt-get install -y chromium`); without it the test fails, unless
 * `LLMWIRE_SKIP_BROWSER=1`, which ignores it with a notice.
 * @module
 */
import assert from "node:assert/strict";
import { bedrockModelPath, SigV4Signer } from "../mod.ts";
import { HAS_CORPORA, readCorpusText } from "./_helpers.ts";
import { buildNpm } from "../scripts/build_npm.ts";
import { chromium } from "./_playwright.ts";

const ROOT = new URL("../", import.meta.url);
const PAGE_DIR = new URL("browser/", import.meta.url);
const FIXTURES = new URL("fixtures/", ROOT);
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const skipBrowser = Deno.env.get("LLMWIRE_SKIP_BROWSER") === "1";
if (!hasChromium && skipBrowser) {
  console.log(
    `notice: ${CHROMIUM} is absent and LLMWIRE_SKIP_BROWSER=1; skipping the browser test`,
  );
}

interface FixtureEntry {
  file: string;
  contentType: string;
  frames: number;
  text: string;
  reasoning?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  stopReason?: string;
  usage?: { input: number; output: number; total: number };
  error?: { type: string; message: string };
}

interface FixtureResult {
  file: string;
  chunk: number;
  ok: boolean;
  actual: Omit<FixtureEntry, "file">;
  expected: Omit<FixtureEntry, "file">;
  eventTypes: Record<string, number>;
}

interface SignatureResult {
  name: string;
  ok: boolean;
  suiteCase?: string;
  variant?: "header" | "query";
  expected: unknown;
  actual: unknown;
}

interface PageResults {
  done: boolean;
  error: string | null;
  userAgent: string;
  exports: Record<string, { count: number; sameAsRoot?: boolean }>;
  fixtures: FixtureResult[];
  signatures: SignatureResult[];
}

/** A Bedrock request the page signs, with the headers the Deno signer computed for it. */
interface ServerSigningCase {
  name: string;
  region: string;
  service: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  signingDate: string;
  origin: string;
  modelId: string;
  operation: "converse" | "converse-stream";
  headers: Record<string, string>;
  body: string;
  expected: { url: string; headers: Record<string, string> };
}

/** Bedrock requests signed here and in the page: one hashed synchronously, one by WebCrypto. */
async function serverSigningCases(): Promise<ServerSigningCase[]> {
  const converse = (text: string) =>
    JSON.stringify({
      messages: [{ role: "user", content: [{ text }] }],
      inferenceConfig: { maxTokens: 256 },
    });
  const inputs: Omit<ServerSigningCase, "expected">[] = [
    {
      name: "bedrock converse-stream (small body: hashed synchronously)",
      region: "us-east-1",
      service: "bedrock",
      credentials: {
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      },
      signingDate: "2026-01-15T08:30:00Z",
      origin: "https://bedrock-runtime.us-east-1.amazonaws.com",
      modelId: "anthropic.claude-3-5-sonnet-20241022-v2:0",
      operation: "converse-stream",
      headers: { "content-type": "application/json", accept: "application/vnd.amazon.eventstream" },
      body: converse("Hello from the browser — 👋"),
    },
    {
      name: "bedrock converse (8 KB body: hashed by WebCrypto; session token; inference profile)",
      region: "eu-west-3",
      service: "bedrock",
      credentials: {
        accessKeyId: "ASIAEXAMPLEBROWSER01",
        secretAccessKey: "llmwire/BrowserTestSecretKey+0123456789abcd",
        sessionToken: "IQoJb3JpZ2luX2VjEOr//////////wEaCWV1LXdlc3QtMyJHMEUCIQ==",
      },
      signingDate: "2026-03-01T23:59:59Z",
      origin: "https://bedrock-runtime.eu-west-3.amazonaws.com",
      modelId: "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu.amazon.nova-pro-v1:0",
      operation: "converse",
      headers: { "content-type": "application/json" },
      body: converse("Résumé ✓ ".repeat(800)),
    },
  ];
  const cases: ServerSigningCase[] = [];
  for (const input of inputs) {
    const signer = new SigV4Signer({
      region: input.region,
      service: input.service,
      credentials: input.credentials,
    });
    const url = new URL(bedrockModelPath(input.modelId, input.operation), input.origin);
    const signed = await signer.sign(
      new Request(url, { method: "POST", headers: input.headers, body: input.body }),
      { signingDate: new Date(input.signingDate) },
    );
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "x-amz-date", "x-amz-content-sha256"]) {
      headers[name] = signed.headers.get(name)!;
    }
    if (input.credentials.sessionToken !== undefined) {
      headers["x-amz-security-token"] = signed.headers.get("x-amz-security-token")!;
    }
    cases.push({ ...input, expected: { url: signed.url, headers } });
  }
  assert.ok(new TextEncoder().encode(cases[0]!.body).length < 2048);
  assert.ok(new TextEncoder().encode(cases[1]!.body).length > 8192);
  return cases;
}

const CONTENT_TYPES: Record<string, string> = {
  ".bin": "application/vnd.amazon.eventstream",
  ".sse": "text/event-stream",
  ".json": "application/json",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".html": "text/html; charset=utf-8",
};

/** Resolves `rest` (a URL path, no leading `/`) below `base`; `null` if it leaves `base`. */
function below(base: string, rest: string): string | null {
  const url = new URL(rest, base);
  return url.href.startsWith(base) ? url.pathname : null;
}

/** A file's bytes as a response; `?chunk=N` streams them in N-byte chunks. */
async function fileResponse(path: string, chunk: number): Promise<Response> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Response("not found", { status: 404 });
    throw error;
  }
  const ext = path.slice(path.lastIndexOf("."));
  // No `cache-control: no-store`: Chromium then reports fully read fetches as net::ERR_ABORTED.
  const headers = { "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream" };
  if (!(chunk > 0)) return new Response(bytes, { headers });
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
  return new Response(body, { headers });
}

Deno.test({
  name: "browser: built ESM decodes every fixture and signs SigV4 in headless Chromium",
  ignore: !hasChromium && skipBrowser,
  async fn() {
    if (!hasChromium) {
      throw new Error(
        `${CHROMIUM} not found: install chromium: apt-get install -y chromium ` +
          "(or set LLMWIRE_SKIP_BROWSER=1 to skip the browser test)",
      );
    }
    const started = performance.now();
    const outDir = await Deno.makeTempDir({ prefix: "llmwire-browser-build-" });
    const profileDir = await Deno.makeTempDir({ prefix: "llmwire-browser-profile-" });
    const esmBase = new URL(`file://${outDir}/esm/`).href;
    const served: { path: string; status: number }[] = [];
    let server: Deno.HttpServer<Deno.NetAddr> | undefined;
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
    try {
      await buildNpm({ outDir });
      const built = performance.now();
      const signingCases = await serverSigningCases();

      server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
        const url = new URL(request.url);
        const path = decodeURIComponent(url.pathname);
        const chunk = Number(url.searchParams.get("chunk") ?? 0);
        let response: Response;
        if (request.method !== "GET") {
          response = new Response("method not allowed", { status: 405 });
        } else if (path === "/" || path === "/index.html" || path === "/page.js") {
          response = await fileResponse(
            new URL(path === "/page.js" ? "page.js" : "index.html", PAGE_DIR).pathname,
            0,
          );
        } else if (path === "/sigv4-cases.json") {
          response = Response.json(signingCases);
        } else {
          const [base, rest] = path.startsWith("/esm/")
            ? [esmBase, path.slice("/esm/".length)]
            : path.startsWith("/fixtures/")
            ? [FIXTURES.href, path.slice("/fixtures/".length)]
            : [null, ""];
          const file = base === null ? null : below(base, rest);
          response = file === null
            ? new Response("not found", { status: 404 })
            : await fileResponse(file, chunk);
        }
        served.push({ path: url.pathname + url.search, status: response.status });
        return response;
      });
      const origin = `http://127.0.0.1:${server.addr.port}`;

      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      const pageErrors: string[] = [];
      const failedRequests: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") {
          consoleErrors.push(`${message.type()}: ${message.text()}`);
        }
      });
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      page.on(
        "requestfailed",
        (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
      );

      await page.goto(`${origin}/`);
      await page.waitForFunction(
        () => {
          const results = (globalThis as { __results?: { done: boolean } }).__results;
          return results?.done === true;
        },
        undefined,
        { timeout: 30_000 },
      );
      const results = await page.evaluate(() =>
        (globalThis as unknown as { __results: PageResults }).__results
      );
      const statusText = await page.textContent("#status");
      const finished = performance.now();

      assert.equal(results.error, null, `the page threw: ${results.error}`);
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(consoleErrors, []);
      assert.deepEqual(failedRequests, []);
      assert.deepEqual(served.filter((r) => r.status !== 200), [], "requests the server refused");
      assert.match(results.userAgent, /HeadlessChrome\//);

      // The subpath modules load on their own and export the root module's own objects.
      for (const sub of ["framing", "protocols", "sigv4"]) {
        assert.ok(results.exports[sub]!.count > 0, sub);
        assert.equal(results.exports[sub]!.sameAsRoot, true, sub);
      }

      // Every fixture, whole and in 5-byte chunks, decoded to its fixtures/index.json entry.
      const index: FixtureEntry[] = JSON.parse(
        await Deno.readTextFile(new URL("index.json", FIXTURES)),
      );
      assert.equal(index.length, 8);
      assert.deepEqual(
        results.fixtures.map((r) => `${r.file} ${r.chunk}`),
        index.flatMap((e) => [`${e.file} 0`, `${e.file} 5`]),
      );
      for (const result of results.fixtures) {
        const { file: _, ...expected } = index.find((e) => e.file === result.file)!;
        assert.deepEqual(result.actual, expected, `${result.file} (chunk ${result.chunk})`);
        assert.equal(result.ok, true, `${result.file} (chunk ${result.chunk}): the page disagrees`);
      }
      const chunked = served.filter((r) =>
        r.path.startsWith("/fixtures/") && r.path.endsWith("?chunk=5")
      );
      assert.equal(chunked.length, 8);

      // SigV4: the AWS suite cases (hard-coded in the page) and the Bedrock requests.
      assert.deepEqual(results.signatures.map((s) => s.name), [
        "aws suite get-vanilla (header)",
        "aws suite post-vanilla (header)",
        "aws suite get-vanilla (query)",
        ...signingCases.map((c) => c.name),
      ]);
      for (const signature of results.signatures) {
        assert.equal(signature.ok, true, `${signature.name}: ${JSON.stringify(signature)}`);
        if (signature.suiteCase !== undefined && HAS_CORPORA) {
          // The page's hard-coded values are the suite's own.
          const file = `sigv4/aws-signing-test-suite/v4/${signature.suiteCase}/` +
            `${signature.variant}-signature.txt`;
          assert.equal(signature.expected, readCorpusText(file).trim(), file);
        }
      }
      for (const [i, c] of signingCases.entries()) {
        assert.deepEqual(results.signatures[3 + i]!.actual, {
          url: c.expected.url,
          headers: c.expected.headers,
        });
      }
      assert.equal(
        statusText,
        `${index.length * 2} fixture decodes, ${3 + signingCases.length} signatures, 0 failed`,
      );
      console.log(
        `browser: ${results.userAgent.match(/HeadlessChrome\/\S+/)![0]}; ` +
          `${results.fixtures.length} fixture decodes and ${results.signatures.length} ` +
          `signatures checked in the page; build ${Math.round(built - started)} ms, ` +
          `page ${Math.round(finished - built)} ms`,
      );
    } finally {
      await context?.close();
      await server?.shutdown();
      await Deno.remove(outDir, { recursive: true });
      await Deno.remove(profileDir, { recursive: true });
    }
  },
});
