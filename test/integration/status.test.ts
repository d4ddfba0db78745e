import { toJson } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { BackendState, GetBackendStatusResponseSchema, RouteService } from "../../gen/llmux/route/v1/route_service_pb.js";
import { readJson, startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream } from "../helpers/mock-upstream.js";

const TOKEN = "client-token-for-status";
/** The gateway's clock, fixed so cooldown ends, check times and latencies are exact. */
const NOW = 1_800_000_000_000;
/** The default first cooldown (`cooldown`, 5 s). */
const COOLDOWN_MS = 5_000;

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function upstream(reply: (path: string) => MockReply): Promise<MockUpstream> {
  const mock = await startMockUpstream((req) => reply(req.path));
  cleanups.push(() => mock.close());
  return mock;
}

/** A gateway on the fixed clock; `healthCheckIntervalMs` set through the environment, which overrides the file. */
async function gateway(toml: string, healthCheckIntervalMs: number): Promise<TestGateway> {
  const gw = await startGateway(toml, { now: () => NOW, env: { HEALTH_CHECK_INTERVAL: String(healthCheckIntervalMs) } });
  cleanups.push(() => gw.close());
  return gw;
}

function routeClient(gw: TestGateway): Client<typeof RouteService> {
  const transport = createConnectTransport({
    baseUrl: gw.url,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${TOKEN}`);
        return next(req);
      },
    ],
  });
  return createClient(RouteService, transport);
}

async function status(gw: TestGateway): Promise<unknown> {
  return toJson(GetBackendStatusResponseSchema, await routeClient(gw).getBackendStatus({}));
}

/** A chat completion through the OpenAI facade; resolves with the HTTP status. */
async function chat(gw: TestGateway, model: string): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Two providers, one backend each, both serving model `m`. */
function twoBackends(first: MockUpstream, second: MockUpstream): string {
  return `
max_retries = 1
[provider.first]
base_url = "${first.url}/v1"
[provider.second]
base_url = "${second.url}/v1"
[[backend]]
model = "first:m"
max_per_hour = 10
[[backend]]
model = "second:m"
max_per_day = 100
[tokens]
t = "${TOKEN}"
`;
}

const failing = (): MockReply => ({ type: "error", status: 500 });

describe("GetBackendStatus, /healthz and /readyz", () => {
  it("report every backend as available and ready before any request", async () => {
    const ok = (): MockReply => ({ type: "openai-chat", content: "ok" });
    const gw = await gateway(twoBackends(await upstream(ok), await upstream(ok)), 0);
    expect(await status(gw)).toEqual({
      backends: [
        { name: "first:m", provider: "first", model: "m", state: "BACKEND_STATE_AVAILABLE", health: "HEALTH_UNKNOWN", hour: { limit: 10 }, fiveHours: {}, day: {} },
        { name: "second:m", provider: "second", model: "m", state: "BACKEND_STATE_AVAILABLE", health: "HEALTH_UNKNOWN", hour: {}, fiveHours: {}, day: { limit: 100 } },
      ],
    });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: "ready", available: 2 });
  });

  it("after a failing request: both backends cool down, the status says why, and /readyz turns 503", async () => {
    const first = await upstream(failing);
    const second = await upstream(failing);
    const gw = await gateway(twoBackends(first, second), 0);
    expect(await chat(gw, "m")).toBe(502);
    expect([first.requests.length, second.requests.length]).toEqual([1, 1]);

    const cooling = { state: "BACKEND_STATE_COOLING_DOWN", availableAtMs: String(NOW + COOLDOWN_MS), health: "HEALTH_UNKNOWN", errorRate: 1, attempts: 1, consecutiveFailures: 1 };
    expect(await status(gw)).toEqual({
      backends: [
        { name: "first:m", provider: "first", model: "m", ...cooling, hour: { used: 1, limit: 10 }, fiveHours: { used: 1 }, day: { used: 1 } },
        { name: "second:m", provider: "second", model: "m", ...cooling, hour: { used: 1 }, fiveHours: { used: 1 }, day: { used: 1, limit: 100 } },
      ],
    });

    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await readJson(ready)).toEqual({ status: "not_ready", available: 0, reason: "no_backend_available" });
    // Liveness stays 200: a dead upstream must not get the gateway restarted.
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    const availableAt = new Date(NOW + COOLDOWN_MS).toISOString();
    expect(await readJson(health)).toEqual({
      status: "ok",
      backends: [
        { name: "first:m", provider: "first", state: "cooling_down", available_at: availableAt, health: "unknown" },
        { name: "second:m", provider: "second", state: "cooling_down", available_at: availableAt, health: "unknown" },
      ],
    });
  });

  it("with active health checks on: an upstream whose model list fails is unhealthy, without a completion sent", async () => {
    const sick = await upstream(() => ({ type: "error", status: 500 }));
    const well = await upstream((path) => (path.endsWith("/models") ? { type: "raw", status: 200, body: '{"object":"list","data":[]}' } : { type: "error", status: 500 }));
    const gw = await gateway(twoBackends(sick, well), 60_000);
    const client = routeClient(gw);
    await expect.poll(async () => (await client.getBackendStatus({})).backends.map((b) => b.state)).toEqual([BackendState.UNHEALTHY, BackendState.AVAILABLE]);
    expect(await status(gw)).toEqual({
      backends: [
        { name: "first:m", provider: "first", model: "m", state: "BACKEND_STATE_UNHEALTHY", availableAtMs: String(NOW + 60_000), health: "HEALTH_UNHEALTHY", lastCheckAtMs: String(NOW), hour: { limit: 10 }, fiveHours: {}, day: {} },
        { name: "second:m", provider: "second", model: "m", state: "BACKEND_STATE_AVAILABLE", health: "HEALTH_HEALTHY", lastCheckAtMs: String(NOW), hour: {}, fiveHours: {}, day: { limit: 100 } },
      ],
    });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: "ready", available: 1 });
    const health = await readJson(await fetch(`${gw.url}/healthz`));
    expect(health.backends.map((b: { state: string; health: string }) => [b.state, b.health])).toEqual([
      ["unhealthy", "unhealthy"],
      ["available", "healthy"],
    ]);
    for (const req of [...sick.requests, ...well.requests]) expect([req.method, req.path]).toEqual(["GET", "/v1/models"]);
  });
});
