/**
 * The protocol layer: frames ⇄ {@linkcode LlmEvent} for Amazon Bedrock Converse, OpenAI Chat
 * Completions and Anthropic Messages, streaming and non-streaming, so any provider's stream can
 * be re-spoken in any client protocol. Browser-safe.
 * @module
 */
export * from "./events.ts";
export * from "./bedrock_converse.ts";
export * from "./openai_chat.ts";
export * from "./anthropic_messages.ts";
export * from "./bodies.ts";
export * from "./bedrock_converse_bodies.ts";
export * from "./openai_chat_bodies.ts";
export * from "./anthropic_messages_bodies.ts";
export * from "./observe.ts";
