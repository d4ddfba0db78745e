import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { RouteService } from "../gen/llmux/route/v1/route_service_pb.js";
import { createClientTokenAuth } from "./auth/client-tokens.js";
import type { Config } from "./config/types.js";
import { createAuthHook } from "./facade/auth-hook.js";
import { createCorsHook } from "./facade/cors.js";
import { sendError } from "./facade/error-reply.js";
import { registerHealthRoutes } from "./facade/health-routes.js";
import { registerModelRoutes } from "./facade/models-routes.js";
import { registerOpenAIRoutes } from "./facade/openai-plugin.js";
import { registerAnthropicRoutes } from "./facade/anthropic-plugin.js";
import { llmuxError, Reason } from "./errors/llmux-error.js";
import { randomId } from "./lib/ids.js";
import { loadTokenCounter } from "./lib/token-counter.js";
import { createProviders } from "./providers/registry.js";
import { createBackendState } from "./route/backend-state.js";
import { createDispatcher } from "./route/dispatch.js";
import { createGatewayService } from "./services/gateway/gateway-service.js";
import { createRouteService } from "./services/route/route-service.js";
import { createAuthInterceptor } from "./services/auth-interceptor.js";

/** Largest request body accepted (Anthropic's own limit); larger bodies get 413. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** Connection timeout for upstreams. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface AppOptions {
  /** The clock; tests inject one. */
  now?: () => number;
  /** The logger; defaults to JSON on stdout at the configured level. */
  logger?: Logger;
  /** Log every routing decision (`--verbose`). */
  verbose?: boolean;
  /** TLS key and certificate (PEM) when serving HTTPS. */
  https?: { key: Buffer; cert: Buffer };
}

/** The assembled gateway: a Fastify instance not yet listening, and everything it owns. */
export interface App {
  fastify: FastifyInstance;
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

/** Creates the logger llmux uses: structured JSON, secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, base: { service: "llmux" } }, destination);
}

/**
 * The composition root: the only place that wires configuration, providers, routing, services and the facade.
 * Returns the Fastify instance without listening, so tests can bind it to port 0.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger(options.verbose ? "debug" : config.server.logLevel);
  const providers = createProviders(config.providers, {
    connectMs: CONNECT_TIMEOUT_MS,
    headersMs: config.server.requestTimeoutMs,
    idleMs: config.server.requestTimeoutMs,
  });
  const state = createBackendState(now);
  // Exact token counts for backends whose models have a public tokenizer (loaded only if some backend needs one).
  const tokens = await loadTokenCounter(config.backends.map((b) => b.model));
  const route = createRouteService({ backends: () => config.backends, providers: () => config.providers, state });
  const dispatcher = createDispatcher({
    providers,
    state,
    now,
    maxRetries: config.server.maxRetries,
    requestTimeoutMs: config.server.requestTimeoutMs,
  });
  const gateway = createGatewayService({
    route,
    dispatcher,
    state,
    backends: () => config.backends,
    providers: () => config.providers,
    now,
  });

  const fastify = Fastify({
    ...(options.https ? { https: options.https } : {}),
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request, written by the onResponse hook below with the routing outcome.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => randomId("req_"),
    requestTimeout: 0,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });
  // LLM routes take JSON only: a text/plain body is a CSRF-able "simple request" and gets 415.
  fastify.removeContentTypeParser("text/plain");
  fastify.decorateRequest("principal", undefined);
  fastify.decorateRequest("routeTrace", undefined);
  fastify.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  fastify.setNotFoundHandler((request, reply) =>
    sendError(request, reply, llmuxError(Reason.NOT_FOUND, `no route for ${request.method} ${request.url.split("?")[0]}`)),
  );
  fastify.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  fastify.addHook("onResponse", async (request, reply) => {
    const trace = request.routeTrace;
    const line: Record<string, unknown> = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (trace) {
      line.backend = trace.attempts.at(-1)?.backend;
      if (trace.attempts.length > 1) line.attempts = trace.attempts;
    }
    request.log.info(line, "request");
    if (options.verbose && trace?.selection) {
      request.log.debug(
        {
          mode: trace.selection.mode,
          candidates: trace.selection.candidates.map((b) => b.name),
          skipped: trace.selection.decisions.filter((d) => !d.kept).map((d) => ({ backend: d.backend.name, reason: d.reason, detail: d.detail })),
          attempts: trace.attempts,
        },
        "route decision",
      );
    }
  });

  if (config.server.cors.enabled) fastify.addHook("onRequest", createCorsHook(config.server.cors.origin));
  registerHealthRoutes(fastify, { gateway });
  const auth = createClientTokenAuth(config.tokens);
  if (auth.open) logger.warn("no client tokens configured: anyone who can reach this address can use the gateway");
  await fastify.register(async (guarded) => {
    guarded.addHook("onRequest", createAuthHook(auth));
    registerOpenAIRoutes(guarded, { gateway, now, tokens });
    registerAnthropicRoutes(guarded, { gateway, now, tokens });
    registerModelRoutes(guarded, { gateway, startedAt: now() });
  });
  // The RPC routes authenticate in a Connect interceptor, so failures come back in the RPC protocol's own shape.
  await fastify.register(fastifyConnectPlugin, {
    interceptors: [createAuthInterceptor(auth)],
    routes: (router) => router.service(RouteService, route.rpc),
  });

  return {
    fastify,
    async close() {
      await fastify.close();
      await Promise.all([...providers.values()].map((p) => p.close()));
    },
  };
}
