import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "./sha256.js";

describe("sha256Hex", () => {
  it("is the lowercase hex SHA-256 of the UTF-8 bytes", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => {
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
    }));
  });
});
