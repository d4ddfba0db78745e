import type { Telemetry } from "../route/telemetry.js";

/** The logger method the sink writes with (a pino logger's `warn`). */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Telemetry that warns operators when a backend is taken out because the upstream refused llmux's own provider
 * account (a revoked or wrong key, 401/403; an exhausted quota or balance). Retrying cannot fix that, the backend
 * stays out for an hour, and only an operator can bring it back: one line per cooldown, when it starts (failures
 * landing during it are not reported). It names the backend, the reason, the cooldown and the upstream status;
 * never the upstream's body, which may quote the account or the key.
 */
export function createAccountCooldownLog(logger: WarnLogger): Telemetry {
  return {
    attempt() {},
    failover() {},
    request() {},
    cooldown({ backend, ms, reason, kind, upstreamStatus }) {
      if (kind !== "account") return;
      logger.warn(
        { backend: backend.name, provider: backend.provider, reason, cooldownMs: ms, upstreamStatus },
        "backend taken out of rotation: the upstream refused llmux's provider account",
      );
    },
  };
}
