import { describe, expect, it } from "vitest";
import { hasControlChars } from "./control-chars.js";

describe("hasControlChars", () => {
  it.each([
    ["gpt-4o", false],
    ["Qwen/Qwen3-Coder-480B-A35B-Instruct", false],
    ["模型 é ü ~ \u00a0 (no-break space, past the C1 range)", false],
    ["", false],
    ["a\u0000b", true],
    ["a\r\nb", true],
    ["\u001b[31mred", true],
    ["a\u007fb", true],
    ["a\u0085b", true],
    ["a\u009fb", true],
  ])("%j → %s", (value, expected) => {
    expect(hasControlChars(value)).toBe(expected);
  });
});
