import { isObject } from "../../lib/is-object.js";
import type { StopReason, Usage } from "../canonical.js";
import { trustedTokenCount } from "../usage-estimate.js";

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

/** A counter of `usage`: its value from `base` when absent or null, undefined when present but not trusted. */
function counter(usage: Record<string, unknown>, key: string, base: number | undefined): number | undefined {
  const value = usage[key];
  return value === undefined || value === null ? base : trustedTokenCount(value);
}

/**
 * Anthropic usage (a Message's, or `message_delta`'s merged over a previous value) → canonical usage. Anthropic's
 * `input_tokens` already excludes cached tokens, which is the canonical meaning. Counters absent or null in
 * `usage` keep their value from `base` (cache counters default to 0); `output_tokens_details.thinking_tokens`
 * becomes `reasoningTokens`. `usage` not an object leaves `base` as it was. Undefined, the usage is not trusted,
 * when `input_tokens` or `output_tokens` is known from neither, or any counter present is not an integer in
 * [0, MAX_TOKEN_COUNT]: as for OpenAI, one bad counter discredits the report, which then counts as missing.
 */
export function usageFromAnthropic(usage: unknown, base: Readonly<Usage> | undefined): Usage | undefined {
  if (!isObject(usage)) return base && { ...base };
  const input = counter(usage, "input_tokens", base?.inputTokens);
  const output = counter(usage, "output_tokens", base?.outputTokens);
  const cacheRead = counter(usage, "cache_read_input_tokens", base?.cacheReadTokens ?? 0);
  const cacheCreation = counter(usage, "cache_creation_input_tokens", base?.cacheCreationTokens ?? 0);
  const details = usage["output_tokens_details"];
  const reasoning = isObject(details) ? counter(details, "thinking_tokens", base?.reasoningTokens) : base?.reasoningTokens;
  if (input === undefined || output === undefined || cacheRead === undefined || cacheCreation === undefined) return undefined;
  if (isObject(details) && details["thinking_tokens"] != null && reasoning === undefined) return undefined;
  const out: Usage = { inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheCreationTokens: cacheCreation };
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

/**
 * The usage an Anthropic stream reports as it goes: message_start's counts, then each message_delta's merged over
 * them. Final only once a message_delta carried usage, since message_start's output count is a placeholder; kept
 * when the stream breaks after that.
 */
export class AnthropicStreamUsage {
  #usage: Usage | undefined;
  #final = false;

  /** message_start's `message.usage`. */
  start(raw: unknown): void {
    this.#usage = usageFromAnthropic(raw, undefined);
  }

  /** A message_delta's `usage`. */
  delta(raw: unknown): void {
    if (isObject(raw)) this.#final = true;
    this.#usage = usageFromAnthropic(raw, this.#usage);
  }

  /** The counts so far; undefined while none was trusted. */
  current(): Usage | undefined {
    return this.#usage;
  }

  /** The final counts once a message_delta reported them and they are trusted, else undefined. */
  final(): Usage | undefined {
    return this.#final ? this.#usage : undefined;
  }
}
