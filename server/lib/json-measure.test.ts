import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exceedsDepth, findTooDeep, jsonTextLength, MAX_JSON_DEPTH } from "./json-measure.js";

function deepArray(depth: number): unknown {
  return JSON.parse("[".repeat(depth) + "]".repeat(depth));
}

describe("jsonTextLength", () => {
  it("equals JSON.stringify(value).length for parsed JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(jsonTextLength(v)).toBe(JSON.stringify(v).length);
      }),
      { numRuns: 1000 },
    );
  });

  it("equals it for keys and strings with escapes, control characters and lone or paired surrogates", () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom("\"", "\\", "\n", "\u0000", "\u001f", "\ud800", "\udc00", "\ud83d\ude00", "é"), fc.string({ unit: "binary", maxLength: 1 })) });
    fc.assert(
      fc.property(fc.dictionary(text, fc.oneof(text, fc.array(text))), (v) => {
        expect(jsonTextLength(v)).toBe(JSON.stringify(v).length);
      }),
      { numRuns: 1000 },
    );
  });

  it("skips undefined object members as JSON.stringify does", () => {
    expect(jsonTextLength({ a: 1, b: undefined, c: "x" })).toBe(JSON.stringify({ a: 1, b: undefined, c: "x" }).length);
  });

  it("measures a 100 000-deep value that JSON.stringify cannot", () => {
    const v = deepArray(100_000);
    expect(() => JSON.stringify(v)).toThrow(RangeError);
    expect(jsonTextLength(v)).toBe(200_000);
  });
});

describe("findTooDeep", () => {
  it.each<[string, unknown, number, Array<string | number> | undefined]>([
    ["a scalar", 5, 0, undefined],
    ["an object at the limit", { a: { b: 1 } }, 2, undefined],
    ["an object past the limit", { a: { b: {} } }, 2, ["a", "b"]],
    ["the first too-deep branch", { ok: [1], bad: [[[]]] }, 2, ["bad", 0]],
    ["the root itself at limit 0", [], 0, []],
  ])("%s", (_name, value, max, path) => {
    expect(findTooDeep(value, max)).toEqual(path);
  });

  it("agrees with a recursive definition on any JSON value and limit", () => {
    const depthOf = (v: unknown): number =>
      typeof v !== "object" || v === null ? 0 : 1 + Math.max(0, ...Object.values(v as object).map(depthOf));
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 6 }), (v, max) => {
        const path = findTooDeep(v, max);
        if (depthOf(v) <= max) {
          expect(path).toBeUndefined();
        } else {
          // The path leads to a container exactly `max` levels down.
          let at: unknown = v;
          for (const key of path!) at = (at as Record<string | number, unknown>)[key];
          expect(path).toHaveLength(max);
          expect(typeof at === "object" && at !== null).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("names the path into a 100 000-deep value", () => {
    expect(findTooDeep(deepArray(100_000), 1024)).toEqual(new Array(1024).fill(0));
    expect(findTooDeep(deepArray(100_000), 3)).toEqual([0, 0, 0]);
  });
});

describe("exceedsDepth", () => {
  it.each<[string, unknown, number, boolean]>([
    ["a scalar at limit 0", "x", 0, false],
    ["an empty object at limit 0", {}, 0, true],
    ["an object at the limit", { a: { b: 1 } }, 2, false],
    ["an object past the limit", { a: { b: {} } }, 2, true],
    ["an array past the limit in a later branch", { ok: [1], bad: [[[]]] }, 2, true],
  ])("%s → %s", (_name, value, max, expected) => {
    expect(exceedsDepth(value, max)).toBe(expected);
  });

  it("agrees with findTooDeep on any JSON value and limit", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 6 }), (v, max) => {
        expect(exceedsDepth(v, max)).toBe(findTooDeep(v, max) !== undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it("draws the line at MAX_JSON_DEPTH levels, on values nested far deeper", () => {
    expect(exceedsDepth(deepArray(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(exceedsDepth(deepArray(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(exceedsDepth(deepArray(100_000), MAX_JSON_DEPTH)).toBe(true);
  });

  it("recurses no deeper than its limit, and refuses a limit above 1,024", () => {
    expect(exceedsDepth(deepArray(1024), 1024)).toBe(false);
    expect(exceedsDepth(deepArray(100_000), 1024)).toBe(true);
    expect(() => exceedsDepth({}, 1025)).toThrow(new RangeError("exceedsDepth: limit 1025 is above 1024"));
  });
});
