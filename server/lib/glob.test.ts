import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatch } from "./glob.js";

describe("globMatch", () => {
  it.each([
    // literal
    ["gpt-4o", "gpt-4o", true],
    ["gpt-4o", "gpt-4o-mini", false],
    ["gpt-4o-mini", "gpt-4o", false],
    ["", "", true],
    ["", "a", false],
    // `*`
    ["*", "", true],
    ["*", "anything", true],
    ["*opus*", "claude-opus-4", true],
    ["*opus*", "opus", true],
    ["*opus*", "claude-sonnet-4", false],
    ["claude-*", "claude-3-5-haiku", true],
    ["claude-*", "claude", false],
    ["*-mini", "gpt-4o-mini", true],
    ["*-mini", "gpt-4o-mini-2024", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxbyycz", false],
    ["a*b", "abab", true],
    ["a*ab", "aaab", true],
    ["*a*", "bbb", false],
    // runs of `*` collapse
    ["a***b", "ab", true],
    ["***", "", true],
    ["**x**", "yyxyy", true],
    // `?`
    ["?", "", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["gpt-?", "gpt-4", true],
    ["gpt-?", "gpt-4o", false],
    ["gpt-??", "gpt-4o", true],
    ["*?", "", false],
    ["?*", "x", true],
    ["*-?", "o3-mini-x", true],
    // case-insensitive
    ["*opus*", "claude-Opus-4", true],
    ["CLAUDE-*", "claude-haiku", true],
    ["Gpt-4O", "gPT-4o", true],
    ["*ÉCLAIR*", "model-éclair-1", true],
    ["Straße", "STRASSE", false],
    // code points
    ["?", "🙂", true],
    ["??", "🙂", false],
    ["a?c", "a🙂c", true],
    ["*🙂", "x🙂", true],
    ["🙂*", "🙂x", true],
    ["*🙂*", "xyz", false],
    ["?", "é", true],
  ])("globMatch(%j, %j) = %s", (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it.each([".", "+", "(", ")", "[", "]", "{", "}", "^", "$", "|", "\\"])("treats %j as a literal", (meta) => {
    expect(globMatch(`a${meta}b`, `a${meta}b`)).toBe(true);
    expect(globMatch(`a${meta}b`, "axb")).toBe(false);
    expect(globMatch(`*${meta}*`, `xx${meta}yy`)).toBe(true);
    expect(globMatch(`*${meta}*`, "xxyy")).toBe(false);
  });

  it.each([
    ["gpt-4.1", "gpt-4x1", false],
    ["[ab]", "a", false],
    ["[ab]", "[ab]", true],
    ["{a,b}", "a", false],
    ["{a,b}", "{a,b}", true],
    ["a+", "aa", false],
    ["^a$", "^a$", true],
    ["a\\*", "a\\xyz", true],
  ])("regex and brace syntax has no meaning: globMatch(%j, %j) = %s", (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it("finishes on a pathological pattern that backtracks exponentially in a regex engine", () => {
    const pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    expect(globMatch(pattern, "a".repeat(10_000))).toBe(false);
    expect(globMatch(pattern, `${"a".repeat(10_000)}b`)).toBe(true);
  });

  it("agrees with an anchored, escaped regex on small alphabets (property)", () => {
    const reference = (pattern: string, text: string): boolean => {
      const source = Array.from(pattern, (ch) =>
        ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      ).join("");
      return new RegExp(`^${source}$`, "isu").test(text);
    };
    const chars = (alphabet: string[]) => fc.array(fc.constantFrom(...alphabet), { maxLength: 10 }).map((a) => a.join(""));
    fc.assert(
      fc.property(chars(["a", "B", "*", "?", ".", "🙂"]), chars(["A", "b", ".", "🙂"]), (pattern, text) => {
        expect(globMatch(pattern, text)).toBe(reference(pattern, text));
      }),
      { numRuns: 2000 },
    );
  });
});
