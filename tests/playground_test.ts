/**
 * The playground page (`GET /`): its generated assets are current, the gateway serves them, and
 * in headless Chromium a prompt sent over each protocol streams back the mock's reply with its
 * usage and time to first token.
 *
 * Chromium is `/usr/bin/chromium` (Debian's `chromium`); without it the browser test fails,
 * unless `LLMWIRE_SKIP_BROWSER=1`. `docs/playground.png` is written when it is missing or when
 * `LLMWIRE_UPDATE_SCREENSHOT=1`.
 * @module
 */

import assert from "node:assert/strict";
import { chromium } from "./_playwright.ts";
import { createGateway, defaultGatewayConfig, parseGatewayConfig } from "../src/gateway/mod.ts";
import { PLAYGROUND_HTML, PLAYGROUND_JS } from "../src/gateway/_playground_assets.ts";
import { generatePlaygroundAssets, PLAYGROUND_ASSETS_PATH } from "../scripts/build_playground.ts";

const ROOT = new URL("../", import.meta.url);
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = new URL("docs/playground.png", ROOT);
const SKIP_BROWSER = Deno.env.get("LLMWIRE_SKIP_BROWSER") === "1";

function exists(path: string | URL): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The default configuration, with the mocks' delays small but real. */
function playgroundGateway() {
  const config = defaultGatewayConfig() as {
    models: Record<string, { instances: Record<string, unknown>[] }>;
  };
  for (const model of Object.values(config.models)) {
    for (const instance of model.instances) {
      Object.assign(instance, { firstTokenDelayMs: 50, tokenDelayMs: 10 });
    }
  }
  return createGateway(parseGatewayConfig(config), { logger: () => {} });
}

Deno.test("playground: the committed assets are what scripts/build_playground.ts writes", async () => {
  const committed = await Deno.readTextFile(new URL(PLAYGROUND_ASSETS_PATH, ROOT));
  assert.ok(
    committed === await generatePlaygroundAssets(),
    `${PLAYGROUND_ASSETS_PATH} is stale: run deno run -A scripts/build_playground.ts`,
  );
});

Deno.test("playground: GET / serves the page, GET /playground.js its script", async () => {
  const gateway = playgroundGateway();
  try {
    const page = await gateway.fetch(new Request("http://localhost/"));
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    assert.equal(await page.text(), PLAYGROUND_HTML);

    const script = await gateway.fetch(new Request("http://localhost/playground.js"));
    assert.equal(script.status, 200);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await script.text(), PLAYGROUND_JS);

    const post = await gateway.fetch(new Request("http://localhost/", { method: "POST" }));
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET");
    await post.body?.cancel();
  } finally {
    await gateway.close();
  }
});

Deno.test({
  name: "playground: Chromium streams the mock's reply over EventStream and SSE",
  ignore: SKIP_BROWSER,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (!exists(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), ` +
          "or set LLMWIRE_SKIP_BROWSER=1 to skip the browser tests",
      );
    }
    const gateway = playgroundGateway();
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      (request) => gateway.fetch(request),
    );
    const origin = `http://127.0.0.1:${server.addr.port}`;
    const profile = await Deno.makeTempDir({ prefix: "llmwire-playground-" });
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1000, height: 700 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          "--disable-quic",
        ],
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });
      await page.goto(`${origin}/`);
      await page.waitForSelector('#status[data-state="idle"]');
      assert.deepEqual(
        await page.locator("#model option").allTextContents(),
        ["mock", "mock-openai", "mock-anthropic"],
      );

      // The Bedrock run last, so the screenshot shows the page's default protocol.
      const runs = [
        { protocol: "openai", prompt: "Stream this over server-sent events", usage: [5, 13] },
        { protocol: "bedrock", prompt: "What does llmwire do?", usage: [4, 12] },
      ];
      for (const { protocol, prompt, usage } of runs) {
        await page.selectOption("#model", "mock");
        await page.click(`label[for="protocol-${protocol}"]`);
        assert.equal(await page.isChecked(`#protocol-${protocol}`), true);
        await page.fill("#prompt", prompt);
        // Counts the updates of the output, to see the reply arrive in pieces.
        await page.evaluate(() => {
          const scope = globalThis as unknown as Record<string, unknown> & {
            document: { getElementById(id: string): unknown };
            MutationObserver: new (callback: () => void) => {
              observe(target: unknown, options: Record<string, boolean>): void;
            };
          };
          scope.outputUpdates = 0;
          new scope.MutationObserver(() => {
            scope.outputUpdates = (scope.outputUpdates as number) + 1;
          }).observe(scope.document.getElementById("output"), { childList: true });
        });
        await page.click("#send");
        await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]');
        const status = await page.getAttribute("#status", "data-state");
        assert.equal(status, "done", `${protocol}: ${await page.textContent("#status")}`);

        assert.equal(
          await page.textContent("#output"),
          `Hello from the llmwire mock model. You said: "${prompt}"`,
          protocol,
        );
        const stats = (await page.textContent("#stats"))!;
        const match = /^TTFT (\d+) ms · (\d+) in \/ (\d+) out tokens$/.exec(stats);
        assert.ok(match !== null, `${protocol}: stats line ${JSON.stringify(stats)}`);
        // The mock waits 50 ms before its first token; it counts the prompt's words as input
        // and its reply's words (8 + the prompt's) as output.
        assert.ok(Number(match[1]) >= 45, `${protocol}: TTFT ${match[1]} ms`);
        assert.deepEqual([Number(match[2]), Number(match[3])], usage, protocol);
        const updates = await page.evaluate(() =>
          (globalThis as Record<string, unknown>).outputUpdates
        );
        assert.ok((updates as number) > 1, `${protocol}: the output was updated ${updates} times`);
      }
      assert.deepEqual(problems, []);

      if (Deno.env.get("LLMWIRE_UPDATE_SCREENSHOT") === "1" || !exists(SCREENSHOT)) {
        await Deno.mkdir(new URL("docs/", ROOT), { recursive: true });
        await Deno.writeFile(SCREENSHOT, await page.screenshot({ type: "png" }));
      }
    } finally {
      await context?.close();
      await server.shutdown();
      await gateway.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
