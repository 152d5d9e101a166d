/**
 * The gateway of the built npm package under Node: `createGateway` is a plain fetch handler, so it
 * serves from `node:http` through a ten-line adapter; each client protocol streams a mock model's
 * reply, decoded with llmwire's own framing and protocol decoders.
 * @module
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { test } from "node:test";
import { EventStreamDecoderStream, SseDecoderStream } from "llmwire/framing";
import {
  AnthropicMessagesDecoderStream,
  BedrockConverseDecoderStream,
  OpenAIChatDecoderStream,
} from "llmwire/protocols";
import { createGateway, parseGatewayConfig } from "llmwire/gateway";
import { readAll } from "./_helpers.mjs";

const REPLY = 'Hello from the llmwire mock model. You said: "Hello there"';

function mock(protocol) {
  return { instances: [{ type: "mock", protocol, firstTokenDelayMs: 0, tokenDelayMs: 0 }] };
}

const CONFIG = {
  models: {
    mock: mock("bedrock"),
    "mock-openai": mock("openai"),
    "mock-anthropic": mock("anthropic"),
  },
};

/** Serves a fetch handler with `node:http` on a loopback port. */
async function serve(handler) {
  const server = createServer(async (req, res) => {
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : Readable.toWeb(req);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => [v].flat().map((x) => [k, x])),
      body,
      duplex: "half",
    });
    const response = await handler(request);
    res.writeHead(response.status, [...response.headers].flat());
    if (response.body) { for await (const chunk of response.body) res.write(chunk); }
    res.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** The text of a stream of LlmEvents. */
async function textOf(events) {
  return (await readAll(events)).filter((e) => e.type === "text_delta").map((e) => e.text).join("");
}

test("gateway under node:http: an OpenAI client streams a Bedrock mock's reply", async () => {
  const gateway = createGateway(parseGatewayConfig(CONFIG), { logger: () => {} });
  const server = await serve((request) => gateway.fetch(request));
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mock",
        stream: true,
        messages: [{ role: "user", content: "Hello there" }],
      }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/event-stream/);
    const events = response.body.pipeThrough(new SseDecoderStream()).pipeThrough(
      new OpenAIChatDecoderStream(),
    );
    assert.equal(await textOf(events), REPLY);
  } finally {
    await gateway.close();
    server.close();
  }
});

test("gateway.fetch under Node: Anthropic and Bedrock clients stream from other protocols", async () => {
  const gateway = createGateway(parseGatewayConfig(CONFIG), { logger: () => {} });
  try {
    const anthropic = await gateway.fetch(
      new Request("http://gateway/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "mock-openai",
          max_tokens: 100,
          stream: true,
          messages: [{ role: "user", content: "Hello there" }],
        }),
      }),
    );
    assert.equal(anthropic.status, 200);
    assert.equal(
      await textOf(
        anthropic.body.pipeThrough(new SseDecoderStream()).pipeThrough(
          new AnthropicMessagesDecoderStream(),
        ),
      ),
      REPLY,
    );
    const bedrock = await gateway.fetch(
      new Request("http://gateway/model/mock-anthropic/converse-stream", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "Hello there" }] }] }),
      }),
    );
    assert.equal(bedrock.status, 200);
    assert.equal(bedrock.headers.get("content-type"), "application/vnd.amazon.eventstream");
    assert.equal(
      await textOf(
        bedrock.body.pipeThrough(new EventStreamDecoderStream()).pipeThrough(
          new BedrockConverseDecoderStream(),
        ),
      ),
      REPLY,
    );
  } finally {
    await gateway.close();
  }
});
