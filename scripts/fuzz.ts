/**
 * `deno task fuzz`: runs every fuzz property of `scripts/_fuzz_cases.ts` (all framing and
 * protocol decoders: random valid input, bit flips, truncations, splices, absurd lengths,
 * random chunking) for ≥ 1,000,000 inputs in all, and prints the count per target. A failure is
 * printed with the seed and path that replay it; the exit code is 1.
 *
 * ```sh
 * deno task fuzz                                   # 1,000,000 inputs
 * deno task fuzz --runs 5000000                    # more
 * deno task fuzz --target sse_text_chunks --seed 42 --path "12:3"   # replay one failure
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { FUZZ_TARGETS, runTarget } from "./_fuzz_cases.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "1000000" },
    target: { type: "string" },
    seed: { type: "string" },
    path: { type: "string" },
  },
});

const total = Number(values.runs);
if (!Number.isInteger(total) || total <= 0) throw new Error(`--runs: ${values.runs}`);
const targets = values.target === undefined
  ? FUZZ_TARGETS
  : FUZZ_TARGETS.filter((t) => t.name === values.target);
if (targets.length === 0) {
  console.error(`unknown target ${values.target}; targets: ${FUZZ_TARGETS.map((t) => t.name)}`);
  Deno.exit(2);
}
const weights = targets.reduce((n, t) => n + t.weight, 0);
const baseSeed = values.seed === undefined ? (Date.now() & 0x7fffffff) : Number(values.seed);

console.log(
  `fuzzing ${targets.length} targets, ${total.toLocaleString("en")} inputs, seed ${baseSeed}`,
);
console.log("| target | inputs | time (s) | inputs/s | result |");
console.log("|---|---:|---:|---:|---|");
const started = performance.now();
let ran = 0;
const failures: string[] = [];
for (const [i, target] of targets.entries()) {
  const numRuns = Math.ceil((total * target.weight) / weights);
  // Each target gets its own seed derived from the base one, so a failure replays alone.
  const seed = values.seed !== undefined && targets.length === 1 ? baseSeed : (baseSeed + i) | 0;
  const result = runTarget(target, {
    numRuns,
    seed,
    ...(values.path === undefined ? {} : { path: values.path }),
  });
  ran += result.runs;
  const seconds = result.milliseconds / 1000;
  console.log(
    `| ${target.name} | ${result.runs.toLocaleString("en")} | ${seconds.toFixed(1)} | ${
      Math.round(result.runs / seconds).toLocaleString("en")
    } | ${result.failed ? "FAILED" : "ok"} |`,
  );
  if (result.failed) {
    failures.push(
      `${target.name}: replay with  deno task fuzz --target ${target.name} --seed ${result.seed}` +
        (result.path === undefined ? "" : ` --path "${result.path}"`) + `\n${result.report}`,
    );
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `\n${ran.toLocaleString("en")} inputs in ${
    seconds.toFixed(1)
  } s, ${failures.length} failing targets`,
);
for (const failure of failures) console.error(`\n${failure}`);
if (failures.length > 0) Deno.exit(1);
