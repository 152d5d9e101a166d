/**
 * SigV4Signer behaviour: Amazon Bedrock's traps, bodies and streams, presign bounds, rotating
 * credentials, the signing-key cache bound, and secrets kept out of errors and inspection.
 */
import assert from "node:assert/strict";
import { SignatureV4 } from "npm:@smithy/signature-v4@5.7.5";
import { Sha256 } from "npm:@aws-crypto/sha256-js@5.2.0";
import {
  type AwsCredentials,
  bedrockModelPath,
  regionFromHost,
  serviceFromHost,
  SigV4Signer,
  UNSIGNED_PAYLOAD,
} from "../src/sigv4/mod.ts";
import { deriveSigningKey, SigningKeyCache } from "../src/sigv4/credentials.ts";
import { hmacKey, hmacSha256Hex } from "../src/sigv4/_sha256.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN = "IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE//////////wEaCXVzLWVhc3QtMSJH";
const CREDENTIALS: AwsCredentials = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: SECRET,
  sessionToken: TOKEN,
};
const signingDate = new Date("2024-11-01T12:34:56Z");
const BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com";
const converseBody = JSON.stringify({
  messages: [{ role: "user", content: [{ text: "Hello, Claude" }] }],
  inferenceConfig: { maxTokens: 256 },
});

function bedrockSigner(options: Partial<ConstructorParameters<typeof SigV4Signer>[0]> = {}) {
  return new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: CREDENTIALS,
    ...options,
  });
}

async function sha256Hex(bytes: BufferSource | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function signedHeaders(request: Request): string {
  return /SignedHeaders=([^,]+)/.exec(request.headers.get("authorization")!)![1]!;
}

// ---------------------------------------------------------------------------------------------
// Amazon Bedrock

Deno.test("bedrockModelPath refuses IDs that a URL would resolve away", () => {
  for (const modelId of ["", ".", ".."]) {
    assert.throws(() => bedrockModelPath(modelId, "converse"), TypeError, JSON.stringify(modelId));
  }
  // Dots inside an ID, and "...", stay in their segment.
  assert.equal(bedrockModelPath("...", "converse"), "/model/.../converse");
  assert.equal(
    new URL("https://x" + bedrockModelPath("...", "converse")).pathname,
    "/model/.../converse",
  );
  assert.equal(bedrockModelPath("../x", "converse"), "/model/..%2Fx/converse");
});

Deno.test("bedrockModelPath encodes a model ID's ':' and an ARN's '/' once", () => {
  assert.equal(
    bedrockModelPath("anthropic.claude-3-5-sonnet-20241022-v2:0", "converse"),
    "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
  );
  assert.equal(
    bedrockModelPath(
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
      "converse-stream",
    ),
    "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-pro-v1%3A0/converse-stream",
  );
});

for (
  const [modelId, wire, signed] of [
    ["anthropic.claude-3-5-sonnet-20241022-v2:0", "v2%3A0", "v2%253A0"],
    [
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
      "%2Fus.",
      "%252Fus.",
    ],
  ] as const
) {
  Deno.test(`SigV4Signer sends ${wire} once-encoded and signs it as ${signed}`, async () => {
    const signer = bedrockSigner();
    const url = BEDROCK + bedrockModelPath(modelId, "converse");
    const request = await signer.sign(
      new Request(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: converseBody,
      }),
      { signingDate },
    );
    assert.ok(new URL(request.url).pathname.includes(wire));
    assert.ok(!new URL(request.url).pathname.includes(signed));
    // The same request as raw parts shows the canonical path, encoded twice.
    const details = await signer.signParts({
      method: "POST",
      path: new URL(url).pathname,
      headers: [["host", "bedrock-runtime.us-east-1.amazonaws.com"], [
        "content-type",
        "application/json",
      ]],
      body: converseBody,
    }, { signingDate });
    assert.ok(details.canonicalRequest.split("\n")[1]!.includes(signed), details.canonicalRequest);
    assert.equal(request.headers.get("authorization"), details.authorization);
  });
}

for (const operation of ["converse", "converse-stream"] as const) {
  Deno.test(`SigV4Signer signs a Bedrock ${operation} POST with session credentials like the AWS SDK`, async () => {
    const path = bedrockModelPath("anthropic.claude-3-5-sonnet-20241022-v2:0", operation);
    const request = await bedrockSigner().sign(
      new Request(BEDROCK + path, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: converseBody,
      }),
      { signingDate },
    );
    assert.equal(request.headers.get("x-amz-security-token"), TOKEN);
    assert.equal(request.headers.get("x-amz-date"), "20241101T123456Z");
    assert.equal(request.headers.get("x-amz-content-sha256"), await sha256Hex(converseBody));
    assert.equal(
      signedHeaders(request),
      "accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
    );
    assert.match(
      request.headers.get("authorization")!,
      /Credential=ASIAEXAMPLE\/20241101\/us-east-1\/bedrock\/aws4_request/,
    );
    assert.equal(await request.text(), converseBody);

    const sdk = await new SignatureV4({
      credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: SECRET, sessionToken: TOKEN },
      region: "us-east-1",
      service: "bedrock",
      sha256: Sha256,
    }).sign({
      method: "POST",
      protocol: "https:",
      hostname: "bedrock-runtime.us-east-1.amazonaws.com",
      path,
      query: {},
      headers: {
        host: "bedrock-runtime.us-east-1.amazonaws.com",
        "content-type": "application/json",
        accept: "application/json",
      },
      body: converseBody,
    }, { signingDate });
    assert.equal(request.headers.get("authorization"), sdk.headers["authorization"]);
  });
}

Deno.test("serviceFromHost and regionFromHost read AWS endpoint hosts", () => {
  const table: [string, string | undefined, string | undefined][] = [
    ["bedrock-runtime.us-east-1.amazonaws.com", "bedrock", "us-east-1"],
    ["bedrock-runtime.eu-central-1.amazonaws.com:443", "bedrock", "eu-central-1"],
    ["bedrock-runtime-fips.us-west-2.amazonaws.com", "bedrock", "us-west-2"],
    ["bedrock-runtime.us-east-1.api.aws", "bedrock", "us-east-1"],
    ["bedrock-agent-runtime.ap-northeast-1.amazonaws.com", "bedrock", "ap-northeast-1"],
    ["bedrock.us-gov-west-1.amazonaws.com", "bedrock", "us-gov-west-1"],
    ["bedrock-runtime.cn-north-1.amazonaws.com.cn", "bedrock", "cn-north-1"],
    ["sts.amazonaws.com", "sts", "us-east-1"],
    ["sts.eu-west-1.amazonaws.com", "sts", "eu-west-1"],
    ["sts-fips.us-east-2.amazonaws.com", "sts", "us-east-2"],
    ["iam.amazonaws.com", "iam", "us-east-1"],
    ["iam.us-gov.amazonaws.com", "iam", "us-gov-west-1"],
    ["iam.amazonaws.com.cn", "iam", "cn-north-1"],
    ["s3.amazonaws.com", "s3", "us-east-1"],
    ["my-bucket.s3.us-west-2.amazonaws.com", "s3", "us-west-2"],
    ["my-bucket.s3.dualstack.eu-west-1.amazonaws.com", "s3", "eu-west-1"],
    ["s3-us-west-2.amazonaws.com", "s3", "us-west-2"],
    ["s3-external-1.amazonaws.com", "s3", "us-east-1"],
    ["bucket.s3-accelerate.amazonaws.com", "s3", "us-east-1"],
    ["abc123.execute-api.us-east-1.amazonaws.com", "execute-api", "us-east-1"],
    ["search-logs-abc.us-east-1.es.amazonaws.com", "es", "us-east-1"],
    ["abcdef.us-west-2.aoss.amazonaws.com", "aoss", "us-west-2"],
    ["runtime.sagemaker.us-east-1.amazonaws.com", "sagemaker", "us-east-1"],
    ["email.us-east-1.amazonaws.com", "ses", "us-east-1"],
    ["abcdefg.lambda-url.eu-west-3.on.aws", "lambda", "eu-west-3"],
    ["EC2.US-EAST-1.AMAZONAWS.COM.", "ec2", "us-east-1"],
    ["localhost:8080", undefined, undefined],
    ["example.com", undefined, undefined],
    ["amazonaws.com", undefined, undefined],
    ["[::1]:443", undefined, undefined],
  ];
  for (const [host, service, region] of table) {
    assert.equal(serviceFromHost(host), service, host);
    assert.equal(regionFromHost(host), region, host);
  }
});

// ---------------------------------------------------------------------------------------------
// Bodies

const BODIES: [string, () => BodyInit, Uint8Array<ArrayBuffer>][] = (() => {
  const bytes = new TextEncoder().encode("héllo wörld");
  return [
    ["string", () => "héllo wörld", bytes],
    ["ArrayBuffer", () => bytes.slice().buffer, bytes],
    ["Uint8Array", () => bytes.slice(), bytes],
    ["DataView", () => new DataView(bytes.slice().buffer), bytes],
    [
      "Uint16Array",
      () => new Uint16Array(new Uint8Array([1, 2, 3, 4]).buffer),
      new Uint8Array([1, 2, 3, 4]),
    ],
    ["Blob", () => new Blob([bytes], { type: "text/plain" }), bytes],
    [
      "URLSearchParams",
      () => new URLSearchParams({ a: "1 2", b: "é" }),
      new TextEncoder().encode("a=1+2&b=%C3%A9"),
    ],
    ["empty string", () => "", new Uint8Array()],
  ];
})();

for (const [name, makeBody, bytes] of BODIES) {
  Deno.test(`SigV4Signer hashes a ${name} body and sends it unchanged`, async () => {
    const url = "https://example.amazonaws.com/upload";
    const signer = new SigV4Signer({
      region: "us-east-1",
      service: "service",
      credentials: CREDENTIALS,
    });
    const fromParts = await signer.sign({ url, method: "POST", body: makeBody() }, { signingDate });
    const fromRequest = await signer.sign(new Request(url, { method: "POST", body: makeBody() }), {
      signingDate,
    });
    const expectedType = new Request(url, { method: "POST", body: makeBody() }).headers.get(
      "content-type",
    );
    for (const signed of [fromParts, fromRequest]) {
      assert.equal(signed.headers.get("x-amz-content-sha256"), await sha256Hex(bytes));
      assert.equal(signed.headers.get("content-type"), expectedType);
      assert.deepEqual(new Uint8Array(await signed.arrayBuffer()), bytes);
    }
    assert.equal(fromParts.headers.get("authorization"), fromRequest.headers.get("authorization"));
  });
}

Deno.test("SigV4Signer hashes a FormData body as fetch serializes it", async () => {
  const form = new FormData();
  form.set("field", "value");
  const signed = await bedrockSigner().sign(
    { url: BEDROCK + "/form", method: "POST", body: form },
    { signingDate },
  );
  const sent = new Uint8Array(await signed.arrayBuffer());
  assert.equal(signed.headers.get("x-amz-content-sha256"), await sha256Hex(sent));
  assert.match(signed.headers.get("content-type")!, /^multipart\/form-data; boundary=/);
  assert.ok(signedHeaders(signed).includes("content-type"));
});

Deno.test("SigV4Signer hashes a large body with WebCrypto and a small one synchronously, alike", async () => {
  for (const size of [2047, 2048, 2049, 16 * 1024, 200_000]) {
    const body = new Uint8Array(size).map((_, i) => i * 7);
    const text = "é".repeat(Math.floor(size / 2));
    const a = await bedrockSigner().sign({ url: BEDROCK + "/x", method: "POST", body }, {
      signingDate,
    });
    assert.equal(a.headers.get("x-amz-content-sha256"), await sha256Hex(body));
    const b = await bedrockSigner().sign({ url: BEDROCK + "/x", method: "POST", body: text }, {
      signingDate,
    });
    assert.equal(b.headers.get("x-amz-content-sha256"), await sha256Hex(text));
  }
});

Deno.test("SigV4Signer reads a Request's body exactly once and never clones it", async () => {
  const request = new Request(BEDROCK + "/x", { method: "POST", body: converseBody });
  let reads = 0;
  let clones = 0;
  for (const method of ["arrayBuffer", "text", "bytes", "blob", "json", "formData"] as const) {
    const original = request[method].bind(request);
    Object.defineProperty(request, method, { value: () => (reads++, original()) });
  }
  const clone = request.clone.bind(request);
  Object.defineProperty(request, "clone", { value: () => (clones++, clone()) });
  const signed = await bedrockSigner().sign(request, { signingDate });
  assert.equal(reads, 1);
  assert.equal(clones, 0);
  assert.equal(await signed.text(), converseBody);
});

Deno.test("SigV4Signer reads a Blob body exactly once", async () => {
  let reads = 0;
  class CountingBlob extends Blob {
    override arrayBuffer() {
      reads++;
      return super.arrayBuffer();
    }
    override stream() {
      reads++;
      return super.stream();
    }
    override text() {
      reads++;
      return super.text();
    }
  }
  const signed = await bedrockSigner().sign(
    { url: BEDROCK + "/x", method: "POST", body: new CountingBlob([converseBody]) },
    { signingDate },
  );
  assert.equal(reads, 1);
  assert.equal(await signed.text(), converseBody);
});

// ---------------------------------------------------------------------------------------------
// Streams

/** A loopback echo server: answers with the bytes and the headers it received. */
async function withEchoServer(fn: (origin: string) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    return Response.json({
      body: new TextDecoder().decode(body),
      sha256: request.headers.get("x-amz-content-sha256"),
      authorization: request.headers.get("authorization"),
    });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function chunks(): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(
    ["first chunk, ", "second chunk, ", "last chunk"].map((s) => encoder.encode(s)),
  );
}
const STREAMED = "first chunk, second chunk, last chunk";

Deno.test("SigV4Signer signs a stream body as UNSIGNED-PAYLOAD; fetch still sends every byte", async () => {
  await withEchoServer(async (origin) => {
    const signed = await bedrockSigner().sign(
      { url: origin + "/upload", method: "PUT", body: chunks() },
      { unsignedPayload: true, signingDate },
    );
    assert.equal(signed.headers.get("x-amz-content-sha256"), UNSIGNED_PAYLOAD);
    const echoed = await (await fetch(signed)).json();
    assert.equal(echoed.body, STREAMED);
    assert.equal(echoed.sha256, UNSIGNED_PAYLOAD);
    assert.equal(echoed.authorization, signed.headers.get("authorization"));
  });
});

Deno.test("SigV4Signer signs a stream body with a caller-supplied hash", async () => {
  const payloadHash = await sha256Hex(STREAMED);
  await withEchoServer(async (origin) => {
    const signer = bedrockSigner({ applyChecksum: false });
    const signed = await signer.sign(
      { url: origin + "/upload", method: "PUT", body: chunks() },
      { payloadHash, signingDate },
    );
    assert.equal(signed.headers.get("x-amz-content-sha256"), payloadHash);
    // The same signature as signing the bytes themselves (with the header declared).
    const fixed = await signer.sign(
      {
        url: origin + "/upload",
        method: "PUT",
        headers: { "x-amz-content-sha256": payloadHash },
        body: new TextEncoder().encode(STREAMED),
      },
      { signingDate },
    );
    assert.equal(signed.headers.get("authorization"), fixed.headers.get("authorization"));
    const echoed = await (await fetch(signed)).json();
    assert.equal(echoed.body, STREAMED);
    assert.equal(echoed.sha256, payloadHash);
  });
});

Deno.test("SigV4Signer refuses a stream body without unsignedPayload or payloadHash", async () => {
  const body = chunks();
  await assert.rejects(
    bedrockSigner().sign({ url: BEDROCK + "/x", method: "POST", body }, { signingDate }),
    (error: unknown) =>
      error instanceof TypeError && /ReadableStream body/.test(error.message) &&
      /unsignedPayload/.test(error.message) && /payloadHash/.test(error.message),
  );
  assert.equal(body.locked, false, "the stream was not touched");
  await assert.rejects(
    bedrockSigner().sign({ url: BEDROCK + "/x", method: "POST", body: chunks() }, {
      payloadHash: "abc",
    }),
    /payloadHash must be 64 lowercase hex digits/,
  );
});

Deno.test("SigV4Signer passes a Request's stream body through unread with unsignedPayload", async () => {
  await withEchoServer(async (origin) => {
    const request = new Request(
      origin + "/upload",
      { method: "POST", body: chunks(), duplex: "half" } as RequestInit,
    );
    const signed = await bedrockSigner().sign(request, { unsignedPayload: true, signingDate });
    assert.equal(signed.headers.get("x-amz-content-sha256"), UNSIGNED_PAYLOAD);
    const echoed = await (await fetch(signed)).json();
    assert.equal(echoed.body, STREAMED);
  });
});

Deno.test("SigV4Signer presigns a stream body without reading it", async () => {
  await withEchoServer(async (origin) => {
    const signed = await bedrockSigner().presign(
      { url: origin + "/upload", method: "PUT", body: chunks() },
      { unsignedPayload: true, expiresIn: 60, signingDate },
    );
    assert.ok(new URL(signed.url).searchParams.has("X-Amz-Signature"));
    const echoed = await (await fetch(signed)).json();
    assert.equal(echoed.body, STREAMED);
  });
});

// ---------------------------------------------------------------------------------------------
// Presigning

Deno.test("SigV4Signer.presign accepts 1 s to 7 days and rejects the rest clearly", async () => {
  const signer = bedrockSigner();
  for (const expiresIn of [1, 604800]) {
    const signed = await signer.presign(new Request(BEDROCK + "/x"), { expiresIn, signingDate });
    assert.equal(new URL(signed.url).searchParams.get("X-Amz-Expires"), String(expiresIn));
  }
  for (const expiresIn of [0, -1, 1.5, 604801, NaN, Infinity, undefined, "60"]) {
    await assert.rejects(
      signer.presign(
        new Request(BEDROCK + "/x"),
        { expiresIn } as unknown as { expiresIn: number },
      ),
      (error: unknown) =>
        error instanceof RangeError &&
        /expiresIn must be a whole number of seconds from 1 to 604800/.test(error.message),
      String(expiresIn),
    );
  }
  await assert.rejects(
    signer.signParts({ method: "GET", path: "/", headers: [["host", "h"]] }, { expiresIn: 0 }),
    RangeError,
  );
});

Deno.test("SigV4Signer.presign moves x-amz-* headers into the query and signs the rest", async () => {
  const signed = await bedrockSigner().presign(
    new Request(BEDROCK + "/x?b=2&a=1", {
      headers: { "x-amz-meta-note": "hi", "content-type": "text/plain", "user-agent": "test" },
    }),
    { expiresIn: 900, signingDate },
  );
  const url = new URL(signed.url);
  assert.equal(url.searchParams.get("x-amz-meta-note"), "hi");
  assert.equal(url.searchParams.get("X-Amz-Security-Token"), TOKEN);
  assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "content-type;host");
  assert.equal(signed.headers.get("x-amz-meta-note"), null);
  assert.equal(signed.headers.get("content-type"), "text/plain");
  assert.equal(signed.headers.get("user-agent"), "test");
  assert.equal(signed.headers.get("authorization"), null);
  // The query is the canonical one: sorted, RFC 3986 encoded, the signature last.
  assert.ok(
    url.search.startsWith("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F"),
  );
  assert.ok(url.search.includes("&a=1&b=2&x-amz-meta-note=hi&X-Amz-Signature="), url.search);
  assert.match(url.search, /&X-Amz-Signature=[0-9a-f]{64}$/);
});

// ---------------------------------------------------------------------------------------------
// Headers, methods, URLs

Deno.test("SigV4Signer signs every header but the unsignable ones, and keeps them all", async () => {
  const signed = await bedrockSigner().sign(
    new Request(BEDROCK + "/x", {
      headers: {
        "user-agent": "ua",
        "x-amzn-trace-id": "Root=1",
        "cache-control": "no-cache",
        "sec-fetch-mode": "cors",
        "proxy-authorization": "p",
        "x-custom": "  a   b  ",
        authorization: "stale",
        "x-amz-date": "19700101T000000Z",
        date: "Thu, 01 Jan 1970 00:00:00 GMT",
        "content-type": "application/json",
      },
    }),
    { signingDate },
  );
  assert.equal(
    signedHeaders(signed),
    "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-custom",
  );
  for (
    const name of [
      "user-agent",
      "x-amzn-trace-id",
      "cache-control",
      "sec-fetch-mode",
      "proxy-authorization",
      "date",
    ]
  ) {
    assert.ok(signed.headers.has(name), name);
  }
  assert.equal(signed.headers.get("x-amz-date"), "20241101T123456Z");
  assert.match(signed.headers.get("authorization")!, /^AWS4-HMAC-SHA256 /);
});

Deno.test("SigV4Signer upper-cases methods as fetch does (and only those)", async () => {
  const signer = bedrockSigner();
  for (const method of ["post", "Get", "patch", "custom"]) {
    const a = await signer.sign({ url: BEDROCK + "/x", method }, { signingDate });
    const b = await signer.sign(new Request(BEDROCK + "/x", { method }), { signingDate });
    assert.equal(a.method, b.method);
    assert.equal(a.headers.get("authorization"), b.headers.get("authorization"), method);
  }
});

Deno.test("SigV4Signer reads a URL string exactly as the URL parser does", async () => {
  const signer = bedrockSigner();
  const urls = [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/a%3A0/converse",
    "https://Example.AMAZONAWS.com/a",
    "https://example.amazonaws.com:443/x",
    "https://example.amazonaws.com:8443/x",
    "http://example.amazonaws.com:80/x",
    "https://example.amazonaws.com/a/../b/./c",
    "https://example.amazonaws.com/%2e%2E/x",
    "https://example.amazonaws.com/a b/é/ሴ",
    "https://example.amazonaws.com/a?b=c d&e='f'&g=é",
    "https://example.amazonaws.com/a?x=1#fragment",
    "https://example.amazonaws.com",
    "https://example.amazonaws.com?x=1",
    "https://127.0.0.1/x",
    "https://example.amazonaws.com/a\\b",
    "https://example.amazonaws.com/a%zz/%41",
    "https://example.amazonaws.com/a?b=1&b=2&a=&c",
    "https://example.amazonaws.com/!$&'()*+,;=:@~_-./x",
    "https://user:pass@example.amazonaws.com/x",
  ];
  for (const url of urls) {
    const fromString = await signer.sign({ url, method: "GET" }, { signingDate });
    const fromUrl = await signer.sign({ url: new URL(url), method: "GET" }, { signingDate });
    const fromRequest = await signer.sign(new Request(url), { signingDate });
    assert.equal(
      fromString.headers.get("authorization"),
      fromUrl.headers.get("authorization"),
      url,
    );
    assert.equal(
      fromString.headers.get("authorization"),
      fromRequest.headers.get("authorization"),
      url,
    );
    assert.equal(fromString.url, new URL(url).href, url);
  }
});

Deno.test("SigV4Signer keeps the input's RequestInit options", async () => {
  const controller = new AbortController();
  const signed = await bedrockSigner().sign(
    {
      url: BEDROCK + "/x",
      method: "POST",
      body: "{}",
      signal: controller.signal,
      redirect: "manual",
    },
    { signingDate },
  );
  assert.equal(signed.redirect, "manual");
  controller.abort();
  assert.equal(signed.signal.aborted, true);
});

Deno.test("SigV4Signer without applyChecksum sends no x-amz-content-sha256 unless it must", async () => {
  const signer = bedrockSigner({ applyChecksum: false });
  const plain = await signer.sign({ url: BEDROCK + "/x", method: "POST", body: "{}" }, {
    signingDate,
  });
  assert.equal(plain.headers.get("x-amz-content-sha256"), null);
  const unsigned = await signer.sign(
    { url: BEDROCK + "/x", method: "POST", body: "{}" },
    { signingDate, unsignedPayload: true },
  );
  assert.equal(unsigned.headers.get("x-amz-content-sha256"), UNSIGNED_PAYLOAD);
});

Deno.test("SigV4Signer with signSessionToken false adds the token unsigned (AWS IoT)", async () => {
  const signer = bedrockSigner({ signSessionToken: false });
  const signed = await signer.sign(new Request(BEDROCK + "/mqtt"), { signingDate });
  assert.equal(signed.headers.get("x-amz-security-token"), TOKEN);
  assert.ok(!signedHeaders(signed).includes("x-amz-security-token"));
  const presigned = await signer.presign(new Request(BEDROCK + "/mqtt"), {
    expiresIn: 60,
    signingDate,
  });
  assert.match(presigned.url, /&X-Amz-Signature=[0-9a-f]{64}&X-Amz-Security-Token=/);
});

// ---------------------------------------------------------------------------------------------
// Credentials and the key cache

Deno.test("SigV4Signer calls a credential provider per signature (rotation)", async () => {
  const rotation: AwsCredentials[] = [
    { accessKeyId: "AKIDFIRST", secretAccessKey: "first-secret" },
    { accessKeyId: "ASIASECOND", secretAccessKey: "second-secret", sessionToken: "second-token" },
  ];
  let calls = 0;
  const signer = new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: async () => {
      await Promise.resolve();
      return rotation[Math.min(calls++, 1)]!;
    },
  });
  const first = await signer.sign(new Request(BEDROCK + "/x"), { signingDate });
  const second = await signer.sign(new Request(BEDROCK + "/x"), { signingDate });
  assert.equal(calls, 2);
  assert.match(first.headers.get("authorization")!, /Credential=AKIDFIRST\//);
  assert.equal(first.headers.get("x-amz-security-token"), null);
  assert.match(second.headers.get("authorization")!, /Credential=ASIASECOND\//);
  assert.equal(second.headers.get("x-amz-security-token"), "second-token");
  // The same as a signer holding the second credentials.
  const fixed = new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: rotation[1]!,
  });
  const expected = await fixed.sign(new Request(BEDROCK + "/x"), { signingDate });
  assert.equal(second.headers.get("authorization"), expected.headers.get("authorization"));
  // A synchronous provider works too.
  const sync = new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: () => rotation[1]!,
  });
  const viaSync = await sync.sign(new Request(BEDROCK + "/x"), { signingDate });
  assert.equal(viaSync.headers.get("authorization"), expected.headers.get("authorization"));
});

Deno.test("SigV4Signer notices a secret replaced in place on the same credentials object", async () => {
  const credentials = { accessKeyId: "AKID", secretAccessKey: "old-secret" };
  const signer = new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: () => credentials,
  });
  const before = await signer.sign(new Request(BEDROCK + "/x"), { signingDate });
  credentials.secretAccessKey = "new-secret";
  const after = await signer.sign(new Request(BEDROCK + "/x"), { signingDate });
  const expected = await new SigV4Signer({
    region: "us-east-1",
    service: "bedrock",
    credentials: { accessKeyId: "AKID", secretAccessKey: "new-secret" },
  }).sign(new Request(BEDROCK + "/x"), { signingDate });
  assert.notEqual(before.headers.get("authorization"), after.headers.get("authorization"));
  assert.equal(after.headers.get("authorization"), expected.headers.get("authorization"));
});

Deno.test("SigningKeyCache keeps at most maxEntries derived keys (LRU)", () => {
  const cache = new SigningKeyCache(2);
  const creds = (secret: string): AwsCredentials => ({
    accessKeyId: "AKID",
    secretAccessKey: secret,
  });
  const get = (secret: string, date = "20241101") =>
    cache.get(creds(secret), date, "us-east-1", "bedrock");
  const a = get("secret-a");
  assert.equal(get("secret-a"), a, "cached, even for another credentials object");
  const b = get("secret-b");
  assert.equal(cache.size, 2);
  assert.equal(get("secret-a"), a, "still cached, now the most recent");
  const c = get("secret-c");
  assert.equal(cache.size, 2);
  assert.equal(get("secret-a"), a, "a survived: b was the least recently used");
  assert.notEqual(get("secret-b"), b, "b was evicted and derived again");
  assert.notEqual(get("secret-c"), c, "c was evicted by b");
  assert.notEqual(get("secret-c", "20241102"), get("secret-c"), "a new day, a new key");
  assert.equal(cache.size, 2);
  assert.throws(() => new SigningKeyCache(0), RangeError);
  assert.throws(() => bedrockSigner({ signingKeyCacheSize: 1.5 }), RangeError);
});

Deno.test("deriveSigningKey derives the signing key of the AWS documentation example", () => {
  // AWS docs, "Examples of how to derive a signing key for Signature Version 4": kSigning.
  const published = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d";
  const kSigning = new Uint8Array(published.match(/../g)!.map((h) => parseInt(h, 16)));
  const key = deriveSigningKey(
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "20120215",
    "us-east-1",
    "iam",
  );
  const message = new TextEncoder().encode("any message");
  assert.equal(hmacSha256Hex(key, message), hmacSha256Hex(hmacKey(kSigning), message));
});

Deno.test("SigV4Signer signs 64 requests at once, each like alone", async () => {
  const signer = bedrockSigner();
  const signed = await Promise.all(
    Array.from(
      { length: 64 },
      (_, i) => signer.sign(new Request(`${BEDROCK}/x${i}`), { signingDate }),
    ),
  );
  assert.equal(new Set(signed.map((r) => r.headers.get("authorization"))).size, 64);
  for (const i of [0, 31, 63]) {
    const alone = await bedrockSigner().sign(new Request(`${BEDROCK}/x${i}`), { signingDate });
    assert.equal(signed[i]!.headers.get("authorization"), alone.headers.get("authorization"));
  }
});

Deno.test("SigV4Signer never shows credentials: inspect, JSON, String, errors", async () => {
  const signer = bedrockSigner();
  const shown = [
    Deno.inspect(signer),
    Deno.inspect(signer, { showHidden: true, depth: Infinity, getters: true }),
    Deno.inspect({ nested: [signer] }, { depth: Infinity }),
    JSON.stringify(signer),
    JSON.stringify({ signer }),
    String(signer),
    `${signer}`,
    Object.keys(signer).join(),
    Object.getOwnPropertyNames(signer).join(),
  ];
  for (const text of shown) {
    assert.ok(!text.includes(SECRET), text);
    assert.ok(!text.includes(TOKEN), text);
  }
  assert.equal(JSON.stringify(signer), '{"region":"us-east-1","service":"bedrock"}');
  assert.equal(Deno.inspect(signer), "SigV4Signer(us-east-1/bedrock)");

  const messages: string[] = [];
  const collect = async (promise: Promise<unknown>) => {
    try {
      await promise;
      assert.fail("expected an error");
    } catch (error) {
      messages.push(Deno.inspect(error), String(error));
    }
  };
  const bad = (credentials: unknown) =>
    new SigV4Signer({ region: "r", service: "s", credentials } as never);
  for (
    const credentials of [{ accessKeyId: "", secretAccessKey: SECRET }, {
      accessKeyId: "A",
      secretAccessKey: SECRET,
      sessionToken: 7,
    }]
  ) {
    try {
      bad(credentials);
      assert.fail("expected an error");
    } catch (error) {
      assert.ok(error instanceof TypeError);
      messages.push(Deno.inspect(error), String(error));
    }
  }
  await collect(
    bad(() => ({ accessKeyId: 1, secretAccessKey: SECRET, sessionToken: TOKEN })).sign(
      new Request(BEDROCK),
    ),
  );
  await collect(
    bad(() => Promise.reject(new Error("no credentials here"))).sign(new Request(BEDROCK)),
  );
  await collect(signer.sign({ url: BEDROCK, method: "POST", body: chunks() }));
  await collect(signer.presign(new Request(BEDROCK), { expiresIn: 0 }));
  await collect(signer.sign(new Request(BEDROCK), { signingDate: new Date(NaN) }));
  await collect(signer.signParts({ method: "GET", path: "/", headers: [] }));
  assert.equal(messages.length, 16);
  for (const message of messages) {
    assert.ok(!message.includes(SECRET), message);
    assert.ok(!message.includes(TOKEN), message);
  }
});

Deno.test("SigV4Signer validates its options", () => {
  assert.throws(
    () => new SigV4Signer({ region: "", service: "bedrock", credentials: CREDENTIALS }),
    /region/,
  );
  assert.throws(
    () => new SigV4Signer({ region: "us-east-1", service: "", credentials: CREDENTIALS }),
    /service/,
  );
  const signer = bedrockSigner();
  assert.equal(signer.region, "us-east-1");
  assert.equal(signer.service, "bedrock");
});
