import type { RequestRecord, Telemetry } from "../route/telemetry.js";
import type { WriteBehind } from "../store/write-behind.js";
import type { NewUsageRow } from "../store/tables/usage-table.js";

/** Longest error text stored in a usage row. */
const MAX_ERROR = 300;

/** A request record as a usage row. */
export function usageRow(record: RequestRecord): NewUsageRow {
  const usage = record.usage;
  return {
    request_id: record.requestId,
    at: record.at + record.latencyMs,
    principal: record.principal ?? null,
    key_id: record.keyId ?? null,
    user_id: record.userId ?? null,
    client_dialect: record.clientDialect,
    model: record.model.slice(0, 256),
    backend: record.backend ?? null,
    provider: record.provider ?? null,
    outcome: record.outcome,
    status: record.status,
    input_tokens: usage?.inputTokens ?? 0,
    output_tokens: usage?.outputTokens ?? 0,
    cache_read_tokens: usage?.cacheReadTokens ?? 0,
    cache_creation_tokens: usage?.cacheCreationTokens ?? 0,
    latency_ms: Math.round(record.latencyMs),
    ttft_ms: record.ttftMs === undefined ? null : Math.round(record.ttftMs),
    attempts: record.attempts,
    stream: record.stream ? 1 : 0,
    error: record.error === undefined ? null : record.error.slice(0, MAX_ERROR),
    usage_estimated: record.usageEstimated ? 1 : 0,
    truncated: record.truncated ? 1 : 0,
  };
}

/**
 * Telemetry that writes exactly one usage row per request, off the hot path: rows are queued in memory and written
 * in batches by the write-behind queue, which the shutdown sequence flushes before the store closes.
 */
export function createUsageRecorder(queue: WriteBehind<NewUsageRow>): Telemetry {
  return {
    attempt() {},
    cooldown() {},
    failover() {},
    request(record) {
      queue.push(usageRow(record));
    },
  };
}
