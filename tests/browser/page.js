// The page of tests/browser_test.ts. It imports llmwire's built ESM (served under /esm/), decodes
// every fixture fetched from the test server (whole and in small chunks) with llmwire's own
// decoders, signs requests with SigV4Signer, and compares everything with the expected values
// here, in the page. The result is written to `window.__results` and to `#results`.

/** The AWS SigV4 test suite's fixed inputs (aws-c-auth `v4/*\/context.json`). */
const SUITE_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SUITE_DATE = new Date("2015-08-30T12:36:00Z");
const SUITE_SCOPE = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

/**
 * Cases of the AWS SigV4 test suite, with their expected signatures from
 * `v4/<case>/{header,query}-signature.txt`, hard-coded so that the page needs no corpora.
 */
const SUITE_CASES = [
  {
    name: "get-vanilla",
    variant: "header",
    method: "GET",
    body: null,
    signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  },
  {
    name: "post-vanilla",
    variant: "header",
    method: "POST",
    body: null,
    signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
  },
  {
    name: "get-vanilla",
    variant: "query",
    method: "GET",
    body: null,
    signature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
  },
];

/** Chunk sizes the server is asked to cut each fixture into (`0`: the whole file at once). */
const CHUNK_SIZES = [0, 5];

const results = {
  done: false,
  error: null,
  userAgent: navigator.userAgent,
  exports: {},
  fixtures: [],
  signatures: [],
};

/** JSON with object keys sorted, so that two values compare by content. */
function canonical(value) {
  return JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/** A pass-through stream that counts what goes through it. */
function counter(count) {
  return new TransformStream({
    transform(chunk, controller) {
      count.n++;
      controller.enqueue(chunk);
    },
  });
}

/** Fetches one fixture and decodes it to the shape of its fixtures/index.json entry. */
async function decodeFixture(lib, entry, chunk) {
  const url = `/fixtures/${entry.file}${chunk ? `?chunk=${chunk}` : ""}`;
  const response = await fetch(url);
  if (!response.ok || response.body === null) throw new Error(`${url}: HTTP ${response.status}`);
  const frames = { n: 0 };
  let events;
  if (entry.file.startsWith("bedrock/")) {
    events = response.body
      .pipeThrough(new lib.EventStreamDecoderStream())
      .pipeThrough(counter(frames))
      .pipeThrough(new lib.BedrockConverseDecoderStream());
  } else {
    const decoder = entry.file.startsWith("openai/")
      ? new lib.OpenAIChatDecoderStream()
      : new lib.AnthropicMessagesDecoderStream();
    events = response.body
      .pipeThrough(new lib.SseDecoderStream())
      .pipeThrough(counter(frames))
      .pipeThrough(decoder);
  }
  const summary = { text: "" };
  const toolCalls = new Map();
  let reasoning = "";
  const types = {};
  for await (const event of events) {
    types[event.type] = (types[event.type] ?? 0) + 1;
    switch (event.type) {
      case "text_delta":
        summary.text += event.text;
        break;
      case "reasoning_delta":
        if (event.kind === "text") reasoning += event.text;
        break;
      case "tool_call_start":
        toolCalls.set(event.index, { id: event.id, name: event.name, arguments: "" });
        break;
      case "tool_call_delta":
        toolCalls.get(event.index).arguments += event.arguments;
        break;
      case "message_stop":
        summary.stopReason = event.rawStopReason;
        break;
      case "usage":
        summary.usage = {
          input: event.usage.inputTokens,
          output: event.usage.outputTokens,
          total: event.usage.totalTokens,
        };
        break;
      case "error":
        summary.error = { type: event.providerType, message: event.message };
        break;
    }
  }
  summary.contentType = response.headers.get("content-type");
  summary.frames = frames.n;
  if (reasoning !== "") summary.reasoning = reasoning;
  if (toolCalls.size > 0) summary.toolCalls = [...toolCalls.values()];
  return { summary, types };
}

/** Signs the hard-coded AWS suite cases. */
async function signSuiteCases(lib) {
  const signer = new lib.SigV4Signer({
    region: "us-east-1",
    service: "service",
    credentials: SUITE_CREDENTIALS,
    applyChecksum: false,
  });
  for (const c of SUITE_CASES) {
    const request = new Request("https://example.amazonaws.com/", {
      method: c.method,
      body: c.body,
    });
    let actual;
    let extra = {};
    if (c.variant === "header") {
      const signed = await signer.sign(request, { signingDate: SUITE_DATE });
      const authorization = signed.headers.get("authorization");
      actual = /Signature=([0-9a-f]{64})$/.exec(authorization ?? "")?.[1] ?? null;
      const expectedAuthorization = `AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, ` +
        `SignedHeaders=host;x-amz-date, Signature=${c.signature}`;
      extra = {
        authorization,
        authorizationOk: authorization === expectedAuthorization,
        dateOk: signed.headers.get("x-amz-date") === "20150830T123600Z",
      };
    } else {
      const signed = await signer.presign(request, { signingDate: SUITE_DATE, expiresIn: 3600 });
      const query = new URL(signed.url).searchParams;
      actual = query.get("X-Amz-Signature");
      extra = {
        url: signed.url,
        credentialOk: query.get("X-Amz-Credential") === SUITE_SCOPE,
        expiresOk: query.get("X-Amz-Expires") === "3600",
      };
    }
    const ok = actual === c.signature && Object.values(extra).every((v) => v !== false);
    results.signatures.push({
      name: `aws suite ${c.name} (${c.variant})`,
      suiteCase: c.name,
      variant: c.variant,
      expected: c.signature,
      actual,
      ok,
      ...extra,
    });
  }
}

/**
 * Signs the Bedrock requests the test server describes at /sigv4-cases.json and compares the
 * headers with those the same signer computed under Deno for the same inputs.
 */
async function signServerCases(lib) {
  const response = await fetch("/sigv4-cases.json");
  if (!response.ok) throw new Error(`/sigv4-cases.json: HTTP ${response.status}`);
  for (const c of await response.json()) {
    const signer = new lib.SigV4Signer({
      region: c.region,
      service: c.service,
      credentials: c.credentials,
    });
    const url = new URL(lib.bedrockModelPath(c.modelId, c.operation), c.origin);
    const signed = await signer.sign(
      new Request(url, { method: "POST", headers: c.headers, body: c.body }),
      { signingDate: new Date(c.signingDate) },
    );
    const actual = Object.fromEntries(
      Object.keys(c.expected.headers).map((name) => [name, signed.headers.get(name)]),
    );
    const body = await signed.text();
    const ok = canonical(actual) === canonical(c.expected.headers) &&
      signed.url === c.expected.url && body === c.body;
    results.signatures.push({
      name: c.name,
      expected: c.expected,
      actual: { url: signed.url, headers: actual },
      bodyIntact: body === c.body,
      ok,
    });
  }
}

async function main() {
  const lib = await import("/esm/mod.js");
  // The subpath modules export the very same objects as the root module.
  for (const sub of ["framing", "protocols", "sigv4"]) {
    const mod = await import(`/esm/src/${sub}/mod.js`);
    const names = Object.keys(mod);
    results.exports[sub] = {
      count: names.length,
      sameAsRoot: names.every((name) => mod[name] === lib[name]),
    };
  }
  results.exports.root = { count: Object.keys(lib).length };

  const index = await (await fetch("/fixtures/index.json")).json();
  for (const entry of index) {
    const { file, ...expected } = entry;
    for (const chunk of CHUNK_SIZES) {
      const { summary, types } = await decodeFixture(lib, entry, chunk);
      results.fixtures.push({
        file,
        chunk,
        ok: canonical(summary) === canonical(expected),
        actual: summary,
        expected,
        eventTypes: types,
      });
    }
  }

  await signSuiteCases(lib);
  await signServerCases(lib);
}

const status = document.getElementById("status");
try {
  await main();
} catch (error) {
  results.error = error instanceof Error
    ? `${error.name}: ${error.message}\n${error.stack}`
    : `${error}`;
}
results.done = true;
const failed = results.fixtures.filter((r) => !r.ok).length +
  results.signatures.filter((r) => !r.ok).length;
status.textContent = results.error
  ? "error"
  : `${results.fixtures.length} fixture decodes, ${results.signatures.length} signatures, ${failed} failed`;
document.getElementById("results").textContent = JSON.stringify(results, null, 2);
globalThis.__results = results;
