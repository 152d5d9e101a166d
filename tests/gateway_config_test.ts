import assert from "node:assert/strict";
import {
  defaultGatewayConfig,
  GatewayConfigError,
  parseGatewayConfig,
} from "../src/gateway/config.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function configError(json: unknown, path: string, reason: RegExp, vars = {}) {
  assert.throws(
    () => parseGatewayConfig(json, env(vars)),
    (error) => {
      assert.ok(error instanceof GatewayConfigError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, reason);
      assert.ok(error.message.startsWith(path === "" ? "" : `${path}: `), error.message);
      return true;
    },
  );
}

const model = (instance: unknown) => ({ models: { m: { instances: [instance] } } });

Deno.test("parseGatewayConfig: the default config is valid", () => {
  const config = parseGatewayConfig(defaultGatewayConfig());
  assert.deepEqual([...config.models.keys()], ["mock", "mock-openai", "mock-anthropic"]);
  const mock = config.models.get("mock")!.instances[0]!;
  assert.equal(mock.type, "mock");
  assert.equal(mock.type === "mock" && mock.protocol, "bedrock");
  assert.equal(mock.connectTimeoutMs, 30_000);
  assert.equal(mock.maxResponseBytes, 64 * 1024 * 1024);
  assert.equal(config.maxRequestBytes, 64 * 1024 * 1024);
  assert.equal(config.logging.payloads, false);
});

Deno.test("parseGatewayConfig: every instance type with defaults and overrides", () => {
  const config = parseGatewayConfig(
    {
      models: {
        "anthropic.claude-3-haiku-20240307-v1:0": {
          instances: [{
            type: "bedrock",
            region: "eu-west-3",
            endpoint: "http://127.0.0.1:9/",
            options: { model: "eu.anthropic.claude", maxTokens: 512 },
            connectTimeoutMs: 100,
            firstByteTimeoutMs: 200,
            maxStreamDurationMs: 300,
            maxResponseBytes: 400,
          }],
        },
        gpt: { instances: [{ type: "openai", apiKey: { env: "OPENAI_API_KEY" } }] },
        local: { instances: [{ type: "openai-compatible", baseUrl: "http://localhost:11434/v1" }] },
        claude: { instances: [{ type: "anthropic", apiKey: "sk-ant-x", version: "2024-01-01" }] },
        mock: { instances: [{ type: "mock", protocol: "openai", firstTokenDelayMs: 0 }] },
      },
      routes: [{ path: "/ai/converse", model: "claude" }],
      maxRequestBytes: 1000,
      logging: { payloads: true },
    },
    env({ AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "SECRET", OPENAI_API_KEY: "sk-o" }),
  );
  const bedrock = config.models.get("anthropic.claude-3-haiku-20240307-v1:0")!.instances[0]!;
  assert.equal(bedrock.type, "bedrock");
  if (bedrock.type !== "bedrock") return;
  assert.equal(bedrock.endpoint, "http://127.0.0.1:9");
  assert.equal(bedrock.credentials.accessKeyId.reveal(), "AKID");
  assert.equal(bedrock.credentials.secretAccessKey.reveal(), "SECRET");
  assert.equal(bedrock.credentials.sessionToken, undefined);
  assert.deepEqual(bedrock.options, { model: "eu.anthropic.claude", maxTokens: 512 });
  assert.deepEqual(
    [bedrock.connectTimeoutMs, bedrock.firstByteTimeoutMs, bedrock.maxStreamDurationMs],
    [100, 200, 300],
  );
  assert.equal(bedrock.maxResponseBytes, 400);
  const gpt = config.models.get("gpt")!.instances[0]!;
  assert.equal(gpt.type === "openai" && gpt.baseUrl, "https://api.openai.com/v1");
  assert.equal(gpt.type === "openai" && gpt.apiKey?.reveal(), "sk-o");
  const local = config.models.get("local")!.instances[0]!;
  assert.equal(local.type === "openai-compatible" && local.apiKey, undefined);
  const claude = config.models.get("claude")!.instances[0]!;
  assert.equal(claude.type === "anthropic" && claude.baseUrl, "https://api.anthropic.com");
  assert.equal(claude.type === "anthropic" && claude.version, "2024-01-01");
  assert.deepEqual(config.routes, [{ path: "/ai/converse", model: "claude" }]);
  assert.equal(config.maxRequestBytes, 1000);
  assert.equal(config.logging.payloads, true);
  // Secrets never show up when the config is printed.
  const printed = JSON.stringify({ ...config, models: [...config.models.values()] }) +
    Deno.inspect(config, { depth: 10 });
  for (const secret of ["AKID", "SECRET", "sk-o", "sk-ant-x"]) {
    assert.ok(!printed.includes(secret), `${secret} printed`);
  }
});

Deno.test("parseGatewayConfig: session token from the environment", () => {
  const config = parseGatewayConfig(
    model({ type: "bedrock", region: "us-east-1" }),
    env({ AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "B", AWS_SESSION_TOKEN: "C" }),
  );
  const instance = config.models.get("m")!.instances[0]!;
  assert.equal(instance.type === "bedrock" && instance.credentials.sessionToken?.reveal(), "C");
});

Deno.test("parseGatewayConfig: document-level errors", () => {
  configError([], "", /must be an object, got an array/);
  configError({}, "models", /required/);
  configError({ models: {} }, "models", /at least one model/);
  configError({ models: [] }, "models", /must be an object, got an array/);
  configError({ models: { m: {} } }, "models.m.instances", /required/);
  configError({ models: { m: { instances: [] } } }, "models.m.instances", /non-empty array/);
  configError({ models: { m: { instances: [], x: 1 } } }, "models.m.x", /unknown field/);
  configError({ models: { "": { instances: [] } } }, 'models[""]', /must not be empty/);
  configError({ models: { m: null } }, "models.m", /must be an object, got null/);
  configError({ ...defaultGatewayConfig() as object, extra: 1 }, "extra", /unknown field/);
  configError(
    { ...defaultGatewayConfig() as object, maxRequestBytes: 0 },
    "maxRequestBytes",
    /integer ≥ 1, got 0/,
  );
  configError(
    { ...defaultGatewayConfig() as object, maxRequestBytes: "1" },
    "maxRequestBytes",
    /integer ≥ 1, got a string/,
  );
  configError({ ...defaultGatewayConfig() as object, logging: 1 }, "logging", /must be an object/);
  configError(
    { ...defaultGatewayConfig() as object, logging: { payloads: "yes" } },
    "logging.payloads",
    /must be a boolean/,
  );
  configError(
    { ...defaultGatewayConfig() as object, logging: { level: "x" } },
    "logging.level",
    /unknown field/,
  );
});

Deno.test("parseGatewayConfig: instance errors", () => {
  const p = "models.m.instances[0]";
  configError(model(1), p, /must be an object, got a number/);
  configError(model({}), `${p}.type`, /required/);
  configError(model({ type: "azure" }), `${p}.type`, /unknown instance type "azure"/);
  configError(
    model({ type: "bedrock" }),
    `${p}.region`,
    /^models\.m\.instances\[0\]\.region: required$/,
  );
  configError(model({ type: "bedrock", region: "mars" }), `${p}.region`, /not an AWS region/);
  configError(
    model({ type: "bedrock", region: "us-east-1" }),
    `${p}.credentials`,
    /environment variable AWS_ACCESS_KEY_ID is not set/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1" }),
    `${p}.credentials`,
    /AWS_SECRET_ACCESS_KEY is not set/,
    { AWS_ACCESS_KEY_ID: "A" },
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", credentials: { accessKeyId: "A" } }),
    `${p}.credentials.secretAccessKey`,
    /required/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", credentials: { accessKeyId: 5 } }),
    `${p}.credentials.accessKeyId`,
    /must be a string or \{ "env": "NAME" \}, got a number/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", credentials: { key: "A" } }),
    `${p}.credentials.key`,
    /unknown field/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", endpoint: "ftp://x", credentials: {} }),
    `${p}.credentials.accessKeyId`,
    /required/,
  );
  const creds = { accessKeyId: "A", secretAccessKey: "B" };
  configError(
    model({ type: "bedrock", region: "us-east-1", endpoint: "ftp://x", credentials: creds }),
    `${p}.endpoint`,
    /absolute http\(s\) URL/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", endpoint: "not a url", credentials: creds }),
    `${p}.endpoint`,
    /absolute http\(s\) URL/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", endpoint: "http://h/?q=1", credentials: creds }),
    `${p}.endpoint`,
    /query/,
  );
  configError(
    model({ type: "bedrock", region: "us-east-1", apiKey: "x" }),
    `${p}.apiKey`,
    /unknown field/,
  );
  configError(model({ type: "openai" }), `${p}.apiKey`, /required/);
  configError(model({ type: "openai-compatible" }), `${p}.baseUrl`, /required/);
  configError(model({ type: "openai", apiKey: "" }), `${p}.apiKey`, /must not be empty/);
  configError(
    model({ type: "openai", apiKey: { env: "OPENAI_API_KEY" } }),
    `${p}.apiKey`,
    /environment variable OPENAI_API_KEY is not set/,
  );
  configError(
    model({ type: "openai", apiKey: { env: "" } }),
    `${p}.apiKey.env`,
    /non-empty string/,
  );
  configError(
    model({ type: "openai", apiKey: { name: "X" } }),
    `${p}.apiKey.name`,
    /unknown field/,
  );
  configError(model({ type: "anthropic" }), `${p}.apiKey`, /required/);
  configError(
    model({ type: "anthropic", apiKey: "k", version: 1 }),
    `${p}.version`,
    /non-empty string/,
  );
  configError(model({ type: "mock" }), `${p}.protocol`, /required/);
  configError(model({ type: "mock", protocol: "gemini" }), `${p}.protocol`, /must be one of/);
  configError(
    model({ type: "mock", protocol: "openai", tokenDelayMs: -1 }),
    `${p}.tokenDelayMs`,
    /integer ≥ 0, got -1/,
  );
  configError(
    model({ type: "mock", protocol: "openai", connectTimeoutMs: 1.5 }),
    `${p}.connectTimeoutMs`,
    /integer ≥ 1, got 1.5/,
  );
  configError(model({ type: "mock", protocol: "openai", options: [] }), `${p}.options`, /an array/);
  configError(
    model({ type: "mock", protocol: "openai", options: { model: "" } }),
    `${p}.options.model`,
    /non-empty string/,
  );
  configError(
    model({ type: "mock", protocol: "openai", options: { maxTokens: 0 } }),
    `${p}.options.maxTokens`,
    /integer ≥ 1/,
  );
  configError(
    model({ type: "mock", protocol: "openai", options: { temperature: 1 } }),
    `${p}.options.temperature`,
    /unknown field/,
  );
});

Deno.test("parseGatewayConfig: route errors", () => {
  const base = model({ type: "mock", protocol: "bedrock" });
  configError({ ...base, routes: {} }, "routes", /must be an array/);
  configError({ ...base, routes: [{ model: "m" }] }, "routes[0].path", /required/);
  configError(
    { ...base, routes: [{ path: "/x", model: "m" }] },
    "routes[0].path",
    /ending in \/converse/,
  );
  configError(
    { ...base, routes: [{ path: "x/converse", model: "m" }] },
    "routes[0].path",
    /absolute path/,
  );
  configError({ ...base, routes: [{ path: "/a/converse" }] }, "routes[0].model", /required/);
  configError(
    { ...base, routes: [{ path: "/a/converse", model: "nope" }] },
    "routes[0].model",
    /unknown model alias "nope"/,
  );
  configError(
    { ...base, routes: [{ path: "/a/converse", model: "m" }, { path: "/a/converse", model: "m" }] },
    "routes[1].path",
    /duplicate route/,
  );
  configError(
    { ...base, routes: [{ path: "/a/converse", model: "m", x: 1 }] },
    "routes[0].x",
    /unknown field/,
  );
});

Deno.test("parseGatewayConfig: secret values never appear in errors", () => {
  const secret = "sk-very-secret-value";
  for (
    const json of [
      model({ type: "openai", apiKey: secret, baseUrl: "nope" }),
      model({ type: "anthropic", apiKey: secret, version: 3 }),
      model({
        type: "bedrock",
        region: "x",
        credentials: { accessKeyId: secret, secretAccessKey: secret },
      }),
    ]
  ) {
    assert.throws(() => parseGatewayConfig(json), (error) => {
      assert.ok(error instanceof GatewayConfigError);
      assert.ok(!error.message.includes(secret), error.message);
      return true;
    });
  }
  assert.throws(
    () => parseGatewayConfig(model({ type: "openai", apiKey: { env: "K" } }), env({ K: "" })),
    (error) => error instanceof GatewayConfigError && /K is not set/.test(error.message),
  );
});
