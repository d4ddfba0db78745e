import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./retry-after.js";

const NOW = Date.parse("2026-11-22T10:00:00Z");

describe("parseRetryAfter", () => {
  it.each([
    [{ "retry-after": "20" }, 20_000],
    [{ "retry-after": "0" }, 1_000],
    [{ "retry-after": "1e9" }, undefined],
    [{ "retry-after": "-5" }, undefined],
    [{ "retry-after": "abc" }, undefined],
    [{ "retry-after": "100000" }, 300_000],
    [{ "retry-after": "2.5" }, 2_500],
    [{ "retry-after-ms": "1500", "retry-after": "20" }, 1_500],
    [{ "retry-after-ms": "x", "retry-after": "20" }, 20_000],
    [{ "retry-after": "Sun, 22 Nov 2026 10:00:30 GMT" }, 30_000],
    [{ "retry-after": "Sun, 22 Nov 2026 09:00:00 GMT" }, 1_000],
    [{ "retry-after": ["7", "9"] }, 7_000],
    [{}, undefined],
  ])("%j → %s", (headers, expected) => {
    expect(parseRetryAfter(headers, NOW)).toBe(expected);
  });
});
