import type { Insertable, Selectable } from "kysely";

/**
 * How a request ended. Every request ends in exactly one of these, and gets exactly one usage row.
 * `rejected` is a request refused before any backend was tried (bad input, no candidate, quota).
 */
export type UsageOutcome =
  | "ok"
  | "upstream_error"
  | "client_closed"
  | "timeout"
  | "rate_limited"
  | "rejected"
  | "shutdown_aborted";

/**
 * The terminal record of one request: who asked, what was used, how it ended. `request_id` is the primary key so
 * a row written twice (a retried batch, a duplicate callback) is stored once. Token counts are the upstream's,
 * or llmux's estimate (flagged by `usage_estimated`) when an answer came without a usage it could trust; 0 when no
 * answer was committed.
 */
export interface UsageTable {
  /** The gateway's id for the request; unique and never empty. */
  request_id: string;
  /** When the request ended, epoch milliseconds. */
  at: number;
  /** The authenticated caller, or null when auth is off. */
  principal: string | null;
  /** The API key that authenticated the request; null for other credentials. */
  key_id: string | null;
  /** The user the credential belongs to (a JWT's user, an API key's owner); null for configuration tokens. */
  user_id: string | null;
  /** The wire dialect the client spoke (`openai`, `anthropic`, …). */
  client_dialect: string;
  /** The model the client asked for, before alias resolution. */
  model: string;
  /** The backend that served (or last failed) the request; null when none was tried. */
  backend: string | null;
  /** The provider kind of that backend; null when none was tried. */
  provider: string | null;
  /** How the request ended. */
  outcome: UsageOutcome;
  /** The HTTP status sent to the client (499 when the client went away). */
  status: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  /** Wall time from receipt to the last byte, in milliseconds. */
  latency_ms: number;
  /** Time to the first streamed token, in milliseconds; null when nothing was streamed. */
  ttft_ms: number | null;
  /** How many upstream attempts were made (0 when none). */
  attempts: number;
  /** 1 for a streaming request, 0 otherwise. */
  stream: 0 | 1;
  /**
   * 1 when the token counts are llmux's estimate (the upstream's usage was missing or untrusted, or a stream broke
   * before its final usage), 0 when they are the upstream's own. Required on insert: the JSON fast path of
   * `insertUsage` turns a missing key into NULL, which the NOT NULL column refuses.
   */
  usage_estimated: 0 | 1;
  /**
   * 1 when the client got a partial answer ended by an error event: the upstream broke, stalled or overran after
   * the answer was committed (the stream had started), or the drain deadline cut it. Required on insert, as above.
   */
  truncated: 0 | 1;
  /** A short error description without secrets; null on success. */
  error: string | null;
}

/** A usage row as read from the database. */
export type UsageRow = Selectable<UsageTable>;

/** A usage row to insert. */
export type NewUsageRow = Insertable<UsageTable>;
