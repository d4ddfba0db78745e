import { Agent, request } from "undici";
import type { BackendConfig, DiscoveryConfig, DiscoveryServerConfig, ProviderConfig } from "../config/types.js";
import { hasControlChars } from "../lib/control-chars.js";
import { guardedLookup, METADATA_LOOKUP_CODE, systemResolver, type HostResolver } from "../lib/guarded-lookup.js";

/** One model found on a server. */
export interface DiscoveredModelState {
  /** The id the server reports. */
  id: string;
  /** The backend it is served as: `<provider>:<id>`. */
  backend: string;
  /** vLLM's `max_model_len`; undefined when the server does not say. */
  context: number | undefined;
}

/** What is known about one server. */
export interface DiscoveredServerState {
  /** The base URL (with `/v1`). */
  url: string;
  /** The provider its models are served through. */
  provider: string;
  intervalMs: number;
  /** True when the last poll succeeded. */
  reachable: boolean;
  /** When the last poll finished, epoch ms; undefined before the first. */
  lastPollAt: number | undefined;
  /** Why the last poll failed, in our words (never the fetched content); empty on success. */
  error: string;
  models: readonly DiscoveredModelState[];
}

/** A summary of discovery. */
export interface DiscoveryStats {
  servers: number;
  reachableServers: number;
  models: number;
  /** When the latest poll finished; undefined before the first. */
  lastRefreshAt: number | undefined;
  /** The shortest polling period among the servers (the default when there are none). */
  intervalMs: number;
  /** True when discovery found nothing and the BACKENDS fallback is in use. */
  usingFallback: boolean;
}

/** Model discovery: implements the catalog's DiscoveredModels, plus what DiscoveryService reports. */
export interface Discovery {
  /** One OpenAI-compatible provider per server. */
  providers(): readonly ProviderConfig[];
  /** The discovered backends, or the BACKENDS fallback (`fallback` true) while none is found. */
  current(): { readonly backends: readonly BackendConfig[]; readonly fallback: boolean };
  /** Calls `listener` after every change of `current()`; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  servers(): readonly DiscoveredServerState[];
  stats(): DiscoveryStats;
  /** Polls every server now (joining polls already running) and resolves with the servers afterwards. */
  refresh(): Promise<readonly DiscoveredServerState[]>;
  /** Starts polling: a first round now (the promise resolves when it is done), then each server on its interval. */
  start(): Promise<void>;
  /** Stops polling, waits for running polls and closes connections. */
  close(): Promise<void>;
}

/** Dependencies and limits of {@link createDiscovery}. */
export interface DiscoveryDeps {
  config: DiscoveryConfig;
  now?: () => number;
  /** TCP (and TLS) connect timeout, ms. */
  connectTimeoutMs?: number;
  /** Longest a whole poll may take (connect, headers, body), ms. */
  pollTimeoutMs?: number;
  /** Most bytes of a model list read; a longer answer fails the poll. */
  maxBodyBytes?: number;
  /** Defaults to the system resolver. Every address it returns is checked before connecting. */
  resolve?: HostResolver;
  /** Told about each failed poll (for the log), with the same secret-free message the API reports. */
  onPollError?: (server: DiscoveredServerState) => void;
}

/** Polling period when no server is configured (for stats only). */
const DEFAULT_INTERVAL_MS = 30_000;
/** A server's models are kept across this many consecutive failed polls, so a blip does not reroute traffic. */
export const FORGET_AFTER_FAILURES = 3;
/** Models kept per server; a longer list is cut. */
export const MAX_MODELS_PER_SERVER = 1000;
const MAX_MODEL_ID = 256;

/** A failed poll, with a message safe to show: a status code or error code, never the fetched content. */
class PollError extends Error {}

/** What the poll tells about a transport failure: a code, never a message that might carry content. */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof PollError) return err.message;
  let cause: unknown = err;
  // undici wraps connect errors; the code of the innermost error says most.
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === METADATA_LOOKUP_CODE) return "the host name resolves to a cloud metadata address, which is always refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
    if (code === "UND_ERR_CONNECT_TIMEOUT") return "connecting timed out";
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return `no complete answer within the time limit`;
    if (cause.name === "TimeoutError" || cause.name === "AbortError") return `no complete answer within ${timeoutMs} ms`;
    if (typeof code === "string" && /^[A-Z0-9_]+$/.test(code)) return `connection failed (${code})`;
    cause = cause.cause;
  }
  return "connection failed";
}

/** A response body as undici hands it out. */
type Body = AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown; on(event: "error", listener: () => void): unknown };

/**
 * Drops a body unread (its connection is closed). The abort error undici emits for it is expected and is
 * swallowed, so it never becomes an unhandled error event.
 */
function discard(body: Body): void {
  body.on("error", () => {});
  body.destroy();
}

/** Reads a body up to `limit` bytes; a longer body is abandoned (the socket is dropped) and fails the poll. */
async function readCapped(body: Body, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) {
      discard(body);
      throw new PollError(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The models of an OpenAI model list (`{data:[{id, max_model_len?}]}`); entries without a usable id are skipped. */
function parseModelList(text: string): { id: string; context: number | undefined }[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PollError("the answer is not JSON");
  }
  const data = typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)["data"] : undefined;
  if (!Array.isArray(data)) throw new PollError("the answer is not an OpenAI model list (no data array)");
  const seen = new Set<string>();
  const models: { id: string; context: number | undefined }[] = [];
  for (const item of data) {
    if (typeof item !== "object" || item === null) continue;
    const { id, max_model_len: maxLen } = item as Record<string, unknown>;
    if (typeof id !== "string" || id === "" || id.length > MAX_MODEL_ID || hasControlChars(id) || seen.has(id)) continue;
    seen.add(id);
    const context = typeof maxLen === "number" && Number.isSafeInteger(maxLen) && maxLen > 0 && maxLen <= 0xffffffff ? maxLen : undefined;
    models.push({ id, context });
    if (models.length === MAX_MODELS_PER_SERVER) break;
  }
  return models;
}

/** A discovered model as a backend: served by its id only (like a BACKENDS entry), GPT-OSS repair on for GPT-OSS. */
function backendOf(provider: string, model: DiscoveredModelState): BackendConfig {
  return {
    name: model.backend,
    provider,
    model: model.id,
    alias: undefined,
    context: model.context,
    vision: false,
    thinking: false,
    maxPerDay: undefined,
    maxPerHour: undefined,
    maxPer5Hours: undefined,
    modelMatch: [model.id],
    keyRename: {},
    keyDelete: [],
    keyAdd: {},
    fallbacks: [],
    gptOssFix: /gpt-oss/i.test(model.id),
  };
}

interface ServerEntry {
  config: DiscoveryServerConfig;
  state: DiscoveredServerState;
  failures: number;
  backends: BackendConfig[];
  inflight: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Creates model discovery over the configured servers (`[[discovery]]`, `VLLM_SERVERS`). Each poll is
 * `GET {url}/models` (vLLM's model list carries `max_model_len`, which becomes the backend's context), made
 * SSRF-safe: URLs were checked by the config (http(s), no userinfo, no metadata literal), every resolved address
 * is checked again at connect time, redirects are never followed, the answer is capped in size and time, and a
 * failed poll reports a status or code in our own words, never what it fetched.
 */
export function createDiscovery(deps: DiscoveryDeps): Discovery {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 5_000;
  const pollTimeoutMs = deps.pollTimeoutMs ?? 10_000;
  const maxBodyBytes = deps.maxBodyBytes ?? 1024 * 1024;
  const agent = new Agent({
    connect: { timeout: connectTimeoutMs, lookup: guardedLookup(deps.resolve ?? systemResolver) },
    headersTimeout: pollTimeoutMs,
    bodyTimeout: pollTimeoutMs,
    keepAliveTimeout: 1_000,
  });
  const listeners = new Set<() => void>();
  const providers: ProviderConfig[] = config.servers.map((server) => ({
    name: server.provider,
    kind: "openai",
    baseUrl: server.url,
    apiKey: server.apiKey,
    mock: undefined,
  }));
  const entries: ServerEntry[] = config.servers.map((server) => ({
    config: server,
    state: { url: server.url, provider: server.provider, intervalMs: server.intervalMs, reachable: false, lastPollAt: undefined, error: "", models: [] },
    failures: 0,
    backends: [],
    inflight: undefined,
    timer: undefined,
  }));
  let current: { backends: BackendConfig[]; fallback: boolean } = { backends: config.fallback, fallback: true };
  let closed = false;

  function recompute(): void {
    const discovered = entries.flatMap((entry) => entry.backends);
    const next = discovered.length > 0 ? { backends: discovered, fallback: false } : { backends: config.fallback, fallback: true };
    const key = (value: typeof current) => JSON.stringify([value.fallback, value.backends.map((b) => [b.name, b.context])]);
    if (key(next) === key(current)) return;
    current = next;
    for (const listener of listeners) listener();
  }

  async function fetchModels(server: DiscoveryServerConfig): Promise<{ id: string; context: number | undefined }[]> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (server.apiKey !== undefined) headers["authorization"] = `Bearer ${server.apiKey}`;
    const res = await request(`${server.url}/models`, { method: "GET", headers, dispatcher: agent, signal: AbortSignal.timeout(pollTimeoutMs) });
    if (res.statusCode < 200 || res.statusCode > 299) {
      // The body is dropped unread: nothing the server sends on a failure reaches a message or a log.
      discard(res.body);
      if (res.statusCode >= 300 && res.statusCode < 400) throw new PollError(`answered HTTP ${res.statusCode}; redirects are not followed`);
      throw new PollError(`answered HTTP ${res.statusCode}`);
    }
    return parseModelList(await readCapped(res.body, maxBodyBytes));
  }

  async function poll(entry: ServerEntry): Promise<void> {
    const { config: server, state } = entry;
    try {
      const models = await fetchModels(server);
      state.models = models.map((m) => ({ id: m.id, backend: `${server.provider}:${m.id}`, context: m.context }));
      state.reachable = true;
      state.error = "";
      entry.failures = 0;
    } catch (err) {
      state.reachable = false;
      state.error = describeFailure(err, pollTimeoutMs);
      entry.failures += 1;
      if (entry.failures >= FORGET_AFTER_FAILURES) state.models = [];
    }
    state.lastPollAt = now();
    if (!state.reachable) deps.onPollError?.({ ...state });
    entry.backends = state.models.map((model) => backendOf(server.provider, model));
    recompute();
  }

  /** Polls one server unless a poll of it is running, in which case that poll is joined. */
  function pollNow(entry: ServerEntry): Promise<void> {
    entry.inflight ??= poll(entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  function schedule(entry: ServerEntry): void {
    if (closed) return;
    entry.timer = setTimeout(() => {
      void pollNow(entry).then(() => schedule(entry));
    }, entry.config.intervalMs);
    entry.timer.unref();
  }

  const snapshot = (): DiscoveredServerState[] => entries.map((entry) => ({ ...entry.state, models: [...entry.state.models] }));

  return {
    providers: () => providers,
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    servers: snapshot,
    stats() {
      const polled = entries.map((entry) => entry.state.lastPollAt).filter((at): at is number => at !== undefined);
      return {
        servers: entries.length,
        reachableServers: entries.filter((entry) => entry.state.reachable).length,
        models: entries.reduce((sum, entry) => sum + entry.state.models.length, 0),
        lastRefreshAt: polled.length === 0 ? undefined : Math.max(...polled),
        intervalMs: entries.length === 0 ? DEFAULT_INTERVAL_MS : Math.min(...entries.map((entry) => entry.config.intervalMs)),
        usingFallback: current.fallback && current.backends.length > 0,
      };
    },
    async refresh() {
      await Promise.all(entries.map(pollNow));
      return snapshot();
    },
    async start() {
      const first = Promise.all(entries.map(pollNow));
      for (const entry of entries) void first.then(() => schedule(entry));
      await first;
    },
    async close() {
      closed = true;
      for (const entry of entries) clearTimeout(entry.timer);
      await Promise.all(entries.map((entry) => entry.inflight));
      await agent.close();
    },
  };
}
