/**
 * Anthropic Messages request and response bodies ⇄ {@linkcode LlmRequest} /
 * {@linkcode LlmResponse}. Stop reasons and usage are read and written as the streams do, with the
 * functions of `anthropic_messages.ts`.
 *
 * Reading a request (`parseAnthropicMessagesRequest`):
 * - `system` (string or text blocks) is the system prompt; `role: "system"` messages stay in
 *   place. String content is one text part.
 * - Blocks `text`, `image` (base64 or URL source), `tool_use`, `tool_result`, `thinking`,
 *   `redacted_thinking` are normalized, with `cache_control` as a cache hint (text `citations`
 *   are ignored: they annotate, they do not instruct). Any other block type (`document`,
 *   `search_result`, `server_tool_use`, …) and images with a `file` source are kept as provider
 *   parts; unknown fields of a known block are refused.
 * - `thinking: {type: "enabled", budget_tokens}` → `reasoning.budgetTokens`,
 *   `{type: "adaptive"}` → `reasoning.adaptive`, `{type: "disabled"}` → no reasoning (the
 *   default); `output_config.effort` → `reasoning.effort`; `tool_choice.disable_parallel_tool_use`
 *   → `parallelToolCalls: false`; `metadata.user_id` → `userId`.
 * - Every other top-level field is kept as a provider field (written back to Anthropic, refused
 *   by other protocols, except `service_tier`, a hint they drop).
 *
 * Writing a request (`toAnthropicMessagesRequest`):
 * - `max_tokens` is required by Anthropic: without `maxTokens` the `defaultMaxTokens` option is
 *   used (default 4096), raised to `budgetTokens + defaultMaxTokens` when a thinking budget
 *   would not fit under it.
 * - `tool_result` parts are moved to the front of their user turn (Anthropic requires it);
 *   JSON tool results are written as JSON text. Reasoning without a signature (OpenAI-style
 *   `reasoning_content`) is dropped: Anthropic only accepts signed thinking back. OpenAI's image
 *   `detail` hint and `includeUsage` (Anthropic streams always report usage) are dropped.
 * - `effort` is written as `output_config.effort` (`minimal` → `low`, `none` → omitted).
 * - A single text part without a cache hint is written as a string (`system`, message
 *   content, tool-result content); anything else as blocks.
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
  LlmToolResultPart,
} from "./bodies.ts";
import {
  type AnthropicStopReason,
  type AnthropicUsage,
  parseAnthropicMessagesStopReason,
  parseAnthropicMessagesUsage,
  toAnthropicMessagesStopReason,
  toAnthropicMessagesUsage,
} from "./anthropic_messages.ts";
import type { Citation } from "./events.ts";
import {
  array,
  at,
  boolean,
  claudeEffort,
  defined,
  describe,
  fail,
  keepProviderFields,
  number,
  object,
  onlyKeys,
  optional,
  providerFieldsFor,
  readCacheControl,
  refuseForeign,
  string,
  strings,
} from "./_body_fields.ts";
import { isObject, type JsonObject } from "./_json.ts";

/** `cache_control` of a block, system block or tool. */
export interface AnthropicCacheControl {
  /** Always `ephemeral`. */
  type: "ephemeral";
  /** Cache lifetime. */
  ttl?: "5m" | "1h";
}

/** A text block. */
export interface AnthropicTextBlock {
  /** Discriminator. */
  type: "text";
  /** The text. */
  text: string;
  /** Cache breakpoint. */
  cache_control?: AnthropicCacheControl;
}

/** The image media types Anthropic accepts. */
export type AnthropicImageMediaType = "image/jpeg" | "image/png" | "image/gif" | "image/webp";

/** An image block. */
export interface AnthropicImageBlock {
  /** Discriminator. */
  type: "image";
  /** Inline base64 bytes or a URL. */
  source:
    | { type: "base64"; media_type: AnthropicImageMediaType; data: string }
    | { type: "url"; url: string };
  /** Cache breakpoint. */
  cache_control?: AnthropicCacheControl;
}

/** A tool call of an earlier assistant turn. */
export interface AnthropicToolUseBlock {
  /** Discriminator. */
  type: "tool_use";
  /** Tool call id. */
  id: string;
  /** Tool name. */
  name: string;
  /** Arguments object. */
  input: Record<string, unknown>;
  /** Cache breakpoint. */
  cache_control?: AnthropicCacheControl;
}

/** The result of a tool call. */
export interface AnthropicToolResultBlock {
  /** Discriminator. */
  type: "tool_result";
  /** The tool call it answers. */
  tool_use_id: string;
  /** The result: text, or text and image blocks. */
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock>;
  /** The tool failed. */
  is_error?: boolean;
  /** Cache breakpoint. */
  cache_control?: AnthropicCacheControl;
}

/** Signed thinking of an earlier assistant turn. */
export interface AnthropicThinkingBlock {
  /** Discriminator. */
  type: "thinking";
  /** The reasoning text. */
  thinking: string;
  /** Anthropic's signature. */
  signature: string;
}

/** Encrypted thinking of an earlier assistant turn. */
export interface AnthropicRedactedThinkingBlock {
  /** Discriminator. */
  type: "redacted_thinking";
  /** Opaque data. */
  data: string;
}

/** A content block of a request message. */
export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock;

/** A user or assistant turn. */
export interface AnthropicTurn {
  /** Who speaks. */
  role: "user" | "assistant";
  /** Text, or blocks. */
  content: string | AnthropicContentBlock[];
}

/** A system message inside the conversation. */
export interface AnthropicSystemMessage {
  /** Always `system`. */
  role: "system";
  /** Text, or text blocks. */
  content: string | AnthropicTextBlock[];
}

/** A request message. */
export type AnthropicMessage = AnthropicTurn | AnthropicSystemMessage;

/** A custom (client) tool. */
export interface AnthropicTool {
  /** Tool name. */
  name: string;
  /** What it does. */
  description?: string;
  /** JSON Schema of the input object. */
  input_schema: { type: "object"; [key: string]: unknown };
  /** Schema-exact inputs. */
  strict?: boolean;
  /** Cache breakpoint. */
  cache_control?: AnthropicCacheControl;
}

/** Tool choice. */
export type AnthropicToolChoice =
  | { type: "auto"; disable_parallel_tool_use?: boolean }
  | { type: "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

/** Extended thinking. */
export type AnthropicThinking =
  | { type: "enabled"; budget_tokens: number }
  | { type: "adaptive" }
  | { type: "disabled" };

/**
 * The Messages request body, as far as it is normalized. Provider fields of an Anthropic source
 * (`container`, `mcp_servers`, …) are written back beside these.
 */
export interface AnthropicMessagesRequestBody {
  /** Model id. */
  model: string;
  /** Output limit (required). */
  max_tokens: number;
  /** The conversation. */
  messages: AnthropicMessage[];
  /** System prompt. */
  system?: string | AnthropicTextBlock[];
  /** Stop sequences. */
  stop_sequences?: string[];
  /** Sampling temperature. */
  temperature?: number;
  /** Nucleus sampling. */
  top_p?: number;
  /** Top-k sampling. */
  top_k?: number;
  /** Tools. */
  tools?: AnthropicTool[];
  /** Tool choice. */
  tool_choice?: AnthropicToolChoice;
  /** Extended thinking. */
  thinking?: AnthropicThinking;
  /** Output configuration (`effort`). */
  output_config?: { effort?: AnthropicEffort };
  /** Stream the answer. */
  stream?: boolean;
  /** End-user id. */
  metadata?: { user_id?: string };
}

/** The effort levels Anthropic Messages accepts. */
export type AnthropicEffort = "low" | "medium" | "high" | "xhigh" | "max";

const REQUEST_FIELDS = [
  "model",
  "max_tokens",
  "messages",
  "system",
  "stop_sequences",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "thinking",
  "output_config",
  "stream",
  "metadata",
];

function withCache<T extends object>(part: T, cache: LlmCacheHint | undefined): T {
  return cache === undefined ? part : { ...part, cache };
}

function provider(block: JsonObject, blockType: string): LlmProviderPart {
  return { type: "provider", protocol: "anthropic", blockType, content: block };
}

function readText(block: JsonObject, path: string): LlmTextPart {
  onlyKeys(block, path, ["type", "text", "cache_control", "citations"], "a text block");
  return withCache(
    { type: "text", text: string(block.text, at(path, "text")) },
    readCacheControl(block.cache_control, at(path, "cache_control")),
  );
}

function readImage(block: JsonObject, path: string): LlmImagePart | LlmProviderPart {
  onlyKeys(block, path, ["type", "source", "cache_control"], "an image block");
  const sourcePath = at(path, "source");
  const source = object(block.source, sourcePath);
  const cache = readCacheControl(block.cache_control, at(path, "cache_control"));
  if (source.type === "base64") {
    onlyKeys(source, sourcePath, ["type", "media_type", "data"], "a base64 image source");
    return withCache({
      type: "image",
      source: {
        type: "base64",
        mediaType: string(source.media_type, at(sourcePath, "media_type")),
        data: string(source.data, at(sourcePath, "data")),
      },
    }, cache);
  }
  if (source.type === "url") {
    onlyKeys(source, sourcePath, ["type", "url"], "a URL image source");
    return withCache(
      { type: "image", source: { type: "url", url: string(source.url, at(sourcePath, "url")) } },
      cache,
    );
  }
  string(source.type, at(sourcePath, "type"));
  return provider(block, "image");
}

function readToolResultContent(value: unknown, path: string): LlmToolResultContent[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [{ type: "text", text: value }];
  if (!Array.isArray(value)) fail(path, `must be a string or an array, got ${describe(value)}`);
  return value.map((item, i): LlmToolResultContent => {
    const itemPath = at(path, i);
    const block = object(item, itemPath);
    const type = string(block.type, at(itemPath, "type"));
    if (type === "text") return readText(block, itemPath);
    if (type === "image") return readImage(block, itemPath);
    return provider(block, type);
  });
}

function readBlock(item: unknown, path: string): LlmContentPart {
  const block = object(item, path);
  const type = string(block.type, at(path, "type"));
  const cache = () => readCacheControl(block.cache_control, at(path, "cache_control"));
  switch (type) {
    case "text":
      return readText(block, path);
    case "image":
      return readImage(block, path);
    case "tool_use":
      onlyKeys(block, path, ["type", "id", "name", "input", "cache_control"], "a tool_use block");
      return withCache({
        type: "tool_use",
        id: string(block.id, at(path, "id")),
        name: string(block.name, at(path, "name")),
        input: object(block.input, at(path, "input")),
      }, cache());
    case "tool_result": {
      onlyKeys(
        block,
        path,
        ["type", "tool_use_id", "content", "is_error", "cache_control"],
        "a tool_result block",
      );
      const isError = optional(block.is_error, at(path, "is_error"), boolean);
      return withCache({
        type: "tool_result",
        toolUseId: string(block.tool_use_id, at(path, "tool_use_id")),
        content: readToolResultContent(block.content, at(path, "content")),
        ...(isError !== undefined ? { isError } : {}),
      }, cache());
    }
    case "thinking": {
      onlyKeys(block, path, ["type", "thinking", "signature"], "a thinking block");
      const signature = optional(block.signature, at(path, "signature"), string);
      return {
        type: "reasoning",
        text: string(block.thinking, at(path, "thinking")),
        ...(signature !== undefined ? { signature } : {}),
      };
    }
    case "redacted_thinking":
      onlyKeys(block, path, ["type", "data"], "a redacted_thinking block");
      return { type: "redacted_reasoning", data: string(block.data, at(path, "data")) };
    default:
      return provider(block, type);
  }
}

function readContent(value: unknown, path: string): LlmContentPart[] {
  if (typeof value === "string") return [{ type: "text", text: value }];
  if (!Array.isArray(value)) fail(path, `must be a string or an array, got ${describe(value)}`);
  return value.map((item, i) => readBlock(item, at(path, i)));
}

function readTool(value: unknown, path: string): LlmTool {
  const tool = object(value, path);
  const cache = readCacheControl(tool.cache_control, at(path, "cache_control"));
  if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
    string(tool.type, at(path, "type"));
    return withCache({ type: "provider", protocol: "anthropic", content: tool }, cache);
  }
  onlyKeys(
    tool,
    path,
    ["type", "name", "description", "input_schema", "strict", "cache_control"],
    "a custom tool",
  );
  const description = optional(tool.description, at(path, "description"), string);
  const strict = optional(tool.strict, at(path, "strict"), boolean);
  return withCache({
    type: "function",
    name: string(tool.name, at(path, "name")),
    ...(description !== undefined ? { description } : {}),
    inputSchema: object(tool.input_schema, at(path, "input_schema")),
    ...(strict !== undefined ? { strict } : {}),
  }, cache);
}

function readToolChoice(
  value: unknown,
): { choice: LlmToolChoice; parallel?: boolean } | undefined {
  const o = object(value, "tool_choice");
  const type = string(o.type, "tool_choice.type");
  const known = type === "tool"
    ? ["type", "name", "disable_parallel_tool_use"]
    : ["type", "disable_parallel_tool_use"];
  if (!["auto", "any", "tool", "none"].includes(type)) return undefined;
  onlyKeys(o, "tool_choice", known, `tool_choice "${type}"`);
  const disable = optional(
    o.disable_parallel_tool_use,
    "tool_choice.disable_parallel_tool_use",
    boolean,
  );
  const choice: LlmToolChoice = type === "tool"
    ? { type: "tool", name: string(o.name, "tool_choice.name") }
    : { type: type as "auto" | "any" | "none" };
  return disable === undefined ? { choice } : { choice, parallel: !disable };
}

function readThinking(value: unknown): LlmReasoningConfig | null | undefined {
  const o = object(value, "thinking");
  if (o.type === "enabled" && Object.keys(o).every((k) => k === "type" || k === "budget_tokens")) {
    return { budgetTokens: number(o.budget_tokens, "thinking.budget_tokens") };
  }
  if (o.type === "adaptive" && Object.keys(o).length === 1) return { adaptive: true };
  if (o.type === "disabled" && Object.keys(o).length === 1) return null;
  string(o.type, "thinking.type");
  return undefined; // another shape: kept as a provider field
}

/**
 * Parses an Anthropic Messages request body.
 *
 * @param body the parsed JSON body
 * @returns the normalized request
 * @throws {LlmConversionError} when a field is missing (`max_tokens` is required) or ill-typed
 *
 * @example
 * ```ts
 * import { parseAnthropicMessagesRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const request = parseAnthropicMessagesRequest({
 *   model: "claude-sonnet-4-5",
 *   max_tokens: 1024,
 *   system: "Be brief.",
 *   messages: [{ role: "user", content: "Hi" }],
 *   thinking: { type: "enabled", budget_tokens: 2048 },
 * });
 * assert.deepEqual(request.system, [{ type: "text", text: "Be brief." }]);
 * assert.deepEqual(request.reasoning, { budgetTokens: 2048 });
 * ```
 */
export function parseAnthropicMessagesRequest(body: unknown): LlmRequest {
  const o = object(body, "body");
  const system: Array<LlmTextPart | LlmProviderPart> = [];
  if (typeof o.system === "string") system.push({ type: "text", text: o.system });
  else if (o.system !== undefined && o.system !== null) {
    array(o.system, "system").forEach((item, i) => {
      const path = at("system", i);
      const block = object(item, path);
      const type = string(block.type, at(path, "type"));
      system.push(type === "text" ? readText(block, path) : provider(block, type));
    });
  }
  const messages = array(o.messages, "messages").map((item, i): LlmMessage => {
    const path = at("messages", i);
    const m = object(item, path);
    onlyKeys(m, path, ["role", "content"], "a message");
    const role = string(m.role, at(path, "role"));
    if (role !== "user" && role !== "assistant" && role !== "system") {
      fail(at(path, "role"), `must be "user", "assistant" or "system", got "${role}"`);
    }
    return { role, content: readContent(m.content, at(path, "content")) };
  });
  const request: LlmRequest = { model: string(o.model, "model"), system, messages };
  request.maxTokens = number(o.max_tokens, "max_tokens");
  const stops = optional(o.stop_sequences, "stop_sequences", strings);
  if (stops !== undefined) request.stopSequences = stops;
  const temperature = optional(o.temperature, "temperature", number);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optional(o.top_p, "top_p", number);
  if (topP !== undefined) request.topP = topP;
  const topK = optional(o.top_k, "top_k", number);
  if (topK !== undefined) request.topK = topK;
  const tools = optional(o.tools, "tools", array);
  if (tools !== undefined) request.tools = tools.map((tool, i) => readTool(tool, at("tools", i)));
  const providerFields: JsonObject = {};
  if (o.tool_choice !== undefined && o.tool_choice !== null) {
    const read = readToolChoice(o.tool_choice);
    if (read === undefined) providerFields.tool_choice = o.tool_choice;
    else {
      request.toolChoice = read.choice;
      if (read.parallel !== undefined) request.parallelToolCalls = read.parallel;
    }
  }
  const reasoning: LlmReasoningConfig = {};
  if (o.thinking !== undefined && o.thinking !== null) {
    const thinking = readThinking(o.thinking);
    if (thinking === undefined) providerFields.thinking = o.thinking;
    else if (thinking !== null) Object.assign(reasoning, thinking);
  }
  if (o.output_config !== undefined && o.output_config !== null) {
    const { effort, ...rest } = object(o.output_config, "output_config");
    const value = optional(effort, "output_config.effort", string);
    if (value !== undefined) reasoning.effort = value;
    if (Object.keys(rest).length > 0) providerFields.output_config = rest;
  }
  if (Object.keys(reasoning).length > 0) request.reasoning = reasoning;
  const stream = optional(o.stream, "stream", boolean);
  if (stream !== undefined) request.stream = stream;
  const metadata = optional(o.metadata, "metadata", object);
  if (metadata !== undefined) {
    onlyKeys(metadata, "metadata", ["user_id"], "metadata");
    const user = optional(metadata.user_id, "metadata.user_id", string);
    if (user !== undefined) request.userId = user;
  }
  keepProviderFields(request, "anthropic", o, REQUEST_FIELDS, providerFields);
  return request;
}

/** Options of {@linkcode toAnthropicMessagesRequest}. */
export interface ToAnthropicMessagesRequestOptions {
  /** `max_tokens` when the request has no `maxTokens` (Anthropic requires one). Default 4096. */
  defaultMaxTokens?: number;
}

const MEDIA_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

function cacheControl(
  cache: LlmCacheHint | undefined,
  path: string,
): { cache_control?: AnthropicCacheControl } {
  if (cache === undefined) return {};
  const ttl = cache.ttl;
  if (ttl !== undefined && ttl !== "5m" && ttl !== "1h") {
    fail(at(at(path, "cache"), "ttl"), `"${ttl}" is not an Anthropic cache ttl (5m, 1h)`);
  }
  return { cache_control: { type: "ephemeral", ...(ttl !== undefined ? { ttl } : {}) } };
}

function writeText(part: LlmTextPart, path: string): AnthropicTextBlock {
  return { type: "text", text: part.text, ...cacheControl(part.cache, path) };
}

function writeImage(part: LlmImagePart, path: string): AnthropicImageBlock {
  if (part.source.type === "url") {
    return {
      type: "image",
      source: { type: "url", url: part.source.url },
      ...cacheControl(part.cache, path),
    };
  }
  if (!MEDIA_TYPES.includes(part.source.mediaType)) {
    fail(
      at(path, "source"),
      `Anthropic Messages accepts ${MEDIA_TYPES.join(", ")} images, not ${part.source.mediaType}`,
    );
  }
  return {
    type: "image",
    source: {
      type: "base64",
      media_type: part.source.mediaType as AnthropicImageMediaType,
      data: part.source.data,
    },
    ...cacheControl(part.cache, path),
  };
}

function writeProvider(part: LlmProviderPart, path: string): AnthropicContentBlock {
  refuseForeign(part.protocol, "anthropic", path, `the "${part.blockType}" block`);
  return part.content as AnthropicContentBlock;
}

function textOrBlocks<T extends { type: string }>(blocks: T[]): string | T[] {
  const only = blocks[0];
  if (
    blocks.length === 1 && only !== undefined && only.type === "text" && !("cache_control" in only)
  ) {
    return (only as unknown as AnthropicTextBlock).text;
  }
  return blocks;
}

function writeToolResult(part: LlmToolResultPart, path: string): AnthropicToolResultBlock {
  const content = part.content.map((item, i): AnthropicTextBlock | AnthropicImageBlock => {
    const itemPath = at(at(path, "content"), i);
    switch (item.type) {
      case "text":
        return writeText(item, itemPath);
      case "json":
        return { type: "text", text: JSON.stringify(item.value) };
      case "image":
        return writeImage(item, itemPath);
      case "provider":
        return writeProvider(item, itemPath) as AnthropicTextBlock;
    }
  });
  return {
    type: "tool_result",
    tool_use_id: part.toolUseId,
    ...(content.length > 0 ? { content: textOrBlocks(content) } : {}),
    ...(part.isError !== undefined ? { is_error: part.isError } : {}),
    ...cacheControl(part.cache, path),
  };
}

function writeBlock(part: LlmContentPart, path: string): AnthropicContentBlock | undefined {
  switch (part.type) {
    case "text":
      return writeText(part, path);
    case "image":
      return writeImage(part, path);
    case "tool_use":
      return {
        type: "tool_use",
        id: part.id,
        name: part.name,
        input: part.input,
        ...cacheControl(part.cache, path),
      };
    case "tool_result":
      return writeToolResult(part, path);
    case "reasoning":
      if (part.signature === undefined) return undefined; // unsigned: Anthropic refuses it
      return { type: "thinking", thinking: part.text, signature: part.signature };
    case "redacted_reasoning":
      return { type: "redacted_thinking", data: part.data };
    case "provider":
      return writeProvider(part, path);
  }
}

function writeMessage(message: LlmMessage, path: string): AnthropicMessage {
  if (message.role === "system") {
    const blocks = message.content.map((part, i) => {
      const partPath = at(at(path, "content"), i);
      if (part.type === "text") return writeText(part, partPath);
      if (part.type === "provider") return writeProvider(part, partPath) as AnthropicTextBlock;
      return fail(partPath, `a system message cannot hold a ${part.type} part`);
    });
    return { role: "system", content: textOrBlocks(blocks) };
  }
  const results: AnthropicContentBlock[] = [];
  const rest: AnthropicContentBlock[] = [];
  message.content.forEach((part, i) => {
    const block = writeBlock(part, at(at(path, "content"), i));
    if (block === undefined) return;
    (block.type === "tool_result" ? results : rest).push(block);
  });
  return { role: message.role, content: textOrBlocks([...results, ...rest]) };
}

function writeTool(tool: LlmTool, path: string): AnthropicTool {
  if (tool.type === "provider") {
    refuseForeign(tool.protocol, "anthropic", path, "a provider-specific tool");
    return tool.content as AnthropicTool;
  }
  return {
    ...defined({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema as AnthropicTool["input_schema"],
      strict: tool.strict,
    }),
    ...cacheControl(tool.cache, path),
  };
}

function writeToolChoice(
  choice: LlmToolChoice | undefined,
  parallel: boolean | undefined,
): AnthropicToolChoice | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: "auto", ...disable } : undefined;
  switch (choice.type) {
    case "none":
      return { type: "none" };
    case "tool":
      return { type: "tool", name: choice.name, ...disable };
    default:
      return { type: choice.type, ...disable };
  }
}

/**
 * Writes a normalized request as an Anthropic Messages body.
 *
 * @param request the normalized request
 * @param options the `max_tokens` default
 * @returns the body to send
 * @throws {LlmConversionError} for what Anthropic Messages cannot express
 *
 * @example
 * ```ts
 * import { toAnthropicMessagesRequest } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toAnthropicMessagesRequest({
 *   model: "claude-sonnet-4-5",
 *   system: [{ type: "text", text: "Be brief." }],
 *   messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
 *   toolChoice: { type: "any" },
 * });
 * assert.equal(body.max_tokens, 4096);
 * assert.equal(body.system, "Be brief.");
 * assert.deepEqual(body.messages, [{ role: "user", content: "Hi" }]);
 * assert.deepEqual(body.tool_choice, { type: "any" });
 * ```
 */
export function toAnthropicMessagesRequest(
  request: LlmRequest,
  options: ToAnthropicMessagesRequestOptions = {},
): AnthropicMessagesRequestBody {
  const extra = providerFieldsFor(request.providerFields, "anthropic");
  const defaultMax = options.defaultMaxTokens ?? 4096;
  const budget = request.reasoning?.budgetTokens;
  const maxTokens = request.maxTokens ??
    (budget !== undefined && budget >= defaultMax ? budget + defaultMax : defaultMax);
  const body: AnthropicMessagesRequestBody = {
    model: request.model,
    max_tokens: maxTokens,
    messages: request.messages.map((message, i) => writeMessage(message, at("messages", i))),
  };
  if (request.system.length > 0) {
    body.system = textOrBlocks(
      request.system.map((part, i) =>
        part.type === "text"
          ? writeText(part, at("system", i))
          : writeProvider(part, at("system", i)) as AnthropicTextBlock
      ),
    );
  }
  if (request.stopSequences !== undefined) body.stop_sequences = request.stopSequences;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.topK !== undefined) body.top_k = request.topK;
  if (request.tools !== undefined) {
    body.tools = request.tools.map((tool, i) => writeTool(tool, at("tools", i)));
  }
  const choice = writeToolChoice(request.toolChoice, request.parallelToolCalls);
  if (choice !== undefined) body.tool_choice = choice;
  const reasoning = request.reasoning;
  if (reasoning?.budgetTokens !== undefined) {
    body.thinking = { type: "enabled", budget_tokens: reasoning.budgetTokens };
  } else if (reasoning?.adaptive === true) {
    body.thinking = { type: "adaptive" };
  }
  const effort = claudeEffort(reasoning?.effort, "anthropic");
  const outputConfig = isObject(extra.output_config) ? extra.output_config : {};
  if (effort !== undefined) body.output_config = { ...outputConfig, effort };
  if (request.stream !== undefined) body.stream = request.stream;
  if (request.userId !== undefined) body.metadata = { user_id: request.userId };
  return {
    ...body,
    ...extra,
    ...(body.output_config ? { output_config: body.output_config } : {}),
  };
}

/** A citation of a response text block, as Anthropic sent it. */
export interface AnthropicCitation {
  /** The citation kind. */
  type:
    | "char_location"
    | "page_location"
    | "content_block_location"
    | "web_search_result_location"
    | "search_result_location";
  /** The cited passage. */
  cited_text: string;
  /** The kind's other fields (document index, URL, title, …). */
  [key: string]: unknown;
}

/** A content block of a Messages response. */
export type AnthropicResponseBlock =
  | { type: "text"; text: string; citations?: AnthropicCitation[] }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "server_tool_use"; id: string; name: string; input: unknown };

/** A Messages response body. */
export interface AnthropicMessagesResponseBody {
  /** Message id. */
  id: string;
  /** Always `message`. */
  type: "message";
  /** Always `assistant`. */
  role: "assistant";
  /** Model that answered. */
  model: string;
  /** Content blocks (plus same-protocol provider blocks). */
  content: AnthropicResponseBlock[];
  /** Why it stopped. */
  stop_reason: AnthropicStopReason;
  /** The stop sequence that matched, or null. */
  stop_sequence: string | null;
  /** Token usage. */
  usage: AnthropicUsage;
}

const CITATION_TYPES = [
  "char_location",
  "page_location",
  "content_block_location",
  "web_search_result_location",
  "search_result_location",
];

function readCitation(item: unknown, path: string): Citation {
  const c = object(item, path);
  const title = typeof c.document_title === "string"
    ? c.document_title
    : typeof c.title === "string"
    ? c.title
    : undefined;
  return {
    ...(title !== undefined ? { title } : {}),
    ...(typeof c.url === "string" ? { url: c.url } : {}),
    ...(typeof c.cited_text === "string" ? { citedText: c.cited_text } : {}),
    raw: c,
  };
}

/**
 * Parses an Anthropic Messages response body. `server_tool_use` blocks become server-side tool
 * calls; other blocks without an equivalent (`web_search_tool_result`, …) provider parts.
 *
 * @param body the parsed JSON body
 * @returns the normalized response
 * @throws {LlmConversionError} for error bodies and missing or ill-typed fields
 *
 * @example
 * ```ts
 * import { parseAnthropicMessagesResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const response = parseAnthropicMessagesResponse({
 *   id: "msg_1",
 *   type: "message",
 *   role: "assistant",
 *   model: "claude-sonnet-4-5",
 *   content: [{ type: "text", text: "Hi" }],
 *   stop_reason: "end_turn",
 *   stop_sequence: null,
 *   usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 5 },
 * });
 * assert.equal(response.usage.inputTokens, 15);
 * assert.equal(response.stopReason, "end_turn");
 * ```
 */
export function parseAnthropicMessagesResponse(body: unknown): LlmResponse {
  const o = object(body, "body");
  if (o.type === "error") {
    const error = isObject(o.error) ? o.error : {};
    fail(
      "error",
      `the body is an error response (${String(error.type)}: ${String(error.message)})`,
    );
  }
  const content = array(o.content, "content").map((item, i): LlmResponsePart => {
    const path = at("content", i);
    const block = object(item, path);
    const type = string(block.type, at(path, "type"));
    switch (type) {
      case "text": {
        const citations = optional(block.citations, at(path, "citations"), array) ?? [];
        return {
          type: "text",
          text: string(block.text, at(path, "text")),
          ...(citations.length > 0
            ? { citations: citations.map((c, j) => readCitation(c, at(at(path, "citations"), j))) }
            : {}),
        };
      }
      case "thinking": {
        const signature = optional(block.signature, at(path, "signature"), string);
        return {
          type: "reasoning",
          text: string(block.thinking, at(path, "thinking")),
          ...(signature !== undefined ? { signature } : {}),
        };
      }
      case "redacted_thinking":
        return { type: "redacted_reasoning", data: string(block.data, at(path, "data")) };
      case "tool_use":
      case "server_tool_use":
        if (block.input === undefined) fail(at(path, "input"), "is missing");
        return {
          type: "tool_use",
          id: string(block.id, at(path, "id")),
          name: string(block.name, at(path, "name")),
          input: block.input,
          ...(type === "server_tool_use" ? { serverSide: true } : {}),
        };
      default:
        return provider(block, type);
    }
  });
  const raw = optional(o.stop_reason, "stop_reason", string) ?? null;
  const stopSequence = optional(o.stop_sequence, "stop_sequence", string);
  return {
    id: string(o.id, "id"),
    model: string(o.model, "model"),
    content,
    stopReason: parseAnthropicMessagesStopReason(raw),
    rawStopReason: raw,
    ...(stopSequence !== undefined ? { stopSequence } : {}),
    usage: parseAnthropicMessagesUsage(o.usage),
  };
}

/**
 * Writes a normalized response as an Anthropic Messages body. Reasoning without a signature gets
 * `signature: ""`; server-side tool calls become `server_tool_use`; other protocols' provider
 * blocks are skipped, as the streaming encoders do; citations are written when they are
 * Anthropic citation objects.
 *
 * @param response the normalized response
 * @returns the body to send
 * @throws {LlmConversionError} when the response ended in an error (answer with an error body)
 *
 * @example
 * ```ts
 * import { createUsage, toAnthropicMessagesResponse } from "@llmwire/llmwire";
 * import assert from "node:assert/strict";
 *
 * const body = toAnthropicMessagesResponse({
 *   id: "chatcmpl-1",
 *   model: "gpt-4o",
 *   content: [{ type: "tool_use", id: "c1", name: "weather", input: { city: "Paris" } }],
 *   stopReason: "tool_use",
 *   rawStopReason: "tool_calls",
 *   usage: createUsage({ inputTokens: 30, outputTokens: 15, cacheReadTokens: 10 }),
 * });
 * assert.equal(body.stop_reason, "tool_use");
 * assert.equal(body.usage.input_tokens, 20);
 * assert.equal(body.usage.cache_read_input_tokens, 10);
 * ```
 */
export function toAnthropicMessagesResponse(response: LlmResponse): AnthropicMessagesResponseBody {
  if (response.error !== undefined) {
    fail("error", `the response ended in an error (${response.error.message})`);
  }
  const content: AnthropicResponseBlock[] = [];
  for (const part of response.content) {
    switch (part.type) {
      case "text": {
        const citations = (part.citations ?? [])
          .map((citation) => citation.raw)
          .filter((raw): raw is AnthropicCitation =>
            isObject(raw) && CITATION_TYPES.includes(String(raw.type)) &&
            typeof raw.cited_text === "string"
          );
        content.push({
          type: "text",
          text: part.text,
          ...(citations.length > 0 ? { citations } : {}),
        });
        break;
      }
      case "reasoning":
        content.push({ type: "thinking", thinking: part.text, signature: part.signature ?? "" });
        break;
      case "redacted_reasoning":
        content.push({ type: "redacted_thinking", data: part.data });
        break;
      case "tool_use":
        content.push({
          type: part.serverSide === true ? "server_tool_use" : "tool_use",
          id: part.id,
          name: part.name,
          input: part.input,
        });
        break;
      case "provider":
        if (part.protocol === "anthropic") content.push(part.content as AnthropicResponseBlock);
        break;
    }
  }
  return {
    id: response.id,
    type: "message",
    role: "assistant",
    model: response.model,
    content,
    stop_reason: toAnthropicMessagesStopReason(response.stopReason, response.rawStopReason),
    stop_sequence: response.stopSequence ?? null,
    usage: toAnthropicMessagesUsage(response.usage),
  };
}
