import type { Usage } from "../canonical.js";
import { isObject } from "../../lib/is-object.js";
import { trustedTokenCount } from "../usage-estimate.js";
import type { OpenAIUsage } from "./wire.js";

/** A counter inside a details object (`prompt_tokens_details`…); null when absent or null, as OpenAI may send it. */
function detail(details: unknown, key: string): unknown {
  return isObject(details) ? (details[key] ?? null) : null;
}

/**
 * Reads an upstream `usage` object. OpenAI's `prompt_tokens` includes cached tokens, canonical `inputTokens`
 * does not (AI SDK `convertOpenAIChatUsage`), so the cached count is subtracted. Returns undefined when `usage`
 * is absent or null (OpenAI sends `usage: null` on every chunk but the last when `include_usage` is on), and when
 * it cannot be trusted: `prompt_tokens` or `completion_tokens` missing, or any counter present that is not an
 * integer in [0, MAX_TOKEN_COUNT]. One bad counter discredits the whole report (the counters are derived from one
 * another), and an untrusted report is treated as a missing one: the request's usage is then estimated and
 * flagged, never stored half reported and half made up.
 */
export function openaiUsageToCanonical(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = trustedTokenCount(raw.prompt_tokens);
  const completion = trustedTokenCount(raw.completion_tokens);
  const rawCached = detail(raw.prompt_tokens_details, "cached_tokens");
  const rawReasoning = detail(raw.completion_tokens_details, "reasoning_tokens");
  const cached = rawCached === null ? 0 : trustedTokenCount(rawCached);
  const reasoning = rawReasoning === null ? null : trustedTokenCount(rawReasoning);
  if (prompt === undefined || completion === undefined || cached === undefined || reasoning === undefined) return undefined;
  const cacheRead = Math.min(prompt, cached);
  const usage: Usage = { inputTokens: prompt - cacheRead, outputTokens: completion, cacheReadTokens: cacheRead, cacheCreationTokens: 0 };
  if (reasoning !== null) usage.reasoningTokens = reasoning;
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
