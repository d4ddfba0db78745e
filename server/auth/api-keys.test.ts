import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, looksLikeApiKey } from "./api-keys.js";

describe("API keys", () => {
  it("are llmux_ plus 256 random bits in base64url, stored as SHA-256, shown by prefix and last four", () => {
    const key = generateApiKey();
    expect(key.secret).toMatch(/^llmux_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.secret.slice(6), "base64url")).toHaveLength(32);
    expect(key.hash).toBe(createHash("sha256").update(key.secret).digest("hex"));
    expect(key.hash).toBe(hashApiKey(key.secret));
    expect(key.prefix).toBe(key.secret.slice(0, 10));
    expect(key.lastFour).toBe(key.secret.slice(-4));
    expect(looksLikeApiKey(key.secret)).toBe(true);
  });

  it("never repeats", () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => generateApiKey().secret));
    expect(secrets.size).toBe(1000);
  });

  it.each([
    ["the prefix alone", "llmux_"],
    ["one character short", `llmux_${"A".repeat(42)}`],
    ["one character long", `llmux_${"A".repeat(44)}`],
    ["another prefix", `sk-xx_${"A".repeat(43)}`],
    ["non-ASCII", `llmux_${"é".repeat(43)}`],
    ["SQL", `llmux_' OR 1=1--${"A".repeat(30)}`],
    ["a NUL byte", `llmux_${"A".repeat(42)}\u0000`],
  ])("recognises %s as not a key", (_name, text) => {
    expect(looksLikeApiKey(text)).toBe(false);
  });
});
