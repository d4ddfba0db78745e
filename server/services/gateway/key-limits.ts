import { llmuxError, Reason, type LlmuxError } from "../../errors/llmux-error.js";
import { globMatch } from "../../lib/glob.js";
import type { RequestRecord, Telemetry } from "../../route/telemetry.js";
import type { Principal } from "../admin/authenticator.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface KeyUsage {
  /** Admission times of the last minute, ascending. */
  requests: number[];
  /** Tokens per minute bucket (epoch minute → tokens), for the last day. */
  tokens: Map<number, number>;
}

/**
 * Enforces an API key's grants on the gateway: allowed models (403), requests per minute, tokens per minute and per
 * day (429 with Retry-After). Requests are counted at admission (atomically: one process, one event loop); tokens
 * when each request ends, from its usage record. Counters live in this process: several replicas each enforce the
 * limits on what they serve.
 */
export interface KeyLimiter extends Telemetry {
  /** Refuses the request (returns the error) or counts it against the key. */
  admit(principal: Principal | undefined, model: string): LlmuxError | undefined;
}

export function createKeyLimiter(now: () => number): KeyLimiter {
  const usage = new Map<string, KeyUsage>();
  const of = (keyId: string) => {
    let u = usage.get(keyId);
    if (!u) usage.set(keyId, (u = { requests: [], tokens: new Map() }));
    return u;
  };
  const tokensSince = (u: KeyUsage, since: number) => {
    let sum = 0;
    const first = Math.floor(since / MINUTE);
    for (const [minute, tokens] of u.tokens) if (minute >= first) sum += tokens;
    return sum;
  };
  const limited = (what: string, retryAfterMs: number) =>
    llmuxError(Reason.RATE_LIMITED, `this API key has reached its ${what}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });

  return {
    admit(principal, model) {
      const grants = principal?.key;
      if (!principal?.keyId || !grants) return undefined;
      if (grants.allowedModels.length > 0 && !grants.allowedModels.some((pattern) => globMatch(pattern, model))) {
        return llmuxError(Reason.PERMISSION_DENIED, `this API key may not use model '${model}'`, { param: "model" });
      }
      const at = now();
      const u = of(principal.keyId);
      while (u.requests.length > 0 && u.requests[0]! <= at - MINUTE) u.requests.shift();
      if (grants.requestsPerMinute > 0 && u.requests.length >= grants.requestsPerMinute) {
        return limited(`limit of ${grants.requestsPerMinute} requests per minute`, u.requests[0]! + MINUTE - at);
      }
      if (grants.tokensPerMinute > 0 && tokensSince(u, at - MINUTE + 1) >= grants.tokensPerMinute) {
        return limited(`limit of ${grants.tokensPerMinute} tokens per minute`, MINUTE - (at % MINUTE));
      }
      if (grants.tokensPerDay > 0) {
        for (const minute of u.tokens.keys()) if (minute < Math.floor((at - DAY) / MINUTE)) u.tokens.delete(minute);
        if (tokensSince(u, at - DAY + 1) >= grants.tokensPerDay) {
          const oldest = Math.min(...u.tokens.keys()) * MINUTE;
          return limited(`limit of ${grants.tokensPerDay} tokens per day`, Math.max(1000, oldest + DAY - at));
        }
      }
      u.requests.push(at);
      return undefined;
    },
    attempt() {},
    cooldown() {},
    failover() {},
    request(record: RequestRecord) {
      if (!record.keyId || !record.usage) return;
      const tokens = record.usage.inputTokens + record.usage.cacheReadTokens + record.usage.cacheCreationTokens + record.usage.outputTokens;
      if (tokens === 0) return;
      const minute = Math.floor((record.at + record.latencyMs) / MINUTE);
      const u = of(record.keyId);
      u.tokens.set(minute, (u.tokens.get(minute) ?? 0) + tokens);
    },
  };
}
