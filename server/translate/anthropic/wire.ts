/**
 * The Anthropic Messages wire format, as far as llmux reads or writes it. Field names are the wire's (snake_case).
 * Source: `@anthropic-ai/sdk` 1.12.0 `resources/messages/messages.d.ts` and
 * https://docs.anthropic.com/en/api/messages. Request types describe a body after `validateAnthropicRequest`
 * (every field the translators read has been checked); response and stream types describe what the API sends.
 */

/** `cache_control`; Claude Code sends an explicit `null` on its first system block. */
export interface AnthropicCacheControl {
  type: "ephemeral";
  ttl?: string;
}

/** Text; `citations` (Anthropic-side document references) is accepted and not carried. */
export interface AnthropicTextBlock {
  type: "text";
  text: string;
  cache_control?: AnthropicCacheControl | null;
  citations?: unknown;
}

/** Where an image's bytes come from: inline base64, a URL the API fetches, or a Files API id. */
export type AnthropicImageSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string }
  /** Files API reference; not portable to other backends. */
  | { type: "file"; file_id: string };

/** An image, in user turns and inside tool results. */
export interface AnthropicImageBlock {
  type: "image";
  source: AnthropicImageSource;
  cache_control?: AnthropicCacheControl | null;
}

/** PDF / plain-text documents; only checked to be objects (no other backend takes them through llmux). */
export interface AnthropicDocumentBlock {
  type: "document";
  source: Record<string, unknown>;
  cache_control?: AnthropicCacheControl | null;
}

/** A tool call the model made (assistant history); `id` matches the answering tool_result. */
export interface AnthropicToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  /** Always a JSON object (the API rejects anything else). */
  input: Record<string, unknown>;
  cache_control?: AnthropicCacheControl | null;
}

/** Blocks allowed inside `tool_result.content`. */
export type AnthropicToolResultContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicDocumentBlock
  | AnthropicOpaqueBlock<"search_result" | "tool_reference">;

/** The client's answer to a tool_use; `content` may be a string or text/image (/document…) blocks. */
export interface AnthropicToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | AnthropicToolResultContentBlock[];
  is_error?: boolean;
  cache_control?: AnthropicCacheControl | null;
}

/** Extended thinking from an earlier assistant turn; the signature lets the API verify it. */
export interface AnthropicThinkingBlock {
  type: "thinking";
  thinking: string;
  /** Required by the API; llmux also accepts it absent or `""` (thinking it synthesised itself, unsigned). */
  signature?: string;
}

/** Thinking the API returned encrypted; forwarded as is. */
export interface AnthropicRedactedThinkingBlock {
  type: "redacted_thinking";
  data: string;
}

/** A block llmux accepts but does not look into (server-tool history, search results, uploads). */
export interface AnthropicOpaqueBlock<T extends string = string> {
  type: T;
  [field: string]: unknown;
}

/**
 * Content blocks of server tools (run by Anthropic itself). They appear in assistant history when the client used
 * a server tool; they mean nothing to another backend.
 */
export const ANTHROPIC_SERVER_TOOL_BLOCK_TYPES = [
  "server_tool_use",
  "web_search_tool_result",
  "web_fetch_tool_result",
  "code_execution_tool_result",
  "bash_code_execution_tool_result",
  "text_editor_code_execution_tool_result",
  "tool_search_tool_result",
  "mcp_tool_use",
  "mcp_tool_result",
] as const;

/** One of {@link ANTHROPIC_SERVER_TOOL_BLOCK_TYPES}. */
export type AnthropicServerToolBlockType = (typeof ANTHROPIC_SERVER_TOOL_BLOCK_TYPES)[number];

/** Every block a request message may carry. */
export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicDocumentBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock
  | AnthropicOpaqueBlock<"search_result" | "container_upload" | AnthropicServerToolBlockType>;

/** A conversation turn. `system` is Claude Code's mid-conversation system message (beta), text only. */
export type AnthropicMessageParam =
  | { role: "user" | "assistant"; content: string | AnthropicContentBlock[] }
  | { role: "system"; content: string | AnthropicTextBlock[] };

/** A client tool: the model calls it, the client runs it. `type` is absent, null or "custom". */
export interface AnthropicCustomTool {
  type?: "custom" | null;
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  strict?: boolean;
  cache_control?: AnthropicCacheControl | null;
  [field: string]: unknown;
}

/** A server or schema-less tool (`web_search_20250305`, `bash_20250124`, `text_editor_*`, `computer_*`, …). */
export interface AnthropicTypedTool {
  type: string;
  name: string;
  [field: string]: unknown;
}

/** An entry of `tools`: a custom tool, or a typed (server or Anthropic-defined) one. */
export type AnthropicTool = AnthropicCustomTool | AnthropicTypedTool;

/** `tool_choice`; `disable_parallel_tool_use` limits the model to one tool call per turn. */
export type AnthropicToolChoice =
  | { type: "auto"; disable_parallel_tool_use?: boolean }
  | { type: "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

/** `thinking`: manual budget (`enabled`), model-decided (`adaptive`), off, or between tool calls. */
export type AnthropicThinkingConfig =
  | { type: "enabled"; budget_tokens: number; display?: string | null }
  | { type: "adaptive"; display?: string | null }
  | { type: "disabled" }
  /** Thinking between tool calls only (SDK 1.12 `ThinkingConfigBetweenTools`). */
  | { type: "between_tools" };

/** `output_config.effort` levels. */
export type AnthropicEffort = "low" | "medium" | "high" | "xhigh" | "max";

/** Structured output: the response text is JSON matching `schema`. */
export interface AnthropicJsonOutputFormat {
  type: "json_schema";
  schema: Record<string, unknown>;
}

/** `output_config`: effort level and structured-output format. */
export interface AnthropicOutputConfig {
  effort?: AnthropicEffort | null;
  format?: AnthropicJsonOutputFormat | null;
}

/**
 * `POST /v1/messages` body. Unknown top-level fields are allowed: Anthropic→Anthropic routes pass them through.
 */
export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: string | AnthropicTextBlock[];
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  thinking?: AnthropicThinkingConfig;
  output_config?: AnthropicOutputConfig;
  /** Beta spelling of `output_config.format`. */
  output_format?: AnthropicJsonOutputFormat | null;
  metadata?: { user_id?: string | null };
  [field: string]: unknown;
}

/** Stop reasons (`StopReason` in the SDK). */
export type AnthropicStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded";

/** `usage` of a Message (`message_start` carries one too). Cache counters may be null or absent. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  /** Beta `thinking-token-count`. */
  output_tokens_details?: { thinking_tokens?: number } | null;
}

/** `message_delta.usage`: cumulative; only `output_tokens` is always present, the rest overwrite when present. */
export interface AnthropicDeltaUsage {
  output_tokens: number;
  input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
}

/** Blocks of a response Message that llmux translates; other block types (server tools) are skipped. */
export type AnthropicResponseBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** A complete (non-streaming) response. */
export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicResponseBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** `content_block_start.content_block` as the stream opens it (empty text/thinking, `input: {}`). */
export type AnthropicStreamBlockStart =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** `content_block_delta.delta`, one kind per block type (citations_delta is not carried). */
export type AnthropicStreamDelta =
  | { type: "text_delta"; text: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "input_json_delta"; partial_json: string };

/** SSE events of a streamed response; the `event:` name always equals `type`. */
export type AnthropicStreamEvent =
  | { type: "message_start"; message: AnthropicMessage }
  | { type: "content_block_start"; index: number; content_block: AnthropicStreamBlockStart }
  | { type: "content_block_delta"; index: number; delta: AnthropicStreamDelta }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null };
      usage: AnthropicDeltaUsage;
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | AnthropicErrorBody;

/** Error body, both as an HTTP response and as the data of an in-band `event: error`. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
  request_id?: string;
}
