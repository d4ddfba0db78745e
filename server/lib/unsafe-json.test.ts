import fc from "fast-check";
import sjson from "secure-json-parse";
import { describe, expect, it } from "vitest";
import { findUnsafeJson, pathToNonFinite } from "./unsafe-json.js";

/** What secure-json-parse decides for the same text: true when it refuses it. */
function refusedBySecureJsonParse(text: string): boolean {
  try {
    sjson.parse(text, { protoAction: "error", constructorAction: "error" });
    return false;
  } catch {
    return true;
  }
}

describe("findUnsafeJson: prototype keys", () => {
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
    expect(findUnsafeJson(JSON.parse(text)) === "prototype").toBe(expected);
    expect(refusedBySecureJsonParse(text)).toBe(expected);
  });

  it("walks 100,000 levels of nesting without overflowing the stack", () => {
    const deep = `${"[".repeat(100_000)}{"__proto__":1}${"]".repeat(100_000)}`;
    expect(findUnsafeJson(JSON.parse(deep))).toBe("prototype");
    expect(findUnsafeJson(JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`))).toBeUndefined();
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
        expect(findUnsafeJson(JSON.parse(source)) === "prototype").toBe(refusedBySecureJsonParse(source));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("findUnsafeJson: numbers that overflow to Infinity, and pathToNonFinite", () => {
  it.each<[string, string, Array<string | number> | undefined]>([
    ["finite numbers of every kind", '{"a":0,"b":-0.5,"c":1e308,"d":-1.7976931348623157e308,"e":5e-324,"f":[1,2.5e10]}', undefined],
    ["1e309 at the top", '{"model":"m","seed":1e309}', ["seed"]],
    ["-1e309 in an object", '{"metadata":{"user_id":-1e309}}', ["metadata", "user_id"]],
    ["one written with many digits", `{"thinking":{"budget_tokens":${"9".repeat(400)}}}`, ["thinking", "budget_tokens"]],
    ["one in an array", '{"messages":[{"role":"user","content":"x"},{"role":"user","content":[1,1e400]}]}', ["messages", 1, "content", 1]],
    ["one in an array at the top", "[1,[2,1E999]]", [1, 1]],
    ["numbers as strings", '{"seed":"1e309","text":"Infinity"}', undefined],
  ])("%s", (_, text, path) => {
    const value: unknown = JSON.parse(text);
    expect(findUnsafeJson(value)).toBe(path === undefined ? undefined : "non-finite");
    expect(pathToNonFinite(value)).toEqual(path);
  });

  it("leaves a scalar at the top to the validators, which refuse a body that is not an object", () => {
    expect(findUnsafeJson(JSON.parse("1e309"))).toBeUndefined();
  });

  it("finds one under 100,000 levels of nesting without overflowing the stack", () => {
    const value: unknown = JSON.parse(`${"[".repeat(100_000)}1e309${"]".repeat(100_000)}`);
    expect(findUnsafeJson(value)).toBe("non-finite");
    expect(pathToNonFinite(value)).toEqual(Array.from({ length: 100_000 }, () => 0));
  });

  it("agrees with a recursive search on arbitrary JSON", () => {
    const hasNonFinite = (v: unknown): boolean =>
      typeof v === "number" ? !Number.isFinite(v) : typeof v === "object" && v !== null && Object.values(v).some(hasNonFinite);
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.double(), fc.string(), fc.constant(null), tie("array"), tie("object")),
      array: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("value"), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(json.object, (object) => {
        const found = hasNonFinite(object);
        expect(findUnsafeJson(object)).toBe(found ? "non-finite" : undefined);
        const path = pathToNonFinite(object);
        if (found) {
          let at: unknown = object;
          for (const key of path!) at = (at as Record<string | number, unknown>)[key];
          expect(typeof at === "number" && !Number.isFinite(at)).toBe(true);
        } else {
          expect(path).toBeUndefined();
        }
      }),
      { numRuns: 2000 },
    );
  });
});
