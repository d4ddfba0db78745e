import { collectDefaultMetrics, Registry } from "prom-client";
import type { BackendConfig } from "../config/types.js";
import type { WindowUsage } from "../route/backend-state.js";
import type { AttemptRecord, RequestOutcome, RequestRecord, Telemetry } from "../route/telemetry.js";

/** A backend's state as `/healthz` reports it; exported as the `llmux_backend_state` gauge. */
export type BackendStateName = "available" | "cooling_down" | "rate_limited" | "unhealthy";

/** What the scrape-time gauges read. Called only when Prometheus scrapes, never on the request path. */
export interface MetricsDeps {
  /** The configured backends (read at every scrape, so a reloaded configuration shows up). */
  backends: () => readonly BackendConfig[];
  /** Requests admitted in each rolling window of a backend. */
  windowUsage: (backend: BackendConfig) => WindowUsage;
  state: (backend: BackendConfig) => BackendStateName;
}

/**
 * Telemetry that Prometheus can scrape. The `Telemetry` methods only add numbers to series allocated once (no
 * allocation, no string building, no prom-client call per request): prom-client's own `inc()`/`observe()` hash
 * their labels into a string on every call, ~300 ns each, which a gateway serving ~20k req/s cannot afford
 * ten times per request. The text is produced at scrape time.
 */
export interface Metrics extends Telemetry {
  /** The Prometheus text exposition: llmux series, then the Node.js process metrics of prom-client. */
  render(): Promise<string>;
  /** `text/plain; version=0.0.4; charset=utf-8`, the content type of `render()`'s output. */
  readonly contentType: string;
}

/** Histogram bounds in seconds, 5 ms to 10 min: an LLM answer can take minutes, a cache hit milliseconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
const LE = [...BUCKETS.map((b) => `le="${b}"`), `le="+Inf"`];

/** The `route` label: which client API was called. Indexed by `routeOf()`. */
const ROUTES = ["openai_chat", "anthropic_messages", "count_tokens"] as const;
const OUTCOMES: readonly RequestOutcome[] = ["ok", "upstream_error", "client_closed", "timeout", "rate_limited", "rejected", "shutdown_aborted"];
/** Index of each outcome in OUTCOMES; a Record so a new RequestOutcome fails to compile until it is listed. */
const OUTCOME_INDEX: Record<RequestOutcome, number> = {
  ok: 0,
  upstream_error: 1,
  client_closed: 2,
  timeout: 3,
  rate_limited: 4,
  rejected: 5,
  shutdown_aborted: 6,
};
const STATES: readonly BackendStateName[] = ["available", "cooling_down", "rate_limited", "unhealthy"];
/** The backend label of requests that no backend answered (no candidate, rejected before routing). */
const NO_BACKEND = "none";

/** One counter or gauge series: its label pairs, rendered once (`a="x",b="y"`), and its value. */
interface Sample {
  readonly labels: string;
  value: number;
}

/** One histogram series: observations per bucket (not cumulative; the last slot is above the largest bound). */
interface HistogramSeries {
  readonly labels: string;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Series that exist only for a backend that was attempted (or is configured): never for "none". */
interface UpstreamSeries {
  readonly attempts: Record<AttemptRecord["outcome"], Sample>;
  readonly retries: Sample;
  readonly failovers: Sample;
  readonly latency: HistogramSeries;
  readonly tokens: { input: Sample; output: Sample; cacheRead: Sample; cacheCreation: Sample };
  /** By cooldown reason (a fixed set of strings in the dispatcher). */
  readonly cooldowns: Map<string, Sample>;
}

/** Every series labelled with one backend name. */
interface BackendSeries {
  /** The name, escaped for a label value. */
  readonly label: string;
  /** Requests by route, status and outcome, keyed by `requestKey()`. */
  readonly requests: Map<number, Sample>;
  /** Time to first token by route index. */
  readonly ttft: Array<HistogramSeries | undefined>;
  upstream: UpstreamSeries | undefined;
}

/** Escapes a label value as the text format requires (backslash, double quote, line feed). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function routeOf(record: RequestRecord): number {
  if (record.operation === "count_tokens") return 2;
  return record.clientDialect === "openai" ? 0 : 1;
}

/** A number unique per (route, status, outcome), so the lookup builds no string. */
function requestKey(route: number, status: number, outcome: number): number {
  return (status * OUTCOMES.length + outcome) * ROUTES.length + route;
}

/** Adds `n` to a counter; ignores NaN, negative and infinite amounts so one bad record cannot poison a series. */
function add(sample: Sample, n: number): void {
  if (n > 0 && n !== Infinity) sample.value += n;
}

function observe(series: HistogramSeries, seconds: number): void {
  if (!(seconds >= 0) || seconds === Infinity) return;
  let i = 0;
  while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
  series.counts[i]! += 1;
  series.sum += seconds;
  series.count += 1;
}

function header(out: string[], name: string, type: "counter" | "gauge" | "histogram", help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function writeSamples(out: string[], name: string, samples: readonly Sample[]): void {
  for (const s of samples) out.push(`${name}{${s.labels}} ${s.value}`);
}

function writeHistogram(out: string[], name: string, series: readonly HistogramSeries[]): void {
  for (const h of series) {
    let cumulative = 0;
    for (let i = 0; i < LE.length; i++) {
      cumulative += h.counts[i]!;
      out.push(`${name}_bucket{${h.labels},${LE[i]}} ${cumulative}`);
    }
    out.push(`${name}_sum{${h.labels}} ${h.sum}`, `${name}_count{${h.labels}} ${h.count}`);
  }
}

/**
 * Creates the Prometheus metrics of one gateway. Each instance owns a private prom-client `Registry` (several apps
 * run in one test process, and the global registry would mix them) with the default Node.js process metrics
 * (event loop lag, memory, GC, handles). Labels carry only configured backend names and fixed sets (routes,
 * statuses, outcomes): never a client-supplied model name, which is unbounded.
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  // Event-loop delay sampled by a 10 ms timer (prom-client's default, stated because bench/ reads the delay as the
  // histogram's p99 less this interval, which Node records in every sample).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  // Every series of a family, in creation order: render() walks these, the request path never does.
  const requests: Sample[] = [];
  const durations: HistogramSeries[] = [];
  const ttfts: HistogramSeries[] = [];
  const tokens: Sample[] = [];
  const attempts: Sample[] = [];
  const retries: Sample[] = [];
  const failovers: Sample[] = [];
  const latencies: HistogramSeries[] = [];
  const cooldowns: Sample[] = [];

  const newSample = (family: Sample[], labels: string): Sample => {
    const s = { labels, value: 0 };
    family.push(s);
    return s;
  };
  const newHistogram = (family: HistogramSeries[], labels: string): HistogramSeries => {
    const h = { labels, counts: new Float64Array(LE.length), sum: 0, count: 0 };
    family.push(h);
    return h;
  };

  const byBackend = new Map<string, BackendSeries>();
  const backendNamed = (name: string): BackendSeries => {
    let b = byBackend.get(name);
    if (!b) {
      b = { label: escapeLabel(name), requests: new Map(), ttft: [], upstream: undefined };
      byBackend.set(name, b);
    }
    return b;
  };
  const upstreamOf = (b: BackendSeries): UpstreamSeries => {
    if (b.upstream) return b.upstream;
    const l = `backend="${b.label}"`;
    b.upstream = {
      attempts: {
        ok: newSample(attempts, `${l},outcome="ok"`),
        failed: newSample(attempts, `${l},outcome="failed"`),
        rejected: newSample(attempts, `${l},outcome="rejected"`),
      },
      retries: newSample(retries, l),
      failovers: newSample(failovers, `from_backend="${b.label}"`),
      latency: newHistogram(latencies, l),
      tokens: {
        input: newSample(tokens, `${l},direction="input"`),
        output: newSample(tokens, `${l},direction="output"`),
        cacheRead: newSample(tokens, `${l},direction="cache_read"`),
        cacheCreation: newSample(tokens, `${l},direction="cache_creation"`),
      },
      cooldowns: new Map(),
    };
    return b.upstream;
  };
  // Request durations by route × outcome: a fixed grid, filled on first use.
  const durationGrid: Array<HistogramSeries | undefined> = [];

  function renderGauges(out: string[]): void {
    const backends = deps.backends();
    const used: string[] = [];
    const limits: string[] = [];
    const states: string[] = [];
    for (const backend of backends) {
      const l = `backend="${escapeLabel(backend.name)}"`;
      const usage = deps.windowUsage(backend);
      used.push(
        `llmux_backend_window_used{${l},window="hour"} ${usage.hour}`,
        `llmux_backend_window_used{${l},window="5h"} ${usage.fiveHours}`,
        `llmux_backend_window_used{${l},window="day"} ${usage.day}`,
      );
      if (backend.maxPerHour !== undefined) limits.push(`llmux_backend_window_limit{${l},window="hour"} ${backend.maxPerHour}`);
      if (backend.maxPer5Hours !== undefined) limits.push(`llmux_backend_window_limit{${l},window="5h"} ${backend.maxPer5Hours}`);
      if (backend.maxPerDay !== undefined) limits.push(`llmux_backend_window_limit{${l},window="day"} ${backend.maxPerDay}`);
      const current = deps.state(backend);
      for (const state of STATES) states.push(`llmux_backend_state{${l},state="${state}"} ${state === current ? 1 : 0}`);
    }
    header(out, "llmux_backend_window_used", "gauge", "Requests admitted to the backend in the rolling window.");
    out.push(...used);
    header(out, "llmux_backend_window_limit", "gauge", "Configured request limit of the rolling window (only windows with a limit).");
    out.push(...limits);
    header(out, "llmux_backend_state", "gauge", "1 for the backend's current state, 0 for the others.");
    out.push(...states);
  }

  return {
    contentType: registry.contentType,

    request(record) {
      const route = routeOf(record);
      const outcome = OUTCOME_INDEX[record.outcome];
      const b = backendNamed(record.backend ?? NO_BACKEND);
      const key = requestKey(route, record.status, outcome);
      let counter = b.requests.get(key);
      if (!counter) {
        counter = newSample(requests, `route="${ROUTES[route]}",backend="${b.label}",status="${record.status}",outcome="${record.outcome}"`);
        b.requests.set(key, counter);
      }
      counter.value += 1;

      const cell = route * OUTCOMES.length + outcome;
      const duration = durationGrid[cell] ?? (durationGrid[cell] = newHistogram(durations, `route="${ROUTES[route]}",outcome="${record.outcome}"`));
      observe(duration, record.latencyMs / 1000);

      if (record.ttftMs !== undefined) {
        const ttft = b.ttft[route] ?? (b.ttft[route] = newHistogram(ttfts, `route="${ROUTES[route]}",backend="${b.label}"`));
        observe(ttft, record.ttftMs / 1000);
      }
      // Tokens are counted only against a backend that answered; "none" never has upstream series.
      if (record.usage && record.backend !== undefined) {
        const t = upstreamOf(b).tokens;
        add(t.input, record.usage.inputTokens);
        add(t.output, record.usage.outputTokens);
        add(t.cacheRead, record.usage.cacheReadTokens);
        add(t.cacheCreation, record.usage.cacheCreationTokens);
      }
    },

    attempt(record) {
      const up = upstreamOf(backendNamed(record.backend.name));
      up.attempts[record.outcome].value += 1;
      if (record.retry > 0) up.retries.value += 1;
      observe(up.latency, record.latencyMs / 1000);
    },

    failover(from) {
      upstreamOf(backendNamed(from.name)).failovers.value += 1;
    },

    cooldown({ backend, reason }) {
      const b = backendNamed(backend.name);
      const up = upstreamOf(b);
      let counter = up.cooldowns.get(reason);
      if (!counter) {
        counter = newSample(cooldowns, `backend="${b.label}",reason="${escapeLabel(reason)}"`);
        up.cooldowns.set(reason, counter);
      }
      counter.value += 1;
    },

    async render() {
      // Configured backends get their per-backend series at zero before the first event, so rate() sees it.
      for (const backend of deps.backends()) upstreamOf(backendNamed(backend.name));
      const out: string[] = [];
      header(out, "llmux_requests_total", "counter", "Client requests by route, answering backend, HTTP status and outcome.");
      writeSamples(out, "llmux_requests_total", requests);
      header(out, "llmux_request_duration_seconds", "histogram", "Whole client request duration.");
      writeHistogram(out, "llmux_request_duration_seconds", durations);
      header(out, "llmux_time_to_first_token_seconds", "histogram", "Time to the first byte sent to a streaming client.");
      writeHistogram(out, "llmux_time_to_first_token_seconds", ttfts);
      header(out, "llmux_tokens_total", "counter", "Tokens reported by the upstream, by direction.");
      writeSamples(out, "llmux_tokens_total", tokens);
      header(out, "llmux_upstream_attempts_total", "counter", "Upstream attempts: ok answered, failed failed over, rejected returned a client error.");
      writeSamples(out, "llmux_upstream_attempts_total", attempts);
      header(out, "llmux_retries_total", "counter", "Upstream attempts that were not the first of their request.");
      writeSamples(out, "llmux_retries_total", retries);
      header(out, "llmux_failovers_total", "counter", "Upstream attempts that failed and passed the request on.");
      writeSamples(out, "llmux_failovers_total", failovers);
      header(out, "llmux_upstream_latency_seconds", "histogram", "Time from sending upstream to the first valid byte or the failure.");
      writeHistogram(out, "llmux_upstream_latency_seconds", latencies);
      header(out, "llmux_cooldowns_total", "counter", "Times a backend was taken out of rotation, by reason.");
      writeSamples(out, "llmux_cooldowns_total", cooldowns);
      renderGauges(out);
      out.push("", await registry.metrics());
      return out.join("\n");
    },
  };
}
