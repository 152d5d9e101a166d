/**
 * The framing layer: bytes ⇄ frames for AWS EventStream (`application/vnd.amazon.eventstream`)
 * and Server-Sent Events (`text/event-stream`). No knowledge of LLMs; browser-safe.
 * @module
 */
export { crc32 } from "./crc32.ts";
export * from "./errors.ts";
export * from "./event_stream.ts";
export * from "./sse.ts";
