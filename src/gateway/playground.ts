/**
 * The playground page's browser module, served by the gateway at `GET /playground.js` (bundled by
 * `scripts/build_playground.ts` into `_playground_assets.ts`). It lists the gateway's models,
 * sends the prompt to the gateway's native Bedrock ConverseStream endpoint or its OpenAI Chat
 * Completions endpoint, and decodes the reply in the browser with llmwire's own framing and
 * protocol decoders — showing the text as it streams in, the time to first token and the usage.
 *
 * It runs on load and exports nothing. The gateway is type-checked without the DOM library, so
 * the few DOM members used are declared below.
 * @module
 */

import { EventStreamDecoderStream } from "../framing/event_stream.ts";
import { SseDecoderStream } from "../framing/sse.ts";
import { BedrockConverseDecoderStream } from "../protocols/bedrock_converse.ts";
import { OpenAIChatDecoderStream } from "../protocols/openai_chat.ts";
import type { LlmEvent, Usage } from "../protocols/events.ts";

/** An `<input>`, `<select>`, `<textarea>` or `<button>`. */
interface Control extends EventTarget {
  value: string;
  disabled: boolean;
  checked: boolean;
  append(...nodes: unknown[]): void;
}

/** An element whose text the page writes. */
interface Display {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
}

/** The document, as far as the page uses it. */
interface PageDocument {
  getElementById(id: string): unknown;
  createElement(tag: "option"): { value: string; textContent: string | null };
}

/** The wire protocol the page speaks to the gateway. */
type Protocol = "bedrock" | "openai";

const page = (globalThis as unknown as { document: PageDocument }).document;

function element<T>(id: string): T {
  const found = page.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

const form = element<Control>("chat");
const modelSelect = element<Control>("model");
const bedrockToggle = element<Control>("protocol-bedrock");
const promptInput = element<Control>("prompt");
const sendButton = element<Control>("send");
const output = element<Display>("output");
const stats = element<Display>("stats");
const status = element<Display>("status");

/** The gateway's error message from a failed response (any of its protocols), or the status. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    const message = body?.error?.message ?? body?.message;
    if (typeof message === "string") return `${response.status}: ${message}`;
  } catch {
    // Not JSON: the text as it is.
  }
  return `${response.status}: ${text || response.statusText}`;
}

/** Fills the model select from `GET /v1/models`. */
async function loadModels(): Promise<void> {
  const response = await fetch("v1/models");
  if (!response.ok) throw new Error(`could not list the models: ${await errorText(response)}`);
  const body = await response.json() as { data: { id: string }[] };
  for (const model of body.data) {
    const option = page.createElement("option");
    option.value = model.id;
    option.textContent = model.id;
    modelSelect.append(option);
  }
}

/** Sends the prompt to the gateway; the response body is the protocol's stream. */
function send(protocol: Protocol, model: string, prompt: string): Promise<Response> {
  const headers = { "content-type": "application/json" };
  if (protocol === "bedrock") {
    return fetch(`model/${encodeURIComponent(model)}/converse-stream`, {
      method: "POST",
      headers,
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: prompt }] }] }),
    });
  }
  return fetch("v1/chat/completions", {
    method: "POST",
    headers,
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: prompt }],
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
}

/** Bytes → frames → {@linkcode LlmEvent}s, with the decoders of the chosen protocol. */
function decode(
  protocol: Protocol,
  model: string,
  body: ReadableStream<Uint8Array>,
): ReadableStream<LlmEvent> {
  return protocol === "bedrock"
    ? body.pipeThrough(new EventStreamDecoderStream())
      .pipeThrough(new BedrockConverseDecoderStream({ model }))
    : body.pipeThrough(new SseDecoderStream())
      .pipeThrough(new OpenAIChatDecoderStream({ model }));
}

/** `TTFT 231 ms · 2 in / 10 out tokens`, with `…` for what is not known yet. */
function renderStats(ttftMs: number | undefined, usage: Usage | undefined): void {
  const ttft = ttftMs === undefined ? "…" : `${Math.round(ttftMs)} ms`;
  const input = usage === undefined ? "…" : String(usage.inputTokens);
  const outputTokens = usage === undefined ? "…" : String(usage.outputTokens);
  stats.textContent = `TTFT ${ttft} · ${input} in / ${outputTokens} out tokens`;
}

function setState(state: "idle" | "streaming" | "done" | "error", message: string): void {
  status.dataset.state = state;
  status.textContent = message;
  sendButton.disabled = state === "streaming";
}

/** One exchange: send, then show the reply as it streams in. */
async function run(): Promise<void> {
  const protocol: Protocol = bedrockToggle.checked ? "bedrock" : "openai";
  const model = modelSelect.value;
  const started = performance.now();
  let ttftMs: number | undefined;
  let usage: Usage | undefined;
  output.textContent = "";
  renderStats(ttftMs, usage);
  setState("streaming", "streaming…");
  try {
    const response = await send(protocol, model, promptInput.value);
    if (!response.ok || response.body === null) throw new Error(await errorText(response));
    const reader = decode(protocol, model, response.body).getReader();
    for (;;) {
      const { done, value: event } = await reader.read();
      if (done) break;
      if (event.type === "text_delta") {
        ttftMs ??= performance.now() - started;
        output.textContent += event.text;
      } else if (event.type === "usage") {
        // Cumulative: the last one is the total.
        usage = event.usage;
      } else if (event.type === "error") {
        throw new Error(`${event.kind}: ${event.message}`);
      }
      renderStats(ttftMs, usage);
    }
    setState("done", `done in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    setState("error", error instanceof Error ? error.message : String(error));
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!sendButton.disabled) void run();
});

promptInput.addEventListener("keydown", (event) => {
  const key = event as Event & { key: string; ctrlKey: boolean; metaKey: boolean };
  if (key.key === "Enter" && (key.ctrlKey || key.metaKey)) {
    event.preventDefault();
    if (!sendButton.disabled) void run();
  }
});

loadModels().then(
  () => setState("idle", "ready"),
  (error: unknown) => setState("error", error instanceof Error ? error.message : String(error)),
);
