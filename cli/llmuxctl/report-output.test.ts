import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { AuditEventSchema, UsageGroupBy, UsageRowSchema } from "../../gen/llmux/admin/v1/resources_pb.js";
import { DiscoveredServerSchema, GetDiscoveryStatsResponseSchema } from "../../gen/llmux/discovery/v1/discovery_service_pb.js";
import { BackendState, BackendStatusSchema, Health } from "../../gen/llmux/route/v1/route_service_pb.js";
import { formatAudit, formatDiscovered, formatDiscoveryStats, formatStatus, formatUsage } from "./report-output.js";

const at = (iso: string) => timestampFromDate(new Date(iso));

describe("formatStatus", () => {
  it("shows state, when a backend is back, health, windows, latency and errors", () => {
    const backends = [
      create(BackendStatusSchema, {
        name: "p:cool",
        state: BackendState.COOLING_DOWN,
        availableAtMs: BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)),
        health: Health.HEALTHY,
        hour: { used: 3, limit: 5 },
        fiveHours: { used: 3, limit: 20 },
        day: { used: 3 },
        latencyP50Ms: 200,
        errorRate: 1 / 3,
        attempts: 3,
      }),
      create(BackendStatusSchema, { name: "q:idle", state: BackendState.AVAILABLE, health: Health.UNKNOWN }),
    ];
    expect(formatStatus(backends)).toBe(
      [
        "BACKEND  STATE         UNTIL                 HEALTH   HOUR  5 HOURS  DAY  P50    ERRORS",
        "p:cool   cooling down  2026-01-02T03:04:05Z  healthy  3/5   3/20     3    200ms  33% of 3",
        "q:idle   available     -                     unknown  -     -        -    -      -",
        "",
      ].join("\n"),
    );
    expect(formatStatus([])).toBe("no backends\n");
  });
});

describe("formatUsage", () => {
  it("names the grouping and adds a total", () => {
    const rows = [
      create(UsageRowSchema, { key: "gpt-4o", requests: 3n, inputTokens: 100n, outputTokens: 50n, errors: 1n, estimated: 1n }),
      create(UsageRowSchema, { key: "claude", requests: 2n, inputTokens: 10n, outputTokens: 5n, errors: 2n, truncated: 2n }),
    ];
    expect(formatUsage(rows, UsageGroupBy.MODEL)).toBe(
      [
        "MODEL   REQUESTS  INPUT TOKENS  OUTPUT TOKENS  ERRORS  ESTIMATED  TRUNCATED",
        "gpt-4o  3         100           50             1       1          0",
        "claude  2         10            5              2       0          2",
        "TOTAL   5         110           55             3       1          2",
        "",
      ].join("\n"),
    );
    expect(formatUsage([], UsageGroupBy.USER)).toBe("no usage in this range\n");
  });
});

describe("formatAudit", () => {
  it("shortens the action to Service/Method and says whether it was allowed", () => {
    const events = [
      create(AuditEventSchema, { time: at("2026-01-02T00:00:00Z"), actor: "usr_a", action: "llmux.admin.v1.AdminService/DeleteUser", target: "usr_b", allowed: true, detail: "deleted bob" }),
      create(AuditEventSchema, { time: at("2026-01-01T00:00:00Z"), actor: "key:key_1", action: "llmux.admin.v1.AdminService/ListUsers", detail: "role user lacks ACCESS_ADMIN" }),
    ];
    expect(formatAudit(events, "")).toBe(
      [
        "TIME                  ACTOR      ACTION                   RESULT   TARGET  DETAIL",
        "2026-01-02T00:00:00Z  usr_a      AdminService/DeleteUser  ok       usr_b   deleted bob",
        "2026-01-01T00:00:00Z  key:key_1  AdminService/ListUsers   refused  -       role user lacks ACCESS_ADMIN",
        "",
      ].join("\n"),
    );
  });
});

describe("discovery", () => {
  it("lists servers, then the models found", () => {
    const servers = [
      create(DiscoveredServerSchema, {
        url: "http://gpu1:8000/v1",
        reachable: true,
        lastPollTime: at("2026-01-01T00:00:00Z"),
        models: [{ id: "Qwen/Qwen3-8B", backend: "vllm-gpu1:Qwen/Qwen3-8B", context: 32768 }],
      }),
      create(DiscoveredServerSchema, { url: "http://gpu2:8000/v1", error: "connection refused" }),
    ];
    expect(formatDiscovered(servers)).toBe(
      [
        "SERVER               REACHABLE  LAST POLL             MODELS  ERROR",
        "http://gpu1:8000/v1  yes        2026-01-01T00:00:00Z  1       -",
        "http://gpu2:8000/v1  no         -                     0       connection refused",
        "",
        "MODEL          BACKEND                  SERVER               CONTEXT",
        "Qwen/Qwen3-8B  vllm-gpu1:Qwen/Qwen3-8B  http://gpu1:8000/v1  32768",
        "",
      ].join("\n"),
    );
  });

  it("summarises the stats", () => {
    const stats = create(GetDiscoveryStatsResponseSchema, { servers: 2, reachableServers: 1, models: 1, intervalSeconds: 30, usingFallback: true });
    expect(formatDiscoveryStats(stats)).toBe(
      ["servers:      2", "reachable:    1", "models:       1", "last refresh: -", "interval:     30s", "fallback:     yes (discovery found nothing; BACKENDS are used)", ""].join("\n"),
    );
  });
});
