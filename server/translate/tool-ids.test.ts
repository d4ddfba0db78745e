import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fromAnthropicToolId, toAnthropicToolId } from "./tool-ids.js";

describe("tool ids", () => {
  it.each([
    ["toolu_01A09q90qw90lq917835lq9", "toolu_01A09q90qw90lq917835lq9"],
    ["call_abc-123", "call_abc-123"],
    ["functions.get_weather:0", "functions_x002e_get_weather_x003a_0"],
    ["a b", "a_x0020_b"],
  ])("%s ⇄ %s", (upstream, anthropic) => {
    expect(toAnthropicToolId(upstream)).toBe(anthropic);
    expect(toAnthropicToolId(upstream)).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(fromAnthropicToolId(anthropic)).toBe(upstream);
  });

  it("round-trips every string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (id) => {
        const safe = toAnthropicToolId(id);
        expect(safe).toMatch(/^[a-zA-Z0-9_-]+$/);
        expect(fromAnthropicToolId(safe)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });
});
