/**
 * The signer's synchronous SHA-256 and HMAC-SHA256 against WebCrypto: every length across the
 * block and padding boundaries, keys shorter and longer than a block, RFC 4231 vectors.
 */
import assert from "node:assert/strict";
import { hmacKey, hmacSha256, hmacSha256Hex, sha256Hex, toHex } from "../src/sigv4/_sha256.ts";

function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 17 + (i >> 3)) & 0xff;
  return out;
}

async function webCryptoHmac(key: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>) {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", imported, message)));
}

Deno.test("sha256Hex equals crypto.subtle.digest for every length 0…300 and a few large ones", async () => {
  for (const length of [...Array(301).keys(), 1000, 4096, 65_537, 1_000_003]) {
    const data = bytes(length, length);
    const expected = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
    assert.equal(sha256Hex(data), expected, `length ${length}`);
  }
});

Deno.test("hmacSha256 equals WebCrypto HMAC for keys and messages of many lengths", async () => {
  // (WebCrypto refuses an empty key.)
  for (const keyLength of [1, 20, 32, 63, 64, 65, 131, 200]) {
    const key = bytes(keyLength, 7);
    const prepared = hmacKey(key);
    for (const messageLength of [0, 1, 55, 56, 63, 64, 65, 119, 120, 150, 1000]) {
      const message = bytes(messageLength, keyLength);
      const expected = await webCryptoHmac(key, message);
      assert.equal(
        hmacSha256Hex(prepared, message),
        expected,
        `key ${keyLength}, message ${messageLength}`,
      );
      assert.equal(toHex(hmacSha256(prepared, message)), expected);
    }
  }
});

Deno.test("hmacSha256 passes the RFC 4231 test cases", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const cases: [Uint8Array, Uint8Array, string][] = [
    [
      new Uint8Array(20).fill(0x0b),
      text("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ],
    [
      text("Jefe"),
      text("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [
      new Uint8Array(20).fill(0xaa),
      new Uint8Array(50).fill(0xdd),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ],
    [
      new Uint8Array(131).fill(0xaa),
      text("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
  ];
  for (const [key, message, expected] of cases) {
    assert.equal(hmacSha256Hex(hmacKey(key), message), expected);
  }
});
