/**
 * Loads `playwright-core` for the browser tests under the test task's permissions.
 *
 * playwright-core probes `/proc/sys/fs/binfmt_misc/WSLInterop` with `fs.existsSync` when it loads.
 * Node's existsSync never throws, but Deno's throws NotCapable for /proc without --allow-all; give
 * it Node's answer (false) for that, then load playwright-core.
 * @module
 */
import fs from "node:fs";

const existsSync = fs.existsSync;
fs.existsSync = (path) => {
  try {
    return existsSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
};

/** playwright-core's Chromium launcher. */
export const { chromium } = await import("npm:playwright-core@1.65.1");
