import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { AccessLine, AccessLog } from "./access-log.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { Cancellation } from "../lib/cancellation.js";
import type { Usage } from "../translate/canonical.js";
import { estimateUsage } from "../translate/usage-estimate.js";
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
  /**
   * Aborts when the client goes away before the response is complete, in any phase (waiting for the first token,
   * mid-stream, or waiting for a non-streaming answer), so the upstream request is aborted too.
   */
  cancel: Cancellation;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set for LLM requests by their handler (see {@link beginLlmRequest}), which fills in what it learns. */
    llm: RequestContext | undefined;
  }
  interface FastifyContextConfig {
    /** Marks an LLM route: its requests get a usage row. */
    llm?: LlmRoute;
  }
}

/** What an LLM route is; also its route config (`config.llm`), for requests that end before their handler runs. */
export interface LlmRoute {
  dialect: "openai" | "anthropic";
  operation: "chat" | "count_tokens";
}

function createRequestContext(route: LlmRoute, now: () => number): RequestContext {
  return {
    dialect: route.dialect,
    operation: route.operation,
    model: "",
    stream: false,
    trace: { selection: undefined, attempts: [] },
    firstByteAt: undefined,
    now,
    cancel: new Cancellation(),
  };
}

/**
 * The context of an LLM request, created by its handler, with the model read from the body as soon as there is
 * one (before validation, so a rejected request's usage row still names the model it asked for). A client that is
 * already gone finds its request cancelled before any upstream work starts.
 */
export function beginLlmRequest(request: FastifyRequest, reply: FastifyReply, route: LlmRoute, now: () => number): RequestContext {
  const ctx = (request.llm ??= createRequestContext(route, now));
  const body = request.body;
  if (typeof body === "object" && body !== null && "model" in body && typeof body.model === "string") ctx.model = body.model.slice(0, 256);
  if (reply.raw.destroyed) ctx.cancel.abort(llmuxError(Reason.CANCELED, "client closed the connection"));
  return ctx;
}

/**
 * The usage to record: the upstream's when it reported a trustworthy one; otherwise, for a chat whose answer was
 * committed (complete, or broken mid-stream), llmux's estimate from the prompt estimate and the output sent, so a
 * silent or lying upstream still costs what it served. Nothing to record for a request that never got an answer.
 */
function recordedUsage(ctx: RequestContext): { usage: Usage | undefined; estimated: boolean } {
  const { usage, outputChars, promptTokens, promptUsage } = ctx.trace;
  if (usage !== undefined || ctx.operation !== "chat" || outputChars === undefined) return { usage, estimated: false };
  return { usage: estimateUsage(promptTokens ?? 0, outputChars, promptUsage), estimated: true };
}

/**
 * A committed stream that ended other than cleanly or by the client leaving: the client got part of an answer and
 * then a terminal error event (reliability F19-F22).
 */
function isTruncated(streamOutcome: RequestOutcome | undefined): boolean {
  return streamOutcome !== undefined && streamOutcome !== "ok" && streamOutcome !== "client_closed";
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
  hook: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
  settled(): Promise<void>;
}

/**
 * An onRequest hook that follows every request to its very end — including a client that disconnects mid-stream,
 * which never reaches Fastify's onResponse — and then writes its one log line and, for LLM routes, exactly one
 * telemetry record (usage row and metrics). Shutdown awaits `settled()` before flushing the usage queue, so a
 * request that ends during the drain still gets its row. It also sets `x-request-id` on every answer, and is the
 * one listener on the response's `close`: a client gone early cancels the request's upstream work.
 */
export function createRequestTracker(deps: {
  telemetry: Telemetry;
  now: () => number;
  /** Where the one line per request goes (see `createAccessLog`); other lines use the request's logger. */
  accessLog: AccessLog;
}): RequestTracker {
  let pending = 0;
  let idle: (() => void) | undefined;
  const settle = () => {
    pending--;
    if (pending === 0) idle?.();
  };
  function trackRequest(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    const started = deps.now();
    reply.header("x-request-id", request.id);
    pending++;
    reply.raw.on("close", () => {
      // LLM handlers create their context; a request that ended before its handler ran (refused, malformed) gets
      // one now, from its route's configuration (read only here: Fastify builds routeOptions on every access).
      const llm = request.llm === undefined ? request.routeOptions.config.llm : undefined;
      const ctx = request.llm ?? (llm ? (request.llm = createRequestContext(llm, deps.now)) : undefined);
      const clientGone = !reply.raw.writableFinished;
      if (clientGone) ctx?.cancel.abort(llmuxError(Reason.CANCELED, "client closed the connection"));
      const finish = (endedAt: number) => {
        const status = clientGone ? 499 : reply.statusCode;
        const latencyMs = endedAt - started;
        const attempts = ctx?.trace.attempts ?? [];
        if (!QUIET.has(request.url)) {
          const line: AccessLine = { reqId: request.id, method: request.method, url: request.url, status, ms: latencyMs };
          if (attempts.length > 0) line.backend = attempts.at(-1)!.backend;
          if (attempts.length > 1) line.attempts = attempts;
          if (ctx?.trace.streamOutcome !== undefined && ctx.trace.streamOutcome !== "ok") line.outcome = ctx.trace.streamOutcome;
          deps.accessLog(line);
        }
        if (!ctx) return;
        const selection = ctx.trace.selection;
        if (selection && (request.log.level === "debug" || request.log.level === "trace")) {
          request.log.debug(
            {
              reqId: request.id,
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
        const { usage, estimated } = recordedUsage(ctx);
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
          usage,
          usageEstimated: estimated,
          truncated: isTruncated(ctx.trace.streamOutcome),
          latencyMs,
          ttftMs: ctx.firstByteAt === undefined ? undefined : ctx.firstByteAt - started,
          attempts: attempts.length,
          stream: ctx.stream,
          error: ctx.trace.streamError ?? attempts.at(-1)?.error,
        };
        deps.telemetry.request(record);
      };
      // The bookkeeping runs once the loop has nothing more urgent (setImmediate: after pending I/O), so the next
      // request on the connection is not kept waiting behind this one's log line and usage row.
      const later = (endedAt: number) =>
        setImmediate(() => {
          try {
            finish(endedAt);
          } finally {
            settle();
          }
        });
      // A stream's record waits for its end (the client may be gone while the upstream is still being closed).
      const streamEnded = ctx?.trace.streamEnded;
      if (streamEnded) void streamEnded.then(() => later(deps.now()));
      else later(deps.now());
    });
    next();
  }
  return {
    hook: trackRequest,
    settled: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve))),
  };
}
