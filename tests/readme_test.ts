/** Keeps the README true: its gateway configuration example is a valid configuration. */
import assert from "node:assert/strict";
import { parseGatewayConfig } from "../src/gateway/mod.ts";

const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

Deno.test("README's gateway configuration example is valid", () => {
  const section = readme.slice(readme.indexOf("### Configuration"));
  const json = section.slice(
    section.indexOf("```json") + 7,
    section.indexOf("```", section.indexOf("```json") + 7),
  );
  const env: Record<string, string> = {
    OPENAI_API_KEY: "sk-test",
    ANTHROPIC_API_KEY: "sk-ant-test",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
  };
  const config = parseGatewayConfig(JSON.parse(json), (name) => env[name]);
  assert.deepEqual([...config.models.keys()], ["claude", "gpt", "sonnet", "local", "mock"]);
  assert.deepEqual(config.routes, [{ path: "/v1/llm/converse", model: "claude" }]);
  const claude = config.models.get("claude")!.instances[0]!;
  assert.equal(claude.type, "bedrock");
  assert.equal(claude.firstByteTimeoutMs, 30000);
  assert.equal(claude.options.model, "anthropic.claude-3-5-sonnet-20241022-v2:0");
});

Deno.test("README's Develop section has exactly the two commands CI and users run", () => {
  const develop = readme.slice(readme.indexOf("## Develop"));
  const block = develop.slice(
    develop.indexOf("```sh") + 5,
    develop.indexOf("```", develop.indexOf("```sh") + 5),
  );
  const commands = block.trim().split("\n").map((line) => line.replace(/#.*/, "").trim());
  assert.deepEqual(commands, ["npx -y deno@2.9.6 task gateway", "npx -y deno@2.9.6 task test"]);
  const ci = Deno.readTextFileSync(new URL("../.ci/run", import.meta.url));
  assert.match(ci, /npx -y deno@2\.9\.6 task test/);
});
