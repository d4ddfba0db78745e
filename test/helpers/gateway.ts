import { Writable } from "node:stream";
import { buildApp, createLogger } from "../../server/app.js";
import { parseConfig } from "../../server/config/load.js";
import type { Config } from "../../server/config/types.js";

/** A gateway listening on 127.0.0.1 with an OS-chosen port, and the log lines it wrote. */
export interface TestGateway {
  url: string;
  config: Config;
  logs: string[];
  /** The super admin created on the fresh database, with its one-time password. */
  admin: { username: string; password: string } | undefined;
  close(): Promise<void>;
}

/**
 * Starts the real gateway (the same buildApp as `llmux start`) from TOML text on port 0. Log lines are captured
 * so tests can assert what is (and is not) logged. Its random source is 0 (no cooldown jitter, no retry backoff),
 * so cooldown expiries and Retry-After values come out exact on a test's fixed clock.
 */
export async function startGateway(
  toml: string,
  options: { env?: Record<string, string>; now?: () => number; verbose?: boolean; database?: string } = {},
): Promise<TestGateway> {
  // Active health checks are off unless a test turns them on: they would add probe requests to every mock upstream.
  const env = { HEALTH_CHECK_INTERVAL: "0", ...options.env };
  const config = parseConfig(toml, { source: "test.toml", baseDir: ".", env, overrides: { port: 0, host: "127.0.0.1" } });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  const logger = createLogger(options.verbose ? "debug" : "info", sink);
  let admin: TestGateway["admin"];
  const app = await buildApp(config, {
    logger,
    now: options.now,
    random: () => 0,
    verbose: options.verbose,
    database: options.database ?? ":memory:",
    onFirstAdmin: (created) => (admin = { username: created.username, password: created.password }),
  });
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  const address = app.fastify.server.address();
  if (typeof address !== "object" || address === null) throw new Error("gateway did not bind");
  return { url: `http://127.0.0.1:${address.port}`, config, logs, admin, close: () => app.close() };
}

/** A port on 127.0.0.1 that refuses connections (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

/** A fetch response body as JSON, typed loosely on purpose: tests assert its shape with toEqual. */
export async function readJson(res: Response): Promise<any> {
  return res.json();
}
