import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";

// spec/reliability.md §4 F12: a backend disabled because the upstream refused llmux's own key must reach an
// operator, as one warn line per cooldown, through the real app's telemetry wiring.

const TOKEN = "client-token-account-log";
const PROVIDER_KEY = "sk-provider-secret-account-4410";
const NOW = 1_900_000_000_000;

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function revokedKeyUpstream(): Promise<MockUpstream> {
  const body = JSON.stringify({ error: { message: `Incorrect API key provided: ${PROVIDER_KEY}`, type: "invalid_request_error", code: "invalid_api_key" } });
  const mock = await startMockUpstream(() => ({ type: "error", status: 401, body }));
  cleanups.push(() => mock.close());
  return mock;
}

async function gateway(mock: MockUpstream): Promise<TestGateway> {
  const gw = await startGateway(
    `[provider.up]\nkind = "openai"\nbase_url = "${mock.url}/v1"\napi_key = "${PROVIDER_KEY}"\n[[backend]]\nmodel = "up:m"\n[tokens]\ntests = "${TOKEN}"\n`,
    { now: () => NOW },
  );
  cleanups.push(() => gw.close());
  return gw;
}

function chat(gw: TestGateway): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "up:m", messages: [{ role: "user", content: "hi" }] }),
  });
}

describe("account cooldown log", () => {
  it("warns once when the upstream refuses llmux's key, with the backend, reason, cooldown and status only", async () => {
    const mock = await revokedKeyUpstream();
    const gw = await gateway(mock);
    expect((await chat(gw)).status).toBe(502);
    // The backend is out: the next request is answered without reaching the upstream, and logs nothing more.
    expect((await chat(gw)).status).toBe(503);
    expect(mock.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    const warnings = gw.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 40);
    expect(warnings.map(({ time: _time, ...fields }) => fields)).toEqual([
      {
        level: 40,
        service: "llmux",
        backend: "up:m",
        provider: "up",
        reason: "upstream_auth",
        cooldownMs: 3_600_000,
        upstreamStatus: 401,
        msg: "backend taken out of rotation: the upstream refused llmux's provider account",
      },
    ]);
    expect(gw.logs.join("\n")).not.toContain(PROVIDER_KEY);
  });
});
