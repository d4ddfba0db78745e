import { describe, expect, it } from "vitest";
import { estimateUsage, MAX_TOKEN_COUNT, responseOutputChars, trustedTokenCount } from "./usage-estimate.js";

describe("trustedTokenCount", () => {
  it.each<[unknown, number | undefined]>([
    [0, 0],
    [7, 7],
    [MAX_TOKEN_COUNT, MAX_TOKEN_COUNT],
    [MAX_TOKEN_COUNT + 1, undefined],
    [1e15, undefined],
    [9007199254740992, undefined],
    [-1, undefined],
    [1.5, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ["12", undefined],
    [null, undefined],
    [undefined, undefined],
  ])("%s → %s", (value, expected) => {
    expect(trustedTokenCount(value)).toBe(expected);
  });
});

describe("estimateUsage", () => {
  it("takes the prompt estimate as input and one token per 4 characters of output, rounded up", () => {
    expect(estimateUsage(12, 17)).toEqual({ inputTokens: 12, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 });
    expect(estimateUsage(3, 0)).toEqual({ inputTokens: 3, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });
  });

  it("keeps the prompt as the upstream counted it before answering, cache counters included, over the estimate", () => {
    const reported = { inputTokens: 40, outputTokens: 1, cacheReadTokens: 900, cacheCreationTokens: 30 };
    expect(estimateUsage(12, 17, reported)).toEqual({ inputTokens: 40, outputTokens: 5, cacheReadTokens: 900, cacheCreationTokens: 30 });
  });
});

describe("responseOutputChars", () => {
  it("counts text, thinking and tool input as JSON; redacted thinking is not output the client can read", () => {
    expect(
      responseOutputChars([
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "redacted_thinking", data: "xxxxxxxx" },
        { type: "text", text: "four little words" },
        { type: "tool_use", id: "t1", name: "f", input: { a: 1 } },
      ]),
    ).toBe(3 + 17 + '{"a":1}'.length);
  });
});
