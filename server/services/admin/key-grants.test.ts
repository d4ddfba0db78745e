import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatch } from "../../lib/glob.js";
import type { KeyGrants } from "./authenticator.js";
import { grantExcess } from "./key-grants.js";

const T0 = 1_795_000_000_000;
const grants = (overrides: Partial<KeyGrants> = {}): KeyGrants => ({
  allowedModels: [],
  requestsPerMinute: 0,
  tokensPerMinute: 0,
  tokensPerDay: 0,
  expiresAt: undefined,
  ...overrides,
});

/** Whether a key with these grants may use `model`. */
const allows = (g: KeyGrants, model: string) => g.allowedModels.length === 0 || g.allowedModels.some((p) => globMatch(p, model));

describe("grantExcess", () => {
  it.each<[string, KeyGrants, KeyGrants, string | undefined]>([
    ["anything under an unrestricted key", grants(), grants({ allowedModels: ["*"], requestsPerMinute: 5 }), undefined],
    ["the same patterns", grants({ allowedModels: ["gpt-*"] }), grants({ allowedModels: ["GPT-*"] }), undefined],
    ["a model name the held glob matches", grants({ allowedModels: ["gpt-*"] }), grants({ allowedModels: ["gpt-4o"] }), undefined],
    ["every model under a restricted key", grants({ allowedModels: ["gpt-*"] }), grants(), "every model requested, but the creating key is limited to some"],
    ["a wider glob", grants({ allowedModels: ["gpt-4*"] }), grants({ allowedModels: ["gpt-*"] }), 'model pattern "gpt-*" is not within the creating key\'s models'],
    ["a narrower glob (not compared: refused)", grants({ allowedModels: ["gpt-*"] }), grants({ allowedModels: ["gpt-4*"] }), 'model pattern "gpt-4*" is not within the creating key\'s models'],
    ["an unrelated name", grants({ allowedModels: ["gpt-*"] }), grants({ allowedModels: ["claude-3"] }), 'model pattern "claude-3" is not within the creating key\'s models'],
    ["no limit under a limit", grants({ requestsPerMinute: 10 }), grants(), "requests per minute must be between 1 and 10"],
    ["a higher limit", grants({ tokensPerMinute: 10 }), grants({ tokensPerMinute: 11 }), "tokens per minute must be between 1 and 10"],
    ["an equal limit", grants({ tokensPerDay: 10 }), grants({ tokensPerDay: 10 }), undefined],
    ["no expiry under an expiry", grants({ expiresAt: T0 }), grants(), "the key must expire no later than the creating key"],
    ["a later expiry", grants({ expiresAt: T0 }), grants({ expiresAt: T0 + 1 }), "the key must expire no later than the creating key"],
    ["an earlier expiry", grants({ expiresAt: T0 }), grants({ expiresAt: T0 - 1 }), undefined],
  ])("%s", (_name, held, requested, expected) => {
    expect(grantExcess(held, requested)).toBe(expected);
  });

  it("property: whatever it accepts grants no model, limit or lifetime the creator lacks", () => {
    const names = ["gpt-4o", "gpt-4", "gpt-3.5", "claude-3", "claude-x", "llama", "m", ""];
    const pattern = fc.constantFrom("gpt-*", "gpt-4*", "claude-?", "*", "?", "llama", "gpt-4o", "claude-3", "m*", "*o");
    const limit = fc.constantFrom(0, 1, 10, 100);
    const keyGrants = fc.record({
      allowedModels: fc.array(pattern, { maxLength: 3 }),
      requestsPerMinute: limit,
      tokensPerMinute: limit,
      tokensPerDay: limit,
      expiresAt: fc.option(fc.constantFrom(T0, T0 + 1, T0 + 2), { nil: undefined }),
    });
    fc.assert(
      fc.property(keyGrants, keyGrants, (held, requested) => {
        if (grantExcess(held, requested) !== undefined) return;
        for (const name of names) if (allows(requested, name)) expect(allows(held, name)).toBe(true);
        for (const field of ["requestsPerMinute", "tokensPerMinute", "tokensPerDay"] as const) {
          if (held[field] > 0) expect(requested[field]).toBeGreaterThan(0);
          if (held[field] > 0) expect(requested[field]).toBeLessThanOrEqual(held[field]);
        }
        if (held.expiresAt !== undefined) expect(requested.expiresAt).toBeLessThanOrEqual(held.expiresAt);
      }),
      { numRuns: 2000 },
    );
  });
});
