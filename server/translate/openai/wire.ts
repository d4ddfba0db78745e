/**
 * OpenAI Chat Completions wire types, as llmux reads and writes them. They follow the `openai` 6.49 SDK
 * (`resources/chat/completions/completions.d.ts`, https://platform.openai.com/docs/api-reference/chat) but only
 * name what the translators touch; bodies read from the network are still `unknown` and narrowed field by field.
 */

/** A text part (`{type:"text", text}`), allowed in every message role. */
export interface OpenAITextPart {
  type: "text";
  text: string;
}

/** An image part; `url` is an http(s) URL or a `data:<media type>;base64,<data>` URL. */
export interface OpenAIImagePart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}

/** A refusal part, only in assistant messages echoed back by clients. */
export interface OpenAIRefusalPart {
  type: "refusal";
  refusal: string;
}

/**
 * Parts llmux passes to OpenAI-compatible backends but cannot translate (audio input, files, vLLM's audio and video
 * URLs); listed so the decoder can name them in its 400.
 */
export interface OpenAIUnsupportedPart {
  type: "input_audio" | "file" | "audio_url" | "video_url";
  [key: string]: unknown;
}

/** A function tool call, in an assistant message or a response. `arguments` is a JSON text. */
export interface OpenAIToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface OpenAISystemMessage {
  role: "system" | "developer";
  content: string | OpenAITextPart[];
  name?: string;
}

export interface OpenAIUserMessage {
  role: "user";
  content: string | Array<OpenAITextPart | OpenAIImagePart | OpenAIUnsupportedPart>;
  name?: string;
}

/**
 * An assistant turn. Clients echo response-only fields back (`refusal: null`, `annotations: []`, `audio`); the
 * decoder accepts and drops them.
 */
export interface OpenAIAssistantMessage {
  role: "assistant";
  content?: string | Array<OpenAITextPart | OpenAIRefusalPart> | null;
  tool_calls?: OpenAIToolCall[];
  refusal?: string | null;
  annotations?: unknown[];
  audio?: { id: string } | null;
  name?: string;
}

export interface OpenAIToolMessage {
  role: "tool";
  tool_call_id: string;
  content: string | OpenAITextPart[];
}

export type OpenAIMessageParam = OpenAISystemMessage | OpenAIUserMessage | OpenAIAssistantMessage | OpenAIToolMessage;

/** A function tool definition. `parameters` is a JSON Schema; absent means "no arguments". */
export interface OpenAIFunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

/** `tool_choice`: a mode string or one named function. */
export type OpenAIToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

/** `reasoning_effort` values the SDK knows (`shared.d.ts` ReasoningEffort). */
export type OpenAIReasoningEffort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max";

export type OpenAIResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null };
    };

/**
 * A Chat Completions request as llmux sends it upstream (canonicalToOpenaiRequest) and as clients send it
 * (narrowed from `OpenAIChatBody` by the decoder). Only the fields llmux maps; see `DROPPED_FIELDS` for the rest.
 */
export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessageParam[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: OpenAIFunctionTool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  reasoning_effort?: OpenAIReasoningEffort;
  response_format?: OpenAIResponseFormat;
  user?: string;
  n?: number;
}

/** `usage` of a completion or of the final stream chunk. Details are optional on OpenAI-compatible servers. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

/** `finish_reason` values of the SDK (`function_call` is the deprecated form of `tool_calls`). */
export type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/** The assistant message of a non-streaming choice. `reasoning_content` is the DeepSeek/vLLM extension. */
export interface OpenAIResponseMessage {
  role: "assistant";
  content: string | null;
  refusal: string | null;
  reasoning_content?: string;
  tool_calls?: OpenAIToolCall[];
}

/** A `chat.completion` object (non-streaming response). */
export interface OpenAIChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{ index: number; message: OpenAIResponseMessage; logprobs: null; finish_reason: OpenAIFinishReason }>;
  usage: OpenAIUsage;
}

/** One tool-call fragment of a stream delta: the first carries id, type and name; later ones only arguments. */
export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** The `delta` of a stream chunk. `reasoning_content` / `reasoning` are DeepSeek/vLLM/OpenRouter extensions. */
export interface OpenAIChunkDelta {
  role?: "assistant";
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: OpenAIToolCallDelta[];
  refusal?: string | null;
}

/** A `chat.completion.chunk`; the usage chunk has `choices: []` and `usage` set. */
export interface OpenAIChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{ index: number; delta: OpenAIChunkDelta; logprobs: null; finish_reason: OpenAIFinishReason | null }>;
  usage?: OpenAIUsage | null;
}

/** The error body OpenAI sends with a non-2xx status, and in-band in a stream after a 200. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
