import type { BackendConfig } from "../config/types.js";
import type { Usage } from "../translate/canonical.js";
import type { FailureKind } from "./backend-state.js";

/** How one facade request ended. Every request gets exactly one. */
export type RequestOutcome =
  | "ok"
  | "upstream_error"
  | "client_closed"
  | "timeout"
  | "rate_limited"
  | "rejected"
  | "shutdown_aborted";

/** The one record written per facade request, whatever its outcome (usage row, metrics, logs). */
export interface RequestRecord {
  requestId: string;
  /** Unix ms when the request arrived. */
  at: number;
  /** The client token's or user's name; undefined on an open gateway. */
  principal: string | undefined;
  /** The API key used, if any. */
  keyId: string | undefined;
  /** The user the credential belongs to, if any. */
  userId: string | undefined;
  /** `/v1/chat/completions` → "openai", `/v1/messages` → "anthropic". */
  clientDialect: "openai" | "anthropic";
  /** What the client called: "chat" or "count_tokens". */
  operation: "chat" | "count_tokens";
  /** The model the client asked for. */
  model: string;
  /** The backend that answered (or last failed). */
  backend: string | undefined;
  provider: string | undefined;
  outcome: RequestOutcome;
  /** HTTP status sent to the client. */
  status: number;
  /** The upstream's usage, or llmux's estimate when `usageEstimated`; undefined when no answer was committed. */
  usage: Usage | undefined;
  /** True when the upstream's usage was missing or untrusted and `usage` is llmux's estimate (reliability F24). */
  usageEstimated: boolean;
  /** True when a committed stream ended in an error event, not its own end: the client got a partial answer. */
  truncated: boolean;
  latencyMs: number;
  /** Time to the first byte sent to the client, for streams. */
  ttftMs: number | undefined;
  attempts: number;
  stream: boolean;
  /** Short, secret-free description of the failure, if any. */
  error: string | undefined;
}

/** One upstream attempt, as the dispatcher saw it. */
export interface AttemptRecord {
  backend: BackendConfig;
  /** ok: answered; failed: failed over; rejected: client error returned as is. */
  outcome: "ok" | "failed" | "rejected";
  /** Upstream HTTP status, when one arrived. */
  status: number | undefined;
  /** Milliseconds from sending to the first valid byte (ok) or to the failure. */
  latencyMs: number;
  /** 0 for the first attempt of a request, 1 for the first retry… */
  retry: number;
}

/** A backend taken out of rotation: reported once, when its cooldown starts, not for failures landing during it. */
export interface CooldownRecord {
  backend: BackendConfig;
  /** How long the backend is out, in ms. */
  ms: number;
  /** The failure's reason in lower case (`upstream_auth`, `rate_limited`…): a fixed set, used as a metric label. */
  reason: string;
  /** `account` (llmux's key or quota refused) or `config`; undefined for a fault of the upstream itself. */
  kind: FailureKind | undefined;
  /** Upstream HTTP status, when one arrived (an in-band stream error has none). */
  upstreamStatus: number | undefined;
}

/**
 * Where routing and the facade report what happened. Implementations (Prometheus metrics, usage rows, the account
 * cooldown log) must be cheap and synchronous: they are called on the hot path and must never throw or await.
 */
export interface Telemetry {
  attempt(record: AttemptRecord): void;
  /** A backend was taken out of rotation. */
  cooldown(record: CooldownRecord): void;
  /** A request that failed on `from` moves on to `to`. */
  failover(from: BackendConfig, to: BackendConfig): void;
  /** A request ended (exactly once per request). */
  request(record: RequestRecord): void;
}

/** Telemetry that records nothing. */
export const NO_TELEMETRY: Telemetry = { attempt() {}, cooldown() {}, failover() {}, request() {} };

/** Sends every report to each of `sinks`. */
export function fanOut(sinks: readonly Telemetry[]): Telemetry {
  return {
    attempt: (record) => sinks.forEach((s) => s.attempt(record)),
    cooldown: (record) => sinks.forEach((s) => s.cooldown(record)),
    failover: (from, to) => sinks.forEach((s) => s.failover(from, to)),
    request: (record) => sinks.forEach((s) => s.request(record)),
  };
}
