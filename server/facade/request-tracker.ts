import type { FastifyReply, FastifyRequest } from "fastify";
import type { RequestOutcome, RequestRecord, Telemetry } from "../services/gateway/gateway-service.js";
import type { RouteTrace } from "../services/gateway/gateway-service.js";

/** What the facade knows about an LLM request, filled in as it proceeds. */
export interface RequestContext {
  dialect: "openai" | "anthropic";
  operation: "chat" | "count_tokens";
  model: string;
  stream: boolean;
  trace: RouteTrace;
  /** Unix ms when the first byte was sent to the client (streams). */
  firstByteAt: number | undefined;
  /** The gateway's clock. */
  now: () => number;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set for LLM requests by the request tracker; the route handler fills in what it learns. */
    llm: RequestContext | undefined;
  }
  interface FastifyContextConfig {
    /** Marks an LLM route: its requests get a usage row. */
    llm?: { dialect: "openai" | "anthropic"; operation: "chat" | "count_tokens" };
  }
}

function outcomeOf(status: number, ctx: RequestContext, clientGone: boolean): RequestOutcome {
  if (ctx.trace.streamOutcome !== undefined) return ctx.trace.streamOutcome;
  if (clientGone) return "client_closed";
  if (status < 400) return "ok";
  if (status === 429) return "rate_limited";
  if (status === 504) return "timeout";
  // A 5xx without any upstream attempt was the gateway's own refusal (draining, nothing available).
  if (status >= 500 && ctx.trace.attempts.length > 0) return "upstream_error";
  return "rejected";
}

/** Paths probed by orchestrators and scrapers: not logged, to keep the log about traffic. */
const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

/** Follows requests to their end; `settled()` resolves once every started request has written its record. */
export interface RequestTracker {
  hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  settled(): Promise<void>;
}

/**
 * An onRequest hook that follows every request to its very end — including a client that disconnects mid-stream,
 * which never reaches Fastify's onResponse — and then writes its one log line and, for LLM routes, exactly one
 * telemetry record (usage row and metrics). Shutdown awaits `settled()` before flushing the usage queue, so a
 * request that ends during the drain still gets its row.
 */
export function createRequestTracker(deps: { telemetry: Telemetry; now: () => number }): RequestTracker {
  let pending = 0;
  let idle: (() => void) | undefined;
  const settle = () => {
    pending--;
    if (pending === 0) idle?.();
  };
  async function trackRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = deps.now();
    const llm = request.routeOptions.config.llm;
    if (llm) {
      request.llm = { ...llm, model: "", stream: false, trace: { selection: undefined, attempts: [] }, firstByteAt: undefined, now: deps.now };
    }
    pending++;
    reply.raw.once("close", () => {
      const ctx = request.llm;
      const clientGone = !reply.raw.writableFinished;
      const done = ctx?.trace.streamEnded ?? Promise.resolve();
      void done.then(() => {
        const status = clientGone ? 499 : reply.statusCode;
        const latencyMs = deps.now() - started;
        const attempts = ctx?.trace.attempts ?? [];
        const line: Record<string, unknown> = { method: request.method, url: request.url, status, ms: latencyMs };
        if (attempts.length > 0) line.backend = attempts.at(-1)!.backend;
        if (attempts.length > 1) line.attempts = attempts;
        if (ctx?.trace.streamOutcome !== undefined && ctx.trace.streamOutcome !== "ok") line.outcome = ctx.trace.streamOutcome;
        if (!QUIET.has(request.url)) request.log.info(line, "request");
        if (!ctx) return;
        const selection = ctx.trace.selection;
        if (selection) {
          request.log.debug(
            {
              mode: selection.mode,
              candidates: selection.candidates.map((b) => b.name),
              skipped: selection.decisions.filter((d) => !d.kept).map((d) => ({ backend: d.backend.name, reason: d.reason, detail: d.detail })),
              attempts,
            },
            "route decision",
          );
        }
        const backendName = attempts.at(-1)?.backend;
        const backend = backendName === undefined ? undefined : selection?.candidates.find((b) => b.name === backendName);
        const record: RequestRecord = {
          requestId: request.id,
          at: started,
          principal: request.principal?.name,
          keyId: request.principal?.keyId,
          userId: request.principal?.userId,
          clientDialect: ctx.dialect,
          operation: ctx.operation,
          model: ctx.model,
          backend: backendName,
          provider: backend?.provider,
          outcome: outcomeOf(status, ctx, clientGone),
          status,
          usage: ctx.trace.usage,
          latencyMs,
          ttftMs: ctx.firstByteAt === undefined ? undefined : ctx.firstByteAt - started,
          attempts: attempts.length,
          stream: ctx.stream,
          error: ctx.trace.streamError ?? attempts.at(-1)?.error,
        };
        deps.telemetry.request(record);
      }).finally(settle);
    });
  }
  return {
    hook: trackRequest,
    settled: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve))),
  };
}
