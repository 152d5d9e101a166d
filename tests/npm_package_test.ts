/**
 * The npm package, end to end: `buildNpm` into a temp dir, `npm pack --dry-run` lists only what
 * is meant to ship, the packed tarball installs offline into a consumer project, Node imports
 * every subpath there (the same export names as the source, concrete values, the gateway's mock
 * models answering), TypeScript type-checks a consumer against the shipped `.d.ts`, and the Node
 * tests of `tests/node/` pass with `node --test` against the installed package.
 */
import assert from "node:assert/strict";
import ts from "npm:typescript@5.9.3";
import { buildNpm, ENTRY_POINTS, PACKAGE_NAME } from "../scripts/build_npm.ts";
import { CORPORA_URL, HAS_CORPORA } from "./_helpers.ts";

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** Runs a command; returns its exit code and output (both streams, for failure messages). */
async function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, {
    args,
    cwd,
    env: { NO_COLOR: "1", npm_config_update_notifier: "false", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs a command that must succeed; returns its stdout. */
async function ok(command: string, args: string[], cwd: string, env?: Record<string, string>) {
  const result = await run(command, args, cwd, env);
  assert.equal(
    result.code,
    0,
    `${command} ${args.join(" ")} failed (${result.code}):\n${result.stdout}\n${result.stderr}`,
  );
  return result.stdout;
}

/** What Node prints for the consumer: export names per subpath and a few concrete values. */
const CONSUMER = `
import * as root from "llmwire";
import * as framing from "llmwire/framing";
import * as protocols from "llmwire/protocols";
import * as sigv4 from "llmwire/sigv4";
import * as gateway from "llmwire/gateway";

const crc = framing.crc32(new TextEncoder().encode("123456789"));
const frame = framing.encodeEventStreamMessage({
  headers: { ":event-type": { type: "string", value: "chunk" } },
  payload: new TextEncoder().encode("{}"),
});
const decoded = framing.decodeEventStreamMessage(frame);
const signer = new sigv4.SigV4Signer({
  region: "us-east-1",
  service: "service",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  applyChecksum: false,
});
const signed = await signer.sign(new Request("https://example.amazonaws.com/"), {
  signingDate: new Date("2015-08-30T12:36:00Z"),
});
const gw = gateway.createGateway(gateway.parseGatewayConfig(gateway.defaultGatewayConfig()), {
  logger: () => {},
});
const models = await (await gw.fetch(new Request("http://gateway/v1/models"))).json();
const reply = await gw.fetch(new Request("http://gateway/v1/chat/completions", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model: "mock-openai", messages: [{ role: "user", content: "hi" }] }),
}));
const completion = await reply.json();
await gw.close();
console.log(JSON.stringify({
  exports: {
    ".": Object.keys(root).sort(),
    "./framing": Object.keys(framing).sort(),
    "./protocols": Object.keys(protocols).sort(),
    "./sigv4": Object.keys(sigv4).sort(),
    "./gateway": Object.keys(gateway).sort(),
  },
  crc,
  eventType: decoded.headers[":event-type"].value,
  sameClass: root.SigV4Signer === sigv4.SigV4Signer && root.SseDecoderStream === framing.SseDecoderStream,
  authorization: signed.headers.get("authorization"),
  models: models.data.map((m) => m.id).sort(),
  replyStatus: reply.status,
  replyText: completion.choices[0].message.content,
}));
`;

/** A TypeScript consumer of every subpath, type-checked against the shipped declarations. */
const CONSUMER_TS = `
import { crc32, EventStreamDecoderStream, type SseEvent, SseDecoderStream } from "llmwire/framing";
import { type LlmEvent, OpenAIChatDecoderStream } from "llmwire/protocols";
import { SigV4Signer, type SignatureDetails } from "llmwire/sigv4";
import { createGateway, type Gateway, parseGatewayConfig } from "llmwire/gateway";
import * as all from "llmwire";

export const n: number = crc32(new Uint8Array([1]));
export const s: TransformStream<Uint8Array, unknown> = new EventStreamDecoderStream();
export const e: SseEvent = { data: "x" };
export const d: SseDecoderStream = new all.SseDecoderStream();
export const o: TransformStream<SseEvent, LlmEvent> = new OpenAIChatDecoderStream();
export const signer: SigV4Signer = new all.SigV4Signer({
  region: "us-east-1",
  service: "bedrock",
  credentials: { accessKeyId: "a", secretAccessKey: "b" },
});
export type Details = SignatureDetails;
export const g: Gateway = createGateway(parseGatewayConfig({}));
`;

/** Strips comments from declaration text (good enough for `.d.ts` emitted by tsc). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Every file below `dir`, relative to it. */
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) files.push(...await walk(dir, `${path}/`));
    else files.push(path);
  }
  return files.sort();
}

Deno.test({
  name: "npm package: build, pack, install offline, import every subpath, node --test",
  // Node's and npm's own handles (child processes) are awaited; nothing outlives the test.
  async fn() {
    const temp = await Deno.makeTempDir({ prefix: "llmwire_npm_" });
    try {
      // 1. Build.
      const pkg = await buildNpm({ outDir: `${temp}/package` });
      assert.equal(pkg, `${temp}/package`);
      const manifest = JSON.parse(await Deno.readTextFile(`${pkg}/package.json`));
      const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
      assert.equal(manifest.name, PACKAGE_NAME);
      assert.equal(manifest.version, denoJson.version);
      assert.equal(manifest.license, "MIT");
      assert.equal(manifest.type, "module");
      assert.equal(manifest.sideEffects, false);
      assert.deepEqual(manifest.engines, { node: ">=18" });
      assert.deepEqual(Object.keys(manifest.exports), Object.keys(denoJson.exports));
      assert.equal(manifest.dependencies, undefined);
      for (const [name, source] of Object.entries(ENTRY_POINTS)) {
        const base = `./esm/${source.slice(2, -3)}`;
        assert.deepEqual(manifest.exports[name], { types: `${base}.d.ts`, default: `${base}.js` });
      }

      // Every .js has its .d.ts and .js.map; no declaration of a browser-safe layer names Deno.
      const built = await walk(`${pkg}/esm`);
      const scripts = built.filter((f) => f.endsWith(".js"));
      assert.ok(scripts.length >= 40, `only ${scripts.length} modules`);
      for (const script of scripts) {
        assert.ok(built.includes(script.replace(/\.js$/, ".d.ts")), `${script}: no .d.ts`);
        assert.ok(built.includes(`${script}.map`), `${script}: no source map`);
        const code = withoutComments(await Deno.readTextFile(`${pkg}/esm/${script}`));
        assert.doesNotMatch(code, /from "\.{1,2}\/[^"]*\.ts"/, `${script} imports a .ts file`);
      }
      for (const file of built.filter((f) => f.endsWith(".d.ts"))) {
        const declarations = withoutComments(await Deno.readTextFile(`${pkg}/esm/${file}`));
        assert.doesNotMatch(declarations, /from "\.{1,2}\/[^"]*\.ts"/, `${file} imports .ts`);
        // The gateway's command line (Deno.serve, Deno.NetAddr) is the one Deno-only module.
        if (file === "src/gateway/main.d.ts") continue;
        assert.doesNotMatch(declarations, /\bDeno\b/, `${file} names Deno`);
      }
      const map = JSON.parse(await Deno.readTextFile(`${pkg}/esm/src/framing/sse.js.map`));
      assert.equal(map.sources.length, 1);
      assert.match(map.sourcesContent[0], /export class SseDecoderStream/);

      // 2. What npm would publish: only the build, the manifest, README and LICENSE.
      const [dryRun] = JSON.parse(await ok("npm", ["pack", "--dry-run", "--json"], pkg));
      const packed: string[] = dryRun.files.map((f: { path: string }) => f.path).sort();
      const unintended = packed.filter((path) =>
        !["package.json", "README.md", "LICENSE"].includes(path) &&
        !/^esm\/.+\.(js|d\.ts|js\.map)$/.test(path)
      );
      assert.deepEqual(unintended, []);
      assert.deepEqual(
        packed,
        [...built.map((f) => `esm/${f}`), "LICENSE", "README.md", "package.json"].sort(),
      );
      for (const forbidden of [/^tests?\//, /^fixtures\//, /^scripts\//, /^\.ci\//, /deno\.json/]) {
        assert.ok(!packed.some((p) => forbidden.test(p)), `${forbidden} is packed`);
      }
      assert.equal(dryRun.name, "llmwire");
      assert.equal(dryRun.entryCount, packed.length);

      // 3. Pack and install the tarball into a consumer project, offline (no dependencies).
      await ok("npm", ["pack", "--pack-destination", temp, "--silent"], pkg);
      const tarball = `${temp}/llmwire-${denoJson.version}.tgz`;
      assert.ok((await Deno.stat(tarball)).size > 10_000);
      const consumer = `${temp}/consumer`;
      await Deno.mkdir(`${consumer}/tests`, { recursive: true });
      await Deno.writeTextFile(
        `${consumer}/package.json`,
        JSON.stringify({ name: "consumer", private: true, type: "module" }),
      );
      await ok("npm", [
        "install",
        tarball,
        "--offline",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        "--silent",
      ], consumer);
      const installed = JSON.parse(
        await Deno.readTextFile(`${consumer}/node_modules/llmwire/package.json`),
      );
      assert.equal(installed.version, denoJson.version);

      // 4. Node imports every subpath: the same names as the source exports, working values.
      await Deno.writeTextFile(`${consumer}/consumer.mjs`, CONSUMER);
      const seen = JSON.parse(await ok("node", ["consumer.mjs"], consumer));
      for (const [name, source] of Object.entries(ENTRY_POINTS)) {
        const module = await import(new URL(source, ROOT).href);
        assert.deepEqual(seen.exports[name], Object.keys(module).sort(), `exports of ${name}`);
      }
      assert.ok(seen.exports["./protocols"].includes("BedrockConverseDecoderStream"));
      assert.equal(seen.crc, 0xcbf43926);
      assert.equal(seen.eventType, "chunk");
      assert.equal(seen.sameClass, true);
      assert.equal(
        seen.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
          "SignedHeaders=host;x-amz-date, " +
          "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
      );
      assert.deepEqual(seen.models, ["mock", "mock-anthropic", "mock-openai"]);
      assert.equal(seen.replyStatus, 200);
      assert.equal(typeof seen.replyText, "string");
      assert.ok(seen.replyText.length > 0);

      // 5. TypeScript (NodeNext resolution, no skipLibCheck) type-checks a consumer against the
      // shipped declarations, without Deno's or Node's types.
      await Deno.writeTextFile(`${consumer}/consumer.ts`, CONSUMER_TS);
      const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
        types: [],
        skipLibCheck: false,
      };
      const program = ts.createProgram([`${consumer}/consumer.ts`], options);
      const diagnostics = ts.getPreEmitDiagnostics(program);
      assert.equal(
        ts.formatDiagnostics(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => consumer,
          getNewLine: () => "\n",
        }),
        "",
      );
      const declarationFiles = program.getSourceFiles().filter((f) =>
        f.fileName.includes("/node_modules/llmwire/esm/")
      );
      assert.ok(declarationFiles.length >= 20, `${declarationFiles.length} .d.ts files checked`);

      // 6. The Node tests against the installed package.
      const nodeTests: string[] = [];
      for await (const entry of Deno.readDir(new URL("node/", import.meta.url))) {
        if (entry.isFile && entry.name.endsWith(".mjs")) {
          await Deno.copyFile(
            new URL(`node/${entry.name}`, import.meta.url),
            `${consumer}/tests/${entry.name}`,
          );
          if (entry.name.endsWith("_node.mjs")) nodeTests.push(`tests/${entry.name}`);
        }
      }
      assert.deepEqual(nodeTests.sort(), [
        "tests/framing_node.mjs",
        "tests/gateway_node.mjs",
        "tests/protocols_node.mjs",
        "tests/sigv4_node.mjs",
      ]);
      const result = await run("node", ["--test", "--test-reporter=tap", ...nodeTests], consumer, {
        LLMWIRE_FIXTURES: new URL("fixtures/", ROOT).pathname,
        LLMWIRE_CORPORA: HAS_CORPORA ? CORPORA_URL.pathname : `${temp}/no-corpora`,
      });
      const count = (name: string) =>
        Number(result.stdout.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1]);
      const report = `${result.stdout.slice(-3000)}\n${result.stderr}`;
      assert.equal(result.code, 0, `node --test failed:\n${report}`);
      assert.equal(count("fail"), 0, report);
      // framing: 4 corpus tests + 1 per fixture; gateway: 2; sigv4: 2; protocols: 1 per
      // fixture + 3.
      const fixtures = JSON.parse(await Deno.readTextFile(new URL("fixtures/index.json", ROOT)));
      const total = 4 + fixtures.length + 2 + 2 + fixtures.length + 3;
      assert.equal(count("tests"), total, report);
      assert.equal(count("pass"), HAS_CORPORA ? total : total - 5, report);
      assert.equal(count("skipped"), HAS_CORPORA ? 0 : 5, report);
    } finally {
      await Deno.remove(temp, { recursive: true });
    }
  },
});
