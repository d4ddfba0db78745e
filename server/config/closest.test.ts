import { describe, expect, it } from "vitest";
import { closest } from "./closest.js";

const BACKEND_KEYS = ["model", "name", "alias", "context", "vision", "thinking", "max_per_day", "max_per_hour", "max_per_5hours"];

describe("closest", () => {
  it.each([
    // [word, expected] — one edit of each kind, then case, then too far.
    ["contxt", "context"], // deletion
    ["contexts", "context"], // insertion
    ["vizion", "vision"], // substitution
    ["conetxt", "context"], // adjacent swap counts as one edit
    ["thnikign", "thinking"], // two swaps: distance 2
    ["VISION", "vision"], // case is ignored
    ["max_per_days", "max_per_day"],
    ["max_per5hours", "max_per_5hours"],
    ["max_per_hours", "max_per_hour"], // distance 1 beats max_per_5hours at distance 2
    ["model", "model"], // exact match
    ["xyz", undefined], // nothing near
    ["vsn", undefined], // distance 3 > max(2, 1)
    ["", undefined],
  ])("closest(%j) = %j", (word, expected) => {
    expect(closest(word, BACKEND_KEYS)).toBe(expected);
  });

  it("allows len/3 edits for long words", () => {
    // 15 characters: up to 5 edits are accepted, 6 are not.
    expect(closest("abcdefghijklmno", ["abcdefghijVWXYZ"])).toBe("abcdefghijVWXYZ");
    expect(closest("abcdefghijklmno", ["abcdefghiUVWXYZ"])).toBeUndefined();
  });

  it("prefers the earlier candidate on a tie", () => {
    expect(closest("cat", ["bat", "hat"])).toBe("bat");
    expect(closest("cat", ["hat", "bat"])).toBe("hat");
  });

  it("returns undefined without candidates", () => {
    expect(closest("port", [])).toBeUndefined();
  });
});
