/**
 * The SigV4 signer of the built npm package under Node: the AWS SigV4 signing test suite
 * (aws-c-auth, 38 cases × header and presigned-query variants) through `signParts` (canonical
 * request, string to sign, signature), and the `sign` / `presign` of fetch `Request`s for the
 * cases fetch can express; plus the suite's get-vanilla case without the corpora.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalPath, createCanonicalRequest, SigV4Signer } from "llmwire/sigv4";
import { corpusList, corpusSkip, corpusText } from "./_helpers.mjs";

const SUITE = "sigv4/aws-signing-test-suite/v4/";

/** Parses request.txt: request line, headers with continuation lines, blank line, body. */
function parseRequest(text) {
  const [head = "", ...bodyParts] = text.split("\n\n");
  const lines = head.split("\n");
  const requestLine = lines.shift().split(" ");
  const method = requestLine[0];
  const target = requestLine.slice(1, -1).join(" ");
  const [path = "", search] = target.split(/\?(.*)/s);
  const query = search === undefined || search === "" ? [] : search.split("&").map((kv) => {
    const at = kv.indexOf("=");
    const [k, v] = at === -1 ? [kv, ""] : [kv.slice(0, at), kv.slice(at + 1)];
    return [decodeURIComponent(k), decodeURIComponent(v)];
  });
  const headers = [];
  for (const line of lines) {
    if (line === "") continue;
    if (/^[ \t]/.test(line)) {
      headers[headers.length - 1][1] += "\n" + line;
      continue;
    }
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return { method, path, query, headers, body: bodyParts.join("\n\n") };
}

/** The headers of a `*-signed-request.txt`, by lowercase name. */
function signedHeaderLines(text) {
  const map = new Map();
  for (const line of text.split("\n").slice(1)) {
    if (line === "") break;
    const colon = line.indexOf(":");
    map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1));
  }
  return map;
}

/** The query params of a presigned `query-signed-request.txt`, sorted. */
function signedQueryParams(text) {
  const target = text.split("\n")[0].split(" ").slice(1, -1).join(" ");
  return new URLSearchParams(target.split("?")[1] ?? "").toString().split("&").sort();
}

function signerFor(context, variant) {
  const { access_key_id, secret_access_key, token } = context.credentials;
  return new SigV4Signer({
    region: context.region,
    service: context.service,
    credentials: {
      accessKeyId: access_key_id,
      secretAccessKey: secret_access_key,
      sessionToken: token,
    },
    uriEscapePath: context.normalize,
    applyChecksum: variant === "header" && context.sign_body,
    signSessionToken: !context.omit_session_token,
  });
}

/** The path as the signer takes it (see tests/sigv4_suite_test.ts). */
function partsPath(raw, context) {
  return context.normalize ? raw.path : encodeURI(raw.path);
}

/** A fetch `Request` for the case, or why there is none. */
function toRequest(raw, context) {
  const names = raw.headers.map(([name]) => name.toLowerCase());
  if (new Set(names).size !== names.length) return "a header name given twice";
  if (raw.headers.some(([, value]) => value.includes("\n"))) return "a header value with a newline";
  const host = raw.headers.find(([name]) => name.toLowerCase() === "host")[1];
  const url = new URL(`https://${host}`);
  url.pathname = raw.path;
  url.search = new URLSearchParams(raw.query).toString();
  if (
    canonicalPath(url.pathname, context.normalize) !==
      canonicalPath(partsPath(raw, context), context.normalize)
  ) return `fetch sends the path ${raw.path} as ${url.pathname}`;
  return new Request(url, {
    method: raw.method,
    headers: raw.headers.filter(([name]) => name.toLowerCase() !== "host"),
    body: raw.body === "" ? null : raw.body,
  });
}

test("SigV4: the AWS signing test suite, every case and variant", {
  skip: corpusSkip("the SigV4 suite"),
}, async () => {
  const cases = corpusList(SUITE);
  assert.equal(cases.length, 38);
  let parts = 0;
  let requests = 0;
  const notExpressible = [];
  for (const name of cases) {
    for (const variant of ["header", "query"]) {
      const dir = `${SUITE}${name}/`;
      const context = JSON.parse(corpusText(dir + "context.json"));
      const raw = parseRequest(corpusText(dir + "request.txt"));
      const expected = {
        canonicalRequest: corpusText(`${dir}${variant}-canonical-request.txt`),
        stringToSign: corpusText(`${dir}${variant}-string-to-sign.txt`),
        signature: corpusText(`${dir}${variant}-signature.txt`).trim(),
        signedRequest: corpusText(`${dir}${variant}-signed-request.txt`),
      };
      const label = `${name} (${variant})`;
      const signingDate = new Date(context.timestamp);
      const signer = signerFor(context, variant);
      const expiresIn = variant === "query" ? context.expiration_in_seconds : undefined;
      const details = await signer.signParts(
        {
          method: raw.method,
          path: partsPath(raw, context),
          query: raw.query,
          headers: raw.headers,
          body: raw.body,
        },
        expiresIn === undefined ? { signingDate } : { signingDate, expiresIn },
      );
      assert.equal(details.canonicalRequest, expected.canonicalRequest, label);
      assert.equal(details.stringToSign, expected.stringToSign, label);
      assert.equal(details.signature, expected.signature, label);
      const expectedHeaders = signedHeaderLines(expected.signedRequest);
      if (variant === "header") {
        assert.equal(details.authorization, expectedHeaders.get("authorization"), label);
      } else {
        assert.deepEqual(
          new URLSearchParams(details.query).toString().split("&").sort(),
          signedQueryParams(expected.signedRequest),
          label,
        );
      }
      parts++;

      const request = toRequest(raw, context);
      if (typeof request === "string") {
        notExpressible.push(label);
        continue;
      }
      if (variant === "header") {
        const signed = await signer.sign(request, { signingDate });
        for (const header of ["x-amz-date", "x-amz-security-token", "authorization"]) {
          assert.equal(
            signed.headers.get(header) ?? undefined,
            expectedHeaders.get(header),
            `${label}: ${header}`,
          );
        }
        if (raw.body !== "") assert.equal(await signed.text(), raw.body, label);
      } else {
        const signed = await signer.presign(request, { signingDate, expiresIn });
        const url = new URL(signed.url);
        assert.deepEqual(
          url.searchParams.toString().split("&").sort(),
          signedQueryParams(expected.signedRequest),
          label,
        );
        assert.equal(url.searchParams.get("X-Amz-Signature"), expected.signature, label);
      }
      requests++;
    }
  }
  assert.equal(parts, 76);
  assert.equal(requests + notExpressible.length, 76);
  assert.ok(requests >= 50, `only ${requests} cases as fetch Requests`);
});

test("SigV4: get-vanilla signs with WebCrypto under Node, headers and canonical request", async () => {
  const signer = new SigV4Signer({
    region: "us-east-1",
    service: "service",
    credentials: {
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    },
    applyChecksum: false,
  });
  const signed = await signer.sign(new Request("https://example.amazonaws.com/"), {
    signingDate: new Date("2015-08-30T12:36:00Z"),
  });
  assert.equal(signed.headers.get("x-amz-date"), "20150830T123600Z");
  assert.equal(
    signed.headers.get("authorization"),
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
      "SignedHeaders=host;x-amz-date, " +
      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  );
  const canonical = createCanonicalRequest({
    method: "GET",
    path: "/",
    query: [],
    headers: [["host", "example.amazonaws.com"], ["x-amz-date", "20150830T123600Z"]],
    payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  });
  assert.equal(canonical.signedHeaders, "host;x-amz-date");
  assert.equal(
    canonical.canonicalRequest,
    "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});
