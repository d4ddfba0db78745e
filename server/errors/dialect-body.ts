import { REASONS } from "./reasons.js";
import type { LlmuxError } from "./llmux-error.js";

/** An error rendered for one HTTP dialect: status, JSON body and extra headers. */
export interface RenderedError {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

function retryHeaders(err: LlmuxError): Record<string, string> {
  // Whole seconds, rounded up: Claude Code and both SDKs read integer seconds.
  return err.retryAfterMs !== undefined && err.retryAfterMs > 0
    ? { "retry-after": String(Math.ceil(err.retryAfterMs / 1000)) }
    : {};
}

/** OpenAI error body: `{"error":{"message","type","param","code"}}`, all four keys always present. */
export function openaiErrorBody(err: LlmuxError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const spec = REASONS[err.reason];
  return { error: { message: err.rawMessage, type: spec.openaiType, param: err.param ?? null, code: spec.openaiCode } };
}

/** Anthropic error body: `{"type":"error","error":{"type","message"}}`. */
export function anthropicErrorBody(err: LlmuxError): { type: "error"; error: { type: string; message: string } } {
  return { type: "error", error: { type: REASONS[err.reason].anthropicType, message: err.rawMessage } };
}

/** Renders an error for an OpenAI-dialect client. */
export function renderOpenAIError(err: LlmuxError): RenderedError {
  return { status: REASONS[err.reason].status, body: openaiErrorBody(err), headers: retryHeaders(err) };
}

/** Renders an error for an Anthropic-dialect client. */
export function renderAnthropicError(err: LlmuxError): RenderedError {
  return { status: REASONS[err.reason].anthropicStatus, body: anthropicErrorBody(err), headers: retryHeaders(err) };
}
