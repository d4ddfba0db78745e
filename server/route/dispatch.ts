import { isUtf8 } from "node:buffer";
import type { BackendConfig } from "../config/types.js";
import { LlmuxError, llmuxError, Reason, toLlmuxError } from "../errors/llmux-error.js";
import { Cancellation, toAbortSignal, type CancelSignal } from "../lib/cancellation.js";
import { BodyTooLargeError, readBody, readBodyBytes } from "../lib/read-body.js";
import { parseRetryAfter } from "../lib/retry-after.js";
import { createSseParser, type SseEvent } from "../lib/sse.js";
import type { ProviderAdapter } from "../providers/provider.js";
import type { Usage } from "../translate/canonical.js";
import type { Dialect, Exchange, ExchangeAnswer } from "../translate/exchange/exchange.js";
import type { BackendState, FailureKind } from "./backend-state.js";
import type { RetryBudget } from "./retry-budget.js";
import type { SharedWindows } from "./shared-windows.js";
import type { RequestOutcome, Telemetry } from "./telemetry.js";

/** Largest non-streaming upstream body accepted (larger answers are a fault, not a response). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/**
 * Largest stream taken from one upstream (256 MiB, hundreds of times a long answer): a runaway upstream is cut
 * off, and the client's stream ends with a terminal error, instead of running until the stream timeout.
 */
export const MAX_STREAM_BYTES = 256 * 1024 * 1024;
/** Largest upstream error body read; the rest is discarded. */
const MAX_ERROR_BYTES = 64 * 1024;
/** Backoff before retry n (n ≥ 1) is uniform in [0, min(BACKOFF_CAP_MS, BACKOFF_BASE_MS × 2^(n−1))]. */
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 250;

/** One request as the dispatcher sees it. */
export interface DispatchCall {
  /** The exchange for a backend dialect (created lazily; the client's dialect is fixed by the caller). */
  exchangeFor(dialect: Dialect): Exchange;
  /**
   * Lets the caller drop the parsed request while an attempt waits for its upstream: called once the attempt's
   * upstream body has been serialised. A later attempt reads the request again through its exchange.
   */
  parkRequest?(): void;
  stream: boolean;
  operation: "chat" | "count_tokens";
  /** Allowlisted headers to forward (anthropic-version, anthropic-beta). */
  headers: Record<string, string>;
  /** Aborts when the client goes away (reason: an LlmuxError). */
  signal: CancelSignal;
  /** Filled in as the request proceeds, for logs, metrics and the usage row. */
  trace: DispatchTrace;
}

/** What happened on one attempt. */
export interface AttemptTrace {
  backend: string;
  outcome: "ok" | "failed" | "rejected";
  status?: number;
  error?: string;
}

/** Everything the dispatcher learned about a request, updated until its stream ends. */
export interface DispatchTrace {
  attempts: AttemptTrace[];
  /** Usage as reported so far (final once the stream ended). */
  usage?: Usage;
  /** The upstream's early counts when `usage` never arrived (see `StreamTranslator.promptUsage`). */
  promptUsage?: Usage;
  /** Characters of output sent to the client (see `StreamTranslator.outputChars`); set once an answer is committed. */
  outputChars?: number;
  /** How a committed stream ended; undefined while it runs (and for non-streaming answers). */
  streamOutcome?: RequestOutcome;
  streamError?: string;
  /** Resolves when a committed stream has ended, however it ended. */
  streamEnded?: Promise<void>;
}

/** A successful answer, committed to one backend. */
export type DispatchResult =
  | {
      kind: "json";
      backend: BackendConfig;
      /** The answer in the client's dialect: the upstream's own bytes when it passed through unchanged. */
      body: string | Buffer;
      usage: Usage | undefined;
    }
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
  budget: RetryBudget;
  telemetry: Telemetry;
  now: () => number;
  /** Uniform [0, 1); injected so tests are deterministic. */
  random: () => number;
  /** Abortable sleep; injected so tests do not wait. */
  sleep: (ms: number, signal: CancelSignal) => Promise<void>;
  /** Further attempts after the first one fails. */
  maxRetries: number;
  /** Total deadline of a request until its answer is committed (and of a whole non-streaming answer), in ms. */
  requestTimeoutMs: number;
  /** Per attempt, until the first valid byte of the answer, in ms. */
  firstByteTimeoutMs: number;
  /** Longest a committed stream may run, in ms. */
  streamTimeoutMs: number;
  /** Aborted when the gateway shuts down and its drain deadline has passed: running streams end with an error. */
  shutdown: CancelSignal;
  /** Rate windows decided in a shared database (several replicas); undefined when this process owns them. */
  sharedWindows?: SharedWindows;
  /** Overrides {@link MAX_STREAM_BYTES} (tests use a small one). */
  maxStreamBytes?: number;
}

export interface Dispatcher {
  /**
   * Tries the candidates in order until one answers. Failover happens only before anything has been committed to
   * the client; client errors (4xx other than auth, rate limit and unknown model) end the loop at once; retries
   * are limited by `maxRetries`, the request deadline and the shared retry budget.
   */
  dispatch(call: DispatchCall, candidates: readonly BackendConfig[]): Promise<DispatchResult>;
  /** Exact prompt tokens from a backend's server tokenizer (vLLM), or undefined; bounded to two seconds. */
  tokenize(backend: BackendConfig, body: Record<string, unknown>, signal: CancelSignal): Promise<number | undefined>;
}

/** Why an attempt's upstream request is dropped once the dispatcher no longer wants it (never shown to anyone). */
const ABANDONED = llmuxError(Reason.CANCELED, "attempt abandoned");

/** An abort reason that says the deadline, not the client, ended the attempt. */
function timeoutError(message: string): LlmuxError {
  return llmuxError(Reason.UPSTREAM_TIMEOUT, message);
}

/** Creates the dispatcher: the one retry loop of llmux. */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { providers, state, now, telemetry } = deps;
  /** Refusals by a full shared rate window: not the backend's fault, so no cooldown and no failure counted. */
  const windowRefusals = new WeakSet<LlmuxError>();

  function fail(backend: BackendConfig, err: LlmuxError, latencyMs: number): void {
    const kind: FailureKind | undefined =
      err.reason === Reason.UPSTREAM_AUTH || err.upstreamType === "insufficient_quota" || err.upstreamType === "billing_error"
        ? "account"
        : err.upstreamType === "config_fault" || err.reason === Reason.MODEL_NOT_FOUND
          ? "config"
          : undefined;
    const { ms, started } = state.recordFailure(backend, { retryAfterMs: err.retryAfterMs, kind, latencyMs });
    if (started) telemetry.cooldown({ backend, ms, reason: Reason[err.reason].toLowerCase(), kind, upstreamStatus: err.upstreamStatus });
  }

  /** When the client may retry: the earliest moment one of the tried backends is available again. */
  function earliestRetry(tried: readonly BackendConfig[]): number | undefined {
    const at = now();
    let earliest: number | undefined;
    for (const backend of tried) {
      const until = state.unavailable(backend)?.until;
      if (until === undefined) return undefined;
      earliest = Math.min(earliest ?? until, until);
    }
    return earliest === undefined ? undefined : Math.max(1000, earliest - at);
  }

  async function attempt(call: DispatchCall, backend: BackendConfig, deadline: number, retry: number): Promise<DispatchResult> {
    const provider = providers.get(backend.provider);
    if (!provider) throw llmuxError(Reason.INTERNAL, `provider ${backend.provider} is not configured`);
    const exchange = call.exchangeFor(provider.dialect);
    const started = now();
    const controller = new Cancellation();
    // The closures below hold the signal, not the call: they live as long as a committed stream, and the call
    // reaches the request's exchange and body (an agent's runs to megabytes).
    const clientSignal = call.signal;
    const onClientAbort = () => controller.abort(clientSignal.reason);
    const onShutdown = () => controller.abort(deps.shutdown.reason);
    clientSignal.addEventListener("abort", onClientAbort, { once: true });
    deps.shutdown.addEventListener("abort", onShutdown, { once: true });
    // Until the answer is committed, the nearer of the per-attempt first-byte deadline and the request deadline. A
    // non-streaming answer whose headers came in time may take until the request deadline to arrive in full: the
    // same timer then runs on to it (one timer per attempt, not one per phase).
    const firstByteAt = Math.min(deadline, started + deps.firstByteTimeoutMs);
    let readingAnswer = false;
    const unfinished = () => controller.abort(timeoutError(`${backend.name} did not finish in time`));
    let timer = setTimeout(() => {
      if (!readingAnswer) controller.abort(timeoutError(`${backend.name} did not answer in time`));
      else if (firstByteAt < deadline) timer = setTimeout(unfinished, deadline - firstByteAt);
      else unfinished();
    }, Math.max(0, firstByteAt - started));
    const release = () => {
      clearTimeout(timer);
      clientSignal.removeEventListener("abort", onClientAbort);
      deps.shutdown.removeEventListener("abort", onShutdown);
    };
    let committed = false;
    try {
      if (deps.sharedWindows) {
        const until = await deps.sharedWindows.tryAdmit(backend, now());
        if (until !== undefined) {
          state.blockWindow(backend, until);
          const refusal = llmuxError(Reason.RATE_LIMITED, `every backend for this request has reached its rate limit`, { retryAfterMs: Math.max(1000, until - now()) });
          windowRefusals.add(refusal);
          throw refusal;
        }
      }
      state.admit(backend);
      const sent = provider.send({ operation: call.operation, body: exchange.upstreamBody(backend), headers: call.headers, signal: controller });
      call.parkRequest?.();
      const res = await sent;
      if (res.status < 200 || res.status >= 300) {
        const text = await readBody(res.body, MAX_ERROR_BYTES).catch(() => "");
        const err = res.status >= 300 && res.status < 400
          ? llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} answered with a redirect, which llmux does not follow`, { upstreamStatus: res.status })
          : exchange.upstreamError(res.status, provider.redact(text));
        throw Object.assign(err, { retryAfterMs: err.retryAfterMs ?? parseRetryAfter(res.headers, now()) });
      }
      if (!call.stream) {
        readingAnswer = true;
        const bytes = await readBodyBytes(res.body, MAX_RESPONSE_BYTES);
        const text = bytes.toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (cause) {
          throw llmuxError(Reason.UPSTREAM_INVALID_RESPONSE, `${backend.name} returned an invalid response`, { cause, upstreamStatus: res.status });
        }
        let answer: ExchangeAnswer;
        try {
          answer = exchange.response(text, json, backend);
        } catch (cause) {
          throw llmuxError(Reason.UPSTREAM_INVALID_RESPONSE, `${backend.name} returned an invalid response`, { cause, upstreamStatus: res.status });
        }
        const usage = answer.usage;
        // An answer passed through unchanged leaves as the upstream's bytes, not encoded a second time; only valid
        // UTF-8, so a malformed byte still reaches the client as U+FFFD, as in the text that was parsed.
        const body = answer.body === text && isUtf8(bytes) ? bytes : answer.body;
        // The body was read to the end: nothing is left to abort.
        committed = true;
        release();
        const latencyMs = now() - started;
        state.recordSuccess(backend, latencyMs);
        telemetry.attempt({ backend, outcome: "ok", status: res.status, latencyMs, retry });
        call.trace.usage = usage;
        call.trace.outputChars = answer.outputChars;
        return { kind: "json", backend, body, usage };
      }
      const result = await openStream(call, res.body, exchange, backend, controller, () => clearTimeout(timer), release, started, retry);
      committed = true;
      return result;
    } catch (err) {
      if (controller.aborted && controller.reason instanceof LlmuxError) throw controller.reason;
      if (err instanceof BodyTooLargeError) throw llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} returned a response over ${err.limit} bytes`);
      throw toLlmuxError(err);
    } finally {
      if (!committed) {
        release();
        controller.abort(ABANDONED);
      }
    }
  }

  async function openStream(
    call: DispatchCall,
    body: AsyncIterable<Uint8Array>,
    exchange: Exchange,
    backend: BackendConfig,
    controller: Cancellation,
    clearFirstByteTimer: () => void,
    release: () => void,
    started: number,
    retry: number,
  ): Promise<DispatchResult> {
    const parser = createSseParser();
    const translator = exchange.stream(backend);
    const iterator = body[Symbol.asyncIterator]();
    const maxBytes = deps.maxStreamBytes ?? MAX_STREAM_BYTES;
    let streamed = 0;
    /** The next upstream read; past the byte cap the upstream is dropped and the read fails with the reason. */
    const read = async (): Promise<IteratorResult<Uint8Array>> => {
      const next = await iterator.next();
      if (!next.done && (streamed += next.value.byteLength) > maxBytes) {
        controller.abort(llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} streamed more than ${maxBytes} bytes`));
        throw controller.reason;
      }
      return next;
    };
    const translate = (events: readonly SseEvent[]): string => {
      let out = "";
      for (const event of events) out += translator.push(event);
      return out;
    };
    let first = "";
    let ended = false;
    // Events already received but not yet translated: the first frames leave as soon as they hold content, and
    // whatever came in the same read (a fast upstream sends the whole answer at once) follows through `rest`.
    let unsent: SseEvent[] = [];
    // Point of no return: nothing is committed until the upstream has sent content (not only a preamble such as
    // a role chunk or message_start), so a stream that breaks before its first content still fails over.
    while (!translator.contentSeen()) {
      const next = await read();
      if (next.done) {
        first += translate(parser.end()) + translator.end();
        ended = true;
        if (first === "") throw llmuxError(Reason.UPSTREAM_FAILED, `${backend.name} sent an empty stream`);
        break;
      }
      const events = parser.push(next.value);
      let i = 0;
      while (i < events.length && !translator.contentSeen()) first += translator.push(events[i++]!);
      if (i < events.length) unsent = events.slice(i);
    }
    clearFirstByteTimer();
    const latencyMs = now() - started;
    state.recordSuccess(backend, latencyMs);
    telemetry.attempt({ backend, outcome: "ok", status: 200, latencyMs, retry });
    // From here the transport's idle timeout guards each gap, and the stream deadline the whole.
    const streamTimer = setTimeout(() => controller.abort(timeoutError(`${backend.name} streamed longer than the stream timeout`)), deps.streamTimeoutMs);
    let markEnded: () => void = () => {};
    call.trace.streamEnded = new Promise<void>((resolve) => (markEnded = resolve));
    const trace = call.trace;
    const finish = (outcome: RequestOutcome, error?: string) => {
      trace.usage = translator.usage() ?? trace.usage;
      if (trace.usage === undefined) trace.promptUsage = translator.promptUsage?.();
      trace.outputChars = translator.outputChars();
      trace.streamOutcome ??= outcome;
      if (error !== undefined) trace.streamError ??= error;
    };
    if (ended) finish("ok");
    /**
     * The client frames of the next upstream read ("" when it completes none), or undefined at the end of the body.
     * A function of its own so that the stream, while it waits for the read after, holds only the frames: the read
     * is a view of the socket's buffer, which would otherwise outlive it and leave the young generation with it.
     */
    const translateNextRead = async (): Promise<string | undefined> => {
      const next = await read();
      return next.done ? undefined : translate(parser.push(next.value));
    };
    const rest = async function* (): AsyncGenerator<string> {
      let finished = ended;
      try {
        const held = translate(unsent);
        // The events are slices of the first read's text: holding them would keep all of it for the stream's life.
        unsent = [];
        if (held) yield held;
        while (!finished) {
          const out = await translateNextRead();
          if (out === undefined) {
            const last = translate(parser.end()) + translator.end();
            finished = true;
            finish("ok");
            if (last) yield last;
            break;
          }
          if (out) yield out;
        }
      } catch (err) {
        finished = true;
        const reason = controller.reason;
        const error = reason instanceof LlmuxError ? reason : toLlmuxError(err);
        if (deps.shutdown.aborted && reason === deps.shutdown.reason) {
          // The drain deadline passed: the client is told why its stream ends; the backend did nothing wrong.
          finish("shutdown_aborted", error.rawMessage);
          yield translator.error(error);
          return;
        }
        if (error.reason === Reason.CANCELED) {
          finish("client_closed", error.rawMessage);
          return;
        }
        // After the first byte there is no failover: the client gets a terminal error in its dialect, and the
        // failure counts against the backend.
        fail(backend, error, now() - started);
        finish(error.reason === Reason.UPSTREAM_TIMEOUT ? "timeout" : "upstream_error", error.rawMessage);
        yield translator.error(error);
      } finally {
        // The consumer stopped early (client gone): the upstream must not keep generating.
        if (!finished) finish("client_closed", "client closed the connection");
        clearTimeout(streamTimer);
        release();
        if (!finished) controller.abort(ABANDONED);
        markEnded();
      }
    };
    return { kind: "stream", backend, first, rest: rest() };
  }

  return {
    async tokenize(backend, body, signal) {
      const provider = providers.get(backend.provider);
      if (!provider?.tokenize) return undefined;
      return provider.tokenize(body, AbortSignal.any([toAbortSignal(signal), AbortSignal.timeout(2_000)]));
    },
    async dispatch(call, candidates) {
      const deadline = now() + deps.requestTimeoutMs;
      const attempts = Math.min(candidates.length, deps.maxRetries + 1);
      const leave = deps.budget.enter();
      let lastError: LlmuxError | undefined;
      let invalidAnswers = 0;
      const tried: BackendConfig[] = [];
      try {
        for (let i = 0; i < attempts; i++) {
          const backend = candidates[i]!;
          let releaseRetry: (() => void) | undefined;
          if (i > 0) {
            releaseRetry = deps.budget.tryRetry();
            // The budget is spent: an outage must not multiply load. Answer with the last failure.
            if (!releaseRetry) break;
            const backoff = deps.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (i - 1));
            if (now() + backoff >= deadline) {
              releaseRetry();
              break;
            }
            await deps.sleep(backoff, call.signal).catch(() => undefined);
            telemetry.failover(candidates[i - 1]!, backend);
          }
          if (call.signal.aborted || deps.shutdown.aborted) {
            releaseRetry?.();
            const reason = call.signal.aborted ? call.signal.reason : deps.shutdown.reason;
            throw reason instanceof LlmuxError ? reason : llmuxError(Reason.CANCELED, "request canceled");
          }
          const started = now();
          tried.push(backend);
          try {
            const result = await attempt(call, backend, deadline, i);
            call.trace.attempts.push({ backend: backend.name, outcome: "ok" });
            return result;
          } catch (err) {
            const error = toLlmuxError(err);
            if (error.reason === Reason.CANCELED || (deps.shutdown.aborted && err === deps.shutdown.reason)) throw error;
            if (windowRefusals.has(error)) {
              call.trace.attempts.push({ backend: backend.name, outcome: "failed", error: error.rawMessage });
              lastError = error;
              continue;
            }
            const latencyMs = now() - started;
            if (!isRetryable(error)) {
              call.trace.attempts.push({ backend: backend.name, outcome: "rejected", status: error.upstreamStatus, error: error.rawMessage });
              telemetry.attempt({ backend, outcome: "rejected", status: error.upstreamStatus, latencyMs, retry: i });
              throw error;
            }
            call.trace.attempts.push({ backend: backend.name, outcome: "failed", status: error.upstreamStatus, error: error.rawMessage });
            telemetry.attempt({ backend, outcome: "failed", status: error.upstreamStatus, latencyMs, retry: i });
            fail(backend, error, latencyMs);
            lastError = error;
            if (now() >= deadline) break;
            // A backend that answers garbage may share the fault with its siblings (a broken deployment): one
            // failover for it, not the whole candidate list.
            if (error.reason === Reason.UPSTREAM_INVALID_RESPONSE && ++invalidAnswers > 1) break;
          } finally {
            releaseRetry?.();
          }
        }
      } finally {
        leave();
      }
      if (lastError && (lastError.reason === Reason.RATE_LIMITED || lastError.reason === Reason.UPSTREAM_OVERLOADED)) {
        // Told to come back when the first of the backends it tried is available again (Retry-After, whole seconds).
        const retryAfterMs = earliestRetry(tried);
        if (retryAfterMs !== undefined) lastError = Object.assign(lastError, { retryAfterMs });
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
    case Reason.UPSTREAM_INVALID_RESPONSE:
      return true;
    case Reason.MODEL_NOT_FOUND:
      // The backend does not have the model it is configured for: a configuration fault on that backend.
      return err.upstreamStatus !== undefined;
    default:
      return false;
  }
}
