import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLlmux, stopAll, type RunningLlmux } from "../helpers/cli.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";
import { testDialects, type TestDialect } from "../helpers/store-dialects.js";

const N = 5;
const TOKEN = "replica-test-token";

/**
 * Two llmux processes on one PostgreSQL share the rate windows: admission is decided in the database under a
 * per-backend lock, so 3N concurrent requests across both admit at most N. (With CI set, an unreachable
 * PostgreSQL makes this fail rather than skip: `testDialects()` always returns it then.)
 */
describe("two replicas on one PostgreSQL", () => {
  let pg: TestDialect | undefined;
  let upstream: MockUpstream;
  let replicas: RunningLlmux[] = [];
  let dir: string;

  beforeAll(async () => {
    pg = (await testDialects()).find((d) => d.dialect === "postgres");
    if (!pg) return;
    const { url } = (await pg.nextOptions()) as { url: string };
    // Slow answers keep all requests in flight together.
    upstream = await startMockUpstream(() => ({ type: "openai-chat", content: "ok", delayMs: 150 }));
    dir = mkdtempSync(path.join(tmpdir(), "llmux-replicas-"));
    const config = path.join(dir, "llmux.toml");
    writeFileSync(
      config,
      `health_check_interval = 0\n[provider.up]\nbase_url = "${upstream.url}/v1"\n[[backend]]\nmodel = "up:m"\nmax_per_hour = ${N}\n[tokens]\nt = "${TOKEN}"\n`,
    );
    // The first replica migrates the schema; the second starts on it.
    replicas.push(await startLlmux(["--port", "0", "--config", config], { DATABASE_URL: url }));
    replicas.push(await startLlmux(["--port", "0", "--config", config], { DATABASE_URL: url }));
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    replicas = [];
    await upstream?.close();
    await pg?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`admits at most ${N} of ${3 * N} concurrent requests spread over both`, async (ctx) => {
    if (!pg) return ctx.skip("PostgreSQL is unreachable on this developer machine (CI fails instead)");
    const statuses = await Promise.all(
      Array.from({ length: 3 * N }, (_, i) =>
        fetch(`${replicas[i % 2]!.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `request ${i}` }] }),
        }).then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        }),
      ),
    );
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBe(N);
    expect(statuses.filter((s) => s === 429).length).toBe(2 * N);
    expect(upstream.requests.filter((r) => r.path === "/v1/chat/completions")).toHaveLength(N);
  }, 60_000);
});
