import { describe, expect, it } from "vitest";
import type { Usage } from "../canonical.js";
import { usageFromAnthropic } from "./usage.js";

const START: Usage = { inputTokens: 13, outputTokens: 1, cacheReadTokens: 2, cacheCreationTokens: 0 };

describe("usageFromAnthropic", () => {
  it.each<[string, unknown, Usage | undefined, Usage | undefined]>([
    ["absent, no base", undefined, undefined, undefined],
    ["absent over a base keeps the base", undefined, START, START],
    ["a Message's", { input_tokens: 13, output_tokens: 5 }, undefined, { inputTokens: 13, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 }],
    ["message_delta's output over message_start's", { output_tokens: 5 }, START, { ...START, outputTokens: 5 }],
    [
      "thinking tokens",
      { input_tokens: 1, output_tokens: 9, output_tokens_details: { thinking_tokens: 4 } },
      undefined,
      { inputTokens: 1, outputTokens: 9, cacheReadTokens: 0, cacheCreationTokens: 0, reasoningTokens: 4 },
    ],
    ["output_tokens missing with no base", { input_tokens: 13 }, undefined, undefined],
    ["negative", { input_tokens: -5, output_tokens: -3 }, undefined, undefined],
    ["fractional", { input_tokens: 5, output_tokens: 1.5 }, undefined, undefined],
    ["absurd", { input_tokens: 1e15, output_tokens: 9007199254740992 }, undefined, undefined],
    ["a bad counter discredits the merge", { output_tokens: 1e300 }, START, undefined],
    ["a bad cache counter", { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: -2 }, undefined, undefined],
    ["a bad thinking counter", { input_tokens: 1, output_tokens: 1, output_tokens_details: { thinking_tokens: 0.5 } }, undefined, undefined],
    ["of the wrong type", { input_tokens: "many", output_tokens: null }, undefined, undefined],
  ])("%s", (_name, raw, base, expected) => {
    expect(usageFromAnthropic(raw, base)).toEqual(expected);
  });
});
