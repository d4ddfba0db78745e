import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { registerMetricsRoutes } from "../../server/facade/metrics-routes.js";
import { createMetrics, type Metrics } from "../../server/telemetry/metrics.js";
import { backendConfig } from "../helpers/backend-config.js";

// Until server/app.ts wires the metrics, this exercises the route on a bare Fastify instance over real HTTP.

const BACKEND = backendConfig({ provider: "mock", model: "m", maxPerDay: 1000 });

const FAMILIES = [
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
];

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(metrics: Metrics): Promise<string> {
  app = Fastify();
  registerMetricsRoutes(app, { metrics });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (typeof address !== "object" || address === null) throw new Error("did not bind");
  return `http://127.0.0.1:${address.port}`;
}

describe("GET /metrics", () => {
  it("serves every llmux family and the process metrics as Prometheus text 0.0.4", async () => {
    const metrics = createMetrics({ backends: () => [BACKEND], windowUsage: () => ({ hour: 3, fiveHours: 4, day: 5 }), state: () => "cooling_down" });
    const url = await serve(metrics);

    const res = await fetch(`${url}/metrics`);

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(types.filter((t) => t.startsWith("llmux_"))).toEqual(FAMILIES);
    expect(types).toContain("nodejs_eventloop_lag_seconds gauge");
    expect(text).toContain('\nllmux_backend_window_used{backend="mock:m",window="day"} 5\n');
    expect(text).toContain('\nllmux_backend_window_limit{backend="mock:m",window="day"} 1000\n');
    expect(text).toContain('\nllmux_backend_state{backend="mock:m",state="cooling_down"} 1\n');
  });

  it("reflects reported requests and never exposes the principal, model or error text", async () => {
    const metrics = createMetrics({ backends: () => [BACKEND], windowUsage: () => ({ hour: 0, fiveHours: 0, day: 0 }), state: () => "available" });
    const url = await serve(metrics);
    metrics.attempt({ backend: BACKEND, outcome: "ok", status: 200, latencyMs: 12, retry: 0 });
    metrics.request({
      requestId: "req_abc",
      at: 0,
      keyId: undefined,
      userId: undefined,
      principal: "alice-laptop",
      clientDialect: "anthropic",
      operation: "chat",
      model: "claude-private-alias",
      backend: BACKEND.name,
      provider: BACKEND.provider,
      outcome: "ok",
      status: 200,
      usage: { inputTokens: 7, outputTokens: 9, cacheReadTokens: 0, cacheCreationTokens: 0 },
      usageEstimated: false,
    truncated: false,
      latencyMs: 40,
      ttftMs: 15,
      attempts: 1,
      stream: true,
      error: "upstream said: key sk-live-123 invalid",
    });

    const text = await (await fetch(`${url}/metrics`)).text();

    expect(text).toContain('\nllmux_requests_total{route="anthropic_messages",backend="mock:m",status="200",outcome="ok"} 1\n');
    expect(text).toContain('\nllmux_tokens_total{backend="mock:m",direction="output"} 9\n');
    expect(text).toContain('\nllmux_time_to_first_token_seconds_count{route="anthropic_messages",backend="mock:m"} 1\n');
    expect(text).toContain('\nllmux_upstream_attempts_total{backend="mock:m",outcome="ok"} 1\n');
    for (const secret of ["alice-laptop", "claude-private-alias", "req_abc", "sk-live-123"]) expect(text).not.toContain(secret);
  });
});
