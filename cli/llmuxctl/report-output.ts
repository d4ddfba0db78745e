import { UsageGroupBy, type AuditEvent, type UsageRow } from "../../gen/llmux/admin/v1/resources_pb.js";
import type { DiscoveredServer, GetDiscoveryStatsResponse } from "../../gen/llmux/discovery/v1/discovery_service_pb.js";
import { BackendState, Health, type BackendStatus, type RateWindow } from "../../gen/llmux/route/v1/route_service_pb.js";
import { formatFields, formatTime, morePages } from "./admin-output.js";
import { formatTable } from "./table.js";

const STATE_WORDS: Readonly<Record<BackendState, string>> = {
  [BackendState.UNSPECIFIED]: "unspecified",
  [BackendState.AVAILABLE]: "available",
  [BackendState.COOLING_DOWN]: "cooling down",
  [BackendState.RATE_LIMITED]: "rate limited",
  [BackendState.UNHEALTHY]: "unhealthy",
};

const HEALTH_WORDS: Readonly<Record<Health, string>> = {
  [Health.UNSPECIFIED]: "unspecified",
  [Health.UNKNOWN]: "unknown",
  [Health.HEALTHY]: "healthy",
  [Health.UNHEALTHY]: "unhealthy",
};

/** The first column's header for each grouping of usage. */
const GROUP_HEADERS: Readonly<Record<UsageGroupBy, string>> = {
  [UsageGroupBy.UNSPECIFIED]: "BACKEND",
  [UsageGroupBy.BACKEND]: "BACKEND",
  [UsageGroupBy.MODEL]: "MODEL",
  [UsageGroupBy.KEY]: "KEY",
  [UsageGroupBy.USER]: "USER",
};

/** A rate window as `used/limit`, or just `used` when the backend has no limit for it. */
function window(w: RateWindow | undefined): string {
  if (w === undefined) return "-";
  return w.limit === 0 ? String(w.used) : `${w.used}/${w.limit}`;
}

/** Unix milliseconds as ISO 8601, or "-" for 0. */
function msTime(ms: bigint): string {
  return ms === 0n ? "-" : new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * GetBackendStatus for a person: one row per backend in configuration order, whether routing may use it now (and
 * until when not), its last health check, its rate windows and its recent latency and error rate.
 */
export function formatStatus(backends: readonly BackendStatus[]): string {
  if (backends.length === 0) return "no backends\n";
  const rows = backends.map((b) => [
    b.name,
    STATE_WORDS[b.state] ?? `state ${b.state}`,
    msTime(b.availableAtMs),
    HEALTH_WORDS[b.health] ?? `health ${b.health}`,
    window(b.hour),
    window(b.fiveHours),
    window(b.day),
    b.attempts === 0 ? "-" : `${b.latencyP50Ms}ms`,
    b.attempts === 0 ? "-" : `${(b.errorRate * 100).toFixed(0)}% of ${b.attempts}`,
  ]);
  return `${formatTable(["BACKEND", "STATE", "UNTIL", "HEALTH", "HOUR", "5 HOURS", "DAY", "P50", "ERRORS"], rows)}\n`;
}

/** Usage rows under a header naming the grouping, then a total. */
export function formatUsage(rows: readonly UsageRow[], groupBy: UsageGroupBy): string {
  if (rows.length === 0) return "no usage in this range\n";
  const total = rows.reduce(
    (sum, r) => ({
      requests: sum.requests + r.requests,
      input: sum.input + r.inputTokens,
      output: sum.output + r.outputTokens,
      errors: sum.errors + r.errors,
      estimated: sum.estimated + r.estimated,
      truncated: sum.truncated + r.truncated,
    }),
    { requests: 0n, input: 0n, output: 0n, errors: 0n, estimated: 0n, truncated: 0n },
  );
  const cells = rows.map((r) => [r.key || "-", String(r.requests), String(r.inputTokens), String(r.outputTokens), String(r.errors), String(r.estimated), String(r.truncated)]);
  cells.push(["TOTAL", String(total.requests), String(total.input), String(total.output), String(total.errors), String(total.estimated), String(total.truncated)]);
  // ESTIMATED: requests whose tokens are llmux's estimate because the upstream reported none it could trust.
  // TRUNCATED: streams that broke off after they had started; the client got part of an answer and an error.
  return `${formatTable([GROUP_HEADERS[groupBy] ?? "GROUP", "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS", "ERRORS", "ESTIMATED", "TRUNCATED"], cells)}\n`;
}

/** Audit events, newest first, with a hint for the next page. */
export function formatAudit(events: readonly AuditEvent[], nextPageToken: string): string {
  if (events.length === 0) return "no audit events\n";
  const rows = events.map((e) => [formatTime(e.time), e.actor || "-", e.action.replace(/^llmux\.[a-z]+\.v1\./, ""), e.allowed ? "ok" : "refused", e.target || "-", e.detail]);
  return `${formatTable(["TIME", "ACTOR", "ACTION", "RESULT", "TARGET", "DETAIL"], rows)}\n${morePages("audit", nextPageToken)}`;
}

/** Discovered servers, then their models: two tables, because a server may have found none. */
export function formatDiscovered(servers: readonly DiscoveredServer[]): string {
  if (servers.length === 0) return "no discovery servers configured (VLLM_SERVERS or [[discovery]])\n";
  const serverRows = servers.map((s) => [s.url, s.reachable ? "yes" : "no", formatTime(s.lastPollTime), String(s.models.length), s.error || "-"]);
  let out = `${formatTable(["SERVER", "REACHABLE", "LAST POLL", "MODELS", "ERROR"], serverRows)}\n`;
  const models = servers.flatMap((s) => s.models.map((m) => [m.id, m.backend, s.url, m.context === 0 ? "-" : String(m.context)]));
  if (models.length > 0) out += `\n${formatTable(["MODEL", "BACKEND", "SERVER", "CONTEXT"], models)}\n`;
  return out;
}

/** GetDiscoveryStats, field by field. */
export function formatDiscoveryStats(stats: GetDiscoveryStatsResponse): string {
  return formatFields([
    ["servers", String(stats.servers)],
    ["reachable", String(stats.reachableServers)],
    ["models", String(stats.models)],
    ["last refresh", formatTime(stats.lastRefreshTime)],
    ["interval", `${stats.intervalSeconds}s`],
    ["fallback", stats.usingFallback ? "yes (discovery found nothing; BACKENDS are used)" : "no"],
  ]);
}
