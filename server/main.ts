import { readFile } from "node:fs/promises";
import { buildApp } from "./app.js";
import { ConfigError } from "./config/config-error.js";
import { loadConfig, type ConfigOverrides } from "./config/load.js";
import { startRpcServer, type RpcServer } from "./rpc-server.js";
import type { Config } from "./config/types.js";

export { ConfigError };
export type { ConfigOverrides };

/** Options of `llmux start`. */
export interface StartOptions {
  configPath?: string;
  overrides?: ConfigOverrides;
  verbose?: boolean;
  env?: Record<string, string | undefined>;
}

/** A running gateway. */
export interface RunningServer {
  url: string;
  config: Config;
  close(): Promise<void>;
}

/** Loads the configuration, builds the app and listens. Throws ConfigError for a bad configuration. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = await loadConfig({ path: options.configPath, env: options.env ?? process.env, overrides: options.overrides });
  const https = config.server.https.enabled
    ? { key: await readFile(config.server.https.keyFile!), cert: await readFile(config.server.https.certFile!) }
    : undefined;
  const app = await buildApp(config, {
    verbose: options.verbose,
    https,
    env: options.env,
    // Printed once, to the terminal rather than the JSON log: there is no default password.
    onFirstAdmin: (admin) =>
      process.stderr.write(
        `llmux: created the first super admin '${admin.username}' with password ${admin.password}\n` +
          "       It is shown only now: log in with `llmuxctl login` and change it with `llmuxctl users passwd`.\n",
      ),
  });
  let rpc: RpcServer | undefined;
  try {
    await app.fastify.listen({ host: config.server.host, port: config.server.port });
    // The admin port: the same services and interceptors in Connect, gRPC (h2c or TLS) and gRPC-Web.
    if (config.server.adminPort !== 0) {
      rpc = await startRpcServer({ ...app.rpc, host: config.server.host, port: config.server.adminPort, tls: https });
      app.fastify.log.info({ adminUrl: rpc.url }, `llmux admin API listening on ${rpc.url}`);
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.fastify.server.address();
  const port = typeof address === "object" && address ? address.port : config.server.port;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  const url = `${https ? "https" : "http"}://${host}:${port}`;
  app.fastify.log.info(
    { url, backends: config.backends.map((b) => b.name), config: config.source },
    `llmux listening on ${url} with ${config.backends.length} backend(s)`,
  );
  return { url, config, close: async () => void (await Promise.all([rpc?.close(), app.close()])) };
}

/**
 * Runs the gateway until SIGTERM or SIGINT, then closes it (in-flight requests finish, pooled connections are
 * released) and resolves.
 */
export async function runUntilSignal(options: StartOptions): Promise<void> {
  const server = await startServer(options);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      server.close().then(resolve, resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

/** Creates a super admin in the configured database (`llmux admin create`); returns the one-time password. */
export async function createAdmin(options: { configPath?: string; username: string; env?: Record<string, string | undefined> }): Promise<{ username: string; password: string }> {
  const config = await loadConfig({ path: options.configPath, env: options.env ?? process.env });
  const { openStore } = await import("./app.js");
  const store = await openStore(config);
  try {
    const { createSuperAdmin } = await import("./services/admin/bootstrap.js");
    const created = await createSuperAdmin(store.db, { username: options.username });
    return { username: created.username, password: created.password };
  } finally {
    await store.close();
  }
}

/** The result of `llmux config check`. */
export interface ConfigCheck {
  ok: boolean;
  source: string;
  issues: string[];
  providers: number;
  backends: string[];
  tokens: number;
}

/** Validates a configuration without starting anything. */
export async function checkConfig(path: string | undefined, env: Record<string, string | undefined> = process.env): Promise<ConfigCheck> {
  try {
    const config = await loadConfig({ path, env });
    return { ok: true, source: config.source, issues: [], providers: config.providers.size, backends: config.backends.map((b) => b.name), tokens: config.tokens.length };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, source: path ?? "", issues: err.issues, providers: 0, backends: [], tokens: 0 };
    throw err;
  }
}

