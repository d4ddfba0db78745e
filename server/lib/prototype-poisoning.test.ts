import fc from "fast-check";
import sjson from "secure-json-parse";
import { describe, expect, it } from "vitest";
import { hasPrototypePoisoning } from "./prototype-poisoning.js";

/** What secure-json-parse decides for the same text: true when it refuses it. */
function refusedBySecureJsonParse(text: string): boolean {
  try {
    sjson.parse(text, { protoAction: "error", constructorAction: "error" });
    return false;
  } catch {
    return true;
  }
}

describe("hasPrototypePoisoning", () => {
  it.each([
    ["a plain object", '{"model":"m","messages":[{"role":"user","content":"hi"}]}', false],
    ["primitives", '"__proto__"', false],
    ["null", "null", false],
    ["a __proto__ key at the top", '{"__proto__":{"isAdmin":true}}', true],
    ["a __proto__ key deep in an array", '{"a":[1,{"b":[{"__proto__":null}]}]}', true],
    ["a __proto__ key written with escapes", '{"x":{"\\u005f\\u005fproto\\u005f\\u005f":{}}}', true],
    ["constructor with a prototype", '{"a":{"constructor":{"prototype":{"polluted":1}}}}', true],
    ["constructor as a string", '{"constructor":"Foo"}', false],
    ["constructor as an object without prototype", '{"constructor":{"name":"Foo"}}', false],
    ["a prototype key alone", '{"prototype":{"x":1}}', false],
    ["the words inside string values", '{"text":"\\"__proto__\\": {} and constructor.prototype"}', false],
  ])("%s → %s", (_, text, expected) => {
    expect(hasPrototypePoisoning(JSON.parse(text))).toBe(expected);
    expect(refusedBySecureJsonParse(text)).toBe(expected);
  });

  it("walks 100,000 levels of nesting without overflowing the stack", () => {
    const deep = `${"[".repeat(100_000)}{"__proto__":1}${"]".repeat(100_000)}`;
    expect(hasPrototypePoisoning(JSON.parse(deep))).toBe(true);
    expect(hasPrototypePoisoning(JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`))).toBe(false);
  });

  it("decides as secure-json-parse does on arbitrary JSON with suspicious keys", () => {
    const key = fc.constantFrom("__proto__", "constructor", "prototype", "a", "b", "x");
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.integer(), fc.string(), fc.constant(null), tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }),
    }));
    // Objects are written as text so that `__proto__` is a key of the JSON, not a prototype of the generator's object.
    const text = (v: unknown): string =>
      Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string")
        ? `{${v.map(([k, e]) => `${JSON.stringify(k)}:${text(e)}`).join(",")}}`
        : Array.isArray(v)
          ? `[${v.map(text).join(",")}]`
          : JSON.stringify(v);
    fc.assert(
      fc.property(json.object, (object) => {
        const source = text(object);
        expect(hasPrototypePoisoning(JSON.parse(source))).toBe(refusedBySecureJsonParse(source));
      }),
      { numRuns: 2000 },
    );
  });
});
