import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../server/store/database.js";
import { queryUsage } from "../../server/store/repos/usage-repo.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";

// spec/reliability.md §5.4: rate windows survive a restart. Admissions are persisted to the SQLite file and the next
// process rebuilds its windows from them. The clock is injected, so the hour is simulated, never waited for.

const TOKEN = "persistence-token";
/** 2030-01-01T00:00:00Z: any fixed instant works; the gateway reads time only from the injected clock. */
const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let dir: string;
let mock: MockUpstream;
let cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmux-persistence-"));
  mock = await startMockUpstream(() => ({ type: "openai-chat", content: "fine", usage: { prompt: 3, completion: 1 } }));
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

const CONFIG = (limits: string) => `
[provider.up]
base_url = "${mock.url}/v1"
api_key = "sk-up"
[[backend]]
model = "up:m"
${limits}
[tokens]
tests = "${TOKEN}"
`;

async function gateway(limits: string, database: string, now: () => number): Promise<TestGateway> {
  const gw = await startGateway(CONFIG(limits), { database, now });
  cleanups.push(() => gw.close());
  return gw;
}

function openai(gw: TestGateway): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
  });
}

function anthropic(gw: TestGateway): Promise<Response> {
  return fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": TOKEN, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({ model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
  });
}

// Small limits are counted with exact timestamps, a huge one per second: both come back from the per-second rows.
describe.each([
  ["exact windows", "max_per_hour = 2", "exact.db"],
  ["per-second windows", "max_per_hour = 2\nmax_per_day = 1000000000", "per-second.db"],
])("rate windows across a restart (%s)", (_, limits, file) => {
  it("a window filled before a graceful restart is still full after it, with Retry-After counted from the first admission", async () => {
    const database = path.join(dir, file);
    const requestsBefore = mock.requests.length;
    let clock = T0;
    const now = () => clock;

    const first = await gateway(limits, database, now);
    expect((await openai(first)).status).toBe(200);
    clock = T0 + MINUTE;
    expect((await openai(first)).status).toBe(200);
    await first.close();

    // Ten minutes after the first admission: its hour has 50 minutes left.
    clock = T0 + 10 * MINUTE;
    const second = await gateway(limits, database, now);
    const message = (seconds: number) => `every backend for m has reached its rate limit; retry in ${seconds} s`;

    const viaOpenAI = await openai(second);
    expect(viaOpenAI.status).toBe(429);
    expect(viaOpenAI.headers.get("retry-after")).toBe("3000");
    expect(await viaOpenAI.json()).toEqual({ error: { message: message(3000), type: "requests", param: null, code: "rate_limit_exceeded" } });

    clock = T0 + 11 * MINUTE;
    const viaAnthropic = await anthropic(second);
    expect(viaAnthropic.status).toBe(429);
    expect(viaAnthropic.headers.get("retry-after")).toBe("2940");
    expect(await viaAnthropic.json()).toEqual({ type: "error", error: { type: "rate_limit_error", message: message(2940) } });

    expect(mock.requests.length - requestsBefore).toBe(2);

    // Once the first admission is an hour old, one slot is free again; the second admission still holds the other.
    clock = T0 + HOUR;
    expect((await openai(second)).status).toBe(200);
    clock = T0 + HOUR + MINUTE / 2;
    const full = await openai(second);
    expect(full.status).toBe(429);
    expect(full.headers.get("retry-after")).toBe("30");
    expect(mock.requests.length - requestsBefore).toBe(3);
    await second.close();

    // Both processes wrote to the same file: every request of either has its row (distinct clock readings keep the
    // order, oldest first, stable).
    const store = await createDatabase({ sqlitePath: database });
    try {
      const rows = await queryUsage(store.db, { from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(rows.map((r) => [r.client_dialect, r.outcome, r.status, r.backend])).toEqual([
        ["openai", "ok", 200, "up:m"],
        ["openai", "ok", 200, "up:m"],
        ["openai", "rate_limited", 429, null],
        ["anthropic", "rate_limited", 429, null],
        ["openai", "ok", 200, "up:m"],
        ["openai", "rate_limited", 429, null],
      ]);
    } finally {
      await store.close();
    }
  });
});
