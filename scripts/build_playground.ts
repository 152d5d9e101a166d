/**
 * Builds the gateway's playground page: bundles `src/gateway/playground.ts` (which imports the
 * framing and protocol decoders from `src/`) into one ESM script with esbuild, and writes
 * `src/gateway/_playground_assets.ts` with the page's HTML and that script as string constants —
 * the gateway runs from TypeScript source (and from JSR), so it cannot bundle at run time.
 *
 * `deno run --allow-read --allow-write --allow-env --allow-run scripts/build_playground.ts`
 *
 * The output is deterministic (no timestamps, paths relative to the repository), and
 * `tests/playground_test.ts` checks that the committed file is what this script writes now.
 * @module
 */

import * as esbuild from "npm:esbuild@0.28.2";

/** The repository root. */
const ROOT = new URL("../", import.meta.url);

/** The generated module, relative to the repository root. */
export const PLAYGROUND_ASSETS_PATH = "src/gateway/_playground_assets.ts";

/** The page. `playground.js` is loaded relative to it, so the gateway may sit under a prefix. */
const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>llmwire playground</title>
<style>
  :root {
    color-scheme: light dark;
    --fg: #1d2026;
    --muted: #6b7280;
    --bg: #f6f7f9;
    --panel: #ffffff;
    --border: #d7dbe0;
    --accent: #2f6feb;
    --error: #c62828;
    font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --fg: #e6e8eb;
      --muted: #9aa3ad;
      --bg: #15171b;
      --panel: #1e2126;
      --border: #343941;
      --accent: #5b8def;
      --error: #ef6b6b;
    }
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--fg); }
  main { max-width: 880px; margin: 0 auto; padding: 28px 24px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h1 span { color: var(--muted); font-weight: normal; }
  .lead { margin: 0 0 20px; color: var(--muted); font-size: 14px; }
  form { display: grid; gap: 12px; }
  .row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
  label, .hint { font-size: 13px; color: var(--muted); }
  select, textarea, button { font: inherit; font-size: 14px; color: inherit; }
  select {
    padding: 6px 8px; border: 1px solid var(--border); border-radius: 6px; background: var(--panel);
  }
  fieldset {
    display: inline-flex; margin: 0; padding: 2px; border: 1px solid var(--border);
    border-radius: 8px; background: var(--panel);
  }
  fieldset input { position: absolute; opacity: 0; pointer-events: none; }
  fieldset label { padding: 5px 12px; border-radius: 6px; cursor: pointer; color: var(--fg); }
  fieldset input:checked + label { background: var(--accent); color: #fff; }
  fieldset input:focus-visible + label { outline: 2px solid var(--accent); outline-offset: 1px; }
  textarea {
    width: 100%; min-height: 84px; padding: 10px; resize: vertical;
    border: 1px solid var(--border); border-radius: 8px; background: var(--panel);
  }
  button {
    padding: 8px 20px; border: 0; border-radius: 8px; background: var(--accent); color: #fff;
    cursor: pointer;
  }
  button:disabled { opacity: 0.6; cursor: progress; }
  pre {
    min-height: 180px; margin: 20px 0 8px; padding: 14px; white-space: pre-wrap;
    word-break: break-word; border: 1px solid var(--border); border-radius: 8px;
    background: var(--panel); font: 14px/1.5 ui-monospace, "SFMono-Regular", Menlo, monospace;
  }
  .stats { display: flex; justify-content: space-between; gap: 12px; font-size: 13px; }
  #stats { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; }
  #status { color: var(--muted); }
  #status[data-state="error"] { color: var(--error); }
</style>
<script type="module" src="playground.js"></script>
</head>
<body>
<main>
  <h1>llmwire <span>playground</span></h1>
  <p class="lead">The reply is decoded in this page by llmwire's own framing and protocol decoders.</p>
  <form id="chat">
    <div class="row">
      <label for="model">Model</label>
      <select id="model" name="model"></select>
      <span class="hint">Protocol</span>
      <fieldset aria-label="Protocol">
        <input type="radio" id="protocol-bedrock" name="protocol" value="bedrock" checked>
        <label for="protocol-bedrock">Bedrock EventStream</label>
        <input type="radio" id="protocol-openai" name="protocol" value="openai">
        <label for="protocol-openai">OpenAI SSE</label>
      </fieldset>
    </div>
    <textarea id="prompt" name="prompt" placeholder="Say something…" required></textarea>
    <div class="row">
      <button id="send" type="submit" disabled>Send</button>
      <span class="hint">or Ctrl+Enter</span>
    </div>
  </form>
  <pre id="output" aria-live="polite"></pre>
  <div class="stats">
    <span id="stats">TTFT … · … in / … out tokens</span>
    <span id="status" data-state="loading">loading models…</span>
  </div>
</main>
</body>
</html>
`;

/** Bundles the page's module into one ESM script. */
async function bundle(): Promise<string> {
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT.pathname,
      entryPoints: ["src/gateway/playground.ts"],
      bundle: true,
      write: false,
      format: "esm",
      target: "es2022",
      platform: "browser",
      charset: "utf8",
      legalComments: "none",
      logLevel: "silent",
    });
    return result.outputFiles[0]!.text;
  } finally {
    await esbuild.stop();
  }
}

/** `text` as a template literal (verbatim, so it reads as it is served). */
function templateLiteral(text: string): string {
  return "`" + text.replaceAll("\\", "\\\\").replaceAll("`", "\\`").replaceAll("${", "\\${") +
    "`";
}

/**
 * The generated module's source: the page's HTML and bundled script.
 *
 * @returns the text of `src/gateway/_playground_assets.ts`
 */
export async function generatePlaygroundAssets(): Promise<string> {
  const script = await bundle();
  return `// Generated by scripts/build_playground.ts from src/gateway/playground.ts — do not edit.
// deno-fmt-ignore-file
/**
 * The gateway's playground page, as served: its HTML (\`GET /\`) and its bundled script
 * (\`GET /playground.js\`).
 * @module
 */

/**
 * The playground page (\`GET /\`).
 *
 * @example
 * \`\`\`ts
 * import { PLAYGROUND_HTML } from "./_playground_assets.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(PLAYGROUND_HTML.includes('<script type="module" src="playground.js">'));
 * \`\`\`
 */
export const PLAYGROUND_HTML: string = ${templateLiteral(HTML)};

/**
 * The playground page's script (\`GET /playground.js\`): \`src/gateway/playground.ts\` bundled with
 * llmwire's decoders.
 *
 * @example
 * \`\`\`ts
 * import { PLAYGROUND_JS } from "./_playground_assets.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(PLAYGROUND_JS.includes("EventStreamDecoderStream"));
 * assert.ok(PLAYGROUND_JS.includes("/converse-stream"));
 * \`\`\`
 */
export const PLAYGROUND_JS: string = ${templateLiteral(script)};
`;
}

/**
 * Writes `src/gateway/_playground_assets.ts`.
 *
 * @returns the path written
 */
export async function buildPlayground(): Promise<string> {
  const path = new URL(PLAYGROUND_ASSETS_PATH, ROOT);
  await Deno.writeTextFile(path, await generatePlaygroundAssets());
  return path.pathname;
}

if (import.meta.main) {
  console.log(`wrote ${await buildPlayground()}`);
}
