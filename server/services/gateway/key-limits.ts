import { llmuxError, Reason, type LlmuxError } from "../../errors/llmux-error.js";
import { globMatch } from "../../lib/glob.js";
import type { RequestRecord, Telemetry } from "../../route/telemetry.js";
import type { Principal } from "../admin/authenticator.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface KeyUsage {
  /** Admission times of the last minute, ascending, from `head` on (kept only for keys with a per-minute limit). */
  requests: number[];
  head: number;
  /** Tokens per minute bucket (epoch minute → tokens), for the last day. */
  tokens: Map<number, number>;
  /** The sum of `tokens`. */
  dayTokens: number;
  /** Buckets below this minute have been dropped from `tokens` and `dayTokens`. */
  keptFrom: number;
}

/**
 * Enforces an API key's grants on the gateway: allowed models (403), requests per minute, tokens per minute and per
 * day (429 with Retry-After). Requests are counted at admission (atomically: one process, one event loop); tokens
 * when each request ends, from its usage record. Counters live in this process: several replicas each enforce the
 * limits on what they serve. Every check is O(1) amortized: a day of per-minute token buckets is summed as it
 * changes, not per request.
 */
export interface KeyLimiter extends Telemetry {
  /** Refuses the request (returns the error) or counts it against the key. */
  admit(principal: Principal | undefined, model: string): LlmuxError | undefined;
}

export function createKeyLimiter(now: () => number): KeyLimiter {
  const usage = new Map<string, KeyUsage>();
  const of = (keyId: string) => {
    let u = usage.get(keyId);
    if (!u) usage.set(keyId, (u = { requests: [], head: 0, tokens: new Map(), dayTokens: 0, keptFrom: 0 }));
    return u;
  };
  /** Drops the buckets older than a day at `at` (a walk over at most a day of buckets, once per minute). */
  const keepLastDay = (u: KeyUsage, at: number) => {
    const first = Math.floor((at - DAY + 1) / MINUTE);
    if (first <= u.keptFrom) return;
    u.keptFrom = first;
    for (const [minute, tokens] of u.tokens) {
      if (minute < first) {
        u.tokens.delete(minute);
        u.dayTokens -= tokens;
      }
    }
  };
  /**
   * The tokens of the minute buckets the rolling minute touches (the current one and the one before), and the ms
   * until the oldest non-empty one leaves it: a bucket counts while any of its minute is less than a minute old.
   */
  const lastMinute = (u: KeyUsage, at: number) => {
    let tokens = 0;
    let leavesInMs = 0;
    for (let minute = Math.floor((at - MINUTE + 1) / MINUTE); minute <= Math.floor(at / MINUTE); minute++) {
      const inBucket = u.tokens.get(minute) ?? 0;
      if (inBucket > 0 && tokens === 0) leavesInMs = (minute + 2) * MINUTE - 1 - at;
      tokens += inBucket;
    }
    return { tokens, leavesInMs };
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
      if (grants.requestsPerMinute > 0) {
        const requests = u.requests;
        while (u.head < requests.length && requests[u.head]! <= at - MINUTE) u.head++;
        if (u.head > 1024 && u.head * 2 > requests.length) {
          requests.splice(0, u.head);
          u.head = 0;
        }
        if (requests.length - u.head >= grants.requestsPerMinute) {
          return limited(`limit of ${grants.requestsPerMinute} requests per minute`, requests[u.head]! + MINUTE - at);
        }
      }
      if (grants.tokensPerMinute > 0) {
        const { tokens, leavesInMs } = lastMinute(u, at);
        if (tokens >= grants.tokensPerMinute) return limited(`limit of ${grants.tokensPerMinute} tokens per minute`, leavesInMs);
      }
      if (grants.tokensPerDay > 0) {
        keepLastDay(u, at);
        if (u.dayTokens >= grants.tokensPerDay) {
          // The oldest bucket stops counting once all of its minute is more than a day old.
          const oldest = Math.min(...u.tokens.keys());
          return limited(`limit of ${grants.tokensPerDay} tokens per day`, Math.max(1000, (oldest + 1) * MINUTE + DAY - 1 - at));
        }
      }
      if (grants.requestsPerMinute > 0) u.requests.push(at);
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
      // Pruned here too, so a key with no daily limit does not collect buckets forever.
      keepLastDay(u, record.at + record.latencyMs);
      if (minute < u.keptFrom) return;
      u.tokens.set(minute, (u.tokens.get(minute) ?? 0) + tokens);
      u.dayTokens += tokens;
    },
  };
}
