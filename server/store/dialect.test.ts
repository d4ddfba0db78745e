import { describe, expect, it } from "vitest";
import { isPostgresUrl, parseInt8 } from "./dialect.js";
import { StoreError } from "./store-error.js";

describe("parseInt8", () => {
  it.each([
    ["0", 0],
    ["-5", -5],
    ["1795000000000", 1_795_000_000_000],
    ["9007199254740991", Number.MAX_SAFE_INTEGER],
    ["-9007199254740991", Number.MIN_SAFE_INTEGER],
  ])("parses %s", (text, expected) => {
    expect(parseInt8(text)).toBe(expected);
  });

  it.each(["9007199254740992", "-9007199254740992", "9223372036854775807"])("refuses %s, which would lose precision", (text) => {
    expect(() => parseInt8(text)).toThrow(new StoreError(`int8 value ${text} exceeds the safe integer range`));
  });
});

describe("isPostgresUrl", () => {
  it.each([
    ["postgres://u@h/db", true],
    ["postgresql://u:p@h:5432/db", true],
    ["POSTGRES://h/db", false],
    ["mysql://h/db", false],
    ["/var/lib/llmux.sqlite", false],
    ["", false],
  ])("%s → %s", (url, expected) => {
    expect(isPostgresUrl(url)).toBe(expected);
  });
});
