import type { Usage } from "../canonical.js";
import type { OpenAIUsage } from "./wire.js";

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * Reads an upstream `usage` object. OpenAI's `prompt_tokens` includes cached tokens, canonical `inputTokens`
 * does not (AI SDK `convertOpenAIChatUsage`), so the cached count is subtracted. Returns undefined when `usage`
 * is absent or null (OpenAI sends `usage: null` on every chunk but the last when `include_usage` is on).
 * Missing or malformed counters read as 0: usage feeds accounting, and one odd server must not fail a request.
 */
export function openaiUsageToCanonical(raw: unknown): Usage | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const prompt = count(field(raw, "prompt_tokens"));
  const cached = Math.min(prompt, count(field(field(raw, "prompt_tokens_details"), "cached_tokens")));
  const usage: Usage = {
    inputTokens: prompt - cached,
    outputTokens: count(field(raw, "completion_tokens")),
    cacheReadTokens: cached,
    cacheCreationTokens: 0,
  };
  const reasoning = field(field(raw, "completion_tokens_details"), "reasoning_tokens");
  if (typeof reasoning === "number") usage.reasoningTokens = count(reasoning);
  return usage;
}

/**
 * Canonical usage as OpenAI reports it: `prompt_tokens` counts every input token, cached or written to a cache;
 * both detail objects are always present, as OpenAI sends them.
 */
export function canonicalUsageToOpenai(usage: Usage): OpenAIUsage {
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheCreationTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}
