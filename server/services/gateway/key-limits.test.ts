import { describe, expect, it } from "vitest";
import { Reason } from "../../errors/llmux-error.js";
import type { RequestRecord } from "../../route/telemetry.js";
import type { KeyGrants, Principal } from "../admin/authenticator.js";
import { createKeyLimiter } from "./key-limits.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A minute boundary, so bucket arithmetic in the expectations stays readable. */
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE);

function principal(grants: Partial<KeyGrants>): Principal {
  return {
    kind: "api_key",
    id: "k1",
    name: "alice",
    role: "user",
    userId: "u1",
    keyId: "k1",
    key: { allowedModels: [], requestsPerMinute: 0, tokensPerMinute: 0, tokensPerDay: 0, expiresAt: undefined, ...grants },
  };
}

function record(at: number, tokens: number): RequestRecord {
  return {
    requestId: `r${at}`,
    at,
    principal: "alice",
    keyId: "k1",
    userId: "u1",
    clientDialect: "openai",
    operation: "chat",
    model: "m",
    backend: "b",
    provider: "p",
    outcome: "ok",
    status: 200,
    usage: { inputTokens: tokens, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 },
    usageEstimated: false,
    truncated: false,
    latencyMs: 0,
    ttftMs: undefined,
    attempts: 1,
    stream: false,
    error: undefined,
  };
}

function setup(grants: Partial<KeyGrants>) {
  let t = T0;
  const limiter = createKeyLimiter(() => t);
  return { limiter, who: principal(grants), at: (ms: number) => (t = ms) };
}

describe("key limits", () => {
  it("admits anyone without an API key and keys without limits", () => {
    const { limiter, who } = setup({});
    expect(limiter.admit(undefined, "m")).toBeUndefined();
    for (let i = 0; i < 1000; i++) expect(limiter.admit(who, "m")).toBeUndefined();
  });

  it("refuses models outside the key's globs with 403 naming the model", () => {
    const { limiter, who } = setup({ allowedModels: ["gpt-*"] });
    expect(limiter.admit(who, "gpt-4o")).toBeUndefined();
    const err = limiter.admit(who, "claude-3");
    expect(err?.reason).toBe(Reason.PERMISSION_DENIED);
    expect(err?.rawMessage).toBe("this API key may not use model 'claude-3'");
  });

  it("counts requests per rolling minute, with Retry-After until the oldest ages out", () => {
    const { limiter, who, at } = setup({ requestsPerMinute: 2 });
    at(T0 + 1_000);
    expect(limiter.admit(who, "m")).toBeUndefined();
    at(T0 + 21_000);
    expect(limiter.admit(who, "m")).toBeUndefined();
    at(T0 + 30_000);
    const err = limiter.admit(who, "m");
    expect(err?.reason).toBe(Reason.RATE_LIMITED);
    expect(err?.retryAfterMs).toBe(31_000);
    expect(err?.rawMessage).toBe("this API key has reached its limit of 2 requests per minute; retry in 31 s");
    at(T0 + 61_000); // the first admission is exactly a minute old: no longer counted
    expect(limiter.admit(who, "m")).toBeUndefined();
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(20_000);
  });

  it("slides over a long run of requests, one in, one out", () => {
    const { limiter, who, at } = setup({ requestsPerMinute: 60_000 });
    let refused = 0;
    // 1,000 requests per second for 5 minutes against a limit of 60,000 per minute: exactly at the limit.
    for (let i = 0; i < 300_000; i++) {
      at(T0 + i);
      if (limiter.admit(who, "m")) refused++;
    }
    expect(refused).toBe(0);
    at(T0 + 299_999); // a second request in the same millisecond is one too many
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(1);
  });

  it("counts tokens per minute from the current and the previous minute bucket", () => {
    const { limiter, who, at } = setup({ tokensPerMinute: 100 });
    limiter.request(record(T0 + 10_000, 60));
    at(T0 + 50_000);
    expect(limiter.admit(who, "m")).toBeUndefined();
    limiter.request(record(T0 + 55_000, 40));
    at(T0 + 59_000);
    // The bucket of minute T0 counts until the rolling minute no longer touches it: T0 + 2 min - 1 ms.
    const err = limiter.admit(who, "m");
    expect(err?.retryAfterMs).toBe(60_999);
    expect(err?.rawMessage).toBe("this API key has reached its limit of 100 tokens per minute; retry in 61 s");
    at(T0 + MINUTE + 30_000);
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(29_999);
    at(T0 + 2 * MINUTE - 2);
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(1);
    at(T0 + 2 * MINUTE - 1);
    expect(limiter.admit(who, "m")).toBeUndefined();
  });

  it("counts tokens per rolling day, with Retry-After until the oldest bucket ages out, and forgets older ones", () => {
    const { limiter, who, at } = setup({ tokensPerDay: 1_000 });
    limiter.request(record(T0, 600));
    limiter.request(record(T0 + 2 * 3_600_000, 400));
    at(T0 + 3 * 3_600_000);
    const err = limiter.admit(who, "m");
    expect(err?.reason).toBe(Reason.RATE_LIMITED);
    expect(err?.retryAfterMs).toBe(DAY + MINUTE - 1 - 3 * 3_600_000);
    at(T0 + DAY + MINUTE - 2);
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(1_000); // at least a second
    at(T0 + DAY + MINUTE - 1); // all of minute T0 is more than a day old: 400 left
    expect(limiter.admit(who, "m")).toBeUndefined();
    limiter.request(record(T0 + DAY + MINUTE, 599));
    expect(limiter.admit(who, "m")).toBeUndefined();
    limiter.request(record(T0 + DAY + MINUTE, 1));
    expect(limiter.admit(who, "m")?.retryAfterMs).toBe(2 * 3_600_000 + MINUTE - 1 - (DAY + MINUTE - 1) + DAY);
  });

  it("ignores records without usage or without an API key", () => {
    const { limiter, who } = setup({ tokensPerMinute: 1 });
    limiter.request({ ...record(T0, 5), usage: undefined });
    limiter.request({ ...record(T0, 5), keyId: undefined });
    expect(limiter.admit(who, "m")).toBeUndefined();
  });
});
