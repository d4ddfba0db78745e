import { Pool } from "undici";
import { llmuxError, Reason, LlmuxError } from "../errors/llmux-error.js";
import type { CancelSignal } from "../lib/cancellation.js";
import { guardedLookup, METADATA_LOOKUP_CODE, systemResolver, type HostResolver } from "../lib/guarded-lookup.js";
import type { UpstreamResponse } from "./provider.js";
import { sendUpstream } from "./upstream-exchange.js";

/**
 * Timeouts of one upstream transport, in milliseconds. llmux sets every one; none is left at undici's default.
 * A `post` waits for its headers, and for a JSON body, as long as its caller's signal lets it: the dispatcher
 * bounds each attempt with its own timer (first byte, then the request deadline), and undici's timers would only
 * duplicate it at the cost of two long-lived timer objects a request. A streamed body keeps `idleMs` between
 * chunks. Probes and tokenizer calls keep every bound.
 */
export interface TransportTimeouts {
  connectMs: number;
  /** Until response headers arrive (the first byte), on probes and tokenizer calls. */
  headersMs: number;
  /** Longest silence between two body chunks: of a stream, a probe's or a tokenizer call's answer. */
  idleMs: number;
}

/**
 * Most bytes of a `get` body read before the connection is dropped. A model list is a few kB; OpenRouter's runs to
 * megabytes, which a health probe has no reason to download.
 */
export const GET_BODY_LIMIT_BYTES = 64 * 1024;

/** A pooled keep-alive HTTP/1.1 client for one upstream origin. */
export interface HttpTransport {
  /**
   * Sends `POST {base path}{path}`; resolves once the answer's headers arrive. Bounded by `signal` and, when
   * `stream` is true (the answer is SSE), by `idleMs` between two chunks of the body.
   */
  post(path: string, headers: Record<string, string>, body: string, signal: CancelSignal, stream: boolean): Promise<UpstreamResponse>;
  /**
   * Sends `GET {base path}{path}` and resolves with the status once the body has been read and discarded (at most
   * GET_BODY_LIMIT_BYTES; beyond that the connection is dropped). The body is never returned, so nothing an
   * upstream sends here can reach a log or a client. Rejects like `post` when no complete answer arrives.
   */
  get(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<number>;
  /** A small JSON POST to a path at the origin's root (not under the base path), on the side pool; status and body. */
  postAtRoot(path: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/**
 * Creates the transport for a provider's base URL. One undici Pool per origin keeps connections alive between
 * requests; redirects are never followed (the provider key must not travel to another host), undici's own
 * retries are off (the route layer owns the one retry loop), and every connection's resolved addresses are
 * checked: a host name that comes to resolve to a cloud metadata address is refused (`resolve` is injected by
 * tests).
 */
export function createHttpTransport(baseUrl: string, timeouts: TransportTimeouts, resolve: HostResolver = systemResolver): HttpTransport {
  const url = new URL(baseUrl);
  const basePath = url.pathname.replace(/\/+$/, "");
  const options = {
    connect: { timeout: timeouts.connectMs, lookup: guardedLookup(resolve) },
    connectTimeout: timeouts.connectMs,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.idleMs,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    pipelining: 1,
  };
  // No cap on upstream connections: every client request in flight needs its own (a thousand concurrent streams
  // must not queue behind each other); the clients' own concurrency is the bound. No headers or body timer of
  // undici's own (see TransportTimeouts): a stream's idle bound is set per request.
  const pool = new Pool(url.origin, { ...options, headersTimeout: 0, bodyTimeout: 0, connections: null });
  // Health probes use their own small pool, so a pool busy with long streams cannot starve them into a false
  // "unhealthy".
  const probes = new Pool(url.origin, { ...options, connections: 2 });
  return {
    post(path, headers, body, signal, stream) {
      const request = { method: "POST" as const, path: basePath + path, headers, body, bodyTimeout: stream ? timeouts.idleMs : 0 };
      return sendUpstream(pool, request, signal, (err) => transportError(err, url.host, signal));
    },
    async get(path, headers, signal) {
      try {
        const res = await probes.request({ method: "GET", path: basePath + path, headers, signal });
        await res.body.dump({ signal, limit: GET_BODY_LIMIT_BYTES });
        return res.statusCode;
      } catch (err) {
        throw transportError(err, url.host, signal);
      }
    },
    async postAtRoot(path, headers, body, signal) {
      try {
        const res = await probes.request({ method: "POST", path, headers, body, signal });
        const text = await res.body.text();
        return { status: res.statusCode, text: text.length > GET_BODY_LIMIT_BYTES ? "" : text };
      } catch (err) {
        throw transportError(err, url.host, signal);
      }
    },
    close: async () => {
      await Promise.all([pool.close(), probes.close()]);
    },
  };
}

/**
 * The health verdict on a probe's `get`: true for a 2xx status, false for any other status (a redirect included)
 * or any failure. Shared by the adapters so every kind judges health alike.
 */
export function probeSucceeded(status: Promise<number>): Promise<boolean> {
  return status.then(
    (code) => code >= 200 && code < 300,
    () => false,
  );
}

/** TLS failures (never relaxed: the connection is refused and the backend cooled down). */
const TLS_FAULTS = new Set([
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "EPROTO",
]);

/**
 * Classifies a transport failure. The message names the upstream host (never its key or path query) so an
 * operator can tell which backend failed; it is safe to show to clients.
 */
export function transportError(err: unknown, host: string, signal?: CancelSignal): LlmuxError {
  if (err instanceof LlmuxError) return err;
  const code = typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
  const name = err instanceof Error ? err.name : "";
  if (signal?.aborted || name === "AbortError" || code === "UND_ERR_ABORTED") {
    return llmuxError(Reason.CANCELED, "request canceled", { cause: err });
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") return llmuxError(Reason.UPSTREAM_TIMEOUT, `connecting to ${host} timed out`, { cause: err });
  if (code === "UND_ERR_HEADERS_TIMEOUT") return llmuxError(Reason.UPSTREAM_TIMEOUT, `${host} did not answer in time`, { cause: err });
  if (code === "UND_ERR_BODY_TIMEOUT") return llmuxError(Reason.UPSTREAM_TIMEOUT, `${host} stopped sending`, { cause: err });
  if (code === "ECONNREFUSED") return llmuxError(Reason.UPSTREAM_FAILED, `${host} refused the connection`, { cause: err });
  // A name that does not resolve or a certificate that does not verify is a configuration fault: retrying soon
  // will not help, so the dispatcher cools the backend down for longest (upstreamType "config_fault").
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return llmuxError(Reason.UPSTREAM_FAILED, `${host} could not be resolved`, { cause: err, upstreamType: "config_fault" });
  }
  if (code === METADATA_LOOKUP_CODE) {
    return llmuxError(Reason.UPSTREAM_FAILED, `${host} resolves to a cloud metadata address, which is always refused`, { cause: err, upstreamType: "config_fault" });
  }
  if (TLS_FAULTS.has(code)) return llmuxError(Reason.UPSTREAM_FAILED, `TLS handshake with ${host} failed`, { cause: err, upstreamType: "config_fault" });
  return llmuxError(Reason.UPSTREAM_FAILED, `connection to ${host} failed`, { cause: err });
}
