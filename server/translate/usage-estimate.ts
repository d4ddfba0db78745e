import { jsonTextLength } from "../lib/json-measure.js";
import type { CanonicalResponse, Usage } from "./canonical.js";
import { estimateTextTokens } from "./requirements.js";

/**
 * Largest token count believed from an upstream for one counter of one request. No model's context comes near
 * 100,000,000 tokens, so a larger count is a broken usage reporter, not a big request; it also keeps every stored
 * counter within PostgreSQL's `integer` (2^31 − 1), where one absurd count would fail a whole batch of rows.
 */
export const MAX_TOKEN_COUNT = 100_000_000;

/** A token counter as sent when it is trustworthy (an integer in [0, {@link MAX_TOKEN_COUNT}]), else undefined. */
export function trustedTokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_TOKEN_COUNT ? value : undefined;
}

/**
 * llmux's own usage for an answer whose upstream reported no final usage worth trusting: the output the client was
 * sent, by the rule of {@link estimateTextTokens}, and the prompt as the upstream counted it before answering
 * (`reported`, from Anthropic's message_start) or else the estimate made for routing (`Requirements.promptTokens`),
 * with cache counters then unknowable and 0.
 */
export function estimateUsage(promptTokens: number, outputChars: number, reported?: Usage): Usage {
  const outputTokens = estimateTextTokens(outputChars);
  if (reported === undefined) return { inputTokens: promptTokens, outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0 };
  return { inputTokens: reported.inputTokens, outputTokens, cacheReadTokens: reported.cacheReadTokens, cacheCreationTokens: reported.cacheCreationTokens };
}

/** A string's length, 0 for anything else: output counting reads wire fields that may be absent or malformed. */
export const textLength = (value: unknown): number => (typeof value === "string" ? value.length : 0);

/** Characters of text, thinking and tool-call arguments (as JSON) in a complete response: what the estimate counts. */
export function responseOutputChars(content: CanonicalResponse["content"]): number {
  let chars = 0;
  for (const block of content) {
    if (block.type === "text") chars += block.text.length;
    else if (block.type === "thinking") chars += block.thinking.length;
    else if (block.type === "tool_use") chars += jsonTextLength(block.input);
  }
  return chars;
}
