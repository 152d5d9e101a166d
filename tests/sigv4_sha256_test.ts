/**
 * The signer's synchronous SHA-256 and HMAC-SHA256 against WebCrypto: every length across the
 * block and padding boundaries, bytes at any offset of any buffer, texts (ASCII and not) hashed
 * through the reused UTF-8 buffer, keys shorter and longer than a block, FIPS 180-4 and RFC 4231
 * vectors.
 */
import assert from "node:assert/strict";
import {
  hmacKey,
  hmacSha256,
  hmacSha256Hex,
  PrefixHasher,
  sha256,
  sha256Hex,
  sha256HexOfText,
  toHex,
  utf8,
} from "../src/sigv4/_sha256.ts";

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

Deno.test("sha256Hex passes the FIPS 180-4 (NIST CSRC) examples", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(
    sha256Hex(text("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  // 56 bytes: the padding needs a second block.
  assert.equal(
    sha256Hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  // 112 bytes.
  assert.equal(
    sha256Hex(
      text(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr" +
          "lmnopqrsmnopqrstnopqrstu",
      ),
    ),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  );
  assert.equal(
    sha256Hex(new Uint8Array(1_000_000).fill(0x61)),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
  assert.equal(
    toHex(sha256(text("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("sha256Hex reads bytes at any offset of any buffer", async () => {
  const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
  const buffers = [new ArrayBuffer(1200), new SharedArrayBuffer(1200)];
  for (const buffer of buffers) {
    const all = new Uint8Array(buffer);
    all.set(bytes(1200, 3));
    for (const offset of [0, 1, 2, 3, 5, 64, 67]) {
      for (const length of lengths) {
        const view = all.subarray(offset, offset + length);
        const expected = toHex(
          new Uint8Array(await crypto.subtle.digest("SHA-256", view.slice())),
        );
        assert.equal(sha256Hex(view), expected, `offset ${offset}, length ${length}`);
        assert.equal(toHex(sha256(view)), expected);
      }
    }
  }
});

Deno.test("sha256HexOfText equals crypto.subtle.digest of the UTF-8, ASCII or not", async () => {
  const pieces = ["a", "Z", "~", "\n", "é", "ሴ", "😀", "\u0000", "\u007f", "\u0080", "\u07ff"];
  const random = (() => {
    let state = 42;
    return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  })();
  const texts: string[] = [];
  // ASCII across the block and padding boundaries.
  for (const length of [0, 1, 54, 55, 56, 57, 63, 64, 65, 118, 119, 120, 121, 128, 379, 1024]) {
    texts.push("x".repeat(length));
  }
  // Non-ASCII whose UTF-8 lands around the same boundaries.
  for (const length of [18, 19, 27, 28, 32, 40, 60]) {
    texts.push("é".repeat(length), "ሴ".repeat(length), "a" + "😀".repeat(length >> 1));
  }
  for (let i = 0; i < 200; i++) {
    let text = "";
    const length = Math.floor(random() * 150);
    for (let j = 0; j < length; j++) text += pieces[Math.floor(random() * pieces.length)];
    texts.push(text);
  }
  // Lone surrogates become U+FFFD, as TextEncoder encodes them.
  texts.push("a\ud800b", "\udc00".repeat(30));
  // Longer than the reused buffer (it grows), and longer than the texts it takes at all.
  texts.push("ab".repeat(3000), "é".repeat(6000), "z".repeat(20_000), "x".repeat(10));
  for (const text of texts) {
    const encoded = new TextEncoder().encode(text);
    const expected = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoded)));
    assert.equal(sha256HexOfText(text), expected, JSON.stringify(text.slice(0, 40)));
    assert.equal(sha256Hex(utf8(text)), expected);
    assert.deepEqual(utf8(text), encoded);
  }
});

/**
 * Drives a `PrefixHasher` through texts that share more or less of their heads with the ones
 * before, checking every digest with `expected`; `keys` > 0 checks `hmacHex`, switching keys now
 * and then.
 */
async function prefixHasherSequence(keys: number) {
  const random = (() => {
    let state = 7 + keys;
    return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  })();
  const int = (n: number) => Math.floor(random() * n);
  const letters = ["a", "b", "\n", ":", "é", "ሴ", "😀"];
  const text = (length: number, ascii: boolean) => {
    let out = "";
    while (out.length < length) out += ascii ? "xyz"[int(3)] : letters[int(letters.length)];
    return out;
  };
  const rawKeys = Array.from({ length: keys }, (_, i) => bytes(32 + i, i));
  const preparedKeys = rawKeys.map((key) => hmacKey(key));
  let key = 0;
  const hasher = new PrefixHasher();
  const check = async (head: string, tail: string, label: string) => {
    const encoded = new TextEncoder().encode(head + tail);
    if (keys === 0) {
      const expected = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoded)));
      assert.equal(hasher.hex(head, tail), expected, label);
    } else {
      const expected = await webCryptoHmac(rawKeys[key]!, encoded);
      assert.equal(
        hasher.hmacHex(preparedKeys[key]!, head, tail),
        expected,
        `${label}, key ${key}`,
      );
    }
  };
  const tails = ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "é"];
  let head = text(500, true);
  for (let step = 0; step < 400; step++) {
    const tail = tails[int(tails.length)]! + (random() < 0.5 ? "" : text(int(100), true));
    const change = int(10);
    if (change === 0) head = text(int(300), random() < 0.5); // anything new
    else if (change === 1) head = head.slice(0, int(head.length + 1)); // shorter
    else if (change === 2) head += text(int(200), random() < 0.5); // longer
    else if (change === 3) { // one character changed, anywhere
      const at = int(head.length);
      head = head.slice(0, at) + "Q" + head.slice(at + 1);
    } else if (change === 4) head = text(int(6000), true); // beyond the kept blocks
    else if (change === 5) sha256HexOfText(text(int(3000), false)); // the reused buffer changes
    else if (change === 6) head = ("-" + head).slice(1); // the same text, another string
    else if (change === 7 && keys > 1) key = (key + 1 + int(keys - 1)) % keys; // another key
    // otherwise the very same head again
    await check(head, tail, `step ${step}, head length ${head.length}`);
  }
  // A single byte changed at every place of the kept blocks, then changed back.
  const base = text(300, true);
  for (let at = 0; at < base.length; at++) {
    await check(base.slice(0, at) + "Q" + base.slice(at + 1), "tail", `changed at ${at}`);
    await check(base, "tail", `changed back at ${at}`);
  }
  // Block and padding boundaries of the head and of the whole.
  for (const headLength of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 4095, 4096, 4097]) {
    for (const tailLength of [0, 1, 8, 55, 56, 63, 64, 65]) {
      const prefix = "p".repeat(headLength);
      await check(prefix, "t".repeat(tailLength), `${headLength} + ${tailLength}`);
      await check(prefix, "u".repeat(tailLength), `${headLength} + ${tailLength}, again`);
    }
  }
  // Texts longer than the reused buffer takes, after the same head or not.
  const short = "h".repeat(100);
  await check("h".repeat(17_000), "t", "long head");
  await check(short, "t", "short head");
  await check(short, "t".repeat(17_000), "the same head, a long tail");
  await check(short, "t", "the same head, a short tail again");
}

Deno.test("PrefixHasher equals crypto.subtle.digest whatever the previous texts were", async () => {
  await prefixHasherSequence(0);
});

Deno.test("PrefixHasher's HMAC equals WebCrypto HMAC whatever the previous texts and keys were", async () => {
  await prefixHasherSequence(1);
  await prefixHasherSequence(3);
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
