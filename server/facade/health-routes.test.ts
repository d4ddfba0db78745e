import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { BackendConfig } from "../config/types.js";
import type { BackendStateName, BackendStatusView, HealthName } from "../services/route/route-service.js";
import { registerHealthRoutes } from "./health-routes.js";

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function view(name: string, state: BackendStateName, health: HealthName, availableAt?: number): BackendStatusView {
  const backend = { name, provider: name.split(":")[0]!, model: name.split(":")[1]! } as BackendConfig;
  return {
    backend,
    state,
    availableAt,
    health,
    usage: { hour: 0, fiveHours: 0, day: 0 },
    stats: { latencyP50Ms: 0, errorRate: 0, attempts: 0, consecutiveFailures: 0, healthy: undefined, lastCheckAt: undefined },
  };
}

async function app(views: BackendStatusView[], draining = false) {
  const fastify = Fastify();
  apps.push(fastify);
  registerHealthRoutes(fastify, { route: { status: () => views }, draining: () => draining });
  await fastify.ready();
  return fastify;
}

const AT = Date.UTC(2027, 0, 1);

describe("/readyz", () => {
  it.each<[string, BackendStatusView[], boolean, number, unknown]>([
    ["one backend available", [view("a:m", "cooling_down", "unknown", AT), view("b:m", "available", "healthy")], false, 200, { status: "ready", available: 1 }],
    ["every backend out", [view("a:m", "cooling_down", "unknown", AT), view("b:m", "unhealthy", "unhealthy", AT), view("c:m", "rate_limited", "healthy", AT)], false, 503, { status: "not_ready", available: 0, reason: "no_backend_available" }],
    ["no backend configured", [], false, 503, { status: "not_ready", available: 0, reason: "no_backend_available" }],
    ["draining, backends available", [view("a:m", "available", "healthy")], true, 503, { status: "not_ready", available: 1, reason: "draining" }],
  ])("%s", async (_name, views, draining, status, body) => {
    const res = await (await app(views, draining)).inject({ method: "GET", url: "/readyz" });
    expect([res.statusCode, res.json()]).toEqual([status, body]);
  });
});

describe("/healthz", () => {
  it("is 200 whatever the backends' state, even while draining, and shows each backend's state and health", async () => {
    const views = [view("a:m", "available", "unknown"), view("b:m", "unhealthy", "unhealthy", AT), view("c:m", "cooling_down", "healthy", AT)];
    const res = await (await app(views, true)).inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: "ok",
      backends: [
        { name: "a:m", provider: "a", state: "available", health: "unknown" },
        { name: "b:m", provider: "b", state: "unhealthy", available_at: "2027-01-01T00:00:00.000Z", health: "unhealthy" },
        { name: "c:m", provider: "c", state: "cooling_down", available_at: "2027-01-01T00:00:00.000Z", health: "healthy" },
      ],
    });
  });
});
