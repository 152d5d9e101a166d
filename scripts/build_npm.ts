/**
 * Builds the npm package (what dnt would produce, with the TypeScript compiler itself): ESM `.js`,
 * `.d.ts` and source maps under `<outDir>/esm/` in the source's own layout (`esm/mod.js`,
 * `esm/src/framing/mod.js`, …), a `package.json` whose `exports` mirror `deno.json`'s, and the
 * README and LICENSE.
 *
 * The library uses web platform APIs only, so it compiles for Node as is; the one Deno-only file,
 * `src/gateway/main.ts` (the gateway's command line), is emitted too but is imported only under
 * `import.meta.main` — a Deno entry point that never runs when Node imports the package.
 *
 * Run: `deno task build:npm` (writes `npm/`).
 * @module
 */
import ts from "npm:typescript@5.9.3";

/** Options of {@linkcode buildNpm}. */
export interface BuildNpmOptions {
  /** Where to write the package; default `npm/` in the repository. Emptied first. */
  outDir?: string;
}

/** The repository root, as a directory URL. */
const ROOT = new URL("../", import.meta.url);

/** The npm package name. */
export const PACKAGE_NAME = "llmwire";

/**
 * The entry points: `package.json` export name → source file (relative to the repository).
 * Kept equal to `deno.json`'s `exports` (checked by {@linkcode buildNpm}).
 */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  ".": "./mod.ts",
  "./framing": "./src/framing/mod.ts",
  "./protocols": "./src/protocols/mod.ts",
  "./sigv4": "./src/sigv4/mod.ts",
  "./gateway": "./src/gateway/mod.ts",
};

/**
 * The gateway's command line: the one Deno-only file. It is type-checked by `deno task check`
 * (with Deno's types); here it is only emitted.
 */
const DENO_ONLY = "src/gateway/main.ts";

/**
 * The file that may name the `Deno` global besides {@linkcode DENO_ONLY}: the gateway's
 * `import.meta.main` guard that loads it. Anywhere else a `Deno` reference fails the build.
 */
const DENO_GUARD = "src/gateway/mod.ts";

/** Diagnostics that only say the `Deno` global is unknown (TS2304, TS2503). */
const DENO_UNKNOWN = /\bCannot find (name|namespace) 'Deno'/;

/**
 * Web platform types newer than TypeScript's DOM library, declared for the build only:
 * `import.meta.main` (Deno, Node 24+) for the gateway's guard, and the Streams standard's
 * `Transformer.cancel` (used by `ObservedStream`; Chromium, Firefox, Deno, Node 20.12+).
 */
const BUILD_SHIM = `interface ImportMeta { readonly main?: boolean }
interface Transformer<I = any, O = any> { cancel?: (reason: any) => void | PromiseLike<void> }
`;

/** The compiler options of the build: `deno.json`'s strict options, ES2022 modules, Node 18. */
function compilerOptions(outDir: string): ts.CompilerOptions {
  return {
    // deno.json's compilerOptions.
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: true,
    // The emitted package.
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts", "lib.dom.asynciterable.d.ts"],
    types: [],
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    declaration: true,
    sourceMap: true,
    inlineSources: true,
    removeComments: false,
    newLine: ts.NewLineKind.LineFeed,
    skipLibCheck: true,
    rootDir: ROOT.pathname,
    outDir: `${outDir}/esm`,
  };
}

/** The `package.json` of the build. */
function packageJson(version: string, license: string): Record<string, unknown> {
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [name, source] of Object.entries(ENTRY_POINTS)) {
    const base = `./esm/${source.slice(2, -3)}`;
    exports[name] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  return {
    name: PACKAGE_NAME,
    version,
    description: "The wire layer of LLM streaming: AWS EventStream and Server-Sent Events as " +
      "web streams, Bedrock / OpenAI / Anthropic protocol streams, AWS SigV4 on WebCrypto, and " +
      "an AI gateway. Browser-safe, zero dependencies.",
    keywords: [
      "eventstream",
      "server-sent-events",
      "sse",
      "sigv4",
      "bedrock",
      "openai",
      "anthropic",
      "llm",
      "web-streams",
      "gateway",
    ],
    license,
    type: "module",
    main: "./esm/mod.js",
    module: "./esm/mod.js",
    types: "./esm/mod.d.ts",
    exports,
    sideEffects: false,
    engines: { node: ">=18" },
    files: ["esm/"],
  };
}

/** `./x.ts` → `./x.js` for a relative specifier; anything else unchanged. */
function jsSpecifier(specifier: string): string {
  return /^\.\.?\//.test(specifier) ? specifier.replace(/\.(m|c)?ts$/, ".$1js") : specifier;
}

/**
 * Rewrites relative `.ts` specifiers in declaration files to `.js`, as in the emitted code
 * (`rewriteRelativeImportExtensions` rewrites only the `.js`), so every TypeScript version and
 * module resolution finds the `.d.ts` beside each `.js`.
 */
const declarationSpecifiers: ts.TransformerFactory<ts.SourceFile | ts.Bundle> = (context) => {
  const { factory } = context;
  const literal = (node: ts.Expression | undefined) =>
    node && ts.isStringLiteral(node) && jsSpecifier(node.text) !== node.text
      ? factory.createStringLiteral(jsSpecifier(node.text))
      : undefined;
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isImportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier) {
        return factory.updateImportDeclaration(
          node,
          node.modifiers,
          node.importClause,
          specifier,
          node.attributes,
        );
      }
    } else if (ts.isExportDeclaration(node)) {
      const specifier = literal(node.moduleSpecifier);
      if (specifier) {
        return factory.updateExportDeclaration(
          node,
          node.modifiers,
          node.isTypeOnly,
          node.exportClause,
          specifier,
          node.attributes,
        );
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const specifier = literal(node.argument.literal as ts.Expression);
      if (specifier) {
        return factory.updateImportTypeNode(
          node,
          factory.updateLiteralTypeNode(node.argument, specifier),
          node.attributes,
          node.qualifier,
          node.typeArguments,
          node.isTypeOf,
        );
      }
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (node) => ts.visitNode(node, visit) as ts.SourceFile | ts.Bundle;
};

/** Formats compiler diagnostics as `file:line:col - error TSnnnn: message` lines. */
function formatDiagnostics(diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => ROOT.pathname,
    getNewLine: () => "\n",
  });
}

/**
 * Builds the npm package into `outDir` (default `npm/`): compiles the entry points and everything
 * they import to ES2022 `.js` + `.d.ts` + `.js.map` under `esm/`, writes `package.json` (name
 * `llmwire`, version and license from `deno.json`) and copies README.md and LICENSE. Throws with
 * the compiler's diagnostics when the source does not type-check for the web platform (DOM and
 * ES2022 types, no Deno types), except for the `Deno` global in the gateway's command line.
 *
 * @param options where to write the package
 * @returns the output directory
 *
 * @example
 * ```ts
 * import { buildNpm } from "./scripts/build_npm.ts";
 *
 * const dir = await buildNpm({ outDir: await Deno.makeTempDir() });
 * console.log(JSON.parse(await Deno.readTextFile(`${dir}/package.json`)).name); // "llmwire"
 * ```
 */
export async function buildNpm(options: BuildNpmOptions = {}): Promise<string> {
  const outDir = (options.outDir ?? new URL("npm", ROOT).pathname).replace(/\/+$/, "");
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const exported = Object.fromEntries(
    Object.entries(denoJson.exports as Record<string, string>).map(([k, v]) => [k, v]),
  );
  if (JSON.stringify(exported) !== JSON.stringify(ENTRY_POINTS)) {
    throw new Error(
      `deno.json exports ${JSON.stringify(exported)} differ from the npm entry points ` +
        `${JSON.stringify(ENTRY_POINTS)}: update scripts/build_npm.ts`,
    );
  }

  await Deno.remove(outDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(outDir, { recursive: true });

  const shim = new URL("npm_build_shim.d.ts", `file://${await Deno.makeTempDir()}/`);
  await Deno.writeTextFile(shim, BUILD_SHIM);
  try {
    const options_ = compilerOptions(outDir);
    const roots = [
      ...Object.values(ENTRY_POINTS).map((p) => new URL(p, ROOT).pathname),
      shim.pathname,
    ];
    const program = ts.createProgram(roots, options_, ts.createCompilerHost(options_));
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => {
      const file = d.file?.fileName.slice(ROOT.pathname.length);
      if (file === DENO_ONLY) return false;
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      return !(file === DENO_GUARD && DENO_UNKNOWN.test(message));
    });
    if (diagnostics.length > 0) {
      throw new Error(`the npm build does not type-check:\n${formatDiagnostics(diagnostics)}`);
    }
    const emitted = program.emit(undefined, undefined, undefined, false, {
      afterDeclarations: [declarationSpecifiers],
    });
    if (emitted.emitSkipped || emitted.diagnostics.length > 0) {
      throw new Error(`the npm build failed to emit:\n${formatDiagnostics(emitted.diagnostics)}`);
    }
  } finally {
    await Deno.remove(new URL(".", shim), { recursive: true });
  }

  await Deno.writeTextFile(
    `${outDir}/package.json`,
    JSON.stringify(packageJson(denoJson.version, denoJson.license), null, 2) + "\n",
  );
  await Deno.copyFile(new URL("README.md", ROOT), `${outDir}/README.md`);
  await Deno.copyFile(new URL("LICENSE", ROOT), `${outDir}/LICENSE`);
  return outDir;
}

if (import.meta.main) {
  const outDir = await buildNpm(Deno.args[0] ? { outDir: Deno.args[0] } : {});
  console.log(`built ${PACKAGE_NAME} into ${outDir}`);
}
