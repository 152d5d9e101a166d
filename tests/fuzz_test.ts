/**
 * The fuzz smoke of the test task: every target of `scripts/_fuzz_cases.ts` for a couple of
 * seconds each (22 s of fuzzing, under 30 s with start-up), with a fresh seed per run. `deno task fuzz` runs the same
 * properties for ≥ 1,000,000 inputs; a failure here prints the seed and path to replay it there.
 * @module
 */

import { FUZZ_TARGETS, runTarget } from "../scripts/_fuzz_cases.ts";

/** The whole smoke's budget, shared evenly by the targets. */
const TOTAL_BUDGET_MS = 22_000;
const perTarget = Math.floor(TOTAL_BUDGET_MS / FUZZ_TARGETS.length);

for (const target of FUZZ_TARGETS) {
  Deno.test(`fuzz smoke: ${target.name}`, () => {
    const result = runTarget(target, { numRuns: 1_000_000_000, timeLimitMs: perTarget });
    if (result.failed) {
      throw new Error(
        `${target.name} failed after ${result.runs} inputs; replay with\n` +
          `  deno task fuzz --target ${target.name} --seed ${result.seed}` +
          (result.path === undefined ? "" : ` --path ${result.path}`) + `\n\n${result.report}`,
      );
    }
    if (result.runs < 50) throw new Error(`${target.name}: only ${result.runs} inputs ran`);
  });
}
