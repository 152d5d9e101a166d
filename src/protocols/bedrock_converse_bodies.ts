/**
 * Amazon Bedrock Converse request and response bodies (the JSON of `POST /model/<id>/converse`)
 * ⇄ {@linkcode LlmRequest} / {@linkcode LlmResponse}. Stop reasons and usage are read and written
 * as the streams do, with the functions of `bedrock_converse.ts`.
 *
 * In JSON, Bedrock's bytes (`image.source.bytes`, `reasoningContent.redactedContent`) are base64
 * strings. The model id and the choice between `/converse` and `/converse-stream` live in the
 * URL, not the body: pass the model id to the parser; `stream` and `includeUsage` are not
 * written (the caller picks the endpoint; Bedrock always reports usage).
 *
 * Reading a request (`parseBedrockConverseRequest`):
 * - Blocks `text`, `image` (bytes), `toolUse`, `toolResult` (`text`, `json`, `image` content;
 *   `status`), `reasoningContent` are normalized; a `cachePoint` becomes the cache hint of the
 *   block (system block, tool) before it. Other blocks (`document`, `video`, `guardContent`,
 *   `citationsContent`, images in S3, …) are kept as provider parts.
 * - `additionalModelRequestFields.thinking` (Claude's `{type: "enabled", budget_tokens}` or
 *   `{type: "adaptive"}`) → `reasoning`, `additionalModelRequestFields.top_k` → `topK`,
 *   `outputConfig.effort` → `reasoning.effort`; what else those two objects hold is kept as a
 *   provider field, like every other unknown top-level field (`guardrailConfig`,
 *   `promptVariables`, …) — refused by other protocols, except the hints `requestMetadata`,
 *   `performanceConfig`, `serviceTier` and `additionalModelResponseFieldPaths`, which they drop.
 *
 * Writing a request (`toBedrockConverseRequest`):
 * - Consecutive turns of the same role are merged into one (Bedrock requires alternating roles;
 *   OpenAI tool messages followed by a user message are one user turn here).
 * - Images must be bytes: URL images are refused (fetch them first). Bedrock knows png, jpeg,
 *   gif and webp.
 * - `toolChoice: none` has no Bedrock form: when the conversation holds no tool calls or results,
 *   the tools are left out (the model cannot call what it is not offered: same meaning);
 *   otherwise Bedrock needs `toolConfig` and the request is refused. `parallelToolCalls: false`
 *   is refused (Bedrock cannot limit tool calls); `true` is the default and dropped.
 * - Thinking budget / adaptive → `additionalModelRequestFields.thinking` and `topK` →
 *   `additionalModelRequestFields.top_k` (the field names Claude models on Bedrock take);
 *   `effort` → `outputConfig.effort` (`minimal` → `low`, `none` → omitted).
 * - `userId` and OpenAI's image `detail` are dropped (no Bedrock equivalent; hints only).
 * @module
 */
import type {
  LlmCacheHint,
  LlmContentPart,
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
  LlmToolResultContent,
} from "./bodies.ts";
import {
  type BedrockStopReason,
  type BedrockUsage,
  parseBedrockConverseStopReason,
  parseBedrockConverseUsage,
  toBedrockConverseStopReason,
  toBedrockConverseUsage,
} from "./bedrock_converse.ts";
import type { Citation } from "./events.ts";
import {
  array,
  at,
  base64ToBinary,
  binaryToBase64,
  boolean,
  claudeEffort,
  defined,
  fail,
  keepProviderFields,
  number,
  object,
  onlyKeys,
  optional,
  providerFieldsFor,
  refuseForeign,
  string,
  strings,
} from "./_body_fields.ts";
import { generatedMessageId, isObject, type JsonObject } from "./_json.ts";

/** A JSON value, as Bedrock's `Document` type (tool inputs, JSON schemas, JSON results). */
export type BedrockDocument =
  | null
  | boolean
  | number
  | string
  | BedrockDocument[]
  | { [key: string]: BedrockDocument };

/** A cache breakpoint block (in messages, the system prompt or the tool list). */
export interface BedrockCachePointBlock {
  /** The breakpoint. */
  cachePoint: { type: "default"; ttl?: "5m" | "1h" };
}

/** Image formats Bedrock accepts. */
export type BedrockImageFormat = "png" | "jpeg" | "gif" | "webp";

/** An image: base64 bytes in JSON. */
export interface BedrockImage {
  /** The format. */
  format: BedrockImageFormat;
  /** The bytes (base64). */
  source: { bytes: string };
}

/** What a tool result may hold. */
export type BedrockToolResultContent =
  | { text: string }
  | { json: BedrockDocument }
  | { image: BedrockImage };

/** A content block of a request message. */
export type BedrockContentBlock =
  | { text: string }
  | { image: BedrockImage }
  | { toolUse: { toolUseId: string; name: string; input: BedrockDocument } }
  | {
    toolResult: {
      toolUseId: string;
      content: BedrockToolResultContent[];
      status?: "success" | "error";
    };
  }
  | BedrockReasoningBlock
  | BedrockCachePointBlock;

/** Reasoning: signed text, or redacted bytes (base64). */
export interface BedrockReasoningBlock {
  /** The reasoning. */
  reasoningContent:
    | { reasoningText: { text: string; signature?: string } }
    | { redactedContent: string };
}

/** A request message. */
export interface BedrockMessage {
  /** Who speaks. */
  role: "user" | "assistant";
  /** The blocks. */
  content: BedrockContentBlock[];
}

/** A tool (or a cache breakpoint after the tools before it). */
export type BedrockTool =
  | {
    toolSpec: {
      name: string;
      description?: string;
      inputSchema: { json: BedrockDocument };
      strict?: boolean;
    };
  }
  | BedrockCachePointBlock;

/** Tool choice (Bedrock has no "none"). */
export type BedrockToolChoice =
  | { auto: Record<string, never> }
  | { any: Record<string, never> }
  | { tool: { name: string } };

/**
 * The Converse request body, as far as it is normalized (the model id is in the URL). Provider
 * fields of a Bedrock source (`guardrailConfig`, …) are written back beside these.
 */
export interface BedrockConverseRequestBody {
  /** The conversation (roles alternate). */
  messages: BedrockMessage[];
  /** The system prompt. */
  system?: Array<{ text: string } | BedrockCachePointBlock>;
  /** Sampling limits. */
  inferenceConfig?: {
    maxTokens?: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
  };
  /** Tools and tool choice. */
  toolConfig?: { tools: BedrockTool[]; toolChoice?: BedrockToolChoice };
  /** Model-specific fields (`thinking`, `top_k` for Claude). */
  additionalModelRequestFields?: { [key: string]: BedrockDocument };
  /** Output configuration (`effort`). */
  outputConfig?: { effort?: BedrockEffort };
}

/** The effort levels Bedrock Converse accepts. */
export type BedrockEffort = "low" | "medium" | "high" | "xhigh" | "max";

const REQUEST_FIELDS = [
  "modelId",
  "messages",
  "system",
  "inferenceConfig",
  "toolConfig",
  "additionalModelRequestFields",
  "outputConfig",
];

/** The one member of a Bedrock union object (`{text: …}`, `{toolUse: …}`), or throws. */
function member(block: JsonObject, path: string): [string, unknown] {
  const keys = Object.keys(block).filter((key) => block[key] !== undefined && block[key] !== null);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) {
    fail(path, `must have exactly one member (text, image, toolUse, …), got ${keys.length}`);
  }
  return [key, block[key]];
}

function readCachePoint(value: unknown, path: string): LlmCacheHint {
  const o = object(value, path);
  onlyKeys(o, path, ["type", "ttl"], "cachePoint");
  if (o.type !== "default") fail(at(path, "type"), `must be "default"`);
  const ttl = optional(o.ttl, at(path, "ttl"), string);
  return ttl === undefined ? {} : { ttl };
}

/** Adds a cache hint to the last of `items`, or throws when there is none to attach it to. */
function attachCache<T extends { cache?: LlmCacheHint }>(
  items: T[],
  cache: LlmCacheHint,
  path: string,
): void {
  const last = items[items.length - 1];
  if (last === undefined) fail(path, "a cachePoint must follow the block it caches");
  last.cache = cache;
}

function provider(block: JsonObject, blockType: string): LlmProviderPart {
  return { type: "provider", protocol: "bedrock", blockType, content: block };
}

function readImage(
  block: JsonObject,
  value: unknown,
  path: string,
): LlmImagePart | LlmProviderPart {
  const image = object(value, path);
  onlyKeys(image, path, ["format", "source"], "an image");
  const format = string(image.format, at(path, "format"));
  const source = object(image.source, at(path, "source"));
  if (source.bytes === undefined) return provider(block, "image");
  onlyKeys(source, at(path, "source"), ["bytes"], "an image source");
  return {
    type: "image",
    source: {
      type: "base64",
      mediaType: `image/${format}`,
      data: string(source.bytes, at(at(path, "source"), "bytes")),
    },
  };
}

function readToolResultContent(value: unknown, path: string): LlmToolResultContent[] {
  return array(value, path).map((item, i): LlmToolResultContent => {
    const itemPath = at(path, i);
    const block = object(item, itemPath);
    const [key, inner] = member(block, itemPath);
    switch (key) {
      case "text":
        return { type: "text", text: string(inner, at(itemPath, "text")) };
      case "json":
        return { type: "json", value: inner };
      case "image":
        return readImage(block, inner, at(itemPath, "image"));
      default:
        return provider(block, key);
    }
  });
}

function readReasoning(value: unknown, path: string): LlmContentPart {
  const o = object(value, path);
  const [key, inner] = member(o, path);
  if (key === "reasoningText") {
    const textPath = at(path, "reasoningText");
    const reasoning = object(inner, textPath);
    onlyKeys(reasoning, textPath, ["text", "signature"], "reasoningText");
    const signature = optional(reasoning.signature, at(textPath, "signature"), string);
    return {
      type: "reasoning",
      text: string(reasoning.text, at(textPath, "text")),
      ...(signature !== undefined ? { signature } : {}),
    };
  }
  if (key === "redactedContent") {
    const dataPath = at(path, "redactedContent");
    return { type: "redacted_reasoning", data: base64ToBinary(string(inner, dataPath), dataPath) };
  }
  return fail(at(path, key), "is not a reasoningContent member (reasoningText, redactedContent)");
}

function readContent(value: unknown, path: string): LlmContentPart[] {
  const parts: LlmContentPart[] = [];
  array(value, path).forEach((item, i) => {
    const itemPath = at(path, i);
    const block = object(item, itemPath);
    const [key, inner] = member(block, itemPath);
    const innerPath = at(itemPath, key);
    switch (key) {
      case "text":
        parts.push({ type: "text", text: string(inner, innerPath) });
        return;
      case "image":
        parts.push(readImage(block, inner, innerPath));
        return;
      case "toolUse": {
        const use = object(inner, innerPath);
        if (use.type !== undefined && use.type !== null) {
          parts.push(provider(block, "toolUse"));
          return;
        }
        onlyKeys(use, innerPath, ["toolUseId", "name", "input"], "toolUse");
        parts.push({
          type: "tool_use",
          id: string(use.toolUseId, at(innerPath, "toolUseId")),
          name: string(use.name, at(innerPath, "name")),
          input: object(use.input, at(innerPath, "input")),
        });
        return;
      }
      case "toolResult": {
        const result = object(inner, innerPath);
        onlyKeys(result, innerPath, ["toolUseId", "content", "status"], "toolResult");
        const status = optional(result.status, at(innerPath, "status"), string);
        if (status !== undefined && status !== "success" && status !== "error") {
          fail(at(innerPath, "status"), `must be "success" or "error", got "${status}"`);
        }
        parts.push({
          type: "tool_result",
          toolUseId: string(result.toolUseId, at(innerPath, "toolUseId")),
          content: readToolResultContent(result.content, at(innerPath, "content")),
          ...(status !== undefined ? { isError: status === "error" } : {}),
        });
        return;
      }
      case "reasoningContent":
        parts.push(readReasoning(inner, innerPath));
        return;
      case "cachePoint": {
        const last = parts[parts.length - 1];
        if (last?.type === "reasoning" || last?.type === "redacted_reasoning") {
          fail(innerPath, "a cachePoint cannot follow reasoning");
        }
        attachCache(
          parts as Array<{ cache?: LlmCacheHint }>,
          readCachePoint(inner, innerPath),
          innerPath,
        );
        return;
      }
      default:
        parts.push(provider(block, key));
    }
  });
  return parts;
}

function readTools(value: unknown, path: string): LlmTool[] {
  const tools: LlmTool[] = [];
  array(value, path).forEach((item, i) => {
    const itemPath = at(path, i);
    const block = object(item, itemPath);
    const [key, inner] = member(block, itemPath);
    const innerPath = at(itemPath, key);
    if (key === "cachePoint") {
      attachCache(tools, readCachePoint(inner, innerPath), innerPath);
      return;
    }
    if (key !== "toolSpec") {
      tools.push({ type: "provider", protocol: "bedrock", content: block });
      return;
    }
    const spec = object(inner, innerPath);
    onlyKeys(spec, innerPath, ["name", "description", "inputSchema", "strict"], "toolSpec");
    const schemaPath = at(innerPath, "inputSchema");
    const schema = object(spec.inputSchema, schemaPath);
    onlyKeys(schema, schemaPath, ["json"], "inputSchema");
    const description = optional(spec.description, at(innerPath, "description"), string);
    const strict = optional(spec.strict, at(innerPath, "strict"), boolean);
    tools.push({
      type: "function",
      name: string(spec.name, at(innerPath, "name")),
      ...(description !== undefined ? { description } : {}),
      inputSchema: object(schema.json, at(schemaPath, "json")),
      ...(strict !== undefined ? { strict } : {}),
    });
  });
  return tools;
}

function readToolChoice(value: unknown): LlmToolChoice {
  const o = object(value, "toolConfig.toolChoice");
  const [key, inner] = member(o, "toolConfig.toolChoice");
  const path = at("toolConfig.toolChoice", key);
  switch (key) {
    case "auto":
    case "any":
      onlyKeys(object(inner, path), path, [], key);
      return { type: key };
    case "tool": {
      const tool = object(inner, path);
      onlyKeys(tool, path, ["name"], "toolChoice.tool");
      return { type: "tool", name: string(tool.name, at(path, "name")) };
    }
    default:
      return fail(path, "is not a Bedrock tool choice (auto, any, tool)");
  }
}

/** Options of {@linkcode parseBedrockConverseRequest}. */
export interface ParseBedrockConverseRequestOptions {
  /** The model id from the URL (`/model/<modelId>/converse`); else the body's `modelId`, else "". */
  modelId?: string;
}

/**
 * Parses a Bedrock Converse request body.
 *
 * @param body the parsed JSON body
 * @param options the model id from the URL
 * @returns the normalized request
 * @throws {LlmConversionError} when a field is missing or ill-typed
 *
 * @example
 * ```ts
 * import { parseBedrockConverseRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const request = parseBedrockConverseRequest({
 *   system: [{ text: "Be brief." }],
 *   messages: [{ role: "user", content: [{ text: "Hi" }] }],
 *   inferenceConfig: { maxTokens: 512, stopSequences: ["END"] },
 * }, { modelId: "anthropic.claude-3-haiku-20240307-v1:0" });
 * assert.equal(request.model, "anthropic.claude-3-haiku-20240307-v1:0");
 * assert.equal(request.maxTokens, 512);
 * assert.deepEqual(request.stopSequences, ["END"]);
 * ```
 */
export function parseBedrockConverseRequest(
  body: unknown,
  options: ParseBedrockConverseRequestOptions = {},
): LlmRequest {
  const o = object(body, "body");
  const system: Array<LlmTextPart | LlmProviderPart> = [];
  if (o.system !== undefined && o.system !== null) {
    array(o.system, "system").forEach((item, i) => {
      const path = at("system", i);
      const block = object(item, path);
      const [key, inner] = member(block, path);
      if (key === "text") system.push({ type: "text", text: string(inner, at(path, "text")) });
      else if (key === "cachePoint") {
        attachCache(system, readCachePoint(inner, at(path, key)), at(path, key));
      } else system.push(provider(block, key));
    });
  }
  const messages = array(o.messages, "messages").map((item, i): LlmMessage => {
    const path = at("messages", i);
    const m = object(item, path);
    onlyKeys(m, path, ["role", "content"], "a message");
    const role = string(m.role, at(path, "role"));
    if (role !== "user" && role !== "assistant") {
      fail(at(path, "role"), `must be "user" or "assistant", got "${role}"`);
    }
    return { role, content: readContent(m.content, at(path, "content")) };
  });
  const bodyModel = optional(o.modelId, "modelId", string);
  const request: LlmRequest = { model: options.modelId ?? bodyModel ?? "", system, messages };

  const inference = optional(o.inferenceConfig, "inferenceConfig", object);
  if (inference !== undefined) {
    onlyKeys(
      inference,
      "inferenceConfig",
      ["maxTokens", "temperature", "topP", "stopSequences"],
      "inferenceConfig",
    );
    const maxTokens = optional(inference.maxTokens, "inferenceConfig.maxTokens", number);
    if (maxTokens !== undefined) request.maxTokens = maxTokens;
    const temperature = optional(inference.temperature, "inferenceConfig.temperature", number);
    if (temperature !== undefined) request.temperature = temperature;
    const topP = optional(inference.topP, "inferenceConfig.topP", number);
    if (topP !== undefined) request.topP = topP;
    const stops = optional(inference.stopSequences, "inferenceConfig.stopSequences", strings);
    if (stops !== undefined) request.stopSequences = stops;
  }
  const toolConfig = optional(o.toolConfig, "toolConfig", object);
  if (toolConfig !== undefined) {
    onlyKeys(toolConfig, "toolConfig", ["tools", "toolChoice"], "toolConfig");
    request.tools = readTools(toolConfig.tools, "toolConfig.tools");
    if (toolConfig.toolChoice !== undefined && toolConfig.toolChoice !== null) {
      request.toolChoice = readToolChoice(toolConfig.toolChoice);
    }
  }
  const providerFields: JsonObject = {};
  const reasoning: LlmReasoningConfig = {};
  const additional = optional(
    o.additionalModelRequestFields,
    "additionalModelRequestFields",
    object,
  );
  if (additional !== undefined) {
    const { thinking, top_k: topK, ...rest } = additional;
    if (
      isObject(thinking) && thinking.type === "enabled" && "budget_tokens" in thinking &&
      Object.keys(thinking).length === 2
    ) {
      reasoning.budgetTokens = number(
        thinking.budget_tokens,
        "additionalModelRequestFields.thinking.budget_tokens",
      );
    } else if (
      isObject(thinking) && thinking.type === "adaptive" && Object.keys(thinking).length === 1
    ) {
      reasoning.adaptive = true;
    } else if (
      !(isObject(thinking) && thinking.type === "disabled" && Object.keys(thinking).length === 1) &&
      thinking !== undefined
    ) {
      rest.thinking = thinking;
    }
    const k = optional(topK, "additionalModelRequestFields.top_k", number);
    if (k !== undefined) request.topK = k;
    if (Object.keys(rest).length > 0) providerFields.additionalModelRequestFields = rest;
  }
  const outputConfig = optional(o.outputConfig, "outputConfig", object);
  if (outputConfig !== undefined) {
    const { effort, ...rest } = outputConfig;
    const value = optional(effort, "outputConfig.effort", string);
    if (value !== undefined) reasoning.effort = value;
    if (Object.keys(rest).length > 0) providerFields.outputConfig = rest;
  }
  if (Object.keys(reasoning).length > 0) request.reasoning = reasoning;
  keepProviderFields(request, "bedrock", o, REQUEST_FIELDS, providerFields);
  return request;
}

const FORMATS: Readonly<Record<string, BedrockImageFormat>> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function cachePoint(cache: LlmCacheHint, path: string): BedrockCachePointBlock {
  const ttl = cache.ttl;
  if (ttl !== undefined && ttl !== "5m" && ttl !== "1h") {
    fail(at(at(path, "cache"), "ttl"), `"${ttl}" is not a Bedrock cache ttl (5m, 1h)`);
  }
  return { cachePoint: { type: "default", ...(ttl !== undefined ? { ttl } : {}) } };
}

function writeImage(part: LlmImagePart, path: string): BedrockImage {
  if (part.source.type === "url") {
    fail(
      at(path, "source"),
      "Bedrock Converse needs image bytes, not a URL: fetch the image and send it inline",
    );
  }
  const format = FORMATS[part.source.mediaType];
  if (format === undefined) {
    fail(
      at(path, "source"),
      `Bedrock Converse accepts png, jpeg, gif and webp images, not ${part.source.mediaType}`,
    );
  }
  return { format, source: { bytes: part.source.data } };
}

function writeProvider<T>(part: LlmProviderPart, path: string): T {
  refuseForeign(part.protocol, "bedrock", path, `the "${part.blockType}" block`);
  return part.content as T;
}

function writeBlock(part: LlmContentPart, path: string): BedrockContentBlock {
  switch (part.type) {
    case "text":
      return { text: part.text };
    case "image":
      return { image: writeImage(part, path) };
    case "tool_use":
      return {
        toolUse: { toolUseId: part.id, name: part.name, input: part.input as BedrockDocument },
      };
    case "tool_result":
      return {
        toolResult: {
          toolUseId: part.toolUseId,
          content: part.content.map((item, i): BedrockToolResultContent => {
            const itemPath = at(at(path, "content"), i);
            switch (item.type) {
              case "text":
                return { text: item.text };
              case "json":
                return { json: item.value as BedrockDocument };
              case "image":
                return { image: writeImage(item, itemPath) };
              case "provider":
                return writeProvider(item, itemPath);
            }
          }),
          ...(part.isError !== undefined ? { status: part.isError ? "error" : "success" } : {}),
        },
      };
    case "reasoning":
      return {
        reasoningContent: {
          reasoningText: {
            text: part.text,
            ...(part.signature !== undefined ? { signature: part.signature } : {}),
          },
        },
      };
    case "redacted_reasoning":
      return { reasoningContent: { redactedContent: binaryToBase64(part.data, at(path, "data")) } };
    case "provider":
      return writeProvider(part, path);
  }
}

function hasToolBlocks(messages: readonly LlmMessage[]): boolean {
  return messages.some((message) =>
    message.content.some((part) => part.type === "tool_use" || part.type === "tool_result")
  );
}

function writeToolConfig(request: LlmRequest): BedrockConverseRequestBody["toolConfig"] {
  const tools = request.tools ?? [];
  const choice = request.toolChoice;
  if (choice?.type === "none") {
    if (!hasToolBlocks(request.messages)) return undefined;
    fail(
      "toolChoice",
      'Bedrock Converse has no tool choice "none", and a conversation with tool calls needs its tools',
    );
  }
  if (tools.length === 0) return undefined;
  if (request.parallelToolCalls === false) {
    fail("parallelToolCalls", "Bedrock Converse cannot limit the model to one tool call");
  }
  const written: BedrockTool[] = [];
  tools.forEach((tool, i) => {
    const path = at("tools", i);
    if (tool.type === "provider") {
      refuseForeign(tool.protocol, "bedrock", path, "a provider-specific tool");
      written.push(tool.content as BedrockTool);
    } else {
      written.push({
        toolSpec: defined({
          name: tool.name,
          description: tool.description,
          inputSchema: { json: tool.inputSchema as BedrockDocument },
          strict: tool.strict,
        }),
      });
    }
    if (tool.cache !== undefined) written.push(cachePoint(tool.cache, path));
  });
  const toolChoice: BedrockToolChoice | undefined = choice === undefined
    ? undefined
    : choice.type === "tool"
    ? { tool: { name: choice.name } }
    : choice.type === "any"
    ? { any: {} }
    : { auto: {} };
  return { tools: written, ...(toolChoice !== undefined ? { toolChoice } : {}) };
}

/**
 * Writes a normalized request as a Bedrock Converse body (for `/model/<id>/converse` or
 * `/converse-stream`).
 *
 * @param request the normalized request
 * @returns the body to send
 * @throws {LlmConversionError} for what Bedrock Converse cannot express (URL images, …)
 *
 * @example
 * ```ts
 * import { toBedrockConverseRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toBedrockConverseRequest({
 *   model: "anthropic.claude-3-haiku-20240307-v1:0",
 *   system: [{ type: "text", text: "Be brief." }],
 *   messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
 *   maxTokens: 512,
 *   reasoning: { budgetTokens: 1024 },
 * });
 * assert.deepEqual(body.system, [{ text: "Be brief." }]);
 * assert.deepEqual(body.inferenceConfig, { maxTokens: 512 });
 * assert.deepEqual(body.additionalModelRequestFields, {
 *   thinking: { type: "enabled", budget_tokens: 1024 },
 * });
 * ```
 */
export function toBedrockConverseRequest(request: LlmRequest): BedrockConverseRequestBody {
  const extra = providerFieldsFor(request.providerFields, "bedrock");
  const messages: BedrockMessage[] = [];
  request.messages.forEach((message, i) => {
    const path = at("messages", i);
    if (message.role === "system") {
      fail(at(path, "role"), "Bedrock Converse has no system messages inside the conversation");
    }
    const content: BedrockContentBlock[] = [];
    message.content.forEach((part, j) => {
      const partPath = at(at(path, "content"), j);
      content.push(writeBlock(part, partPath));
      const cache = "cache" in part ? part.cache : undefined;
      if (cache !== undefined) content.push(cachePoint(cache, partPath));
    });
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === message.role) last.content.push(...content);
    else messages.push({ role: message.role, content });
  });
  const body: BedrockConverseRequestBody = { messages };
  if (request.system.length > 0) {
    const system: NonNullable<BedrockConverseRequestBody["system"]> = [];
    request.system.forEach((part, i) => {
      const path = at("system", i);
      system.push(part.type === "text" ? { text: part.text } : writeProvider(part, path));
      if (part.cache !== undefined) system.push(cachePoint(part.cache, path));
    });
    body.system = system;
  }
  const inference = defined({
    maxTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    stopSequences: request.stopSequences,
  });
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const toolConfig = writeToolConfig(request);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;

  const additional: { [key: string]: BedrockDocument } =
    isObject(extra.additionalModelRequestFields)
      ? { ...(extra.additionalModelRequestFields as { [key: string]: BedrockDocument }) }
      : {};
  const reasoning = request.reasoning;
  if (reasoning?.budgetTokens !== undefined) {
    additional.thinking = { type: "enabled", budget_tokens: reasoning.budgetTokens };
  } else if (reasoning?.adaptive === true) {
    additional.thinking = { type: "adaptive" };
  }
  if (request.topK !== undefined) additional.top_k = request.topK;
  const effort = claudeEffort(reasoning?.effort, "bedrock");
  const outputConfig = isObject(extra.outputConfig) ? { ...extra.outputConfig } : {};
  if (effort !== undefined) outputConfig.effort = effort;
  const result: BedrockConverseRequestBody & JsonObject = { ...body, ...extra };
  delete result.additionalModelRequestFields;
  delete result.outputConfig;
  if (Object.keys(additional).length > 0) result.additionalModelRequestFields = additional;
  if (Object.keys(outputConfig).length > 0) {
    result.outputConfig = outputConfig as BedrockConverseRequestBody["outputConfig"] & object;
  }
  return result;
}

/** A content block of a Converse response. */
export type BedrockResponseBlock =
  | { text: string }
  | BedrockReasoningBlock
  | {
    toolUse: {
      toolUseId: string;
      name: string;
      input: BedrockDocument;
      type?: "server_tool_use";
    };
  };

/** A Converse response body. */
export interface BedrockConverseResponseBody {
  /** The answer. */
  output: { message: { role: "assistant"; content: BedrockResponseBlock[] } };
  /** Why it stopped. */
  stopReason: BedrockStopReason;
  /** Token usage. */
  usage: BedrockUsage;
  /** Latency. */
  metrics: { latencyMs: number };
}

function readCitationsContent(value: unknown, path: string): LlmResponsePart {
  const o = object(value, path);
  const texts = (optional(o.content, at(path, "content"), array) ?? []).map((item, i) => {
    const itemPath = at(at(path, "content"), i);
    return string(object(item, itemPath).text, at(itemPath, "text"));
  });
  const citations = (optional(o.citations, at(path, "citations"), array) ?? []).map(
    (item, i): Citation => {
      const c = object(item, at(at(path, "citations"), i));
      const sourceContent = Array.isArray(c.sourceContent) ? c.sourceContent[0] : undefined;
      const location = isObject(c.location) ? c.location : {};
      const web = isObject(location.web) ? location.web : {};
      return {
        ...(typeof c.title === "string" ? { title: c.title } : {}),
        ...(typeof web.url === "string" ? { url: web.url } : {}),
        ...(isObject(sourceContent) && typeof sourceContent.text === "string"
          ? { citedText: sourceContent.text }
          : {}),
        raw: c,
      };
    },
  );
  return { type: "text", text: texts.join(""), ...(citations.length > 0 ? { citations } : {}) };
}

/** Options of {@linkcode parseBedrockConverseResponse}. */
export interface ParseBedrockConverseResponseOptions {
  /** The message id to report (Bedrock has none); default a generated `msg_…`. */
  id?: string;
  /** The model to report (Bedrock does not say); default "". */
  model?: string;
}

/**
 * Parses a Bedrock Converse response body. `citationsContent` blocks become text with
 * citations; server tool calls (`toolUse.type: "server_tool_use"`) server-side tool calls; other
 * blocks provider parts.
 *
 * @param body the parsed JSON body
 * @param options the id and model to report
 * @returns the normalized response
 * @throws {LlmConversionError} for error bodies and missing or ill-typed fields
 *
 * @example
 * ```ts
 * import { parseBedrockConverseResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const response = parseBedrockConverseResponse({
 *   output: { message: { role: "assistant", content: [{ text: "Hello!" }] } },
 *   stopReason: "end_turn",
 *   usage: { inputTokens: 13, outputTokens: 5, totalTokens: 18 },
 *   metrics: { latencyMs: 252 },
 * }, { id: "msg_1", model: "amazon.nova-lite-v1:0" });
 * assert.deepEqual(response.content, [{ type: "text", text: "Hello!" }]);
 * assert.equal(response.latencyMs, 252);
 * assert.equal(response.usage.totalTokens, 18);
 * ```
 */
export function parseBedrockConverseResponse(
  body: unknown,
  options: ParseBedrockConverseResponseOptions = {},
): LlmResponse {
  const o = object(body, "body");
  if (o.output === undefined && typeof o.message === "string") {
    fail("output", `the body is an error response (${o.message}), not a Converse response`);
  }
  const output = object(o.output, "output");
  const message = object(output.message, "output.message");
  const content: LlmResponsePart[] = [];
  array(message.content, "output.message.content").forEach((item, i) => {
    const path = at("output.message.content", i);
    const block = object(item, path);
    const [key, inner] = member(block, path);
    const innerPath = at(path, key);
    switch (key) {
      case "text":
        content.push({ type: "text", text: string(inner, innerPath) });
        return;
      case "reasoningContent":
        content.push(readReasoning(inner, innerPath) as LlmResponsePart);
        return;
      case "toolUse": {
        const use = object(inner, innerPath);
        const type = optional(use.type, at(innerPath, "type"), string);
        if (type !== undefined && type !== "server_tool_use") {
          content.push(provider(block, key));
          return;
        }
        content.push({
          type: "tool_use",
          id: string(use.toolUseId, at(innerPath, "toolUseId")),
          name: string(use.name, at(innerPath, "name")),
          input: use.input ?? {},
          ...(type === "server_tool_use" ? { serverSide: true } : {}),
        });
        return;
      }
      case "citationsContent":
        content.push(readCitationsContent(inner, innerPath));
        return;
      default:
        content.push(provider(block, key));
    }
  });
  const raw = optional(o.stopReason, "stopReason", string) ?? null;
  const metrics = optional(o.metrics, "metrics", object);
  const latencyMs = optional(metrics?.latencyMs, "metrics.latencyMs", number);
  return {
    id: options.id ?? generatedMessageId(),
    model: options.model ?? "",
    content,
    stopReason: parseBedrockConverseStopReason(raw),
    rawStopReason: raw,
    usage: parseBedrockConverseUsage(o.usage),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
  };
}

/**
 * Writes a normalized response as a Bedrock Converse body. Server-side tool calls keep
 * `type: "server_tool_use"`; other protocols' provider blocks and citations are skipped (no
 * Bedrock form), as the streaming encoder does; `metrics.latencyMs` is the response's latency or
 * 0.
 *
 * @param response the normalized response
 * @returns the body to send
 * @throws {LlmConversionError} when the response ended in an error (answer with an error body)
 *
 * @example
 * ```ts
 * import { createUsage, toBedrockConverseResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toBedrockConverseResponse({
 *   id: "msg_1",
 *   model: "claude",
 *   content: [{ type: "text", text: "Hi" }],
 *   stopReason: "end_turn",
 *   rawStopReason: "end_turn",
 *   usage: createUsage({ inputTokens: 350, outputTokens: 30, cacheReadTokens: 200 }),
 * });
 * assert.deepEqual(body.output.message.content, [{ text: "Hi" }]);
 * assert.equal(body.usage.inputTokens, 150);
 * ```
 */
export function toBedrockConverseResponse(response: LlmResponse): BedrockConverseResponseBody {
  if (response.error !== undefined) {
    fail("error", `the response ended in an error (${response.error.message})`);
  }
  const content: BedrockResponseBlock[] = [];
  response.content.forEach((part, i) => {
    const path = at("content", i);
    switch (part.type) {
      case "text":
        content.push({ text: part.text });
        return;
      case "reasoning":
      case "redacted_reasoning":
        content.push(writeBlock(part, path) as BedrockReasoningBlock);
        return;
      case "tool_use":
        content.push({
          toolUse: {
            toolUseId: part.id,
            name: part.name,
            input: (part.input ?? {}) as BedrockDocument,
            ...(part.serverSide === true ? { type: "server_tool_use" as const } : {}),
          },
        });
        return;
      case "provider":
        if (part.protocol === "bedrock") content.push(part.content as BedrockResponseBlock);
        return;
    }
  });
  return {
    output: { message: { role: "assistant", content } },
    stopReason: toBedrockConverseStopReason(response.stopReason, response.rawStopReason),
    usage: toBedrockConverseUsage(response.usage),
    metrics: { latencyMs: response.latencyMs ?? 0 },
  };
}
