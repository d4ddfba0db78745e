import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startMockUpstream, type MockReply, type MockUpstream } from "../../test/helpers/mock-upstream.js";
import { parseConfig } from "../config/load.js";
import type { BackendConfig, Config } from "../config/types.js";
import type { ProviderAdapter } from "../providers/provider.js";
import { createProviders } from "../providers/registry.js";
import { createBackendState, type BackendState } from "./backend-state.js";
import { createHealthChecker, type HealthChecker, type HealthCheckerDeps } from "./health-checker.js";

const INTERVAL_MS = 30_000;
const TIMEOUTS = { connectMs: 2_000, headersMs: 2_000, idleMs: 2_000 };

let mocks: MockUpstream[] = [];
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  // Health must cost nothing: whatever a test did, the upstreams saw model-list GETs and nothing else.
  for (const mock of mocks) {
    for (const req of mock.requests) expect([req.method, req.path]).toEqual(["GET", "/v1/models"]);
  }
  mocks = [];
});

/** A fake upstream answering `GET /v1/models` with whatever `reply()` returns at the time. */
async function upstream(reply: () => MockReply): Promise<MockUpstream> {
  const mock = await startMockUpstream(() => reply());
  mocks.push(mock);
  cleanups.push(() => mock.close());
  return mock;
}

const ok = (): MockReply => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: '{"object":"list","data":[]}' });

/** Provider `a` (OpenAI-compatible, two backends) in front of `a`, provider `b` (Anthropic, one backend) in front of `b`. */
function twoProviders(a: MockUpstream, b: MockUpstream): Config {
  return parseConfig(
    `
[provider.a]
base_url = "${a.url}/v1"
api_key = "sk-a"
[provider.b]
kind = "anthropic"
base_url = "${b.url}"
api_key = "sk-b"
[[backend]]
model = "a:one"
[[backend]]
model = "a:two"
[[backend]]
model = "b:three"
`,
    { source: "t.toml", baseDir: ".", env: {} },
  );
}

interface Harness {
  checker: HealthChecker;
  state: BackendState;
  backends: BackendConfig[];
  changes: Array<[string, boolean]>;
  clock: { now: number };
}

/** A checker over `config`'s real providers; the providers are closed and the checker stopped after the test. */
function harness(config: Config, options: Partial<Pick<HealthCheckerDeps, "intervalMs" | "timeoutMs" | "providers">> = {}): Harness {
  const clock = { now: 1_000_000 };
  const state = createBackendState({ now: () => clock.now, random: () => 0, cooldownMs: 5_000, maxCooldownMs: 60_000 });
  const providers = options.providers ?? createProviders(config.providers, TIMEOUTS);
  const changes: Array<[string, boolean]> = [];
  const checker = createHealthChecker({
    backends: () => config.backends,
    providers,
    state,
    intervalMs: options.intervalMs ?? INTERVAL_MS,
    timeoutMs: options.timeoutMs ?? 2_000,
    now: () => clock.now,
    onChange: (backend, healthy) => changes.push([backend.name, healthy]),
  });
  cleanups.push(async () => {
    await checker.stop();
    await Promise.all([...providers.values()].map((p) => p.close()));
  });
  return { checker, state, backends: config.backends, changes, clock };
}

const healthOf = (h: Harness) => h.backends.map((b) => [b.name, h.state.stats(b).healthy, h.state.stats(b).lastCheckAt]);

describe("health checker", () => {
  it("records healthy and unhealthy per provider, with one probe per provider per round", async () => {
    let aReply = ok;
    const a = await upstream(() => aReply());
    const b = await upstream(ok);
    const h = harness(twoProviders(a, b));
    const [one, two, three] = h.backends as [BackendConfig, BackendConfig, BackendConfig];

    await h.checker.checkNow();
    expect(healthOf(h)).toEqual([
      ["a:one", true, 1_000_000],
      ["a:two", true, 1_000_000],
      ["b:three", true, 1_000_000],
    ]);
    expect(h.changes).toEqual([["a:one", true], ["a:two", true], ["b:three", true]]);
    expect([a.requests.length, b.requests.length]).toEqual([1, 1]);
    expect(b.requests[0]!.headers["x-api-key"]).toBe("sk-b");

    aReply = () => ({ type: "error", status: 500 });
    h.clock.now = 2_000_000;
    h.changes.length = 0;
    await h.checker.checkNow();
    // Both backends of `a` share its one probe; `b` is untouched by `a`'s failure.
    expect(healthOf(h)).toEqual([
      ["a:one", false, 2_000_000],
      ["a:two", false, 2_000_000],
      ["b:three", true, 2_000_000],
    ]);
    expect(h.state.unavailable(one)).toEqual({ kind: "unhealthy", until: 2_000_000 + INTERVAL_MS, detail: "failed its last health check" });
    expect(h.state.unavailable(two)).toEqual({ kind: "unhealthy", until: 2_000_000 + INTERVAL_MS, detail: "failed its last health check" });
    expect(h.state.unavailable(three)).toBeUndefined();
    expect(h.changes).toEqual([["a:one", false], ["a:two", false]]);
    expect([a.requests.length, b.requests.length]).toEqual([2, 2]);

    aReply = ok;
    h.clock.now = 3_000_000;
    h.changes.length = 0;
    await h.checker.checkNow();
    expect(h.state.unavailable(one)).toBeUndefined();
    expect(h.state.unavailable(two)).toBeUndefined();
    expect(h.changes).toEqual([["a:one", true], ["a:two", true]]);
    expect([a.requests.length, b.requests.length]).toEqual([3, 3]);
  });

  it("counts a stalled probe as unhealthy once its timeout passes, and drops its connection", async () => {
    const a = await upstream(() => ({ type: "stall" }));
    const b = await upstream(ok);
    const h = harness(twoProviders(a, b), { timeoutMs: 100 });
    await h.checker.checkNow();
    expect(healthOf(h)).toEqual([
      ["a:one", false, 1_000_000],
      ["a:two", false, 1_000_000],
      ["b:three", true, 1_000_000],
    ]);
    expect(await a.waitForClose(5_000)).toBe(true);
  });

  it("joins the round in flight instead of probing twice", async () => {
    const a = await upstream(ok);
    const b = await upstream(ok);
    const h = harness(twoProviders(a, b));
    await Promise.all([h.checker.checkNow(), h.checker.checkNow()]);
    expect([a.requests.length, b.requests.length]).toEqual([1, 1]);
  });

  it("start() checks at once and then every interval; stop() aborts the probe in flight, records nothing and schedules nothing", async () => {
    let replies = 0;
    // The first round answers; every later probe stalls, so stop() finds one in flight.
    const a = await upstream(() => (replies++ === 0 ? ok() : { type: "stall" }));
    const b = await upstream(ok);
    const h = harness(twoProviders(a, b), { intervalMs: 20, timeoutMs: 60_000 });
    h.checker.start();
    h.checker.start();
    await expect.poll(() => a.requests.length).toBe(2);
    expect(b.requests.length).toBeGreaterThanOrEqual(2);
    await h.checker.stop();
    expect(await a.waitForClose(5_000)).toBe(true);
    // The aborted probe was not the upstream's fault: `a` keeps the result of its last completed check.
    expect(h.backends.map((backend) => h.state.stats(backend).healthy)).toEqual([true, true, true]);

    const seen = [a.requests.length, b.requests.length];
    h.checker.start();
    await h.checker.checkNow();
    await sleep(100);
    expect([a.requests.length, b.requests.length]).toEqual(seen);
  });

  it("never starts when the interval is 0, and counts a probe that rejects as unhealthy", async () => {
    const config = twoProviders(await upstream(ok), await upstream(ok));
    const probe = vi.fn<ProviderAdapter["probe"]>().mockRejectedValue(new Error("adapter bug"));
    const fake = (name: string): ProviderAdapter => ({ name, kind: "openai", dialect: "openai", send: vi.fn(), probe, redact: (text) => text, close: async () => {} });
    const h = harness(config, { intervalMs: 0, providers: new Map([["a", fake("a")], ["b", fake("b")]]) });
    h.checker.start();
    expect(probe).not.toHaveBeenCalled();
    await h.checker.checkNow();
    expect(probe).toHaveBeenCalledTimes(2);
    expect(healthOf(h)).toEqual([
      ["a:one", false, 1_000_000],
      ["a:two", false, 1_000_000],
      ["b:three", false, 1_000_000],
    ]);
    // With no schedule, the next check is not awaited: the backend is out until a check finds it healthy.
    expect(h.state.unavailable(h.backends[0]!)).toMatchObject({ kind: "unhealthy", until: 1_000_000 });
  });
});
