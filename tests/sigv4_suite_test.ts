/**
 * The AWS SigV4 signing test suite (aws-c-auth, 38 cases), header and presigned-query variants.
 * Every case goes through `SigV4Signer.signParts` with the raw parts of `request.txt` (canonical
 * request, string to sign and signature compared with the files); every case a fetch `Request`
 * can express also goes through `sign` / `presign` (Authorization header or presigned query
 * compared with `*-signed-request.txt`).
 */
import assert from "node:assert/strict";
import { SigV4Signer } from "../src/sigv4/mod.ts";
import { canonicalPath } from "../src/sigv4/canonical.ts";
import { corporaPresent, HAS_CORPORA, listCorpus, readCorpusText } from "./_helpers.ts";

const SUITE = "sigv4/aws-signing-test-suite/v4/";

interface Context {
  credentials: { access_key_id: string; secret_access_key: string; token?: string };
  expiration_in_seconds: number;
  normalize: boolean;
  region: string;
  service: string;
  sign_body: boolean;
  timestamp: string;
  omit_session_token?: boolean;
}

interface RawRequest {
  method: string;
  /** The path as written in request.txt (raw: may hold spaces, UTF-8, dot segments). */
  path: string;
  /** Decoded query pairs. */
  query: [string, string][];
  headers: [string, string][];
  body: string;
}

/** Parses request.txt: request line, headers with continuation lines, blank line, body. */
function parseRequest(text: string): RawRequest {
  const [head = "", ...bodyParts] = text.split("\n\n");
  const lines = head.split("\n");
  const requestLine = lines.shift()!.split(" ");
  const method = requestLine[0]!;
  const target = requestLine.slice(1, -1).join(" ");
  const [path = "", search] = target.split(/\?(.*)/s);
  const query: [string, string][] = search === undefined || search === ""
    ? []
    : search.split("&").map((kv) => {
      const at = kv.indexOf("=");
      const [k, v] = at === -1 ? [kv, ""] : [kv.slice(0, at), kv.slice(at + 1)];
      return [decodeURIComponent(k), decodeURIComponent(v)];
    });
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (/^[ \t]/.test(line)) {
      headers[headers.length - 1]![1] += "\n" + line;
      continue;
    }
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return { method, path, query, headers, body: bodyParts.join("\n\n") };
}

/** The headers of a `*-signed-request.txt`, by lowercase name. */
function signedHeaderLines(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n").slice(1)) {
    if (line === "") break;
    const colon = line.indexOf(":");
    map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1));
  }
  return map;
}

/** The query params of a presigned `query-signed-request.txt`, sorted. */
function signedQueryParams(text: string): string[] {
  const target = text.split("\n")[0]!.split(" ").slice(1, -1).join(" ");
  return new URLSearchParams(target.split("?")[1] ?? "").toString().split("&").sort();
}

function signerFor(context: Context, variant: "header" | "query"): SigV4Signer {
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

/**
 * The path as the signer takes it: with normalization the raw path (it is encoded once more);
 * without, the path as sent on the wire (the raw one, percent-encoded once, dot segments kept).
 */
function partsPath(raw: RawRequest, context: Context): string {
  return context.normalize ? raw.path : encodeURI(raw.path);
}

/** A fetch `Request` for the case, or why there is none. */
function toRequest(raw: RawRequest, context: Context): Request | string {
  const names = raw.headers.map(([name]) => name.toLowerCase());
  if (new Set(names).size !== names.length) return "a header name given twice";
  if (raw.headers.some(([, value]) => value.includes("\n"))) return "a header value with a newline";
  const host = raw.headers.find(([name]) => name.toLowerCase() === "host")![1];
  const url = new URL(`https://${host}`);
  url.pathname = raw.path;
  url.search = new URLSearchParams(raw.query).toString();
  const path = partsPath(raw, context);
  if (
    canonicalPath(url.pathname, context.normalize) !== canonicalPath(path, context.normalize)
  ) return `fetch sends the path ${raw.path} as ${url.pathname}`;
  return new Request(url, {
    method: raw.method,
    headers: raw.headers.filter(([name]) => name.toLowerCase() !== "host"),
    body: raw.body === "" ? null : raw.body,
  });
}

const cases = HAS_CORPORA ? listCorpus(SUITE) : ["(corpora absent)"];
const checked = { parts: 0, request: 0, notExpressible: [] as string[] };

for (const name of cases) {
  for (const variant of ["header", "query"] as const) {
    Deno.test({
      name: `sigv4 suite: ${name} (${variant})`,
      ignore: !corporaPresent("sigv4 suite"),
      async fn() {
        const dir = `${SUITE}${name}/`;
        const context: Context = JSON.parse(readCorpusText(dir + "context.json"));
        const raw = parseRequest(readCorpusText(dir + "request.txt"));
        const expected = {
          canonicalRequest: readCorpusText(`${dir}${variant}-canonical-request.txt`),
          stringToSign: readCorpusText(`${dir}${variant}-string-to-sign.txt`),
          signature: readCorpusText(`${dir}${variant}-signature.txt`).trim(),
          signedRequest: readCorpusText(`${dir}${variant}-signed-request.txt`),
        };
        const signingDate = new Date(context.timestamp);
        const signer = signerFor(context, variant);
        const expiresIn = variant === "query" ? context.expiration_in_seconds : undefined;

        // 1. Raw parts: the canonical request, the string to sign and the signature.
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
        assert.equal(details.canonicalRequest, expected.canonicalRequest);
        assert.equal(details.stringToSign, expected.stringToSign);
        assert.equal(details.signature, expected.signature);
        const expectedHeaders = signedHeaderLines(expected.signedRequest);
        if (variant === "header") {
          assert.equal(details.authorization, expectedHeaders.get("authorization"));
          const sent = new Map(details.headers);
          for (const header of ["x-amz-date", "x-amz-security-token", "authorization"]) {
            assert.equal(sent.get(header), expectedHeaders.get(header), header);
          }
        } else {
          assert.deepEqual(
            new URLSearchParams(details.query).toString().split("&").sort(),
            signedQueryParams(expected.signedRequest),
          );
        }
        checked.parts++;

        // 2. The same case as a fetch Request, when fetch can express it.
        const request = toRequest(raw, context);
        if (typeof request === "string") {
          checked.notExpressible.push(`${name} (${variant}): ${request}`);
          return;
        }
        if (variant === "header") {
          const signed = await signer.sign(request, { signingDate });
          for (const header of ["x-amz-date", "x-amz-security-token", "authorization"]) {
            assert.equal(
              signed.headers.get(header) ?? undefined,
              expectedHeaders.get(header),
              header,
            );
          }
          if (raw.body !== "") assert.equal(await signed.text(), raw.body);
        } else {
          const signed = await signer.presign(request, { signingDate, expiresIn: expiresIn! });
          const url = new URL(signed.url);
          assert.deepEqual(
            url.searchParams.toString().split("&").sort(),
            signedQueryParams(expected.signedRequest),
          );
          assert.equal(url.searchParams.get("X-Amz-Signature"), expected.signature);
        }
        checked.request++;
      },
    });
  }
}

Deno.test({
  name: "sigv4 suite: every case and variant is checked",
  ignore: !corporaPresent("sigv4 suite"),
  fn() {
    // Runs after the cases above (tests run in order of registration within a file).
    assert.equal(cases.length, 38);
    assert.equal(checked.parts, 38 * 2);
    assert.equal(checked.request + checked.notExpressible.length, 38 * 2);
    console.log(
      `sigv4 suite: ${checked.parts} case×variant checked on raw parts, ${checked.request} also ` +
        `as fetch Requests; raw parts only:\n  ${checked.notExpressible.join("\n  ")}`,
    );
  },
});
