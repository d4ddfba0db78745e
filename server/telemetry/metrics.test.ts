import { describe, expect, it } from "vitest";
import { backendConfig } from "../../test/helpers/backend-config.js";
import type { BackendConfig } from "../config/types.js";
import type { AttemptRecord, RequestRecord } from "../route/telemetry.js";
import { createMetrics, type BackendStateName, type Metrics } from "./metrics.js";

/** A backend named `name` with every optional setting at its default, plus `fields`. */
function backend(name: string, fields: Partial<BackendConfig> = {}): BackendConfig {
  return backendConfig({ name, ...fields });
}

function request(fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: "req_1",
    at: 0,
    keyId: undefined,
    userId: undefined,
    principal: undefined,
    clientDialect: "openai",
    operation: "chat",
    model: "client-model",
    backend: "a",
    provider: "p",
    outcome: "ok",
    status: 200,
    usage: undefined,
    usageEstimated: false,
    truncated: false,
    latencyMs: 100,
    ttftMs: undefined,
    attempts: 1,
    stream: false,
    error: undefined,
    ...fields,
  };
}

function attempt(b: BackendConfig, fields: Partial<AttemptRecord> = {}): AttemptRecord {
  return { backend: b, outcome: "ok", status: 200, latencyMs: 50, retry: 0, ...fields };
}

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** Parses the text exposition strictly: any line that is not a comment, blank or a well-formed sample fails. */
function parse(text: string): ParsedSample[] {
  const samples: ParsedSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let l = LABEL.exec(body); l; l = LABEL.exec(body)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      consumed = LABEL.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`bad labels: ${line}`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples named `name`, as `{...labels, value}`, sorted so creation order does not matter. */
function series(text: string, name: string): Array<Record<string, string | number>> {
  return parse(text)
    .filter((s) => s.name === name)
    .map((s) => ({ ...s.labels, value: s.value }))
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

function sorted(rows: Array<Record<string, string | number>>): Array<Record<string, string | number>> {
  return [...rows].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

const ALL_LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300", "600", "+Inf"];

/** The expected `_bucket` rows of one histogram series given its cumulative counts per bound. */
function buckets(labels: Record<string, string>, cumulative: number[]): Array<Record<string, string | number>> {
  return ALL_LE.map((le, i) => ({ ...labels, le, value: cumulative[i]! }));
}

function metricsFor(backends: BackendConfig[] = [], state: (b: BackendConfig) => BackendStateName = () => "available"): Metrics {
  return createMetrics({ backends: () => backends, windowUsage: () => ({ hour: 0, fiveHours: 0, day: 0 }), state });
}

describe("createMetrics", () => {
  it("renders Prometheus text with the 0.0.4 content type and every llmux family, even before any event", async () => {
    const metrics = metricsFor();
    expect(metrics.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await metrics.render();
    const types = [...text.matchAll(/^# TYPE (llmux_\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(types).toEqual([
      "llmux_requests_total counter",
      "llmux_request_duration_seconds histogram",
      "llmux_time_to_first_token_seconds histogram",
      "llmux_tokens_total counter",
      "llmux_upstream_attempts_total counter",
      "llmux_retries_total counter",
      "llmux_failovers_total counter",
      "llmux_upstream_latency_seconds histogram",
      "llmux_cooldowns_total counter",
      "llmux_backend_window_used gauge",
      "llmux_backend_window_limit gauge",
      "llmux_backend_state gauge",
    ]);
    expect(parse(text).filter((s) => s.name.startsWith("llmux_"))).toEqual([]);
  });

  it("includes the Node.js process metrics of prom-client", async () => {
    const names = new Set(parse(await metricsFor().render()).map((s) => s.name));
    expect(names).toContain("nodejs_eventloop_lag_seconds");
    expect(names).toContain("nodejs_heap_size_used_bytes");
    expect(names).toContain("process_cpu_seconds_total");
  });

  it.each([
    ["openai", "chat", "openai_chat"],
    ["anthropic", "chat", "anthropic_messages"],
    ["anthropic", "count_tokens", "count_tokens"],
    ["openai", "count_tokens", "count_tokens"],
  ] as const)("labels a %s %s request with route %s", async (clientDialect, operation, route) => {
    const metrics = metricsFor();
    metrics.request(request({ clientDialect, operation }));
    expect(series(await metrics.render(), "llmux_requests_total")).toEqual([{ route, backend: "a", status: "200", outcome: "ok", value: 1 }]);
  });

  it("counts requests per route, backend, status and outcome; no backend is \"none\"; the client's model is never a label", async () => {
    const metrics = metricsFor();
    metrics.request(request());
    metrics.request(request());
    metrics.request(request({ backend: "b", status: 502, outcome: "upstream_error" }));
    metrics.request(request({ clientDialect: "anthropic", backend: undefined, status: 404, outcome: "rejected", model: "secret-project-model" }));
    metrics.request(request({ status: 499, outcome: "client_closed" }));
    const text = await metrics.render();
    expect(series(text, "llmux_requests_total")).toEqual(
      sorted([
        { route: "openai_chat", backend: "a", status: "200", outcome: "ok", value: 2 },
        { route: "openai_chat", backend: "b", status: "502", outcome: "upstream_error", value: 1 },
        { route: "anthropic_messages", backend: "none", status: "404", outcome: "rejected", value: 1 },
        { route: "openai_chat", backend: "a", status: "499", outcome: "client_closed", value: 1 },
      ]),
    );
    expect(text).not.toContain("client-model");
    expect(text).not.toContain("secret-project-model");
  });

  it("observes request durations by route and outcome into buckets from 5 ms to 10 min", async () => {
    const metrics = metricsFor();
    metrics.request(request({ latencyMs: 4 }));
    metrics.request(request({ latencyMs: 5 }));
    metrics.request(request({ latencyMs: 300 }));
    metrics.request(request({ latencyMs: 700_000 }));
    metrics.request(request({ latencyMs: 20, outcome: "timeout", status: 504 }));
    const text = await metrics.render();
    const ok = { route: "openai_chat", outcome: "ok" };
    const timeout = { route: "openai_chat", outcome: "timeout" };
    expect(series(text, "llmux_request_duration_seconds_bucket")).toEqual(
      sorted([
        ...buckets(ok, [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4]),
        ...buckets(timeout, [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      ]),
    );
    expect(series(text, "llmux_request_duration_seconds_count")).toEqual(sorted([{ ...ok, value: 4 }, { ...timeout, value: 1 }]));
    expect(series(text, "llmux_request_duration_seconds_sum")).toEqual(sorted([{ ...ok, value: 0.004 + 0.005 + 0.3 + 700 }, { ...timeout, value: 0.02 }]));
  });

  it("observes time to first token for streams only, by route and backend", async () => {
    const metrics = metricsFor();
    metrics.request(request({ stream: true, ttftMs: 250, clientDialect: "anthropic" }));
    metrics.request(request({ stream: false, ttftMs: undefined }));
    const text = await metrics.render();
    expect(series(text, "llmux_time_to_first_token_seconds_count")).toEqual([{ route: "anthropic_messages", backend: "a", value: 1 }]);
    expect(series(text, "llmux_time_to_first_token_seconds_sum")).toEqual([{ route: "anthropic_messages", backend: "a", value: 0.25 }]);
  });

  it("adds tokens by backend and direction, only for a backend that answered", async () => {
    const metrics = metricsFor();
    const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 3, cacheCreationTokens: 2 };
    metrics.request(request({ usage }));
    metrics.request(request({ usage: { ...usage, inputTokens: 1, reasoningTokens: 4 } }));
    metrics.request(request({ backend: undefined, usage }));
    expect(series(await metrics.render(), "llmux_tokens_total")).toEqual(
      sorted([
        { backend: "a", direction: "input", value: 11 },
        { backend: "a", direction: "output", value: 10 },
        { backend: "a", direction: "cache_read", value: 6 },
        { backend: "a", direction: "cache_creation", value: 4 },
      ]),
    );
  });

  it("counts attempts by outcome, retries (retry > 0), failovers (reported moves) and observes upstream latency", async () => {
    const a = backend("a");
    const b = backend("b");
    const metrics = metricsFor();
    metrics.attempt(attempt(a, { outcome: "failed", status: 503, latencyMs: 40, retry: 0 }));
    metrics.failover(a, a);
    metrics.attempt(attempt(a, { outcome: "failed", status: undefined, latencyMs: 10_000, retry: 1 }));
    metrics.failover(a, b);
    metrics.attempt(attempt(b, { outcome: "ok", latencyMs: 80, retry: 2 }));
    metrics.attempt(attempt(b, { outcome: "rejected", status: 400, latencyMs: 30, retry: 0 }));
    const text = await metrics.render();
    expect(series(text, "llmux_upstream_attempts_total")).toEqual(
      sorted([
        { backend: "a", outcome: "ok", value: 0 },
        { backend: "a", outcome: "failed", value: 2 },
        { backend: "a", outcome: "rejected", value: 0 },
        { backend: "b", outcome: "ok", value: 1 },
        { backend: "b", outcome: "failed", value: 0 },
        { backend: "b", outcome: "rejected", value: 1 },
      ]),
    );
    expect(series(text, "llmux_retries_total")).toEqual(sorted([{ backend: "a", value: 1 }, { backend: "b", value: 1 }]));
    expect(series(text, "llmux_failovers_total")).toEqual(sorted([{ from_backend: "a", value: 2 }, { from_backend: "b", value: 0 }]));
    expect(series(text, "llmux_upstream_latency_seconds_count")).toEqual(sorted([{ backend: "a", value: 2 }, { backend: "b", value: 2 }]));
    expect(series(text, "llmux_upstream_latency_seconds_sum")).toEqual(sorted([{ backend: "a", value: 10.04 }, { backend: "b", value: 0.11 }]));
    expect(series(text, "llmux_upstream_latency_seconds_bucket").filter((r) => r.backend === "a")).toEqual(
      sorted(buckets({ backend: "a" }, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2])),
    );
  });

  it("counts cooldowns by backend and reason", async () => {
    const a = backend("a");
    const metrics = metricsFor();
    metrics.cooldown({ backend: a, ms: 30_000, reason: "upstream_overloaded", kind: undefined, upstreamStatus: 503 });
    metrics.cooldown({ backend: a, ms: 60_000, reason: "upstream_overloaded", kind: undefined, upstreamStatus: 529 });
    metrics.cooldown({ backend: a, ms: 3_600_000, reason: "upstream_auth", kind: "account", upstreamStatus: 401 });
    expect(series(await metrics.render(), "llmux_cooldowns_total")).toEqual(
      sorted([
        { backend: "a", reason: "upstream_overloaded", value: 2 },
        { backend: "a", reason: "upstream_auth", value: 1 },
      ]),
    );
  });

  it("shows configured backends' upstream series at zero before their first event", async () => {
    const text = await metricsFor([backend("a")]).render();
    expect(series(text, "llmux_upstream_attempts_total")).toEqual(
      sorted([
        { backend: "a", outcome: "ok", value: 0 },
        { backend: "a", outcome: "failed", value: 0 },
        { backend: "a", outcome: "rejected", value: 0 },
      ]),
    );
    expect(series(text, "llmux_retries_total")).toEqual([{ backend: "a", value: 0 }]);
    expect(series(text, "llmux_upstream_latency_seconds_count")).toEqual([{ backend: "a", value: 0 }]);
    expect(series(text, "llmux_tokens_total").map((r) => r.value)).toEqual([0, 0, 0, 0]);
  });

  it("computes window and state gauges at scrape time from windowUsage and state", async () => {
    const limited = backend("limited", { maxPerHour: 10, maxPerDay: 100 });
    const open = backend("open");
    const usage = new Map([
      ["limited", { hour: 7, fiveHours: 20, day: 40 }],
      ["open", { hour: 1, fiveHours: 2, day: 3 }],
    ]);
    let limitedState: BackendStateName = "rate_limited";
    const metrics = createMetrics({
      backends: () => [limited, open],
      windowUsage: (b) => usage.get(b.name)!,
      state: (b) => (b.name === "limited" ? limitedState : "available"),
    });
    let text = await metrics.render();
    expect(series(text, "llmux_backend_window_used")).toEqual(
      sorted([
        { backend: "limited", window: "hour", value: 7 },
        { backend: "limited", window: "5h", value: 20 },
        { backend: "limited", window: "day", value: 40 },
        { backend: "open", window: "hour", value: 1 },
        { backend: "open", window: "5h", value: 2 },
        { backend: "open", window: "day", value: 3 },
      ]),
    );
    expect(series(text, "llmux_backend_window_limit")).toEqual(
      sorted([
        { backend: "limited", window: "hour", value: 10 },
        { backend: "limited", window: "day", value: 100 },
      ]),
    );
    expect(series(text, "llmux_backend_state").filter((r) => r.backend === "limited")).toEqual(
      sorted([
        { backend: "limited", state: "available", value: 0 },
        { backend: "limited", state: "cooling_down", value: 0 },
        { backend: "limited", state: "rate_limited", value: 1 },
        { backend: "limited", state: "unhealthy", value: 0 },
      ]),
    );

    limitedState = "unhealthy";
    usage.set("limited", { hour: 8, fiveHours: 21, day: 41 });
    text = await metrics.render();
    expect(series(text, "llmux_backend_state").filter((r) => r.value === 1)).toEqual(
      sorted([
        { backend: "limited", state: "unhealthy", value: 1 },
        { backend: "open", state: "available", value: 1 },
      ]),
    );
    expect(series(text, "llmux_backend_window_used").find((r) => r.backend === "limited" && r.window === "hour")).toEqual({ backend: "limited", window: "hour", value: 8 });
  });

  it("escapes backslashes, quotes and line feeds in backend names and cooldown reasons", async () => {
    const odd = backend('we"ird\\na\nme');
    const metrics = metricsFor();
    metrics.attempt(attempt(odd));
    metrics.cooldown({ backend: odd, ms: 1, reason: 'why "not"', kind: undefined, upstreamStatus: undefined });
    const text = await metrics.render();
    expect(series(text, "llmux_retries_total")).toEqual([{ backend: 'we"ird\\na\nme', value: 0 }]);
    expect(series(text, "llmux_cooldowns_total")).toEqual([{ backend: 'we"ird\\na\nme', reason: 'why "not"', value: 1 }]);
  });

  it("ignores NaN, negative and infinite amounts instead of poisoning a series", async () => {
    const a = backend("a");
    const metrics = metricsFor();
    metrics.attempt(attempt(a, { latencyMs: Number.NaN }));
    metrics.attempt(attempt(a, { latencyMs: -5 }));
    metrics.request(request({ latencyMs: Number.POSITIVE_INFINITY, usage: { inputTokens: -3, outputTokens: Number.NaN, cacheReadTokens: 0, cacheCreationTokens: 2 } }));
    const text = await metrics.render();
    expect(series(text, "llmux_upstream_attempts_total").find((r) => r.outcome === "ok")).toEqual({ backend: "a", outcome: "ok", value: 2 });
    expect(series(text, "llmux_upstream_latency_seconds_count")).toEqual([{ backend: "a", value: 0 }]);
    expect(series(text, "llmux_request_duration_seconds_count")).toEqual([{ route: "openai_chat", outcome: "ok", value: 0 }]);
    expect(series(text, "llmux_requests_total")).toEqual([{ route: "openai_chat", backend: "a", status: "200", outcome: "ok", value: 1 }]);
    expect(series(text, "llmux_tokens_total").map((r) => `${r.direction}=${r.value}`)).toEqual(["cache_creation=2", "cache_read=0", "input=0", "output=0"]);
  });

  it("keeps two instances apart: each has its own series and registry", async () => {
    const first = metricsFor();
    const second = metricsFor();
    first.request(request());
    first.request(request());
    second.request(request({ backend: "b" }));
    expect(series(await first.render(), "llmux_requests_total")).toEqual([{ route: "openai_chat", backend: "a", status: "200", outcome: "ok", value: 2 }]);
    expect(series(await second.render(), "llmux_requests_total")).toEqual([{ route: "openai_chat", backend: "b", status: "200", outcome: "ok", value: 1 }]);
  });
});
