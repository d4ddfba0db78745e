import type { StopReason, Usage } from "../canonical.js";

const STOP_REASONS: ReadonlySet<string> = new Set<StopReason>([
  "end_turn",
  "max_tokens",
  "stop_sequence",
  "tool_use",
  "pause_turn",
  "refusal",
  "model_context_window_exceeded",
]);

/** An Anthropic `stop_reason` as a canonical one; null or a value newer than llmux reads as `end_turn`. */
export function stopReasonFromAnthropic(value: unknown): StopReason {
  return typeof value === "string" && STOP_REASONS.has(value) ? (value as StopReason) : "end_turn";
}

/** A token counter as sent, or undefined when absent, null or not a count. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Anthropic usage (a Message's, or `message_delta`'s merged over a previous value) → canonical usage. Anthropic's
 * `input_tokens` already excludes cached tokens, which is the canonical meaning. Counters absent or null in
 * `usage` keep their value from `base`; `output_tokens_details.thinking_tokens` becomes `reasoningTokens`.
 */
export function usageFromAnthropic(usage: unknown, base: Readonly<Usage>): Usage {
  const u = (typeof usage === "object" && usage !== null ? usage : {}) as Record<string, unknown>;
  const out: Usage = {
    inputTokens: tokenCount(u["input_tokens"]) ?? base.inputTokens,
    outputTokens: tokenCount(u["output_tokens"]) ?? base.outputTokens,
    cacheReadTokens: tokenCount(u["cache_read_input_tokens"]) ?? base.cacheReadTokens,
    cacheCreationTokens: tokenCount(u["cache_creation_input_tokens"]) ?? base.cacheCreationTokens,
  };
  const details = u["output_tokens_details"];
  const thinking = typeof details === "object" && details !== null ? tokenCount((details as Record<string, unknown>)["thinking_tokens"]) : undefined;
  const reasoning = thinking ?? base.reasoningTokens;
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  return out;
}

/** Canonical usage → Anthropic `usage` with the four counters Claude Code and the SDK read. */
export function usageToAnthropic(usage: Usage): {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
} {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheCreationTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
  };
}
