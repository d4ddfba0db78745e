import { describe, expect, it } from "vitest";
import { openaiUsageToCanonical } from "./usage.js";

describe("openaiUsageToCanonical", () => {
  it.each<[string, unknown, unknown]>([
    ["absent", undefined, undefined],
    ["null (every chunk but the last)", null, undefined],
    ["plain", { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }, { inputTokens: 11, outputTokens: 7, cacheReadTokens: 0, cacheCreationTokens: 0 }],
    [
      "cached and reasoning details",
      { prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 60 }, completion_tokens_details: { reasoning_tokens: 12 } },
      { inputTokens: 40, outputTokens: 20, cacheReadTokens: 60, cacheCreationTokens: 0, reasoningTokens: 12 },
    ],
    [
      "null details",
      { prompt_tokens: 5, completion_tokens: 2, prompt_tokens_details: null, completion_tokens_details: { reasoning_tokens: null } },
      { inputTokens: 5, outputTokens: 2, cacheReadTokens: 0, cacheCreationTokens: 0 },
    ],
    ["zero is a count", { prompt_tokens: 0, completion_tokens: 0 }, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }],
    ["completion_tokens missing", { prompt_tokens: 5, total_tokens: 5 }, undefined],
    ["negative", { prompt_tokens: -5, completion_tokens: -3, total_tokens: -8 }, undefined],
    ["fractional", { prompt_tokens: 5, completion_tokens: 1.5 }, undefined],
    ["absurd", { prompt_tokens: 1e15, completion_tokens: 9007199254740992 }, undefined],
    ["one counter over the cap", { prompt_tokens: 5, completion_tokens: 100_000_001 }, undefined],
    ["of the wrong type", { prompt_tokens: "many", completion_tokens: null, total_tokens: [] }, undefined],
    ["a bad detail counter", { prompt_tokens: 5, completion_tokens: 2, prompt_tokens_details: { cached_tokens: -1 } }, undefined],
    ["a bad reasoning counter", { prompt_tokens: 5, completion_tokens: 2, completion_tokens_details: { reasoning_tokens: "x" } }, undefined],
  ])("%s", (_name, raw, expected) => {
    expect(openaiUsageToCanonical(raw)).toEqual(expected);
  });
});
