/**
 * OpenAI Chat Completions request and response bodies ⇄ {@linkcode LlmRequest} /
 * {@linkcode LlmResponse}. Finish reasons and usage are read and written as the streams do, with
 * the functions of `openai_chat.ts`.
 *
 * Reading a request (`parseOpenAIChatRequest`):
 * - Leading `system` and `developer` messages become the system prompt (one part per message, or
 *   per text part); later ones stay in place as `system` turns. `developer` is written back as
 *   `system` (OpenAI treats them alike).
 * - Consecutive `tool` messages become ONE user turn of `tool_result` parts (what Anthropic and
 *   Bedrock require); an assistant's `tool_calls` become `tool_use` parts whose `arguments` must
 *   be a JSON object.
 * - `image_url` parts: a `data:<type>;base64,` URL becomes inline bytes, any other URL stays a URL.
 *   `input_audio`, `file` and unknown part types are kept as provider parts.
 * - `max_tokens` and `max_completion_tokens` are the same limit; `stop` may be a string or an
 *   array; `reasoning_effort` becomes `reasoning.effort`; `user` becomes `userId`.
 * - Message `name` fields and part `prompt_cache_breakpoint` hints are ignored (OpenAI-only
 *   hints). Every other top-level field is kept as a provider field: written back to OpenAI,
 *   refused by the other protocols — except these hints, dropped there: `store`, `metadata`,
 *   `service_tier`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`,
 *   `prompt_cache_options`, and the defaults `n: 1`, `logprobs: false`, `frequency_penalty: 0`,
 *   `presence_penalty: 0`, `modalities: ["text"]`.
 *
 * Writing a request (`toOpenAIChatRequest`):
 * - A user turn's `tool_result` parts become `tool` messages (before the rest of the turn, which
 *   follows as a user message). Tool results can only hold text: JSON parts are written as JSON
 *   text, images are refused. `isError` has no OpenAI equivalent and is dropped.
 * - Reasoning parts of assistant turns are dropped (Chat Completions has no field for them and
 *   OpenAI never shows a model its past reasoning) unless `reasoningContent: true` writes them as
 *   `reasoning_content` (DeepSeek-style servers). Prompt-cache hints are dropped (OpenAI caches
 *   automatically).
 * - A thinking budget with no effort becomes an effort: under 4096 tokens `low`, under 16384
 *   `medium`, else `high`. `adaptive` alone is dropped (OpenAI reasoning models always adapt).
 * - `topK` is refused (OpenAI has no top-k).
 * @module
 */
import type {
  LlmContentPart,
  LlmFunctionTool,
  LlmImagePart,
  LlmMessage,
  LlmProviderPart,
  LlmReasoningConfig,
  LlmRequest,
  LlmResponse,
  LlmResponsePart,
  LlmTextPart,
  LlmTool,
  LlmToolChoice,
  LlmToolResultPart,
} from "./bodies.ts";
import type { Citation } from "./events.ts";
import {
  type OpenAIChatFinishReason,
  type OpenAIChatUsage,
  parseOpenAIChatFinishReason,
  parseOpenAIChatUsage,
  toOpenAIChatFinishReason,
  toOpenAIChatUsage,
} from "./openai_chat.ts";
import {
  array,
  at,
  boolean,
  defined,
  describe,
  fail,
  keepProviderFields,
  number,
  object,
  onlyKeys,
  optional,
  parseArgumentsObject,
  parseDataUrl,
  providerFieldsFor,
  refuseForeign,
  string,
  strings,
} from "./_body_fields.ts";
import { isObject, type JsonObject } from "./_json.ts";

/** A text content part. */
export interface OpenAIChatTextPart {
  /** Discriminator. */
  type: "text";
  /** The text. */
  text: string;
}

/** An image content part (`url` is an http(s) URL or a `data:` URL). */
export interface OpenAIChatImagePart {
  /** Discriminator. */
  type: "image_url";
  /** The image. */
  image_url: { url: string; detail?: "auto" | "low" | "high" | "original" };
}

/** A function tool call of an assistant message. */
export interface OpenAIChatToolCall {
  /** Tool call id. */
  id: string;
  /** Always `function`. */
  type: "function";
  /** The function and its JSON-encoded arguments. */
  function: { name: string; arguments: string };
}

/** A system message. */
export interface OpenAIChatSystemMessage {
  /** Role. */
  role: "system";
  /** The instructions. */
  content: string | OpenAIChatTextPart[];
}

/** A developer message (read like a system message). */
export interface OpenAIChatDeveloperMessage {
  /** Role. */
  role: "developer";
  /** The instructions. */
  content: string | OpenAIChatTextPart[];
}

/** A user message. */
export interface OpenAIChatUserMessage {
  /** Role. */
  role: "user";
  /** Text, or text and image parts. */
  content: string | Array<OpenAIChatTextPart | OpenAIChatImagePart>;
}

/** An assistant message of an earlier turn. */
export interface OpenAIChatAssistantMessage {
  /** Role. */
  role: "assistant";
  /** The text (null when the turn only called tools). */
  content?: string | OpenAIChatTextPart[] | null;
  /** Tool calls. */
  tool_calls?: OpenAIChatToolCall[];
  /** Reasoning, as DeepSeek-style servers take it back (written only on request). */
  reasoning_content?: string;
}

/** The result of one tool call. */
export interface OpenAIChatToolMessage {
  /** Role. */
  role: "tool";
  /** The id of the tool call this answers. */
  tool_call_id: string;
  /** The result. */
  content: string | OpenAIChatTextPart[];
}

/** A message of a Chat Completions request. */
export type OpenAIChatMessage =
  | OpenAIChatSystemMessage
  | OpenAIChatDeveloperMessage
  | OpenAIChatUserMessage
  | OpenAIChatAssistantMessage
  | OpenAIChatToolMessage;

/** A function tool. */
export interface OpenAIChatFunctionTool {
  /** Always `function`. */
  type: "function";
  /** The function. */
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
    strict?: boolean;
  };
}

/** Tool choice. */
export type OpenAIChatToolChoice =
  | "auto"
  | "none"
  | "required"
  | { type: "function"; function: { name: string } };

/** Reasoning effort values of Chat Completions. */
export type OpenAIReasoningEffort =
  | "none"
  | "minimal"
  | "low"
  | "medium"
  | "high"
  | "xhigh"
  | "max";

const OPENAI_EFFORTS: readonly string[] = [
  "none",
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
  "max",
];

/**
 * The Chat Completions request body, as far as it is normalized. Provider fields of an OpenAI
 * source (`seed`, `response_format`, …) are written back beside these.
 */
export interface OpenAIChatRequestBody {
  /** Model id. */
  model: string;
  /** The conversation. */
  messages: OpenAIChatMessage[];
  /** Output limit (current name). */
  max_completion_tokens?: number;
  /** Output limit (legacy name, still the one many compatible servers know). */
  max_tokens?: number;
  /** Sampling temperature. */
  temperature?: number;
  /** Nucleus sampling. */
  top_p?: number;
  /** Stop sequences. */
  stop?: string | string[];
  /** Tools. */
  tools?: OpenAIChatFunctionTool[];
  /** Tool choice. */
  tool_choice?: OpenAIChatToolChoice;
  /** `false`: at most one tool call per turn. */
  parallel_tool_calls?: boolean;
  /** Reasoning effort. */
  reasoning_effort?: OpenAIReasoningEffort;
  /** Stream the answer. */
  stream?: boolean;
  /** Streaming options. */
  stream_options?: { include_usage?: boolean };
  /** End-user id. */
  user?: string;
}

const REQUEST_FIELDS = [
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning_effort",
  "stream",
  "stream_options",
  "user",
];

function stringOrArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, `must be a string or an array, got ${describe(value)}`);
  return value;
}

function readTextParts(value: unknown, field: string): LlmTextPart[] {
  if (typeof value === "string") return [{ type: "text", text: value }];
  return stringOrArray(value, field).map((item, i) => {
    const path = at(field, i);
    const part = object(item, path);
    if (part.type !== "text") fail(at(path, "type"), `must be "text", got ${describe(part.type)}`);
    onlyKeys(part, path, ["type", "text", "prompt_cache_breakpoint"], "a text part");
    return { type: "text", text: string(part.text, at(path, "text")) };
  });
}

function readImageUrl(part: JsonObject, path: string): LlmImagePart {
  onlyKeys(part, path, ["type", "image_url", "prompt_cache_breakpoint"], "an image_url part");
  const imagePath = at(path, "image_url");
  const image = object(part.image_url, imagePath);
  onlyKeys(image, imagePath, ["url", "detail"], "image_url");
  const url = string(image.url, at(imagePath, "url"));
  const detail = optional(image.detail, at(imagePath, "detail"), string);
  if (detail !== undefined && !["auto", "low", "high", "original"].includes(detail)) {
    fail(at(imagePath, "detail"), `must be auto, low, high or original, got "${detail}"`);
  }
  const inline = parseDataUrl(url);
  return {
    type: "image",
    source: inline === undefined
      ? { type: "url", url }
      : { type: "base64", mediaType: inline.mediaType, data: inline.data },
    ...(detail !== undefined ? { detail: detail as LlmImagePart["detail"] & string } : {}),
  };
}

function readUserContent(value: unknown, field: string): LlmContentPart[] {
  if (typeof value === "string") return [{ type: "text", text: value }];
  return stringOrArray(value, field).map((item, i): LlmContentPart => {
    const path = at(field, i);
    const part = object(item, path);
    const type = string(part.type, at(path, "type"));
    if (type === "text") {
      onlyKeys(part, path, ["type", "text", "prompt_cache_breakpoint"], "a text part");
      return { type: "text", text: string(part.text, at(path, "text")) };
    }
    if (type === "image_url") return readImageUrl(part, path);
    return { type: "provider", protocol: "openai", blockType: type, content: part };
  });
}

function readAssistant(m: JsonObject, path: string): LlmContentPart[] {
  onlyKeys(
    m,
    path,
    ["role", "content", "tool_calls", "reasoning_content", "refusal", "name"],
    "an assistant message",
  );
  const parts: LlmContentPart[] = [];
  const reasoning = optional(m.reasoning_content, at(path, "reasoning_content"), string);
  if (reasoning !== undefined && reasoning !== "") {
    parts.push({ type: "reasoning", text: reasoning });
  }
  const contentPath = at(path, "content");
  if (typeof m.content === "string") {
    if (m.content !== "") parts.push({ type: "text", text: m.content });
  } else if (m.content !== undefined && m.content !== null) {
    stringOrArray(m.content, contentPath).forEach((item, i) => {
      const partPath = at(contentPath, i);
      const part = object(item, partPath);
      if (part.type === "text") {
        onlyKeys(part, partPath, ["type", "text", "prompt_cache_breakpoint"], "a text part");
        parts.push({ type: "text", text: string(part.text, at(partPath, "text")) });
      } else if (part.type === "refusal") {
        onlyKeys(part, partPath, ["type", "refusal"], "a refusal part");
        parts.push({ type: "text", text: string(part.refusal, at(partPath, "refusal")) });
      } else {
        fail(at(partPath, "type"), `must be "text" or "refusal", got ${describe(part.type)}`);
      }
    });
  }
  const refusal = optional(m.refusal, at(path, "refusal"), string);
  if (refusal !== undefined) parts.push({ type: "text", text: refusal });
  const calls = optional(m.tool_calls, at(path, "tool_calls"), array) ?? [];
  calls.forEach((item, i) => {
    const callPath = at(at(path, "tool_calls"), i);
    const call = object(item, callPath);
    if (call.type !== undefined && call.type !== "function") {
      parts.push({
        type: "provider",
        protocol: "openai",
        blockType: string(call.type, at(callPath, "type")),
        content: call,
      });
      return;
    }
    onlyKeys(call, callPath, ["id", "type", "function"], "a tool call");
    const fnPath = at(callPath, "function");
    const fn = object(call.function, fnPath);
    onlyKeys(fn, fnPath, ["name", "arguments"], "a function call");
    parts.push({
      type: "tool_use",
      id: string(call.id, at(callPath, "id")),
      name: string(fn.name, at(fnPath, "name")),
      input: parseArgumentsObject(
        optional(fn.arguments, at(fnPath, "arguments"), string) ?? "",
        at(fnPath, "arguments"),
      ),
    });
  });
  return parts;
}

function readTool(value: unknown, path: string): LlmTool {
  const tool = object(value, path);
  if (tool.type !== "function") {
    string(tool.type, at(path, "type"));
    return { type: "provider", protocol: "openai", content: tool };
  }
  onlyKeys(tool, path, ["type", "function"], "a tool");
  const fnPath = at(path, "function");
  const fn = object(tool.function, fnPath);
  onlyKeys(fn, fnPath, ["name", "description", "parameters", "strict"], "a function tool");
  const description = optional(fn.description, at(fnPath, "description"), string);
  const strict = optional(fn.strict, at(fnPath, "strict"), boolean);
  return {
    type: "function",
    name: string(fn.name, at(fnPath, "name")),
    ...(description !== undefined ? { description } : {}),
    inputSchema: optional(fn.parameters, at(fnPath, "parameters"), object) ??
      { type: "object", properties: {} },
    ...(strict !== undefined ? { strict } : {}),
  };
}

function readToolChoice(value: unknown): LlmToolChoice | undefined {
  if (value === "auto") return { type: "auto" };
  if (value === "none") return { type: "none" };
  if (value === "required") return { type: "any" };
  if (
    isObject(value) && value.type === "function" && Object.keys(value).length === 2 &&
    isObject(value.function) && Object.keys(value.function).length === 1
  ) {
    return { type: "tool", name: string(value.function.name, "tool_choice.function.name") };
  }
  if (typeof value === "string") {
    fail("tool_choice", `must be "auto", "none", "required" or a function, got "${value}"`);
  }
  return undefined; // allowed_tools, custom: kept as a provider field
}

/**
 * Parses an OpenAI Chat Completions request body.
 *
 * @param body the parsed JSON body
 * @returns the normalized request
 * @throws {LlmConversionError} when a field is missing or ill-typed
 *
 * @example
 * ```ts
 * import { parseOpenAIChatRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const request = parseOpenAIChatRequest({
 *   model: "gpt-4o",
 *   messages: [
 *     { role: "system", content: "Be brief." },
 *     { role: "user", content: "Hi" },
 *   ],
 *   max_tokens: 100,
 *   stop: "END",
 * });
 * assert.deepEqual(request.system, [{ type: "text", text: "Be brief." }]);
 * assert.deepEqual(request.messages, [{ role: "user", content: [{ type: "text", text: "Hi" }] }]);
 * assert.equal(request.maxTokens, 100);
 * assert.deepEqual(request.stopSequences, ["END"]);
 * ```
 */
export function parseOpenAIChatRequest(body: unknown): LlmRequest {
  const o = object(body, "body");
  const system: LlmTextPart[] = [];
  const messages: LlmMessage[] = [];
  let conversationStarted = false;
  let toolTurn: LlmMessage | undefined;
  array(o.messages, "messages").forEach((item, i) => {
    const path = at("messages", i);
    const m = object(item, path);
    const role = string(m.role, at(path, "role"));
    const current = toolTurn;
    toolTurn = undefined;
    switch (role) {
      case "system":
      case "developer": {
        onlyKeys(m, path, ["role", "content", "name"], `a ${role} message`);
        const parts = readTextParts(m.content, at(path, "content"));
        if (conversationStarted) messages.push({ role: "system", content: parts });
        else system.push(...parts);
        return;
      }
      case "user":
        onlyKeys(m, path, ["role", "content", "name"], "a user message");
        conversationStarted = true;
        messages.push({ role: "user", content: readUserContent(m.content, at(path, "content")) });
        return;
      case "assistant":
        conversationStarted = true;
        messages.push({ role: "assistant", content: readAssistant(m, path) });
        return;
      case "tool": {
        onlyKeys(m, path, ["role", "content", "tool_call_id"], "a tool message");
        conversationStarted = true;
        const part: LlmToolResultPart = {
          type: "tool_result",
          toolUseId: string(m.tool_call_id, at(path, "tool_call_id")),
          content: readTextParts(m.content, at(path, "content")),
        };
        if (current !== undefined) current.content.push(part);
        else messages.push({ role: "user", content: [part] });
        toolTurn = current ?? messages[messages.length - 1];
        return;
      }
      case "function":
        return fail(at(path, "role"), "function messages are deprecated and not supported");
      default:
        return fail(at(path, "role"), `is not a Chat Completions role: "${role}"`);
    }
  });

  const request: LlmRequest = { model: string(o.model, "model"), system, messages };
  const maxCompletion = optional(o.max_completion_tokens, "max_completion_tokens", number);
  const maxTokens = optional(o.max_tokens, "max_tokens", number);
  if (maxCompletion !== undefined && maxTokens !== undefined && maxCompletion !== maxTokens) {
    fail("max_tokens", "conflicts with max_completion_tokens");
  }
  const limit = maxCompletion ?? maxTokens;
  if (limit !== undefined) request.maxTokens = limit;
  const temperature = optional(o.temperature, "temperature", number);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optional(o.top_p, "top_p", number);
  if (topP !== undefined) request.topP = topP;
  if (typeof o.stop === "string") request.stopSequences = [o.stop];
  else if (o.stop !== undefined && o.stop !== null) request.stopSequences = strings(o.stop, "stop");
  const tools = optional(o.tools, "tools", array);
  if (tools !== undefined) request.tools = tools.map((tool, i) => readTool(tool, at("tools", i)));
  const providerFields: JsonObject = {};
  if (o.tool_choice !== undefined && o.tool_choice !== null) {
    const choice = readToolChoice(o.tool_choice);
    if (choice !== undefined) request.toolChoice = choice;
    else providerFields.tool_choice = o.tool_choice;
  }
  const parallel = optional(o.parallel_tool_calls, "parallel_tool_calls", boolean);
  if (parallel !== undefined) request.parallelToolCalls = parallel;
  const effort = optional(o.reasoning_effort, "reasoning_effort", string);
  if (effort !== undefined) request.reasoning = { effort };
  const stream = optional(o.stream, "stream", boolean);
  if (stream !== undefined) request.stream = stream;
  const streamOptions = optional(o.stream_options, "stream_options", object);
  if (streamOptions !== undefined) {
    onlyKeys(
      streamOptions,
      "stream_options",
      ["include_usage", "include_obfuscation"],
      "stream_options",
    );
    const includeUsage = optional(
      streamOptions.include_usage,
      "stream_options.include_usage",
      boolean,
    );
    if (includeUsage !== undefined) request.includeUsage = includeUsage;
  }
  const user = optional(o.user, "user", string);
  if (user !== undefined) request.userId = user;
  keepProviderFields(request, "openai", o, REQUEST_FIELDS, providerFields);
  return request;
}

/** Options of {@linkcode toOpenAIChatRequest}. */
export interface ToOpenAIChatRequestOptions {
  /**
   * Which field carries `maxTokens`: `max_completion_tokens` (default; required by OpenAI's
   * reasoning models) or `max_tokens` (for older OpenAI-compatible servers).
   */
  maxTokensField?: "max_completion_tokens" | "max_tokens";
  /** Write assistant reasoning as `reasoning_content` instead of dropping it. Default false. */
  reasoningContent?: boolean;
}

function writeText(part: LlmTextPart): OpenAIChatTextPart {
  return { type: "text", text: part.text };
}

function writeImage(part: LlmImagePart): OpenAIChatImagePart {
  const url = part.source.type === "url"
    ? part.source.url
    : `data:${part.source.mediaType};base64,${part.source.data}`;
  return { type: "image_url", image_url: { url, ...(part.detail ? { detail: part.detail } : {}) } };
}

function textContent(parts: OpenAIChatTextPart[]): string | OpenAIChatTextPart[] {
  return parts.length === 1 ? parts[0]!.text : parts;
}

function writeProvider(part: LlmProviderPart, path: string): unknown {
  refuseForeign(part.protocol, "openai", path, `the "${part.blockType}" block`);
  return part.content;
}

function writeToolResult(part: LlmToolResultPart, path: string): OpenAIChatToolMessage {
  const texts = part.content.map((item, i): OpenAIChatTextPart => {
    const itemPath = at(at(path, "content"), i);
    switch (item.type) {
      case "text":
        return writeText(item);
      case "json":
        return { type: "text", text: JSON.stringify(item.value) };
      case "image":
        return fail(itemPath, "OpenAI Chat Completions tool messages cannot carry images");
      case "provider":
        return writeProvider(item, itemPath) as OpenAIChatTextPart;
    }
  });
  return {
    role: "tool",
    tool_call_id: part.toolUseId,
    content: texts.length === 0 ? "" : textContent(texts),
  };
}

function writeUserTurn(message: LlmMessage, path: string, out: OpenAIChatMessage[]): void {
  const rest: Array<OpenAIChatTextPart | OpenAIChatImagePart> = [];
  message.content.forEach((part, i) => {
    const partPath = at(at(path, "content"), i);
    switch (part.type) {
      case "tool_result":
        out.push(writeToolResult(part, partPath));
        return;
      case "text":
        rest.push(writeText(part));
        return;
      case "image":
        rest.push(writeImage(part));
        return;
      case "provider":
        rest.push(writeProvider(part, partPath) as OpenAIChatTextPart);
        return;
      default:
        return fail(partPath, `a user turn cannot hold a ${part.type} part`);
    }
  });
  if (rest.length === 0) return;
  const onlyText = rest.every((part) => part.type === "text");
  out.push({
    role: "user",
    content: onlyText && rest.length === 1 ? (rest[0] as OpenAIChatTextPart).text : rest,
  });
}

function writeAssistantTurn(
  message: LlmMessage,
  path: string,
  options: ToOpenAIChatRequestOptions,
): OpenAIChatAssistantMessage {
  const texts: OpenAIChatTextPart[] = [];
  const calls: OpenAIChatToolCall[] = [];
  const reasoning: string[] = [];
  message.content.forEach((part, i) => {
    const partPath = at(at(path, "content"), i);
    switch (part.type) {
      case "text":
        texts.push(writeText(part));
        return;
      case "tool_use":
        calls.push({
          id: part.id,
          type: "function",
          function: { name: part.name, arguments: JSON.stringify(part.input) },
        });
        return;
      case "reasoning":
        reasoning.push(part.text);
        return;
      case "redacted_reasoning":
        return; // encrypted reasoning has no OpenAI form; dropped like all reasoning
      case "provider":
        calls.push(writeProvider(part, partPath) as OpenAIChatToolCall);
        return;
      default:
        return fail(partPath, `an assistant turn cannot hold a ${part.type} part`);
    }
  });
  return {
    role: "assistant",
    content: texts.length === 0 ? (calls.length > 0 ? null : "") : textContent(texts),
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
    ...(options.reasoningContent === true && reasoning.length > 0
      ? { reasoning_content: reasoning.join("") }
      : {}),
  };
}

function writeSystemParts(
  parts: ReadonlyArray<LlmContentPart>,
  path: string,
): string | OpenAIChatTextPart[] {
  const texts = parts.map((part, i) => {
    if (part.type === "text") return writeText(part);
    if (part.type === "provider") {
      return writeProvider(part, at(at(path, "content"), i)) as OpenAIChatTextPart;
    }
    return fail(at(at(path, "content"), i), `a system message cannot hold a ${part.type} part`);
  });
  return textContent(texts);
}

function writeTool(tool: LlmTool, path: string): OpenAIChatFunctionTool {
  if (tool.type === "provider") {
    refuseForeign(tool.protocol, "openai", path, "a provider-specific tool");
    return tool.content as OpenAIChatFunctionTool;
  }
  return { type: "function", function: functionOf(tool) };
}

function functionOf(tool: LlmFunctionTool): OpenAIChatFunctionTool["function"] {
  return defined({
    name: tool.name,
    description: tool.description,
    parameters: tool.inputSchema,
    strict: tool.strict,
  });
}

function writeToolChoice(choice: LlmToolChoice): OpenAIChatToolChoice {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

function writeEffort(reasoning: LlmReasoningConfig | undefined): OpenAIReasoningEffort | undefined {
  if (reasoning === undefined) return undefined;
  if (reasoning.effort !== undefined) {
    if (!OPENAI_EFFORTS.includes(reasoning.effort)) {
      fail(
        "reasoning.effort",
        `"${reasoning.effort}" is not a Chat Completions reasoning_effort (${
          OPENAI_EFFORTS.join(", ")
        })`,
      );
    }
    return reasoning.effort as OpenAIReasoningEffort;
  }
  if (reasoning.budgetTokens !== undefined) {
    if (reasoning.budgetTokens < 4096) return "low";
    return reasoning.budgetTokens < 16384 ? "medium" : "high";
  }
  return undefined;
}

/**
 * Writes a normalized request as an OpenAI Chat Completions body.
 *
 * @param request the normalized request
 * @param options how to write `maxTokens` and reasoning
 * @returns the body to send
 * @throws {LlmConversionError} for what Chat Completions cannot express
 *
 * @example
 * ```ts
 * import { toOpenAIChatRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toOpenAIChatRequest({
 *   model: "gpt-4o",
 *   system: [{ type: "text", text: "Be brief." }],
 *   messages: [
 *     { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
 *     {
 *       role: "assistant",
 *       content: [{ type: "tool_use", id: "c1", name: "weather", input: { city: "Paris" } }],
 *     },
 *     {
 *       role: "user",
 *       content: [{ type: "tool_result", toolUseId: "c1", content: [{ type: "text", text: "Sun" }] }],
 *     },
 *   ],
 *   maxTokens: 200,
 * });
 * assert.deepEqual(body.messages.map((message) => message.role), [
 *   "system",
 *   "user",
 *   "assistant",
 *   "tool",
 * ]);
 * assert.equal(body.max_completion_tokens, 200);
 * ```
 */
export function toOpenAIChatRequest(
  request: LlmRequest,
  options: ToOpenAIChatRequestOptions = {},
): OpenAIChatRequestBody {
  const extra = providerFieldsFor(request.providerFields, "openai");
  const messages: OpenAIChatMessage[] = request.system.map((part, i) => ({
    role: "system",
    content: writeSystemParts([part], at("system", i)),
  }));
  request.messages.forEach((message, i) => {
    const path = at("messages", i);
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: writeSystemParts(message.content, path) });
        return;
      case "user":
        writeUserTurn(message, path, messages);
        return;
      case "assistant":
        messages.push(writeAssistantTurn(message, path, options));
        return;
    }
  });
  if (request.topK !== undefined) fail("topK", "OpenAI Chat Completions has no top-k sampling");
  const body: OpenAIChatRequestBody = { model: request.model, messages };
  if (request.maxTokens !== undefined) {
    body[options.maxTokensField ?? "max_completion_tokens"] = request.maxTokens;
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stopSequences !== undefined) body.stop = request.stopSequences;
  if (request.tools !== undefined) {
    body.tools = request.tools.map((tool, i) => writeTool(tool, at("tools", i)));
  }
  if (request.toolChoice !== undefined) body.tool_choice = writeToolChoice(request.toolChoice);
  if (request.parallelToolCalls !== undefined) {
    body.parallel_tool_calls = request.parallelToolCalls;
  }
  const effort = writeEffort(request.reasoning);
  if (effort !== undefined) body.reasoning_effort = effort;
  if (request.stream !== undefined) body.stream = request.stream;
  if (request.includeUsage !== undefined) {
    body.stream_options = { include_usage: request.includeUsage };
  }
  if (request.userId !== undefined) body.user = request.userId;
  return { ...body, ...extra };
}

/** A URL citation attached to the answer text. */
export interface OpenAIChatAnnotation {
  /** Always `url_citation`. */
  type: "url_citation";
  /** The cited URL and the span of `content` it supports. */
  url_citation: { start_index: number; end_index: number; title: string; url: string };
}

/** The assistant message of a Chat Completions response. */
export interface OpenAIChatResponseMessage {
  /** Always `assistant`. */
  role: "assistant";
  /** The text (null when there is none). */
  content: string | null;
  /** A refusal (always null when written by llmwire: refusals arrive as text). */
  refusal: string | null;
  /** Tool calls. */
  tool_calls?: OpenAIChatToolCall[];
  /** URL citations. */
  annotations?: OpenAIChatAnnotation[];
  /** Reasoning (DeepSeek-style; written only on request). */
  reasoning_content?: string;
}

/** The one choice llmwire reads and writes. */
export interface OpenAIChatChoice {
  /** Always 0. */
  index: number;
  /** The answer. */
  message: OpenAIChatResponseMessage;
  /** Why it stopped. */
  finish_reason: OpenAIChatFinishReason;
  /** Always null. */
  logprobs: null;
}

/** A Chat Completions response body. */
export interface OpenAIChatResponseBody {
  /** Completion id. */
  id: string;
  /** Always `chat.completion`. */
  object: "chat.completion";
  /** Unix time in seconds. */
  created: number;
  /** Model that answered. */
  model: string;
  /** One choice. */
  choices: OpenAIChatChoice[];
  /** Token usage. */
  usage: OpenAIChatUsage;
}

function readCitation(item: unknown, path: string): Citation {
  const annotation = object(item, path);
  const inner = isObject(annotation.url_citation) ? annotation.url_citation : {};
  const title = typeof inner.title === "string" ? inner.title : undefined;
  const url = typeof inner.url === "string" ? inner.url : undefined;
  return {
    ...(title !== undefined ? { title } : {}),
    ...(url !== undefined ? { url } : {}),
    raw: annotation,
  };
}

function errorBodyMessage(o: JsonObject): string {
  const error = isObject(o.error) ? o.error : {};
  const type = typeof error.type === "string" ? error.type : "error";
  const message = typeof error.message === "string" ? error.message : JSON.stringify(o.error);
  return `the body is an error response (${type}: ${message}), not a chat completion`;
}

/**
 * Parses an OpenAI Chat Completions response body. Absent `id`/`model` read as `""` and `null`
 * usage as zeros (OpenAI-compatible servers omit them); `reasoning_content` (DeepSeek-style)
 * becomes a reasoning part, a `refusal` a text part, `url_citation` annotations citations.
 *
 * @param body the parsed JSON body
 * @returns the normalized response
 * @throws {LlmConversionError} for error bodies, several choices (`n > 1`), a missing message
 *
 * @example
 * ```ts
 * import { parseOpenAIChatResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const response = parseOpenAIChatResponse({
 *   id: "chatcmpl-1",
 *   object: "chat.completion",
 *   created: 1,
 *   model: "gpt-4o",
 *   choices: [{
 *     index: 0,
 *     message: { role: "assistant", content: "Hi!" },
 *     finish_reason: "stop",
 *   }],
 *   usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
 * });
 * assert.deepEqual(response.content, [{ type: "text", text: "Hi!" }]);
 * assert.equal(response.stopReason, "end_turn");
 * assert.equal(response.usage.totalTokens, 7);
 * ```
 */
export function parseOpenAIChatResponse(body: unknown): LlmResponse {
  const o = object(body, "body");
  if (o.choices === undefined && o.error !== undefined) fail("error", errorBodyMessage(o));
  const choices = array(o.choices, "choices");
  if (choices.length > 1) {
    fail("choices", `holds ${choices.length} choices; only one (n = 1) can be converted`);
  }
  const content: LlmResponsePart[] = [];
  let finish: string | null = null;
  if (choices.length === 1) {
    const choice = object(choices[0], "choices[0]");
    finish = optional(choice.finish_reason, "choices[0].finish_reason", string) ?? null;
    const m = object(choice.message, "choices[0].message");
    const path = "choices[0].message";
    const reasoning = optional(m.reasoning_content, at(path, "reasoning_content"), string);
    if (reasoning !== undefined && reasoning !== "") {
      content.push({ type: "reasoning", text: reasoning });
    }
    const text = optional(m.content, at(path, "content"), string);
    const annotations = optional(m.annotations, at(path, "annotations"), array) ?? [];
    const citations = annotations.map((item, i) =>
      readCitation(item, at(at(path, "annotations"), i))
    );
    if (text !== undefined) {
      content.push({ type: "text", text, ...(citations.length > 0 ? { citations } : {}) });
    }
    const refusal = optional(m.refusal, at(path, "refusal"), string);
    if (refusal !== undefined) content.push({ type: "text", text: refusal });
    const calls = optional(m.tool_calls, at(path, "tool_calls"), array) ?? [];
    calls.forEach((item, i) => {
      const callPath = at(at(path, "tool_calls"), i);
      const call = object(item, callPath);
      if (call.type !== undefined && call.type !== "function") {
        content.push({
          type: "provider",
          protocol: "openai",
          blockType: string(call.type, at(callPath, "type")),
          content: call,
        });
        return;
      }
      const fn = object(call.function, at(callPath, "function"));
      const args = optional(fn.arguments, at(at(callPath, "function"), "arguments"), string) ?? "";
      const part = { type: "tool_use" as const, id: string(call.id, at(callPath, "id")) };
      const name = string(fn.name, at(at(callPath, "function"), "name"));
      let input: unknown = {};
      let inputError: string | undefined;
      if (args.trim() !== "") {
        try {
          input = JSON.parse(args);
        } catch (error) {
          input = args;
          inputError = `the tool-call arguments are not valid JSON (${
            error instanceof Error ? error.message : String(error)
          }); input is the raw text`;
        }
      }
      content.push({ ...part, name, input, ...(inputError !== undefined ? { inputError } : {}) });
    });
  }
  return {
    id: optional(o.id, "id", string) ?? "",
    model: optional(o.model, "model", string) ?? "",
    content,
    stopReason: parseOpenAIChatFinishReason(finish),
    rawStopReason: finish,
    usage: parseOpenAIChatUsage(o.usage),
  };
}

/** Options of {@linkcode toOpenAIChatResponse}. */
export interface ToOpenAIChatResponseOptions {
  /** `created` (Unix seconds); default: now. */
  created?: number;
  /** Write reasoning as `reasoning_content` instead of dropping it. Default false. */
  reasoningContent?: boolean;
}

/**
 * Writes a normalized response as an OpenAI Chat Completions body. Text parts are joined into
 * `content`; tool calls become `tool_calls` (arguments that did not parse are written as their
 * raw text); citations with a URL become `url_citation` annotations; reasoning is dropped unless
 * `reasoningContent` is set; server-side tool calls and other protocols' provider blocks are
 * skipped (the client has nothing to do with them), as the streaming encoders do.
 *
 * @param response the normalized response
 * @param options `created` and reasoning output
 * @returns the body to send
 * @throws {LlmConversionError} when the response ended in an error (answer with an error body)
 *
 * @example
 * ```ts
 * import { createUsage, toOpenAIChatResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toOpenAIChatResponse({
 *   id: "msg_1",
 *   model: "claude",
 *   content: [{ type: "text", text: "Hello" }],
 *   stopReason: "max_tokens",
 *   rawStopReason: "max_tokens",
 *   usage: createUsage({ inputTokens: 350, outputTokens: 30, cacheReadTokens: 200 }),
 * }, { created: 0 });
 * assert.equal(body.choices[0]?.message.content, "Hello");
 * assert.equal(body.choices[0]?.finish_reason, "length");
 * assert.equal(body.usage.prompt_tokens, 350);
 * ```
 */
export function toOpenAIChatResponse(
  response: LlmResponse,
  options: ToOpenAIChatResponseOptions = {},
): OpenAIChatResponseBody {
  if (response.error !== undefined) {
    fail("error", `the response ended in an error (${response.error.message})`);
  }
  const texts: string[] = [];
  const annotations: OpenAIChatAnnotation[] = [];
  const calls: OpenAIChatToolCall[] = [];
  const reasoning: string[] = [];
  let offset = 0;
  for (const part of response.content) {
    switch (part.type) {
      case "text":
        for (const citation of part.citations ?? []) {
          if (citation.url === undefined) continue;
          annotations.push({
            type: "url_citation",
            url_citation: {
              start_index: offset,
              end_index: offset + part.text.length,
              title: citation.title ?? "",
              url: citation.url,
            },
          });
        }
        texts.push(part.text);
        offset += part.text.length;
        break;
      case "tool_use":
        if (part.serverSide === true) break;
        calls.push({
          id: part.id,
          type: "function",
          function: {
            name: part.name,
            arguments: part.inputError !== undefined && typeof part.input === "string"
              ? part.input
              : JSON.stringify(part.input ?? {}),
          },
        });
        break;
      case "reasoning":
        reasoning.push(part.text);
        break;
      case "provider":
        if (part.protocol === "openai") calls.push(part.content as OpenAIChatToolCall);
        break;
      case "redacted_reasoning":
        break;
    }
  }
  const message: OpenAIChatResponseMessage = {
    role: "assistant",
    content: texts.length > 0 ? texts.join("") : null,
    refusal: null,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
    ...(annotations.length > 0 ? { annotations } : {}),
    ...(options.reasoningContent === true && reasoning.length > 0
      ? { reasoning_content: reasoning.join("") }
      : {}),
  };
  return {
    id: response.id,
    object: "chat.completion",
    created: options.created ?? Math.floor(Date.now() / 1000),
    model: response.model,
    choices: [{
      index: 0,
      message,
      finish_reason: toOpenAIChatFinishReason(response.stopReason, response.rawStopReason),
      logprobs: null,
    }],
    usage: toOpenAIChatUsage(response.usage),
  };
}
