import { describe, expect, it } from "vitest";
import { fnv1a32Hex, restoreToolName, shortenToolName } from "./tool-names.js";

describe("tool names", () => {
  it.each([
    ["", "811c9dc5"],
    ["a", "e40c292c"],
    ["foobar", "bf9cf968"],
  ])("FNV-1a 32 of %j is %s (reference vectors)", (text, hex) => {
    expect(fnv1a32Hex(text)).toBe(hex);
  });

  it("keeps names of up to 64 characters", () => {
    expect(shortenToolName("a".repeat(64))).toBe("a".repeat(64));
  });

  it("shortens longer names to a 55-character prefix, '_' and 8 hex digits", () => {
    const long = "mcp__github_enterprise_server__get_pull_request_review_comments_for_repository";
    const short = shortenToolName(long);
    expect(short).toBe("mcp__github_enterprise_server__get_pull_request_review__ca925509");
    expect(short).toHaveLength(64);
    expect(restoreToolName(new Map([[short, long]]), short)).toBe(long);
    expect(restoreToolName(new Map([[short, long]]), "Read")).toBe("Read");
  });
});
