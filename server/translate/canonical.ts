/**
 * The canonical chat model: the hub every dialect translates to and from. Cross-dialect routes go
 * client dialect → canonical → backend dialect (and back for responses and stream events); same-dialect routes
 * never touch it. Shapes follow Anthropic Messages where it is the richer protocol (content blocks, stop reasons,
 * cache-aware usage), with OpenAI-only notions made explicit fields.
 *
 * These are plain TypeScript types, not protobuf messages: translators run per request and per stream chunk,
 * and must stay allocation-light and free of I/O, clocks and randomness (ids and timestamps come in as context).
 */

/** `cache_control` as Anthropic defines it; carried so an Anthropic backend gets it back. */
export interface CacheControl {
  type: "ephemeral";
  ttl?: string;
}

export interface TextBlock {
  type: "text";
  text: string;
  cacheControl?: CacheControl;
}

export type ImageSource =
  | { type: "base64"; mediaType: string; data: string }
  | { type: "url"; url: string };

export interface ImageBlock {
  type: "image";
  source: ImageSource;
  cacheControl?: CacheControl;
}

export interface ToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  /** Parsed arguments; always a JSON object. */
  input: Record<string, unknown>;
  cacheControl?: CacheControl;
}

export interface ToolResultBlock {
  type: "tool_result";
  toolUseId: string;
  content: Array<TextBlock | ImageBlock>;
  isError: boolean;
  cacheControl?: CacheControl;
}

export interface ThinkingBlock {
  type: "thinking";
  thinking: string;
  /** Anthropic's signature. Absent when the thinking was synthesised from an OpenAI-style `reasoning_content`. */
  signature?: string;
}

export interface RedactedThinkingBlock {
  type: "redacted_thinking";
  data: string;
}

export type ContentBlock =
  | TextBlock
  | ImageBlock
  | ToolUseBlock
  | ToolResultBlock
  | ThinkingBlock
  | RedactedThinkingBlock;

/** A conversation turn. `system` turns are mid-conversation system messages (kept in place). */
export interface CanonicalMessage {
  role: "user" | "assistant" | "system";
  content: ContentBlock[];
}

export interface CanonicalTool {
  name: string;
  description?: string;
  /** JSON Schema of the input, passed through unchanged. */
  inputSchema: Record<string, unknown>;
  strict?: boolean;
  cacheControl?: CacheControl;
}

export type ToolChoice =
  | { type: "auto" }
  | { type: "any" }
  | { type: "none" }
  | { type: "tool"; name: string };

export type ReasoningEffort = "minimal" | "low" | "medium" | "high" | "xhigh" | "max";

export type ThinkingConfig =
  | { type: "enabled"; budgetTokens: number }
  | { type: "adaptive" }
  | { type: "disabled" };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name?: string; schema: Record<string, unknown>; strict?: boolean };

/** A chat request in canonical form. Optional fields are absent when the client did not set them. */
export interface CanonicalRequest {
  /** The model the client asked for (the backend's model replaces it when encoding). */
  model: string;
  /** Leading system prompt, in order. */
  system: TextBlock[];
  messages: CanonicalMessage[];
  /** Output token limit; undefined when the client gave none (OpenAI allows that, Anthropic does not). */
  maxTokens?: number;
  stream: boolean;
  /** The client asked for usage in the stream (OpenAI `stream_options.include_usage`). */
  includeUsage: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  tools?: CanonicalTool[];
  toolChoice?: ToolChoice;
  /** False when the client disabled parallel tool calls. */
  parallelToolCalls?: boolean;
  thinking?: ThinkingConfig;
  effort?: ReasoningEffort;
  responseFormat?: ResponseFormat;
  /** End-user identifier (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
}

/** Anthropic's stop reasons, the richer set; OpenAI finish reasons map onto them. */
export type StopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded";

/**
 * Token usage. `inputTokens` excludes cached tokens (Anthropic semantics); OpenAI's `prompt_tokens` is
 * `inputTokens + cacheReadTokens + cacheCreationTokens`.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Reasoning tokens inside outputTokens, when the upstream reports them. */
  reasoningTokens?: number;
}

/** A complete (non-streaming) response. */
export interface CanonicalResponse {
  id: string;
  model: string;
  /** Thinking first, then text and tool_use blocks in upstream order; never an empty text block. */
  content: Array<TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock>;
  stopReason: StopReason;
  stopSequence: string | null;
  usage: Usage;
}

/**
 * One canonical stream event. Decoders turn upstream SSE into these; encoders turn them into the client's SSE.
 * Blocks are strictly sequential: one open at a time, indexes 0, 1, 2… in order, each stopped before the next
 * starts (decoders buffer interleaved upstream tool deltas to keep this true).
 */
export type ChatEvent =
  | { type: "start"; id: string; model: string; usage: Usage }
  | { type: "block_start"; index: number; block: { type: "text" } | { type: "thinking" } | { type: "redacted_thinking"; data: string } | { type: "tool_use"; id: string; name: string } }
  | { type: "text_delta"; index: number; text: string }
  | { type: "thinking_delta"; index: number; thinking: string }
  | { type: "signature_delta"; index: number; signature: string }
  | { type: "tool_input_delta"; index: number; partialJson: string }
  | { type: "block_stop"; index: number }
  /** The last event of a successful stream: why it stopped and the final (cumulative) usage. */
  | { type: "finish"; stopReason: StopReason; stopSequence: string | null; usage: Usage };

/** Context an encoder needs that a pure function cannot make up itself. */
export interface EncodeContext {
  /** Response id in the client's format (`chatcmpl-…`, `msg_…`), made by the caller. */
  id: string;
  /** The model name to report to the client. */
  model: string;
  /** Unix seconds, for OpenAI's `created`. */
  created: number;
}

/** An SSE event as parsed from the wire; defined beside the parser in server/lib/sse.ts. */
export type { SseEvent } from "../lib/sse.js";

/** Usage with every counter zero. */
export const ZERO_USAGE: Readonly<Usage> = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });
