import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { constantTimeEqual } from "./constant-time-equal.js";

describe("constantTimeEqual", () => {
  it.each([
    ["", "", true],
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["abc", "ab", false],
    ["ab", "abc", false],
    ["", "a", false],
  ])("%j vs %j → %s", (a, b, equal) => {
    expect(constantTimeEqual(a, b)).toBe(equal);
  });

  it("agrees with === on any strings", () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
      expect(constantTimeEqual(a, b)).toBe(a === b);
      expect(constantTimeEqual(a, a)).toBe(true);
    }));
  });
});
