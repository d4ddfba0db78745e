import type { BackendConfig } from "../config/types.js";
import { LlmuxError, llmuxError, Reason, toLlmuxError } from "../errors/llmux-error.js";
import { BodyTooLargeError, readBody } from "../lib/read-body.js";
import { parseRetryAfter } from "../lib/retry-after.js";
import { createSseParser } from "../lib/sse.js";
import type { ProviderAdapter } from "../providers/provider.js";
import type { Usage } from "../translate/canonical.js";
import type { Dialect, Exchange } from "../translate/exchange/exchange.js";
import type { BackendState } from "./backend-state.js";

/** Largest non-streaming upstream body accepted (larger answers are a fault, not a response). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Largest upstream error body read; the rest is discarded. */
const MAX_ERROR_BYTES = 64 * 1024;
/** Cooldown after a failure without Retry-After. */
const DEFAULT_COOLDOWN_MS = 5_000;
/** Cooldown after the upstream rejected llmux's own credential: long, since retrying will not fix the key. */
const AUTH_COOLDOWN_MS = 600_000;

/** One request as the dispatcher sees it. */
export interface DispatchCall {
  /** The exchange for a backend dialect (created lazily; the client's dialect is fixed by the caller). */
  exchangeFor(dialect: Dialect): Exchange;
  stream: boolean;
  operation: "chat" | "count_tokens";
  /** Allowlisted headers to forward (anthropic-version, anthropic-beta). */
  headers: Record<string, string>;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** Filled in as attempts are made, for logs and metrics. */
  trace: AttemptTrace[];
}

/** What happened on one attempt. */
export interface AttemptTrace {
  backend: string;
  outcome: "ok" | "failed" | "rejected";
  status?: number;
  error?: string;
}

/** A successful answer, committed to one backend. */
export type DispatchResult =
  | { kind: "json"; backend: BackendConfig; body: string; usage: Usage | undefined }
  | {
      kind: "stream";
      backend: BackendConfig;
      /** Client SSE text produced by the upstream's first event(s): already validated, not yet sent. */
      first: string;
      /** The rest of the client stream; ends with an error frame if the upstream fails after the first event. */
      rest: AsyncIterable<string>;
    };

export interface DispatcherDeps {
  providers: ReadonlyMap<string, ProviderAdapter>;
  state: BackendState;
  now: () => number;
  /** Further attempts after the first one fails. */
  maxRetries: number;
  /** Deadline for getting the first byte of an answer, across all attempts, in milliseconds. */
  requestTimeoutMs: number;
}

export interface Dispatcher {
  /**
   * Tries the candidates in order until one answers. Failover happens only before anything has been committed to
   * the client; client errors (4xx other than auth, rate limit and unknown model) end the loop at once.
   */
  dispatch(call: DispatchCall, candidates: readonly BackendConfig[]): Promise<DispatchResult>;
}

/** Creates the dispatcher: the one retry loop of llmux. */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { providers, state, now } = deps;

  function coolDownFor(backend: BackendConfig, err: LlmuxError, retryAfterMs: number | undefined): void {
    const ms = err.reason === Reason.UPSTREAM_AUTH ? AUTH_COOLDOWN_MS : (retryAfterMs ?? DEFAULT_COOLDOWN_MS);
    state.coolDown(backend, ms);
  }

  async function attempt(call: DispatchCall, backend: BackendConfig, deadline: number): Promise<DispatchResult> {
    const provider = providers.get(backend.provider);
    if (!provider) throw llmuxError(Reason.INTERNAL, `provider ${backend.provider} is not configured`);
    const exchange = call.exchangeFor(provider.dialect);
    const controller = new AbortController();
    const onClientAbort = () => controller.abort(call.signal.reason);
    call.signal.addEventListener("abort", onClientAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(llmuxError(Reason.UPSTREAM_TIMEOUT, `${backend.name} did not answer in time`)),
      Math.max(0, deadline - now()),
    );
    const clearDeadline = () => clearTimeout(timer);
    const release = () => {
      clearDeadline();
      call.signal.removeEventListener("abort", onClientAbort);
    };
    let committed = false;
    try {
      state.admit(backend);
      const res = await provider.send({ operation: call.operation, body: exchange.upstreamBody(backend), headers: call.headers, signal: controller.signal });
      if (res.status < 200 || res.status >= 300) {
        const text = await readBody(res.body, MAX_ERROR_BYTES).catch(() => "");
        const err = res.status >= 300 && res.status < 400
          ? llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} answered with a redirect, which llmux does not follow`, { upstreamStatus: res.status })
          : exchange.upstreamError(res.status, text);
        throw Object.assign(err, { retryAfterMs: err.retryAfterMs ?? parseRetryAfter(res.headers, now()) });
      }
      if (!call.stream) {
        const text = await readBody(res.body, MAX_RESPONSE_BYTES);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (cause) {
          throw llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} returned an invalid response`, { cause });
        }
        const { body, usage } = exchange.response(text, json, backend);
        state.recordSuccess(backend);
        return { kind: "json", backend, body, usage };
      }
      const result = await openStream(res.body, exchange, backend, controller, clearDeadline, release);
      committed = true;
      return result;
    } catch (err) {
      if (controller.signal.aborted && controller.signal.reason instanceof LlmuxError) throw controller.signal.reason;
      if (err instanceof BodyTooLargeError) throw llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} returned a response over ${err.limit} bytes`);
      throw toLlmuxError(err);
    } finally {
      if (!committed) {
        release();
        controller.abort();
      }
    }
  }

  async function openStream(
    body: AsyncIterable<Uint8Array>,
    exchange: Exchange,
    backend: BackendConfig,
    controller: AbortController,
    clearDeadline: () => void,
    release: () => void,
  ): Promise<DispatchResult> {
    const parser = createSseParser();
    const translator = exchange.stream(backend);
    const iterator = body[Symbol.asyncIterator]();
    let first = "";
    let ended = false;
    // Point of no return: nothing is committed until the upstream's first valid event has been translated.
    while (first === "") {
      const next = await iterator.next();
      if (next.done) {
        for (const event of parser.end()) first += translator.push(event);
        first += translator.end();
        ended = true;
        if (first === "") throw llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} sent an empty stream`);
        break;
      }
      for (const event of parser.push(next.value)) first += translator.push(event);
    }
    // The first-byte deadline is met; from here the transport's idle timeout guards the stream.
    clearDeadline();
    state.recordSuccess(backend);
    const rest = async function* (): AsyncGenerator<string> {
      let finished = ended;
      try {
        while (!finished) {
          const next = await iterator.next();
          if (next.done) {
            let out = "";
            for (const event of parser.end()) out += translator.push(event);
            out += translator.end();
            finished = true;
            if (out) yield out;
            break;
          }
          let out = "";
          for (const event of parser.push(next.value)) out += translator.push(event);
          if (out) yield out;
        }
      } catch (err) {
        const error = controller.signal.reason instanceof LlmuxError ? controller.signal.reason : toLlmuxError(err);
        if (error.reason === Reason.CANCELED) return;
        // After the first byte there is no failover: the client gets a terminal error in its dialect.
        state.coolDown(backend, DEFAULT_COOLDOWN_MS);
        finished = true;
        yield translator.error(error);
      } finally {
        release();
        if (!finished) controller.abort();
      }
    };
    return { kind: "stream", backend, first, rest: rest() };
  }

  return {
    async dispatch(call, candidates) {
      const deadline = now() + deps.requestTimeoutMs;
      const attempts = Math.min(candidates.length, deps.maxRetries + 1);
      let lastError: LlmuxError | undefined;
      for (let i = 0; i < attempts; i++) {
        const backend = candidates[i]!;
        if (call.signal.aborted) throw llmuxError(Reason.CANCELED, "request canceled");
        try {
          const result = await attempt(call, backend, deadline);
          call.trace.push({ backend: backend.name, outcome: "ok" });
          return result;
        } catch (err) {
          const error = toLlmuxError(err);
          if (error.reason === Reason.CANCELED) throw error;
          if (!isRetryable(error)) {
            call.trace.push({ backend: backend.name, outcome: "rejected", status: error.upstreamStatus, error: error.rawMessage });
            throw error;
          }
          call.trace.push({ backend: backend.name, outcome: "failed", status: error.upstreamStatus, error: error.rawMessage });
          coolDownFor(backend, error, error.retryAfterMs);
          lastError = error;
          if (now() >= deadline) break;
        }
      }
      throw lastError ?? llmuxError(Reason.UPSTREAM_FAILED, "no backend answered");
    },
  };
}

/** Failures another backend may not share: the upstream's fault, not the request's. */
function isRetryable(err: LlmuxError): boolean {
  switch (err.reason) {
    case Reason.UPSTREAM_FAILED:
    case Reason.UPSTREAM_TIMEOUT:
    case Reason.UPSTREAM_OVERLOADED:
    case Reason.UPSTREAM_AUTH:
    case Reason.RATE_LIMITED:
      return true;
    case Reason.MODEL_NOT_FOUND:
      // The backend does not have the model it is configured for: a configuration fault on that backend.
      return err.upstreamStatus !== undefined;
    default:
      return false;
  }
}
