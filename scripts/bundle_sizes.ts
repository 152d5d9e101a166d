/**
 * Bundle sizes (minified, and minified + gzip) of what a browser app pays for llmwire's framing
 * decoders and its SigV4 signer, next to the packages people use today: eventsource-parser,
 * `@smithy/core/event-streams` (the AWS SDK's EventStream decoding) and aws4fetch, plus the AWS
 * SDK's own signer. Each row bundles one entry that re-exports only the named API, with esbuild
 * (`--bundle --minify --format=esm --platform=browser`), from the npm package built by
 * {@linkcode buildNpm} and the peers installed from the npm registry at the versions the
 * benchmarks in `bench/` use. gzip is zlib's default level (6).
 *
 * Run: `deno task sizes` (needs the npm registry; prints a markdown table).
 * @module
 */
import { gzipSync } from "node:zlib";
import { buildNpm } from "./build_npm.ts";

/** esbuild, pinned. */
const ESBUILD = "esbuild@0.28.2";

/** The peers, pinned to the versions of `bench/`. */
const PEERS = [
  "eventsource-parser@3.1.1",
  "@smithy/core@3.41.0",
  "@smithy/util-utf8@4.5.2",
  "aws4fetch@1.0.20",
  "@smithy/signature-v4@5.7.5",
  "@aws-crypto/sha256-js@5.2.0",
];

/** One bundle: a name, what it measures, and the entry module's source. */
export interface BundleEntry {
  /** Row label. */
  name: string;
  /** The entry module (ESM re-exports). */
  source: string;
}

/** The bundles measured, in table order. */
export const BUNDLES: readonly BundleEntry[] = [
  {
    name: "llmwire framing decoders (`EventStreamDecoderStream` + `SseDecoderStream`)",
    source: `export { EventStreamDecoderStream, SseDecoderStream } from "llmwire/framing";`,
  },
  {
    name: "llmwire `EventStreamDecoderStream`",
    source: `export { EventStreamDecoderStream } from "llmwire/framing";`,
  },
  {
    name: "llmwire `SseDecoderStream`",
    source: `export { SseDecoderStream } from "llmwire/framing";`,
  },
  {
    name: "eventsource-parser 3.1.1 (`EventSourceParserStream`)",
    source: `export { EventSourceParserStream } from "eventsource-parser/stream";`,
  },
  {
    name: "@smithy/core 3.41.0 event-streams (`EventStreamCodec` + `getChunkedStream` + " +
      "@smithy/util-utf8)",
    source: `export { EventStreamCodec, getChunkedStream } from "@smithy/core/event-streams";
export { fromUtf8, toUtf8 } from "@smithy/util-utf8";`,
  },
  {
    name: "llmwire `SigV4Signer`",
    source: `export { SigV4Signer } from "llmwire/sigv4";`,
  },
  {
    name: "aws4fetch 1.0.20 (`AwsV4Signer`)",
    source: `export { AwsV4Signer } from "aws4fetch";`,
  },
  {
    name: "@smithy/signature-v4 5.7.5 + @aws-crypto/sha256-js 5.2.0 (the AWS SDK's signer)",
    source: `export { SignatureV4 } from "@smithy/signature-v4";
export { Sha256 } from "@aws-crypto/sha256-js";`,
  },
];

/** The size of one bundle. */
export interface BundleSize {
  /** Row label. */
  name: string;
  /** Minified bytes. */
  minified: number;
  /** Minified, then gzip (zlib default level) bytes. */
  gzipped: number;
}

const decoder = new TextDecoder();

async function run(command: string, args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${output.code}):\n${decoder.decode(output.stdout)}\n${
        decoder.decode(output.stderr)
      }`,
    );
  }
}

/**
 * Builds the npm package, installs it with esbuild and the peers into a temp project, bundles
 * every entry of {@linkcode BUNDLES} and measures it.
 *
 * @returns one size per entry of {@linkcode BUNDLES}, in order
 *
 * @example
 * ```ts ignore
 * import { bundleSizes, sizeTable } from "./scripts/bundle_sizes.ts";
 *
 * console.log(sizeTable(await bundleSizes()));
 * ```
 */
export async function bundleSizes(): Promise<BundleSize[]> {
  const temp = await Deno.makeTempDir({ prefix: "llmwire_sizes_" });
  try {
    await buildNpm({ outDir: `${temp}/llmwire` });
    await Deno.writeTextFile(
      `${temp}/package.json`,
      JSON.stringify({ name: "sizes", private: true, type: "module" }),
    );
    await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--prefer-offline",
      "--silent",
      ESBUILD,
      ...PEERS,
      "./llmwire",
    ], temp);
    const sizes: BundleSize[] = [];
    for (const [i, { name, source }] of BUNDLES.entries()) {
      await Deno.writeTextFile(`${temp}/entry${i}.mjs`, source + "\n");
      await run(`${temp}/node_modules/.bin/esbuild`, [
        `entry${i}.mjs`,
        "--bundle",
        "--minify",
        "--format=esm",
        "--platform=browser",
        "--target=es2022",
        "--legal-comments=none",
        "--log-level=warning",
        `--outfile=out${i}.js`,
      ], temp);
      const bundle = await Deno.readFile(`${temp}/out${i}.js`);
      sizes.push({ name, minified: bundle.length, gzipped: gzipSync(bundle).length });
    }
    return sizes;
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
}

/**
 * Formats sizes as a markdown table (bytes, and KB with one decimal).
 *
 * @param sizes from {@linkcode bundleSizes}
 * @returns the table
 *
 * @example
 * ```ts
 * import { sizeTable } from "./bundle_sizes.ts";
 * import assert from "node:assert/strict";
 *
 * const table = sizeTable([{ name: "x", minified: 2048, gzipped: 1000 }]);
 * assert.ok(table.endsWith("| x | 2,048 (2.0 KB) | 1,000 (1.0 KB) |"));
 * ```
 */
export function sizeTable(sizes: readonly BundleSize[]): string {
  const bytes = (n: number) => `${n.toLocaleString("en-US")} (${(n / 1024).toFixed(1)} KB)`;
  return [
    "| bundle (esbuild, browser ESM) | min | min + gzip |",
    "|---|--:|--:|",
    ...sizes.map(({ name, minified, gzipped }) =>
      `| ${name} | ${bytes(minified)} | ${bytes(gzipped)} |`
    ),
  ].join("\n");
}

if (import.meta.main) {
  console.log(sizeTable(await bundleSizes()));
}
