import { toJson } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GetBackendStatusResponseSchema, RouteService } from "../../../gen/llmux/route/v1/route_service_pb.js";
import { parseConfig } from "../../config/load.js";
import type { BackendConfig } from "../../config/types.js";
import { createBackendState } from "../../route/backend-state.js";
import { createRouteService } from "./route-service.js";

const config = parseConfig(
  `
[provider.p]
base_url = "http://127.0.0.1:1/v1"
[provider.q]
kind = "anthropic"
base_url = "http://127.0.0.1:2"
[[backend]]
model = "p:cool"
max_per_hour = 5
max_per_5hours = 20
max_per_day = 50
[[backend]]
model = "p:full"
max_per_hour = 1
[[backend]]
model = "q:sick"
[[backend]]
model = "q:fine"
`,
  { source: "t.toml", baseDir: ".", env: {} },
);

describe("RouteService.GetBackendStatus", () => {
  it("reports every backend in configuration order: state, health, windows and recent attempts", async () => {
    let now = 10_000_000;
    const state = createBackendState({ now: () => now, random: () => 0, cooldownMs: 5_000, maxCooldownMs: 60_000 });
    const [cool, full, sick, fine] = config.backends as [BackendConfig, BackendConfig, BackendConfig, BackendConfig];
    state.admit(cool);
    state.recordSuccess(cool, 100);
    state.admit(cool);
    state.recordSuccess(cool, 300.4);
    state.admit(cool);
    state.recordFailure(cool, { latencyMs: 200 });
    state.admit(full);
    state.recordHealth(sick, false, now + 30_000);
    state.recordHealth(fine, true, now + 30_000);
    now += 1_000;

    const route = createRouteService({ backends: () => config.backends, providers: () => config.providers, state });
    const client = createClient(RouteService, createRouterTransport(({ service }) => service(RouteService, route.rpc)));
    expect(toJson(GetBackendStatusResponseSchema, await client.getBackendStatus({}))).toEqual({
      backends: [
        {
          name: "p:cool",
          provider: "p",
          model: "cool",
          state: "BACKEND_STATE_COOLING_DOWN",
          availableAtMs: "10005000",
          health: "HEALTH_UNKNOWN",
          hour: { used: 3, limit: 5 },
          fiveHours: { used: 3, limit: 20 },
          day: { used: 3, limit: 50 },
          latencyP50Ms: 200,
          errorRate: 1 / 3,
          attempts: 3,
          consecutiveFailures: 1,
        },
        {
          name: "p:full",
          provider: "p",
          model: "full",
          state: "BACKEND_STATE_RATE_LIMITED",
          availableAtMs: String(10_000_000 + 3_600_000),
          health: "HEALTH_UNKNOWN",
          hour: { used: 1, limit: 1 },
          fiveHours: { used: 1 },
          day: { used: 1 },
        },
        {
          name: "q:sick",
          provider: "q",
          model: "sick",
          state: "BACKEND_STATE_UNHEALTHY",
          availableAtMs: "10030000",
          health: "HEALTH_UNHEALTHY",
          lastCheckAtMs: "10000000",
          hour: {},
          fiveHours: {},
          day: {},
        },
        { name: "q:fine", provider: "q", model: "fine", state: "BACKEND_STATE_AVAILABLE", health: "HEALTH_HEALTHY", lastCheckAtMs: "10000000", hour: {}, fiveHours: {}, day: {} },
      ],
    });
    expect(route.status().map((s) => [s.backend.name, s.state, s.availableAt, s.health])).toEqual([
      ["p:cool", "cooling_down", 10_005_000, "unknown"],
      ["p:full", "rate_limited", 13_600_000, "unknown"],
      ["q:sick", "unhealthy", 10_030_000, "unhealthy"],
      ["q:fine", "available", undefined, "healthy"],
    ]);
  });
});

describe("RouteService requirements", () => {
  const state = createBackendState({ now: () => 0, random: () => 0, cooldownMs: 5_000, maxCooldownMs: 60_000 });
  const route = createRouteService({ backends: () => config.backends, providers: () => config.providers, state });
  const client = createClient(RouteService, createRouterTransport(({ service }) => service(RouteService, route.rpc)));

  it("refuses a model name longer than a request may carry, before any glob is matched against it", async () => {
    // Every backend's model_match globs are tried against the name: an unbounded name would let one call pin the CPU.
    for (const call of [client.selectBackend.bind(client), client.explainRoute.bind(client)]) {
      await expect(call({ requirements: { model: "a".repeat(257) } })).rejects.toThrow("requirements.model must be at most 256 characters");
    }
    await expect(client.explainRoute({ requirements: { model: "a".repeat(256) } })).resolves.toBeDefined();
  });

  it("refuses a model name with control characters, as the facade does: it ends up in log lines", async () => {
    for (const model of ["gpt\r\nx-evil: 1", "gpt\u0085"]) {
      await expect(client.selectBackend({ requirements: { model } })).rejects.toThrow("requirements.model must not contain control characters");
    }
  });
});
