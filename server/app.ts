import path from "node:path";
import { createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { AdminService } from "../gen/llmux/admin/v1/admin_service_pb.js";
import { DiscoveryService } from "../gen/llmux/discovery/v1/discovery_service_pb.js";
import { RouteService } from "../gen/llmux/route/v1/route_service_pb.js";
import { createClientTokenAuth } from "./auth/client-tokens.js";
import type { Config } from "./config/types.js";
import { llmuxError, Reason } from "./errors/llmux-error.js";
import { registerAnthropicRoutes } from "./facade/anthropic-plugin.js";
import { createAuthHook } from "./facade/auth-hook.js";
import { createCorsHook } from "./facade/cors.js";
import { parseJsonBody } from "./facade/json-body.js";
import { answerClientError, sendError, sendNotFound } from "./facade/error-reply.js";
import { registerHealthRoutes } from "./facade/health-routes.js";
import { registerMetricsRoutes } from "./facade/metrics-routes.js";
import { registerModelRoutes } from "./facade/models-routes.js";
import { registerOpenAIRoutes } from "./facade/openai-plugin.js";
import { createAccessLog, type AccessLog } from "./facade/access-log.js";
import { createRequestTracker } from "./facade/request-tracker.js";
import { abortableSleep, Cancellation } from "./lib/cancellation.js";
import { timeOrderedId } from "./lib/ids.js";
import { createLineBatcher } from "./lib/line-batcher.js";
import { loadTokenCounter } from "./lib/token-counter.js";
import { createCatalog } from "./catalog/catalog.js";
import { createDiscovery } from "./discovery/discovery.js";
import { createCatalogAdmin } from "./services/admin/catalog-admin.js";
import { createDiscoveryService, discoveryHttpRoutes } from "./services/discovery/discovery-service.js";
import { presentedCredential } from "./auth/client-tokens.js";
import { createBackendState, LONGEST_WINDOW_MS } from "./route/backend-state.js";
import { createDispatcher } from "./route/dispatch.js";
import { createHealthChecker } from "./route/health-checker.js";
import { createRetryBudget } from "./route/retry-budget.js";
import { admissionSecond } from "./route/rate-windows.js";
import { createSharedWindows } from "./route/shared-windows.js";
import { fanOut, type Telemetry } from "./route/telemetry.js";
import { createUnfinishedRequests } from "./lib/unfinished-requests.js";
import { RPC_ROUTER_OPTIONS } from "./rpc-server.js";
import { authorize, createAccessInterceptor } from "./services/access-interceptor.js";
import { LOGIN_WINDOW_MS, createAdminService } from "./services/admin/admin-service.js";
import { createAuthenticator } from "./services/admin/authenticator.js";
import { bootstrapSuperAdmin, type CreatedSuperAdmin } from "./services/admin/bootstrap.js";
import { createAuthHttpHandlers } from "./services/admin/http-wrappers.js";
import { loadJwtSecret } from "./services/admin/jwt-secret.js";
import { clientAddressKey } from "./services/call-context.js";
import { createKeyLimiter } from "./services/gateway/key-limits.js";
import { pruneLoginAttempts } from "./store/repos/login-attempt-repo.js";
import { createJwtCodec } from "./auth/jwt.js";
import { registerAuthRoutes } from "./facade/auth-routes.js";
import { createGatewayService } from "./services/gateway/gateway-service.js";
import { createRouteService } from "./services/route/route-service.js";
import { createDatabase, type Store } from "./store/database.js";
import { loadRecentAdmissions, pruneAdmissions } from "./store/repos/rate-admission-repo.js";
import { addAdmissionSeconds, loadAdmissionSeconds, pruneAdmissionSeconds } from "./store/repos/rate-admission-second-repo.js";
import { insertUsage } from "./store/repos/usage-repo.js";
import type { NewRateAdmissionSecondRow } from "./store/tables/rate-admission-second-table.js";
import type { NewUsageRow } from "./store/tables/usage-table.js";
import { createWriteBehind } from "./store/write-behind.js";
import { createAccountCooldownLog } from "./telemetry/account-cooldown-log.js";
import { createMetrics } from "./telemetry/metrics.js";
import { createUsageRecorder } from "./telemetry/usage-recorder.js";

/** Largest request body accepted (Anthropic's own limit); larger bodies get 413. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/**
 * Longest a client may take to send a whole request, headers and body (Node's `requestTimeout`, which does not
 * bound the response: streams run as long as they need): a 32 MiB body still arrives at 64 KiB/s (512 kbit/s).
 * Slower, or withheld, bodies get 408 and the connection is closed.
 */
export const REQUEST_RECEIVE_TIMEOUT_MS = (BODY_LIMIT_BYTES / (64 * 1024)) * 1000;
/** How often rate admissions older than the longest window are deleted. */
const PRUNE_INTERVAL_MS = 3_600_000;

export interface AppOptions {
  /** The clock; tests inject one. */
  now?: () => number;
  /** Uniform [0, 1) for retry backoff and cooldown jitter; defaults to Math.random, tests inject one. */
  random?: () => number;
  /** The logger; defaults to JSON on stdout at the configured level. */
  logger?: Logger;
  /** Log every routing decision (`--verbose`). */
  verbose?: boolean;
  /** TLS key and certificate (PEM) when serving HTTPS. */
  https?: { key: Buffer; cert: Buffer };
  /** Overrides the configured database (tests use ":memory:" or a temp file). */
  database?: string;
  /** The environment (JWT_SECRET); defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Called once when the first super admin is created on an empty database, with its one-time password. */
  onFirstAdmin?: (admin: CreatedSuperAdmin) => void;
  /** Overrides REQUEST_RECEIVE_TIMEOUT_MS (tests use a short one). */
  requestReceiveTimeoutMs?: number;
}

/** The assembled gateway: a Fastify instance not yet listening, and everything it owns. */
export interface App {
  fastify: FastifyInstance;
  /** The RPC services and interceptors, for the admin port (`startRpcServer` in main.ts). */
  rpc: { routes: (router: ConnectRouter) => void; interceptors: Interceptor[] };
  /**
   * Graceful shutdown: readiness fails and new requests get 503 at once; running streams may finish until the
   * drain deadline, then end with an error event; usage rows and rate admissions are flushed before the store
   * closes.
   */
  close(): Promise<void>;
}

/** Paths whose values pino replaces with "[redacted]" wherever a log line carries them. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers[\"x-api-key\"]",
  "req.headers.cookie",
  "headers.authorization",
  "headers[\"x-api-key\"]",
  "*.apiKey",
  "*.api_key",
  "*.secret",
];

/** Fastify's compiler factories for a server without route schemas: a route that declares one fails to register. */
function refuseSchemas(): never {
  throw new Error("llmux routes validate their own bodies; Fastify route schemas are not supported");
}

/** The longest a log line waits in memory before it is written. */
const LOG_FLUSH_MS = 250;
/** Log lines are written in batches of about this many characters (a write per ~50 request lines). */
const LOG_BATCH_CHARS = 16_384;

/** Creates the logger llmux uses: structured JSON, secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, base: { service: "llmux" } };
  if (destination) return pino(options, destination);
  // Asynchronous, batched writes to stdout: a request never waits for its log line, and a line per request does not
  // cost a write (and a thread-pool round trip) per request. Lines leave in 16 kB batches or within LOG_FLUSH_MS;
  // at exit the hook below hands sonic-boom the last batch and flushes it synchronously. sonic-boom keeps the
  // batcher's minimum so that last batch waits for that flush: a smaller minimum would start an asynchronous write,
  // which the exit abandons.
  const stdout = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_CHARS, maxWrite: 4 * LOG_BATCH_CHARS });
  const lines = createLineBatcher(stdout, LOG_BATCH_CHARS);
  setInterval(() => {
    try {
      lines.flush();
    } catch {
      // Destroyed: the process is exiting and pino has written what was pending.
    }
  }, LOG_FLUSH_MS).unref();
  process.once("exit", () => {
    try {
      lines.flushSync();
    } catch {
      // Destroyed (EPIPE: nobody reads stdout any more): nothing can be written.
    }
  });
  return pino(options, lines);
}

/** The database location: the option, the config's `database` / `DATABASE_URL`, else `llmux.db` beside the config file. */
function databaseLocation(config: Config, override: string | undefined): string {
  if (override !== undefined) return override;
  if (config.server.database !== undefined) return config.server.database;
  return config.source.endsWith(".toml") ? path.join(path.dirname(config.source), "llmux.db") : "llmux.db";
}

/**
 * Opens the configured store (migrated to the latest schema). The gateway passes `writeBehindThread` so that its
 * batches of usage rows and rate admissions on a SQLite file are written off the event loop.
 */
export function openStore(config: Config, override?: string, options: { writeBehindThread?: boolean } = {}): Promise<Store> {
  const location = databaseLocation(config, override);
  return createDatabase(/^postgres(ql)?:\/\//.test(location) ? { url: location } : { sqlitePath: location, ...options });
}

/**
 * The composition root: the only place that wires configuration, store, providers, routing, services and the
 * facade. Returns the Fastify instance without listening, so tests can bind it to port 0.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? createLogger(options.verbose ? "debug" : config.server.logLevel);
  const { server } = config;

  const store = await openStore(config, options.database, { writeBehindThread: true });
  const onStoreError = (what: string) => (err: unknown, dropped: number) => logger.error({ err, dropped }, `could not write ${what}`);
  // Batches of at most 100 rows: under load a row then waits a few ms for its batch, not the ~40 ms that 500 took at
  // 12,000 requests a second, and dies young instead of surviving two scavenges into the old generation (measured:
  // a third less old-generation garbage, ~4 % less CPU a request, for five times the commits on the write thread).
  const usageQueue = createWriteBehind<NewUsageRow>(async (rows) => void (await insertUsage(store.writeBehindDb, store.dialect, rows)), {
    flushMs: 200,
    maxBatch: 100,
    maxQueued: 100_000,
    onError: onStoreError("usage rows"),
  });
  const admissionQueue = createWriteBehind<NewRateAdmissionSecondRow>((rows) => addAdmissionSeconds(store.writeBehindDb, rows), {
    flushMs: 200,
    maxBatch: 1_000,
    maxQueued: 100_000,
    onError: onStoreError("rate admissions"),
    // Admissions of the same backend in the same second are one waiting row: an item per request would wait up
    // to 200 ms, long enough to be promoted to the old generation (~50 bytes of garbage there a request).
    merge: (last, item) => last.backend === item.backend && last.second === item.second && ((last.count += item.count), true),
  });

  // Providers and backends: the file's first (read-only), then the database's (managed through AdminService,
  // effective on the next request), then those discovery finds on vLLM / OpenAI-compatible servers.
  const discovery = createDiscovery({
    config: config.discovery,
    now,
    onPollError: (polled) => logger.warn({ server: polled.url, error: polled.error }, "discovery poll failed"),
  });
  const catalog = await createCatalog({
    file: config,
    db: store.db,
    timeouts: { connectMs: server.timeouts.connectMs, headersMs: server.timeouts.firstByteMs, idleMs: server.timeouts.idleMs },
    discovery,
    now,
    onWarning: (message) => logger.warn(message),
  });
  const providers = catalog.adapters();
  const backends = () => catalog.backends();
  // On PostgreSQL several replicas may share the rate windows, so admission is decided in the database; on SQLite
  // this process owns them and admissions are persisted behind, off the hot path.
  const sharedWindows = store.dialect === "postgres" ? createSharedWindows(store) : undefined;
  const state = createBackendState({
    now,
    random,
    cooldownMs: server.cooldownMs,
    maxCooldownMs: server.maxCooldownMs,
    onAdmit: sharedWindows ? undefined : (backend, at) => admissionQueue.push({ backend: backend.name, second: admissionSecond(at), count: 1 }),
  });
  // Rate windows survive a restart: admissions of the last day come back from the store, counted per second.
  state.restoreAdmissions(await (sharedWindows ? loadRecentAdmissions : loadAdmissionSeconds)(store.db, now() - LONGEST_WINDOW_MS));
  const pruneTimer = setInterval(() => {
    // Both tables: a store that switched between SQLite-owned and shared windows must not keep the other's old rows.
    // Deletes of a day's worth of rows go where the batches go, off the event loop.
    pruneAdmissions(store.writeBehindDb, now() - LONGEST_WINDOW_MS).catch((err: unknown) => logger.warn({ err }, "could not prune rate admissions"));
    pruneAdmissionSeconds(store.writeBehindDb, now() - LONGEST_WINDOW_MS).catch((err: unknown) => logger.warn({ err }, "could not prune rate admission counts"));
    pruneLoginAttempts(store.db, now() - LOGIN_WINDOW_MS).catch((err: unknown) => logger.warn({ err }, "could not prune login attempts"));
  }, PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  // Exact token counts for backends whose models have a public tokenizer (loaded only if some backend needs one).
  const tokens = await loadTokenCounter(catalog.backends().map((b) => b.model));
  const metrics = createMetrics({
    backends,
    windowUsage: (backend) => state.windowUsage(backend),
    state: (backend) => {
      const unavailable = state.unavailable(backend);
      if (!unavailable) return "available";
      return unavailable.kind === "cooldown" ? "cooling_down" : unavailable.kind === "rate_window" ? "rate_limited" : "unhealthy";
    },
  });
  const keyLimits = createKeyLimiter(now);
  const telemetry: Telemetry = fanOut([createUsageRecorder(usageQueue), metrics, keyLimits, createAccountCooldownLog(logger)]);

  // Identity: client tokens from the file, API keys and users' JWTs, one authenticator for the facade and the RPCs.
  const clientTokens = createClientTokenAuth(config.tokens);
  const jwt = createJwtCodec(await loadJwtSecret(store.db, options.env?.JWT_SECRET ?? process.env.JWT_SECRET, now), now);
  const authenticator = createAuthenticator({ db: store.db, jwt, clientTokens, now, onError: (err) => logger.warn({ err }, "could not record an API key's last use") });
  const firstAdmin = await bootstrapSuperAdmin(store.db, { now });
  if (firstAdmin) options.onFirstAdmin?.(firstAdmin);
  const admin = { ...createAdminService({ db: store.db, jwt, authenticator, now }), ...createCatalogAdmin({ db: store.db, catalog, now }) };
  const authHttp = createAuthHttpHandlers({ admin, db: store.db, now });
  // Every attempt in flight listens on it: a Cancellation holds thousands of listeners in a Set.
  const shutdown = new Cancellation();
  let draining = false;

  const route = createRouteService({ backends, providers: () => catalog.providers(), state });
  const healthChecker = createHealthChecker({
    backends,
    providers,
    state,
    intervalMs: server.healthCheckIntervalMs,
    timeoutMs: 10_000,
    now,
    onChange: (backend, healthy) =>
      logger[healthy ? "info" : "warn"]({ backend: backend.name, provider: backend.provider }, healthy ? "backend healthy" : "backend unhealthy"),
  });
  const dispatcher = createDispatcher({
    providers,
    state,
    budget: createRetryBudget({ ratio: 0.2, minRetries: 3 }),
    telemetry,
    now,
    random,
    sleep: abortableSleep,
    maxRetries: server.maxRetries,
    requestTimeoutMs: server.requestTimeoutMs,
    firstByteTimeoutMs: server.timeouts.firstByteMs,
    streamTimeoutMs: server.timeouts.streamMs,
    shutdown,
    sharedWindows,
  });
  const gateway = createGatewayService({
    route,
    dispatcher,
    state,
    backends,
    providers: () => catalog.providers(),
    now,
    keyLimits,
  });

  const receiveMs = options.requestReceiveTimeoutMs ?? REQUEST_RECEIVE_TIMEOUT_MS;
  // Node's own settings, for HTTP and HTTPS alike: headers within its default 60 s, or the receive bound if shorter
  // (Node swaps the two otherwise); expired requests looked for four times per bound, at most every 30 s (its default).
  const receive = { headersTimeout: Math.min(60_000, receiveMs), connectionsCheckingInterval: Math.min(30_000, Math.ceil(receiveMs / 4)) };
  const fastify = Fastify({
    ...(options.https ? { https: { ...options.https, ...receive } } : { http: receive }),
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request, written by the request tracker when the request has really ended.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Time-ordered: the usage table's primary key, appended to rather than written at random pages.
    genReqId: () => timeOrderedId("req_", now()),
    // Requests arriving while draining get our own 503 in their dialect (below), not Fastify's.
    return503OnClosing: false,
    // Bounds receiving each request, not answering it: a client that dribbles or withholds its body gets 408.
    requestTimeout: receiveMs,
    // Parser errors (a NUL in a header, oversized headers, that 408) get a JSON error rather than Fastify's own body.
    clientErrorHandler: answerClientError,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // No route declares a JSON schema (bodies are validated by the translators, in each dialect's error shape), so
    // Fastify's default compilers (ajv, fast-json-stringify) would only take memory: a schema is refused instead.
    schemaController: { compilersFactory: { buildValidator: refuseSchemas, buildSerializer: refuseSchemas } },
  });
  // LLM routes take JSON only: a text/plain body is a CSRF-able "simple request" and gets 415.
  fastify.removeContentTypeParser("text/plain");
  fastify.decorateRequest("principal", undefined);
  fastify.decorateRequest("llm", undefined);
  fastify.decorateRequest("jsonBytes", undefined);
  fastify.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  fastify.setNotFoundHandler(sendNotFound);
  // Requests log through the gateway's logger itself, not a child per request (a pino child costs more than the
  // rest of the log line): the lines that concern a request carry its reqId explicitly.
  fastify.setChildLoggerFactory((parent) => parent);
  // First: every request is followed to its end (log line, usage row, x-request-id), including those refused while
  // draining. Hooks on the hot path take a callback: an async hook costs a promise per request.
  // The access line has fixed fields and no secret: built directly, in pino's format, into the logger's stream.
  const stream = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym]!;
  const accessLog: AccessLog = logger.isLevelEnabled("info") ? createAccessLog((line) => void stream.write(line), logger.bindings()) : () => {};
  const tracker = createRequestTracker({ telemetry, now, accessLog });
  fastify.addHook("onRequest", tracker.hook);
  fastify.addHook("onRequest", (request, reply, done) => {
    if (!draining || request.url.startsWith("/healthz") || request.url.startsWith("/readyz")) return done();
    reply.header("connection", "close");
    sendError(request, reply, llmuxError(Reason.UPSTREAM_OVERLOADED, "llmux is shutting down; retry on another instance", { retryAfterMs: 1000 }));
  });

  if (server.cors.enabled) fastify.addHook("onRequest", createCorsHook(server.cors.origin));
  registerHealthRoutes(fastify, { route, draining: () => draining });
  registerMetricsRoutes(fastify, { metrics });
  if (clientTokens.open) logger.warn("no client tokens configured: requests without a credential are served (API keys and logins still work)");
  registerAuthRoutes(fastify, { authHttp, authenticator });
  // LLMMux's discovery routes, as thin wrappers over the Discovery service (same access rules as the RPCs).
  for (const httpRoute of discoveryHttpRoutes(discovery)) {
    fastify.route({
      method: httpRoute.method,
      url: httpRoute.url,
      handler: async (request) => {
        await authorize({ authenticator, db: store.db, now }, httpRoute.rpc, presentedCredential(request.headers));
        return httpRoute.handle();
      },
    });
  }
  await fastify.register(async (guarded) => {
    guarded.addHook("onRequest", createAuthHook(authenticator, clientTokens.open));
    // LLM request bodies, up to agents' 100 KB and more: the same refusals as Fastify's parser (prototype poisoning
    // included) for less (json-body.ts). Only here: the Connect plugin sets its own JSON parser in its context.
    guarded.addContentTypeParser("application/json", { parseAs: "buffer" }, parseJsonBody);
    registerOpenAIRoutes(guarded, { gateway, now, tokens, idleMs: server.timeouts.idleMs });
    registerAnthropicRoutes(guarded, { gateway, now, tokens, idleMs: server.timeouts.idleMs });
    registerModelRoutes(guarded, { gateway, startedAt: now() });
  });
  // The RPC routes authenticate and authorize in one interceptor (each RPC declares its access in the proto), so
  // failures come back in the RPC protocol's own shape.
  const rpcRoutes = (router: ConnectRouter) => {
    router.service(RouteService, route.rpc);
    router.service(AdminService, admin);
    router.service(DiscoveryService, createDiscoveryService(discovery));
  };
  const interceptors = [createAccessInterceptor({ authenticator, db: store.db, now })];
  // A message over the size limit is refused before its request is read to the end; the connection then closes.
  const unfinished = createUnfinishedRequests();
  await fastify.register(async (rpc) => {
    rpc.addHook("onRequest", (request, reply, done) => {
      unfinished.watchH1(request.raw, reply.raw);
      done();
    });
    await rpc.register(fastifyConnectPlugin, {
      ...RPC_ROUTER_OPTIONS,
      interceptors,
      contextValues: (request) => createContextValues().set(clientAddressKey, request.ip),
      routes: rpcRoutes,
    });
  });

  healthChecker.start();
  await discovery.start();
  let closing: Promise<void> | undefined;
  return {
    fastify,
    rpc: { routes: rpcRoutes, interceptors },
    close() {
      closing ??= (async () => {
        draining = true;
        logger.info({ drainTimeoutMs: server.drainTimeoutMs }, "shutting down: new requests are refused, running ones may finish");
        await healthChecker.stop();
        // Stop accepting; running requests go on until they end or the drain deadline passes.
        const closed = fastify.close();
        unfinished.cutAll();
        let grace: NodeJS.Timeout | undefined;
        const deadline = setTimeout(() => {
          shutdown.abort(llmuxError(Reason.UPSTREAM_OVERLOADED, "llmux is shutting down; the stream was ended before completion"));
          // The error events get a moment to be written; then connections that are still open (idle sockets that
          // never sent a request, slow readers) are closed so shutdown cannot hang.
          grace = setTimeout(() => fastify.server.closeAllConnections(), 250);
        }, server.drainTimeoutMs);
        await closed;
        clearTimeout(deadline);
        clearTimeout(grace);
        // Requests that ended during the drain write their usage rows before the queue is flushed.
        await tracker.settled();
        clearInterval(pruneTimer);
        // Every usage row and admission reaches the store before it closes.
        await Promise.all([usageQueue.close(), admissionQueue.close()]);
        await store.close();
        await discovery.close();
        await catalog.close();
        logger.info("stopped: every usage row written, every connection closed");
      })();
      return closing;
    },
  };
}
