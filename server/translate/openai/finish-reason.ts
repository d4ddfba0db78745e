import type { StopReason } from "../canonical.js";
import type { OpenAIFinishReason } from "./wire.js";

/**
 * Upstream `finish_reason` → canonical stop reason
 * (https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices; same table as the AI SDK's
 * `mapOpenAIFinishReason` and LiteLLM's `_translate_openai_finish_reason_to_anthropic`).
 */
const TO_STOP_REASON: Readonly<Record<string, StopReason>> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  // Deprecated single-function form; same meaning as tool_calls.
  function_call: "tool_use",
  // Anthropic's current value for a refused answer (https://docs.anthropic.com/en/api/handling-stop-reasons).
  content_filter: "refusal",
};

/**
 * Maps an upstream finish reason. Unknown values and `null` (a server that never said) read as `end_turn`: the
 * stream did end cleanly, and claiming truncation would make clients retry a complete answer.
 */
export function finishReasonToStopReason(finishReason: unknown): StopReason {
  return (typeof finishReason === "string" ? TO_STOP_REASON[finishReason] : undefined) ?? "end_turn";
}

/**
 * Canonical stop reason → `finish_reason` for an OpenAI client. OpenAI has no stop-sequence, pause or
 * context-window values; they fold into the nearest (AI SDK `mapAnthropicStopReason`,
 * https://docs.anthropic.com/en/api/messages#response-stop-reason).
 */
const TO_FINISH_REASON: Readonly<Record<StopReason, OpenAIFinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** The `finish_reason` an OpenAI client gets for a canonical stop reason. */
export function stopReasonToFinishReason(stopReason: StopReason): OpenAIFinishReason {
  return TO_FINISH_REASON[stopReason];
}
