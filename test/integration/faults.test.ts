import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEndlessBodyUpstream, startSilentListener, startUntrustedTlsUpstream } from "../helpers/fault-servers.js";
import { closedPort, readJson, startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockScript, type MockUpstream } from "../helpers/mock-upstream.js";

// The upstream fault catalogue of spec/reliability.md §4 (F1–F26), one or more tests per row, against the real app
// and scriptable upstreams. Every timeout is short, so a fault that made the gateway hang would fail the test
// instead of stalling it. The gateway's clock is frozen per test, so cooldown expiries and Retry-After values come
// out exact; only the timeouts run on real time. A table shares one gateway (starting one costs a few hundred ms),
// but every row has its own backends and client model name, so no row sees another's cooldowns. Tests marked
// `it.fails` describe the behaviour the catalogue asks for and a bug that currently prevents it; they turn red once
// the bug is fixed, and are then flipped to `it`.

const TOKEN = "client-token-faults";
const PROVIDER_KEY = "sk-provider-secret-faults-7731";
/** Planted in upstream error bodies whose text llmux must not pass on (credentials, 5xx, HTML). */
const UPSTREAM_SECRET = "org-upstream-account-4242";
const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const UNRESOLVABLE = "http://llmux-test.invalid:9/v1";

let clock = T0;
/** The ISO time `ms` after the frozen start, as `/healthz` prints cooldown expiries. */
const at = (ms: number) => new Date(T0 + ms).toISOString();

type Cleanup = () => Promise<void>;
const testCleanups: Cleanup[] = [];
const suiteCleanups: Cleanup[] = [];
/** Where new servers register their cleanup: the running test's list, or the file's while a table is being built. */
let cleanups = testCleanups;

async function runCleanups(list: Cleanup[]): Promise<void> {
  for (const cleanup of list.splice(0).reverse()) await cleanup();
}

/** Builds servers and gateways that live until the end of the file (for a table's shared gateway). */
async function shared<T>(build: () => Promise<T>): Promise<T> {
  cleanups = suiteCleanups;
  try {
    return await build();
  } finally {
    cleanups = testCleanups;
  }
}

beforeEach(() => {
  clock = T0;
});
afterEach(() => runCleanups(testCleanups));
afterAll(() => runCleanups(suiteCleanups));

// ---------------------------------------------------------------------------------------------------------------
// Gateway and upstreams

type UpstreamKind = "openai" | "anthropic";
type Client = "cc" | "msg";

/** One `[provider]` + `[[backend]]` pair; the backend is named `<name>:<model>` and serves that client model. */
interface BackendSpec {
  name: string;
  baseUrl: string;
  kind: UpstreamKind;
  /** The model, sent upstream as is and requested by the client; "m" unless a shared gateway needs distinct ones. */
  model?: string;
}

function backendName(spec: BackendSpec): string {
  return `${spec.name}:${spec.model ?? "m"}`;
}

/** Short everything: a hung fault fails the test within a second. */
const SETTINGS = {
  max_retries: 2,
  request_timeout: 5,
  connect_timeout: 0.5,
  first_byte_timeout: 0.3,
  idle_timeout: 0.3,
  stream_timeout: 5,
  cooldown: 1,
  max_cooldown: 60,
  health_check_interval: 0,
};
type Settings = Partial<typeof SETTINGS>;

/**
 * For the connect-timeout fault: undici runs its connect timer on a coarse (about 0.5 s) tick, so the first-byte
 * timeout, which also covers connecting, is set well above it to make the connect timeout the one that fires.
 */
const CONNECT_TIMEOUT_SETTINGS: Settings = { connect_timeout: 0.2, first_byte_timeout: 3 };

function toml(backends: readonly BackendSpec[], settings: Settings = {}): string {
  const lines = Object.entries({ ...SETTINGS, ...settings }).map(([key, value]) => `${key} = ${value}`);
  for (const b of backends) {
    lines.push(`[provider.${b.name}]`, `kind = "${b.kind}"`, `base_url = "${b.baseUrl}"`, `api_key = "${PROVIDER_KEY}"`);
  }
  for (const b of backends) lines.push("[[backend]]", `model = "${backendName(b)}"`);
  lines.push("[tokens]", `tests = "${TOKEN}"`);
  return lines.join("\n");
}

async function gateway(backends: readonly BackendSpec[], settings?: Settings): Promise<TestGateway> {
  const gw = await startGateway(toml(backends, settings), { now: () => clock });
  cleanups.push(() => gw.close());
  return gw;
}

async function upstream(script?: MockScript): Promise<MockUpstream> {
  const mock = await startMockUpstream(script);
  cleanups.push(() => mock.close());
  return mock;
}

function backendFor(name: string, mock: MockUpstream, kind: UpstreamKind = "openai", model?: string): BackendSpec {
  return { name, baseUrl: kind === "openai" ? `${mock.url}/v1` : mock.url, kind, model };
}

/** Completion requests (POST) a mock received, optionally only those for one upstream model. */
function posts(mock: MockUpstream, model?: string): number {
  return mock.requests.filter((r) => r.method === "POST" && (model === undefined || (r.json as { model?: unknown } | undefined)?.model === model)).length;
}

function send(gw: TestGateway, client: Client, options: { stream?: boolean; model?: string } = {}): Promise<Response> {
  const stream = options.stream === true;
  const model = options.model ?? "m";
  const messages = [{ role: "user", content: "hello" }];
  const body = client === "cc" ? { model, messages, stream } : { model, max_tokens: 64, messages, stream };
  return fetch(`${gw.url}${client === "cc" ? "/v1/chat/completions" : "/v1/messages"}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });
}

/** Each backend's name, state and (when not available) expiry, as `/healthz` reports them; optionally only some. */
async function health(gw: TestGateway, names?: readonly string[]): Promise<Array<{ name: string; state: string; available_at?: string }>> {
  const body = await readJson(await fetch(`${gw.url}/healthz`));
  const backends: Array<{ name: string; state: string; available_at?: string }> = body.backends;
  return backends.filter((b) => names === undefined || names.includes(b.name)).map((b) => ({
    name: b.name,
    state: b.state,
    ...(b.available_at === undefined ? {} : { available_at: b.available_at }),
  }));
}

function ccError(message: string, code: string | null, type = "server_error"): unknown {
  return { error: { message, type, param: null, code } };
}

function msgError(type: string, message: string): unknown {
  return { type: "error", error: { type, message } };
}

/** SSE text → events, in order. */
function sseEvents(text: string): Array<{ event: string | undefined; data: string }> {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length);
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice("data: ".length)).join("\n");
      return { event, data };
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Upstream bodies

const OPENAI_401 = JSON.stringify({
  error: { message: `Incorrect API key provided: ${PROVIDER_KEY.slice(0, 8)}***7731 (${UPSTREAM_SECRET})`, type: "invalid_request_error", param: null, code: "invalid_api_key" },
});
const OPENAI_500 = JSON.stringify({ error: { message: `internal failure on shard 7 for ${UPSTREAM_SECRET}`, type: "server_error", param: null, code: null } });
const OPENAI_QUOTA = JSON.stringify({
  error: { message: `You exceeded your current quota, please check your plan and billing details (${UPSTREAM_SECRET}).`, type: "insufficient_quota", param: null, code: "insufficient_quota" },
});
const OPENAI_400_MESSAGE = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.";
const OPENAI_400 = JSON.stringify({ error: { message: OPENAI_400_MESSAGE, type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } });
const OPENAI_404_MESSAGE = "The model `m` does not exist or you do not have access to it.";
const OPENAI_404 = JSON.stringify({ error: { message: OPENAI_404_MESSAGE, type: "invalid_request_error", param: null, code: "model_not_found" } });
const ANTHROPIC_403 = JSON.stringify({ type: "error", error: { type: "permission_error", message: `Your API key does not have permission (${UPSTREAM_SECRET})` } });
const ANTHROPIC_429 = JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: `Number of requests has exceeded your rate limit for ${UPSTREAM_SECRET}` } });
const ANTHROPIC_BILLING = JSON.stringify({ type: "error", error: { type: "billing_error", message: `Your credit balance is too low for ${UPSTREAM_SECRET}` } });
/** Anthropic's catch-all type: the status, not the type, says what failed. */
const ANTHROPIC_API_ERROR = JSON.stringify({ type: "error", error: { type: "api_error", message: `internal failure on shard 7 for ${UPSTREAM_SECRET}` } });
const ANTHROPIC_400_MESSAGE = "messages.0.content: text content blocks must be non-empty";
const ANTHROPIC_400 = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: ANTHROPIC_400_MESSAGE } });
/** Sits past the first KB of HTML_PAGE: the log may keep at most 1 KB of an HTML body, the client none of it. */
const HTML_TAIL = "html-tail-beyond-the-first-kilobyte";
/** An nginx error page padded past 1 KB. */
const HTML_PAGE = `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>${"<!-- padding -->".repeat(100)}<p>${HTML_TAIL} ${UPSTREAM_SECRET}</p></body></html>`;

/** First frames of a stream, enough for the gateway to commit to it (content "par" included). */
const OPENAI_ROLE = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n';
const OPENAI_CONTENT = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}\n\n';
const ANTHROPIC_MESSAGE_START =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n';
const ANTHROPIC_BLOCK_START = 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
const ANTHROPIC_CONTENT = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}}\n\n';
const STREAM_START: Record<UpstreamKind, string[]> = {
  openai: [OPENAI_ROLE, OPENAI_CONTENT],
  anthropic: [ANTHROPIC_MESSAGE_START, ANTHROPIC_BLOCK_START, ANTHROPIC_CONTENT],
};

// ---------------------------------------------------------------------------------------------------------------
// Faults: each builds one failing backend named `name` (provider) serving `model`

/** A failing backend and what can be observed of it. */
interface FaultyBackend {
  spec: BackendSpec;
  /** `host:port` as the gateway names it in transport errors. */
  host: string;
  /** Requests that reached it. */
  received(): number;
  /** Requests or TLS sessions that must never happen (a followed redirect, a relaxed certificate check). */
  strays(): number;
  /** Resolves true when the gateway hung up on an unfinished exchange (only for mock upstreams). */
  waitForClose?(timeoutMs: number): Promise<boolean>;
}

type Fault = (name: string, model?: string) => Promise<FaultyBackend>;

function hostOf(url: string): string {
  return new URL(url).host;
}

/** A mock upstream answering every request with `reply`. */
function mockFault(reply: MockReply, kind: UpstreamKind = "openai"): Fault {
  return async (name, model) => {
    const mock = await upstream(() => reply);
    return { spec: backendFor(name, mock, kind, model), host: hostOf(mock.url), received: () => posts(mock), strays: () => 0, waitForClose: (ms) => mock.waitForClose(ms) };
  };
}

/** A base URL nothing answers on: the fault is in name resolution or the connection. */
function urlFault(baseUrl: () => Promise<string>): Fault {
  return async (name, model) => {
    const url = await baseUrl();
    return { spec: { name, baseUrl: url, kind: "openai", model }, host: hostOf(url), received: () => 0, strays: () => 0 };
  };
}

/** Keeps the fault names as a type while typing every entry as a plain Fault. */
function defineFaults<K extends string>(faults: Record<K, Fault>): Record<K, Fault> {
  return faults;
}

const FAULTS = defineFaults({
  dns: urlFault(async () => UNRESOLVABLE),
  refused: urlFault(async () => `http://127.0.0.1:${await closedPort()}/v1`),
  connectTimeout: async (name, model) => {
    const silent = await startSilentListener();
    cleanups.push(() => silent.close());
    const url = `https://127.0.0.1:${silent.port}/v1`;
    return { spec: { name, baseUrl: url, kind: "openai", model }, host: hostOf(url), received: () => 0, strays: () => 0 };
  },
  tlsSelfSigned: async (name, model) => {
    const tls = await startUntrustedTlsUpstream();
    cleanups.push(() => tls.close());
    return { spec: { name, baseUrl: `${tls.url}/v1`, kind: "openai", model }, host: hostOf(tls.url), received: () => tls.requests(), strays: () => tls.handshakes() + tls.requests() };
  },
  tlsPlainHttp: async (name, model) => {
    const mock = await upstream();
    const url = `https://127.0.0.1:${new URL(mock.url).port}/v1`;
    return { spec: { name, baseUrl: url, kind: "openai", model }, host: hostOf(url), received: () => posts(mock), strays: () => posts(mock) };
  },
  reset: mockFault({ type: "reset" }),
  stall: mockFault({ type: "stall" }),
  headersThenSilence: mockFault({ type: "sse", events: [], end: "stall" }),
  e429: mockFault({ type: "error", status: 429, headers: { "retry-after": "20" } }),
  e429Anthropic: mockFault({ type: "error", status: 429, body: ANTHROPIC_429, headers: { "retry-after": "20" } }, "anthropic"),
  e429Date: mockFault({ type: "error", status: 429, headers: { "retry-after": new Date(T0 + 30_000).toUTCString() } }),
  e429Ms: mockFault({ type: "error", status: 429, headers: { "retry-after-ms": "1500" } }),
  e429Zero: mockFault({ type: "error", status: 429, headers: { "retry-after": "0" } }),
  e429Negative: mockFault({ type: "error", status: 429, headers: { "retry-after": "-5" } }),
  e429Garbage: mockFault({ type: "error", status: 429, headers: { "retry-after": "abc" } }),
  e429Exponent: mockFault({ type: "error", status: 429, headers: { "retry-after": "1e9" } }),
  e429Huge: mockFault({ type: "error", status: 429, headers: { "retry-after": "1000000000" } }),
  e429Bare: mockFault({ type: "error", status: 429 }),
  e429Quota: mockFault({ type: "error", status: 429, body: OPENAI_QUOTA }),
  e429BillingAnthropic: mockFault({ type: "error", status: 429, body: ANTHROPIC_BILLING }, "anthropic"),
  e402BillingAnthropic: mockFault({ type: "error", status: 402, body: ANTHROPIC_BILLING }, "anthropic"),
  e500: mockFault({ type: "error", status: 500, body: OPENAI_500 }),
  e502: mockFault({ type: "error", status: 502, body: OPENAI_500 }),
  e503: mockFault({ type: "error", status: 503, body: OPENAI_500 }),
  e503RetryAfter: mockFault({ type: "error", status: 503, body: OPENAI_500, headers: { "retry-after": "7" } }),
  e504: mockFault({ type: "error", status: 504, body: OPENAI_500 }),
  e503Anthropic: mockFault({ type: "error", status: 503, body: ANTHROPIC_API_ERROR }, "anthropic"),
  e503RetryAfterAnthropic: mockFault({ type: "error", status: 503, body: ANTHROPIC_API_ERROR, headers: { "retry-after": "7" } }, "anthropic"),
  e504Anthropic: mockFault({ type: "error", status: 504, body: ANTHROPIC_API_ERROR }, "anthropic"),
  e529: mockFault({ type: "error", status: 529 }, "anthropic"),
  e529RetryAfter: mockFault({ type: "error", status: 529, headers: { "retry-after": "3" } }, "anthropic"),
  e401: mockFault({ type: "error", status: 401, body: OPENAI_401 }),
  e403Anthropic: mockFault({ type: "error", status: 403, body: ANTHROPIC_403 }, "anthropic"),
  e400: mockFault({ type: "error", status: 400, body: OPENAI_400 }),
  e422: mockFault({ type: "error", status: 422, body: OPENAI_400 }),
  e413: mockFault({ type: "error", status: 413, body: OPENAI_400 }),
  e400Anthropic: mockFault({ type: "error", status: 400, body: ANTHROPIC_400 }, "anthropic"),
  e404Model: mockFault({ type: "error", status: 404, body: OPENAI_404 }),
  invalidJson: mockFault({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: `{"choices":[{"message":{"content":"${UPSTREAM_SECRET}` }),
  html502: mockFault({ type: "error", status: 502, body: HTML_PAGE, headers: { "content-type": "text/html" } }),
  html200: mockFault({ type: "raw", status: 200, headers: { "content-type": "text/html" }, body: HTML_PAGE }),
  html429: mockFault({ type: "error", status: 429, body: HTML_PAGE, headers: { "content-type": "text/html", "retry-after": "5" } }),
  badFraming: mockFault({ type: "sse", events: [`data: {"choices":[{"delta":{"content":"${UPSTREAM_SECRET}\n\n`] }),
  inBandFirst: mockFault({ type: "sse", events: [`data: {"error":{"message":"${UPSTREAM_SECRET} crashed","type":"server_error","param":null,"code":null}}\n\n`] }),
  inBandFirstAnthropic: mockFault(
    { type: "sse", events: [`event: error\ndata: {"type":"error","error":{"type":"api_error","message":"${UPSTREAM_SECRET} crashed"}}\n\n`] },
    "anthropic",
  ),
  inBandOverloadedAnthropic: mockFault({ type: "sse", events: ['event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'] }, "anthropic"),
  redirect: async (name, model) => {
    // The redirect points at another live upstream: following it would hand it the request and the provider key.
    const target = await upstream();
    const mock = await upstream(() => ({ type: "redirect", location: `${target.url}/v1/chat/completions` }));
    return { spec: backendFor(name, mock, "openai", model), host: hostOf(mock.url), received: () => posts(mock), strays: () => target.requests.length, waitForClose: (ms) => mock.waitForClose(ms) };
  },
});

type FaultName = keyof typeof FAULTS;

// ---------------------------------------------------------------------------------------------------------------
// F1–F18, F23: the only backend fails before anything was committed

interface OnlyBackendCase {
  title: string;
  fault: FaultName;
  client: Client;
  stream?: boolean;
  settings?: Settings;
  status: number;
  /** The client's error body; `host` is the upstream's `host:port`, `backend` the backend's name. */
  body: (names: { host: string; backend: string }) => unknown;
  /** The `Retry-After` header the client must get; null for none. */
  retryAfter: string | null;
  /** The cooldown the backend gets, in ms from the frozen clock; null when it must stay available. */
  cooldownMs: number | null;
  /** Requests the faulty upstream receives (default 1). */
  received?: number;
  /** The gateway must close the upstream socket (an attempt it gave up on). */
  upstreamClosed?: boolean;
  /** Set when the gateway does not behave so yet: the one-line bug, and the test runs as `it.fails`. */
  bug?: string;
}


const ONLY_BACKEND: OnlyBackendCase[] = [
  {
    title: "F1: an unresolvable host → 502 naming the host",
    fault: "dns",
    client: "cc",
    status: 502,
    body: ({ host }) => ccError(`${host} could not be resolved`, "upstream_error"),
    retryAfter: null,
    // A configuration fault: out for max_cooldown.
    cooldownMs: 60_000,
    received: 0,
  },
  {
    title: "F2: connection refused → 502",
    fault: "refused",
    client: "cc",
    status: 502,
    body: ({ host }) => ccError(`${host} refused the connection`, "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
    received: 0,
  },
  {
    title: "F2: connect timeout (a TLS handshake that never completes) → 504",
    fault: "connectTimeout",
    client: "cc",
    settings: CONNECT_TIMEOUT_SETTINGS,
    status: 504,
    body: ({ host }) => ccError(`connecting to ${host} timed out`, "upstream_timeout"),
    retryAfter: null,
    cooldownMs: 1000,
    received: 0,
  },
  {
    title: "F3: a self-signed certificate is refused, never trusted → 502",
    fault: "tlsSelfSigned",
    client: "cc",
    status: 502,
    body: ({ host }) => ccError(`TLS handshake with ${host} failed`, "upstream_error"),
    retryAfter: null,
    cooldownMs: 60_000,
    received: 0,
  },
  {
    title: "F3: plain HTTP behind an https:// URL is a TLS failure → 502",
    fault: "tlsPlainHttp",
    client: "msg",
    status: 502,
    body: ({ host }) => msgError("api_error", `TLS handshake with ${host} failed`),
    retryAfter: null,
    cooldownMs: 60_000,
    received: 0,
  },
  {
    title: "F4: a reset after the request was sent → 502",
    fault: "reset",
    client: "cc",
    status: 502,
    body: ({ host }) => ccError(`connection to ${host} failed`, "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F5: no response headers within first_byte_timeout → 504, upstream socket closed",
    fault: "stall",
    client: "cc",
    status: 504,
    body: ({ backend }) => ccError(`${backend} did not answer in time`, "upstream_timeout"),
    retryAfter: null,
    cooldownMs: 1000,
    upstreamClosed: true,
  },
  {
    title: "F5: headers but no first event within first_byte_timeout (stream) → 504, upstream socket closed",
    fault: "headersThenSilence",
    client: "msg",
    stream: true,
    status: 504,
    body: ({ backend }) => msgError("timeout_error", `${backend} did not answer in time`),
    retryAfter: null,
    cooldownMs: 1000,
    upstreamClosed: true,
  },
  {
    title: "F6: 429 with Retry-After: 20 → 429, Retry-After 20, cooldown 20 s",
    fault: "e429",
    client: "cc",
    status: 429,
    body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
    retryAfter: "20",
    cooldownMs: 20_000,
  },
  ...(["cc", "msg"] as const).map(
    (client): OnlyBackendCase => ({
      title: `F6: 429 rate_limit_error naming the provider's org, Retry-After: 20, from an Anthropic upstream → ${client} 429, the org withheld`,
      fault: "e429Anthropic",
      client,
      status: 429,
      body: () => (client === "cc" ? ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests") : msgError("rate_limit_error", "the upstream provider's rate limit was exceeded")),
      retryAfter: "20",
      cooldownMs: 20_000,
    }),
  ),
  {
    title: "F7: Retry-After as an HTTP date 30 s ahead → Retry-After 30",
    fault: "e429Date",
    client: "cc",
    status: 429,
    body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
    retryAfter: "30",
    cooldownMs: 30_000,
  },
  {
    title: "F7: retry-after-ms: 1500 → cooldown 1.5 s, Retry-After rounded up to 2",
    fault: "e429Ms",
    client: "cc",
    status: 429,
    body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
    retryAfter: "2",
    cooldownMs: 1500,
  },
  {
    title: "F7: Retry-After: 0 → clamped up to 1 s",
    fault: "e429Zero",
    client: "cc",
    status: 429,
    body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
    retryAfter: "1",
    cooldownMs: 1000,
  },
  {
    title: "F7: Retry-After: 1000000000 → clamped down to 300 s",
    fault: "e429Huge",
    client: "cc",
    status: 429,
    body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
    retryAfter: "300",
    cooldownMs: 300_000,
  },
  ...(
    [
      ["F7: Retry-After: -5 (garbage) → default backoff, 429 with Retry-After 1", "e429Negative"],
      ["F7: Retry-After: abc (garbage) → default backoff, 429 with Retry-After 1", "e429Garbage"],
      ["F7: Retry-After: 1e9 (not delay-seconds, garbage) → default backoff, 429 with Retry-After 1", "e429Exponent"],
      ["F8: 429 without Retry-After → default backoff, 429 with Retry-After 1", "e429Bare"],
    ] as const
  ).map(
    ([title, fault]): OnlyBackendCase => ({
      title,
      fault,
      client: "cc",
      status: 429,
      body: () => ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"),
      retryAfter: "1",
      cooldownMs: 1000,
    }),
  ),
  // An Anthropic balance that ran out is OpenAI's insufficient_quota: a 429 for the client, an hour out for the backend.
  ...(
    [
      ["cc", "e429BillingAnthropic"],
      ["msg", "e429BillingAnthropic"],
      ["cc", "e402BillingAnthropic"],
      ["msg", "e402BillingAnthropic"],
    ] as const
  ).map(
    ([client, fault]): OnlyBackendCase => ({
      title: `F9: ${fault === "e402BillingAnthropic" ? 402 : 429} billing_error from an Anthropic upstream → ${client} 429, sanitised, Retry-After 3600, backend out for an hour`,
      fault,
      client,
      status: 429,
      body: () => (client === "cc" ? ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests") : msgError("rate_limit_error", "the upstream provider's rate limit was exceeded")),
      retryAfter: "3600",
      cooldownMs: 3_600_000,
    }),
  ),
  {
    title: "F10: 500 → 502, upstream text withheld",
    fault: "e500",
    client: "cc",
    status: 502,
    body: () => ccError("the upstream provider failed (HTTP 500)", "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F10: 502 → 502",
    fault: "e502",
    client: "msg",
    status: 502,
    body: () => msgError("api_error", "the upstream provider failed (HTTP 502)"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F10: 503 with Retry-After: 7 is handled like F6 → 503, Retry-After 7, cooldown 7 s",
    fault: "e503RetryAfter",
    client: "cc",
    status: 503,
    body: () => ccError("the upstream provider is overloaded", "overloaded"),
    retryAfter: "7",
    cooldownMs: 7000,
  },
  {
    title: "F10: 503 without Retry-After → 503 with Retry-After 1 (R5: llmux's 503 always carries one)",
    fault: "e503",
    client: "cc",
    status: 503,
    body: () => ccError("the upstream provider is overloaded", "overloaded"),
    retryAfter: "1",
    cooldownMs: 1000,
  },
  {
    title: "F10: 504 → 504",
    fault: "e504",
    client: "cc",
    status: 504,
    body: () => ccError("the upstream provider timed out", "upstream_timeout"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  // An Anthropic 503/504 carries the catch-all api_error: the status decides, as for an OpenAI upstream.
  ...(["cc", "msg"] as const).flatMap((client): OnlyBackendCase[] => [
    {
      title: `F10: 503 api_error with Retry-After: 7 from an Anthropic upstream → ${client} ${client === "cc" ? 503 : 529}, Retry-After 7`,
      fault: "e503RetryAfterAnthropic",
      client,
      status: client === "cc" ? 503 : 529,
      body: () => (client === "cc" ? ccError("upstream is overloaded", "overloaded") : msgError("overloaded_error", "upstream is overloaded")),
      retryAfter: "7",
      cooldownMs: 7000,
    },
    {
      title: `F10: 503 api_error without Retry-After from an Anthropic upstream → ${client} ${client === "cc" ? 503 : 529}, Retry-After 1`,
      fault: "e503Anthropic",
      client,
      status: client === "cc" ? 503 : 529,
      body: () => (client === "cc" ? ccError("upstream is overloaded", "overloaded") : msgError("overloaded_error", "upstream is overloaded")),
      retryAfter: "1",
      cooldownMs: 1000,
    },
    {
      title: `F10: 504 api_error from an Anthropic upstream → ${client} 504`,
      fault: "e504Anthropic",
      client,
      status: 504,
      body: () => (client === "cc" ? ccError("upstream timed out", "upstream_timeout") : msgError("timeout_error", "upstream timed out")),
      retryAfter: null,
      cooldownMs: 1000,
    },
  ]),
  {
    title: "F11: 529 overloaded_error with Retry-After: 3 → CC 503",
    fault: "e529RetryAfter",
    client: "cc",
    status: 503,
    body: () => ccError("upstream is overloaded", "overloaded"),
    retryAfter: "3",
    cooldownMs: 3000,
  },
  {
    title: "F11: 529 overloaded_error with Retry-After: 3 → MSG 529 overloaded_error",
    fault: "e529RetryAfter",
    client: "msg",
    status: 529,
    body: () => msgError("overloaded_error", "upstream is overloaded"),
    retryAfter: "3",
    cooldownMs: 3000,
  },
  {
    title: "F11: 529 without Retry-After → CC 503 with Retry-After 1",
    fault: "e529",
    client: "cc",
    status: 503,
    body: () => ccError("upstream is overloaded", "overloaded"),
    retryAfter: "1",
    cooldownMs: 1000,
  },
  {
    title: "F11: 529 without Retry-After → MSG 529 with Retry-After 1",
    fault: "e529",
    client: "msg",
    status: 529,
    body: () => msgError("overloaded_error", "upstream is overloaded"),
    retryAfter: "1",
    cooldownMs: 1000,
  },
  {
    title: "F12: 401 (our key revoked) → 502 upstream_auth_error, never 401; backend out for an hour",
    fault: "e401",
    client: "cc",
    status: 502,
    body: () => ccError("the upstream provider rejected llmux's credentials (HTTP 401)", "upstream_auth_error"),
    retryAfter: null,
    cooldownMs: 3_600_000,
  },
  {
    title: "F12: 403 permission_error from an Anthropic upstream → MSG 502 api_error",
    fault: "e403Anthropic",
    client: "msg",
    status: 502,
    body: () => msgError("api_error", "upstream rejected llmux's provider credentials"),
    retryAfter: null,
    cooldownMs: 3_600_000,
  },
  {
    title: "F13: 400 (context length) → 400 with the upstream's message, no cooldown",
    fault: "e400",
    client: "cc",
    status: 400,
    body: () => ccError(OPENAI_400_MESSAGE, null, "invalid_request_error"),
    retryAfter: null,
    cooldownMs: null,
  },
  {
    title: "F13: 422 → 400, no cooldown",
    fault: "e422",
    client: "cc",
    status: 400,
    body: () => ccError(OPENAI_400_MESSAGE, null, "invalid_request_error"),
    retryAfter: null,
    cooldownMs: null,
  },
  {
    title: "F13: 413 → 413 request_too_large, no cooldown",
    fault: "e413",
    client: "cc",
    status: 413,
    body: () => ccError(OPENAI_400_MESSAGE, "request_too_large", "invalid_request_error"),
    retryAfter: null,
    cooldownMs: null,
  },
  {
    title: "F13: 400 from an Anthropic upstream → MSG 400 invalid_request_error",
    fault: "e400Anthropic",
    client: "msg",
    status: 400,
    body: () => msgError("invalid_request_error", ANTHROPIC_400_MESSAGE),
    retryAfter: null,
    cooldownMs: null,
  },
  {
    title: "F14: 404 model_not_found → 404 with the upstream's message",
    fault: "e404Model",
    client: "cc",
    status: 404,
    body: () => ccError(OPENAI_404_MESSAGE, "model_not_found", "invalid_request_error"),
    retryAfter: null,
    cooldownMs: 60_000,
  },
  {
    title: "F15: 200 with invalid JSON → 502 upstream_invalid_response",
    fault: "invalidJson",
    client: "cc",
    status: 502,
    body: ({ backend }) => ccError(`${backend} returned an invalid response`, "upstream_invalid_response"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F16: an HTML 502 page → 502 JSON, the HTML never forwarded",
    fault: "html502",
    client: "cc",
    status: 502,
    body: () => ccError("the upstream provider failed (HTTP 502)", "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F16: an HTML 429 page is handled by its status → 429, Retry-After 5",
    fault: "html429",
    client: "msg",
    status: 429,
    body: () => msgError("rate_limit_error", "the upstream provider's rate limit was exceeded"),
    retryAfter: "5",
    cooldownMs: 5000,
  },
  {
    title: "F16: a text/html 200 to a streaming request → 502 JSON",
    fault: "html200",
    client: "cc",
    stream: true,
    status: 502,
    body: () => ccError("upstream stream ended before completion", "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F16: a text/html 200 to a non-streaming request → 502 upstream_invalid_response",
    fault: "html200",
    client: "cc",
    status: 502,
    body: ({ backend }) => ccError(`${backend} returned an invalid response`, "upstream_invalid_response"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F17: bad SSE framing as the first event → 502 JSON, not a stream",
    fault: "badFraming",
    client: "cc",
    stream: true,
    status: 502,
    body: () => ccError("upstream sent an invalid stream event", "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F18: an in-band OpenAI error as the first event → 502 JSON",
    fault: "inBandFirst",
    client: "cc",
    stream: true,
    status: 502,
    body: () => ccError("the upstream provider failed", "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F18: an in-band Anthropic api_error as the first event → MSG 502 api_error",
    fault: "inBandFirstAnthropic",
    client: "msg",
    stream: true,
    status: 502,
    body: () => msgError("api_error", "upstream request failed"),
    retryAfter: null,
    cooldownMs: 1000,
  },
  {
    title: "F18: an in-band Anthropic overloaded_error as the first event → MSG 529 with Retry-After 1",
    fault: "inBandOverloadedAnthropic",
    client: "msg",
    stream: true,
    status: 529,
    body: () => msgError("overloaded_error", "upstream is overloaded"),
    retryAfter: "1",
    cooldownMs: 1000,
  },
  {
    title: "F23: a 307 redirect is not followed → 502",
    fault: "redirect",
    client: "cc",
    status: 502,
    body: ({ backend }) => ccError(`${backend} answered with a redirect, which llmux does not follow`, "upstream_error"),
    retryAfter: null,
    cooldownMs: 1000,
  },
];

describe("the only backend fails before anything was committed (F1–F18, F23)", () => {
  // One gateway per settings; row i has backend `only<i>:m<i>`, and the client asks for model `m<i>`.
  const faulty = new Map<OnlyBackendCase, FaultyBackend>();
  const gateways = new Map<Settings | undefined, TestGateway>();
  beforeAll(() =>
    shared(async () => {
      for (const [i, c] of ONLY_BACKEND.entries()) faulty.set(c, await FAULTS[c.fault](`only${i}`, `m${i}`));
      for (const settings of new Set(ONLY_BACKEND.map((c) => c.settings))) {
        const rows = ONLY_BACKEND.filter((c) => c.settings === settings);
        gateways.set(settings, await gateway(rows.map((c) => faulty.get(c)!.spec), settings));
      }
    }),
  );

  for (const c of ONLY_BACKEND) {
    const title = c.bug === undefined ? c.title : `${c.title} (bug: ${c.bug})`;
    (c.bug === undefined ? it : it.fails)(title, async () => {
      const fault = faulty.get(c)!;
      const gw = gateways.get(c.settings)!;
      const backend = backendName(fault.spec);
      const res = await send(gw, c.client, { stream: c.stream, model: fault.spec.model });
      const text = await res.text();
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual(c.body({ host: fault.host, backend }));
      expect(res.headers.get("retry-after")).toBe(c.retryAfter);
      expect(fault.received()).toBe(c.received ?? 1);
      expect(fault.strays()).toBe(0);
      // Neither the provider key, nor upstream-internal text, nor HTML reaches the client; the log gets no key and
      // no more than the first KB of an HTML body.
      for (const secret of [PROVIDER_KEY, UPSTREAM_SECRET, "<html"]) expect(text).not.toContain(secret);
      for (const secret of [PROVIDER_KEY, HTML_TAIL]) expect(gw.logs.join("\n")).not.toContain(secret);
      if (c.upstreamClosed) expect(await fault.waitForClose!(1000)).toBe(true);
      expect(await health(gw, [backend])).toEqual([
        c.cooldownMs === null ? { name: backend, state: "available" } : { name: backend, state: "cooling_down", available_at: at(c.cooldownMs) },
      ]);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Failover: the same faults with a healthy second backend

/** The healthy backend's answer, in one piece so streamed and plain answers both contain it whole. */
const GOOD_REPLY: MockReply = { type: "openai-chat", content: "answer-from-b", chunkChars: 100 };

interface FailoverCase {
  fault: FaultName;
  client: Client;
  stream?: boolean;
  settings?: Settings;
  /** Requests the faulty upstream receives (default 1). */
  received?: number;
  /** False when the fault is the request's own (F13): no other backend is tried and none cools down. */
  failover?: boolean;
}

const FAILOVER: FailoverCase[] = [
  { fault: "dns", client: "cc", received: 0 },
  { fault: "refused", client: "msg", received: 0 },
  { fault: "connectTimeout", client: "cc", settings: CONNECT_TIMEOUT_SETTINGS, received: 0 },
  { fault: "tlsSelfSigned", client: "cc", received: 0 },
  { fault: "tlsPlainHttp", client: "cc", received: 0 },
  { fault: "reset", client: "cc" },
  { fault: "stall", client: "msg" },
  { fault: "headersThenSilence", client: "cc", stream: true },
  { fault: "e429", client: "cc" },
  { fault: "e429Date", client: "msg" },
  { fault: "e429Bare", client: "cc" },
  { fault: "e500", client: "cc" },
  { fault: "e503", client: "msg" },
  { fault: "e504", client: "cc" },
  { fault: "e529", client: "msg" },
  { fault: "e401", client: "cc" },
  { fault: "e403Anthropic", client: "msg" },
  { fault: "e404Model", client: "cc" },
  { fault: "invalidJson", client: "cc" },
  { fault: "html502", client: "cc" },
  { fault: "html200", client: "cc", stream: true },
  { fault: "badFraming", client: "cc", stream: true },
  { fault: "inBandFirst", client: "msg", stream: true },
  { fault: "inBandOverloadedAnthropic", client: "cc", stream: true },
  { fault: "redirect", client: "cc" },
  { fault: "e400", client: "cc", failover: false },
  { fault: "e422", client: "cc", failover: false },
  { fault: "e413", client: "cc", failover: false },
  { fault: "e400Anthropic", client: "msg", failover: false },
];

describe("failover to the next backend before the point of no return (R1)", () => {
  // Row i has the faulty backend `bad<i>:f<i>` then the healthy `good<i>:f<i>` (all healthy ones share one mock),
  // and the client asks for model `f<i>`. One gateway per settings.
  const rows = FAILOVER.map((c, i) => ({ ...c, model: `f${i}`, goodProvider: `good${i}` }));
  type Row = (typeof rows)[number];
  const faulty = new Map<Row, FaultyBackend>();
  const gateways = new Map<Settings | undefined, TestGateway>();
  let good: MockUpstream;
  beforeAll(() =>
    shared(async () => {
      good = await upstream(() => GOOD_REPLY);
      for (const [i, c] of rows.entries()) faulty.set(c, await FAULTS[c.fault](`bad${i}`, c.model));
      for (const settings of new Set(rows.map((c) => c.settings))) {
        const group = rows.filter((c) => c.settings === settings);
        const goods = group.map((c) => backendFor(c.goodProvider, good, "openai", c.model));
        gateways.set(settings, await gateway([...group.map((c) => faulty.get(c)!.spec), ...goods], settings));
      }
    }),
  );

  for (const c of rows.filter((r) => r.failover !== false)) {
    it(`${c.fault} (${c.client} client, stream ${c.stream === true}) → the second backend answers; the first cools down`, async () => {
      const fault = faulty.get(c)!;
      const gw = gateways.get(c.settings)!;
      const res = await send(gw, c.client, { stream: c.stream, model: c.model });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toContain("answer-from-b");
      expect(fault.received()).toBe(c.received ?? 1);
      expect(fault.strays()).toBe(0);
      expect(posts(good, c.model)).toBe(1);
      for (const secret of [PROVIDER_KEY, UPSTREAM_SECRET, "<html"]) expect(text).not.toContain(secret);
      const names = [backendName(fault.spec), `${c.goodProvider}:${c.model}`];
      expect((await health(gw, names)).map((b) => [b.name, b.state])).toEqual([
        [names[0], "cooling_down"],
        [names[1], "available"],
      ]);
    });
  }

  for (const c of rows.filter((r) => r.failover === false)) {
    it(`F13: ${c.fault} is the request's fault: no retry on another backend, no cooldown`, async () => {
      const fault = faulty.get(c)!;
      const gw = gateways.get(c.settings)!;
      const res = await send(gw, c.client, { model: c.model });
      expect(res.status).toBe(c.fault === "e413" ? 413 : 400);
      expect(fault.received()).toBe(1);
      expect(posts(good, c.model)).toBe(0);
      const names = [backendName(fault.spec), `${c.goodProvider}:${c.model}`];
      expect(await health(gw, names)).toEqual(names.map((name) => ({ name, state: "available" })));
    });
  }

  it("F6: with two backends rate-limited, the client gets 429 with the earliest Retry-After", async () => {
    const a = await FAULTS.e429("a");
    const b = await FAULTS.e429Ms("b");
    const gw = await gateway([a.spec, b.spec]);
    const res = await send(gw, "cc");
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(ccError("the upstream provider's rate limit was exceeded", "rate_limit_exceeded", "requests"));
    expect(res.headers.get("retry-after")).toBe("2");
    expect([a.received(), b.received()]).toEqual([1, 1]);
    expect(await health(gw)).toEqual([
      { name: "a:m", state: "cooling_down", available_at: at(20_000) },
      { name: "b:m", state: "cooling_down", available_at: at(1500) },
    ]);
  });

  it(
    "F6: the earliest expiry wins even when it is not the last backend tried",
    async () => {
      const a = await FAULTS.e429Ms("a");
      const b = await FAULTS.e429("b");
      const gw = await gateway([a.spec, b.spec]);
      const res = await send(gw, "cc");
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("2");
    },
  );

  it("F8: without Retry-After the cooldown doubles with each consecutive failure", async () => {
    const a = await FAULTS.e429Bare("a");
    const gw = await gateway([a.spec]);
    await send(gw, "cc").then((r) => r.text());
    expect(await health(gw)).toEqual([{ name: "a:m", state: "cooling_down", available_at: at(1000) }]);
    clock = T0 + 1000;
    await send(gw, "cc").then((r) => r.text());
    expect(await health(gw)).toEqual([{ name: "a:m", state: "cooling_down", available_at: at(3000) }]);
    clock = T0 + 3000;
    await send(gw, "cc").then((r) => r.text());
    expect(await health(gw)).toEqual([{ name: "a:m", state: "cooling_down", available_at: at(7000) }]);
    expect(a.received()).toBe(3);
  });

  it(
    "F15: invalid JSON on a 200 allows one failover, not more",
    async () => {
      const faults = await Promise.all(["a", "b", "c"].map((name) => FAULTS.invalidJson(name)));
      const gw = await gateway(faults.map((f) => f.spec));
      const res = await send(gw, "cc");
      expect(res.status).toBe(502);
      expect(faults.map((f) => f.received())).toEqual([1, 1, 0]);
    },
  );

  it.each(["openai", "anthropic"] as const)(
    "F17: bad framing after a content-free first event (%s) still fails over",
    async (kind) => {
      const first = kind === "openai" ? [OPENAI_ROLE] : [ANTHROPIC_MESSAGE_START];
      const bad = await upstream(() => ({ type: "sse", events: [...first, 'data: {"choices":[{"delta":\n\n'], chunkDelayMs: 20 }));
      const good = await upstream(() => GOOD_REPLY);
      const gw = await gateway([backendFor("a", bad, kind), backendFor("b", good)]);
      const res = await send(gw, kind === "openai" ? "cc" : "msg", { stream: true });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(posts(good)).toBe(1);
      expect(text).toContain("answer-from-b");
      expect(text).not.toContain("error");
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// How long a failing backend stays out

describe("cooldown length by kind of fault", () => {
  // "Long" in the catalogue: a configuration fault does not fix itself in seconds, so the backend stays out at least
  // max_cooldown (60 s here) instead of the 1 s transient default.
  const LONG: Array<{ title: string; fault: FaultName; bug?: string }> = [
    { title: "F9: 429 insufficient_quota (hours)", fault: "e429Quota" },
    { title: "F12: 401 (disabled)", fault: "e401" },
    { title: "F1: NXDOMAIN (a configuration error)", fault: "dns" },
    { title: "F3: TLS verification failure", fault: "tlsSelfSigned" },
    { title: "F14: 404 model_not_found (backend+model misconfigured)", fault: "e404Model" },
  ];
  // Row i has backend `long<i>:l<i>` on one shared gateway.
  const faulty = new Map<(typeof LONG)[number], FaultyBackend>();
  let gw: TestGateway;
  beforeAll(() =>
    shared(async () => {
      for (const [i, c] of LONG.entries()) faulty.set(c, await FAULTS[c.fault](`long${i}`, `l${i}`));
      gw = await gateway(LONG.map((c) => faulty.get(c)!.spec));
    }),
  );

  for (const c of LONG) {
    const title = `${c.title} keeps the backend out for at least max_cooldown${c.bug === undefined ? "" : ` (bug: ${c.bug})`}`;
    (c.bug === undefined ? it : it.fails)(title, async () => {
      const fault = faulty.get(c)!;
      await send(gw, "cc", { model: fault.spec.model }).then((r) => r.text());
      const [state] = await health(gw, [backendName(fault.spec)]);
      expect(state?.state).toBe("cooling_down");
      expect(Date.parse(state!.available_at!) - T0).toBeGreaterThanOrEqual(60_000);
    });
  }

  it(
    "F9: 429 insufficient_quota → 429 or 503 with Retry-After, sanitised",
    async () => {
      const faulty = await FAULTS.e429Quota("a");
      const gw = await gateway([faulty.spec]);
      const res = await send(gw, "cc");
      const text = await res.text();
      expect([429, 503]).toContain(res.status);
      expect(res.headers.get("retry-after")).toBe("3600");
      expect(text).not.toContain(UPSTREAM_SECRET);
      expect(text).not.toContain("billing");
    },
  );

  it("F9: 429 insufficient_quota never shows the account details, nor blames the client's key", async () => {
    const faulty = await FAULTS.e429Quota("a");
    const gw = await gateway([faulty.spec]);
    const res = await send(gw, "msg");
    const text = await res.text();
    expect(res.status).not.toBe(401);
    expect(text).not.toContain(UPSTREAM_SECRET);
    expect(text).not.toContain("billing");
  });

  it(
    "F13: an upstream 400 that echoes the provider key does not pass the key on",
    async () => {
      const body = JSON.stringify({ error: { message: `Invalid header 'Authorization: Bearer ${PROVIDER_KEY}'`, type: "invalid_request_error", param: null, code: null } });
      const faulty = await mockFault({ type: "error", status: 400, body })("a");
      const gw = await gateway([faulty.spec]);
      const res = await send(gw, "cc");
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain(PROVIDER_KEY);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// F19–F21: failures after the first content was sent (R2: no failover, a terminal error in the client's dialect)

interface MidStreamCase {
  id: string;
  end: "reset" | "stall" | "close";
  client: Client;
  upstreamKind: UpstreamKind;
  /** The error the client is told about, built from the upstream's `host:port`. */
  message: (host: string) => string;
  /** OpenAI `code` and Anthropic `type` of that error. */
  code: string;
  type: string;
}

const MID_STREAM_FAULTS: Array<Omit<MidStreamCase, "client" | "upstreamKind">> = [
  { id: "F19 reset mid-stream", end: "reset", message: (host) => `connection to ${host} failed`, code: "upstream_error", type: "api_error" },
  { id: "F20 stall past idle_timeout", end: "stall", message: (host) => `${host} stopped sending`, code: "upstream_timeout", type: "timeout_error" },
  { id: "F21 clean EOF without a terminator", end: "close", message: () => "upstream stream ended before completion", code: "upstream_error", type: "api_error" },
];

const ROUTES: Array<{ client: Client; upstreamKind: UpstreamKind }> = [
  { client: "cc", upstreamKind: "openai" },
  { client: "msg", upstreamKind: "anthropic" },
  { client: "cc", upstreamKind: "anthropic" },
  { client: "msg", upstreamKind: "openai" },
];

const MID_STREAM: MidStreamCase[] = MID_STREAM_FAULTS.flatMap((f) => ROUTES.map((r) => ({ ...f, ...r })));

describe("failures after the first content (F19–F21)", () => {
  // Row i has the failing `bad<i>:s<i>` then a healthy `good<i>:s<i>` (one shared mock) on one gateway.
  const rows = MID_STREAM.map((c, i) => ({ ...c, model: `s${i}`, provider: `bad${i}`, goodProvider: `good${i}` }));
  const bad = new Map<(typeof rows)[number], MockUpstream>();
  let good: MockUpstream;
  let gw: TestGateway;
  beforeAll(() =>
    shared(async () => {
      good = await upstream(() => GOOD_REPLY);
      for (const c of rows) bad.set(c, await upstream(() => ({ type: "sse", events: STREAM_START[c.upstreamKind], end: c.end, chunkDelayMs: 20 })));
      const specs = [
        ...rows.map((c) => backendFor(c.provider, bad.get(c)!, c.upstreamKind, c.model)),
        ...rows.map((c) => backendFor(c.goodProvider, good, "openai", c.model)),
      ];
      gw = await gateway(specs);
    }),
  );

  for (const c of rows) {
    it(`${c.id}: ${c.client} client, ${c.upstreamKind} upstream → content, then a terminal error event; no failover`, async () => {
      const mock = bad.get(c)!;
      const res = await send(gw, c.client, { stream: true, model: c.model });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const text = await res.text();
      const events = sseEvents(text);
      const message = c.message(hostOf(mock.url));
      // The content arrived before the error, and the error is the last event.
      const contentAt = events.findIndex((e) => e.data.includes('"par"'));
      expect(contentAt).toBeGreaterThanOrEqual(0);
      expect(contentAt).toBeLessThan(events.length - 1);
      if (c.client === "cc") {
        expect(events.at(-1)).toEqual({ event: undefined, data: JSON.stringify(ccError(message, c.code)) });
        expect(text).not.toContain("[DONE]");
      } else {
        expect(events.at(-1)).toEqual({ event: "error", data: JSON.stringify(msgError(c.type, message)) });
        expect(text).not.toContain("message_stop");
      }
      if (c.client === "cc" && c.upstreamKind === "openai") expect(text.startsWith(OPENAI_ROLE + OPENAI_CONTENT)).toBe(true);
      if (c.client === "msg" && c.upstreamKind === "anthropic") expect(text.startsWith(STREAM_START.anthropic.join(""))).toBe(true);
      expect(posts(mock)).toBe(1);
      expect(posts(good, c.model)).toBe(0);
      // A stalled upstream is hung up on, not left generating.
      if (c.end === "stall") expect(await mock.waitForClose(1000)).toBe(true);
      const names = [`${c.provider}:${c.model}`, `${c.goodProvider}:${c.model}`];
      expect(await health(gw, names)).toEqual([
        { name: names[0], state: "cooling_down", available_at: at(1000) },
        { name: names[1], state: "available" },
      ]);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// F22: answers too large or too long

describe("huge answers (F22)", () => {
  it("a non-streaming body over 32 MiB is cut off with 502, and the upstream connection dropped", async () => {
    const endless = await startEndlessBodyUpstream();
    cleanups.push(() => endless.close());
    const gw = await gateway([{ name: "a", baseUrl: `${endless.url}/v1`, kind: "openai" }]);
    const res = await send(gw, "cc");
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual(ccError(`a:m returned a response over ${32 * 1024 * 1024} bytes`, "upstream_error"));
    expect(await endless.waitForClose(1000)).toBe(true);
    expect(endless.requests()).toBe(1);
    // The gateway stopped reading near its cap: the upstream could hand only a little more to the kernel.
    expect(endless.bytesSent()).toBeLessThan(48 * 1024 * 1024);
    expect(await health(gw)).toEqual([{ name: "a:m", state: "cooling_down", available_at: at(1000) }]);
  });

  it.each(["cc", "msg"] as const)("a %s stream running past stream_timeout ends with a terminal error event", async (client) => {
    const kind: UpstreamKind = client === "cc" ? "openai" : "anthropic";
    const reply: MockReply =
      kind === "openai"
        ? { type: "openai-chat", content: "a slow and very long answer", chunkChars: 1, chunkDelayMs: 50 }
        : { type: "anthropic-message", content: [{ type: "text", text: "a slow and very long answer" }], chunkChars: 1, chunkDelayMs: 50 };
    const mock = await upstream(() => reply);
    const gw = await gateway([backendFor("a", mock, kind)], { stream_timeout: 0.4 });
    const res = await send(gw, client, { stream: true });
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = sseEvents(text);
    const message = "a:m streamed longer than the stream timeout";
    expect(events.at(-1)).toEqual(
      client === "cc"
        ? { event: undefined, data: JSON.stringify(ccError(message, "upstream_timeout")) }
        : { event: "error", data: JSON.stringify(msgError("timeout_error", message)) },
    );
    expect(text).toContain('"a"');
    expect(text).not.toContain("[DONE]");
    expect(text).not.toContain("message_stop");
    expect(await mock.waitForClose(1000)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// F24: usage the upstream reports wrong

const USAGE_VARIANTS = {
  missing: { openai: undefined, anthropic: undefined },
  negative: { openai: { prompt_tokens: -5, completion_tokens: -3, total_tokens: -8 }, anthropic: { input_tokens: -5, output_tokens: -3 } },
  absurd: { openai: { prompt_tokens: 1e300, completion_tokens: 9007199254740993, total_tokens: 1e300 }, anthropic: { input_tokens: 1e300, output_tokens: 9007199254740993 } },
  "of the wrong type": { openai: { prompt_tokens: "many", completion_tokens: null, total_tokens: [] }, anthropic: { input_tokens: "many", output_tokens: null } },
} as const;

function usageReply(kind: UpstreamKind, usage: unknown, stream: boolean): MockReply {
  const withUsage = (o: Record<string, unknown>) => (usage === undefined ? o : { ...o, usage });
  if (kind === "openai") {
    if (!stream) {
      const body = withUsage({ id: "chatcmpl-1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }] });
      return { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    }
    const chunk = (delta: unknown, finish: string | null) => ({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
    const frames = [chunk({ role: "assistant", content: "hi" }, null), chunk({}, "stop"), ...(usage === undefined ? [] : [{ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage }])];
    return { type: "sse", events: [...frames.map((f) => `data: ${JSON.stringify(f)}\n\n`), "data: [DONE]\n\n"] };
  }
  const message = { id: "msg_1", type: "message", role: "assistant", model: "m", stop_reason: "end_turn", stop_sequence: null };
  if (!stream) {
    return { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(withUsage({ ...message, content: [{ type: "text", text: "hi" }] })) };
  }
  const frame = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
  return {
    type: "sse",
    events: [
      frame({ type: "message_start", message: withUsage({ ...message, content: [], stop_reason: null }) }),
      frame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hi" } }),
      frame({ type: "content_block_stop", index: 0 }),
      frame(withUsage({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null } })),
      frame({ type: "message_stop" }),
    ],
  };
}

type UsageVariant = keyof typeof USAGE_VARIANTS;

const USAGE_CASES = (Object.keys(USAGE_VARIANTS) as UsageVariant[]).flatMap((variant) =>
  (["openai", "anthropic"] as const).flatMap((upstreamKind) =>
    (["cc", "msg"] as const).flatMap((client) =>
      [false, true].map((stream) => ({
        variant,
        upstreamKind,
        client,
        stream,
        bug: undefined as string | undefined,
      })),
    ),
  ),
);

describe("usage missing, negative or absurd (F24)", () => {
  // Row i has its own mock behind backend `usage<i>:u<i>`, all on one gateway.
  const rows = USAGE_CASES.map((c, i) => ({ ...c, model: `u${i}` }));
  const mocks = new Map<(typeof rows)[number], MockUpstream>();
  let gw: TestGateway;
  beforeAll(() =>
    shared(async () => {
      for (const c of rows) mocks.set(c, await upstream(() => usageReply(c.upstreamKind, USAGE_VARIANTS[c.variant][c.upstreamKind], c.stream)));
      gw = await gateway(rows.map((c, i) => backendFor(`usage${i}`, mocks.get(c)!, c.upstreamKind, c.model)));
    }),
  );

  for (const c of rows) {
    const title = `usage ${c.variant}: ${c.client} client, ${c.upstreamKind} upstream, stream ${c.stream} → 200 with the content`;
    (c.bug === undefined ? it : it.fails)(c.bug === undefined ? title : `${title} (bug: ${c.bug})`, async () => {
      const res = await send(gw, c.client, { stream: c.stream, model: c.model });
      const text = await res.text();
      expect(res.status).toBe(200);
      if (!c.stream) {
        const body = JSON.parse(text);
        expect(c.client === "cc" ? body.choices[0].message.content : body.content[0].text).toBe("hi");
      } else {
        expect(text).toContain('"hi"');
        expect(text).toContain(c.client === "cc" ? "data: [DONE]" : "event: message_stop");
        expect(text).not.toContain('"error"');
      }
      expect(posts(mocks.get(c)!)).toBe(1);
    });
  }

  // Runs after the rows above (tests in a file run in order): their usage rows are flushed when the gateway closes,
  // and a row the store refused (an absurd count, say) would be logged as an error.
  it("nothing crashed: every request's usage row was stored", async () => {
    await gw.close();
    expect(gw.logs.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
    expect(rows.every((c) => posts(mocks.get(c)!) === 1)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// F25, F26: nothing left, and everything failing at once

describe("every backend down (F25, F26)", () => {
  it.each(["cc", "msg"] as const)("F25: every backend cooling down → %s gets 503/529 at once with the earliest Retry-After, no upstream attempt", async (client) => {
    const a = await FAULTS.e429("a");
    const b = await FAULTS.e503RetryAfter("b");
    const gw = await gateway([a.spec, b.spec]);
    await send(gw, client).then((r) => r.text());
    expect([a.received(), b.received()]).toEqual([1, 1]);
    clock = T0 + 2000;
    const res = await send(gw, client);
    const message = "every backend for m is temporarily unavailable; retry in 5 s";
    expect(res.status).toBe(client === "cc" ? 503 : 529);
    expect(await res.json()).toEqual(client === "cc" ? ccError(message, "overloaded") : msgError("overloaded_error", message));
    expect(res.headers.get("retry-after")).toBe("5");
    expect([a.received(), b.received()]).toEqual([1, 1]);
    expect(await health(gw)).toEqual([
      { name: "a:m", state: "cooling_down", available_at: at(20_000) },
      { name: "b:m", state: "cooling_down", available_at: at(7000) },
    ]);
  });

  /** 100 requests at once against two backends that fail after 150 ms, so that many are in flight together. */
  async function storm(): Promise<{ gw: TestGateway; a: MockUpstream; b: MockUpstream; responses: Array<{ status: number; retryAfter: string | null; body: { error: { code: string } } }> }> {
    const a = await upstream(() => ({ type: "error", status: 500, body: OPENAI_500, delayMs: 150 }));
    const b = await upstream(() => ({ type: "error", status: 500, body: OPENAI_500, delayMs: 150 }));
    // A generous first-byte timeout: under this load a tight one would turn some failures into 504s.
    const gw = await gateway([backendFor("a", a), backendFor("b", b)], { max_retries: 2, first_byte_timeout: 5 });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        send(gw, "cc").then(async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: (await r.json()) as { error: { code: string } } })),
      ),
    );
    return { gw, a, b, responses };
  }

  it("F26: 100 concurrent requests against two failing backends stay within the retry budget, and all are answered", async () => {
    const { gw, a, b, responses } = await storm();
    expect(responses).toHaveLength(100);
    for (const r of responses) {
      // Either its attempts failed (502), or both backends were cooling down when it arrived (503 with Retry-After).
      if (r.status === 502) expect(r.body).toEqual(ccError("the upstream provider failed (HTTP 500)", "upstream_error"));
      else expect([r.status, r.body.error.code, /^[1-9][0-9]*$/.test(r.retryAfter ?? "")]).toEqual([503, "overloaded", true]);
    }
    expect(posts(a) + posts(b)).toBeLessThanOrEqual(1.2 * 100 + 3);
    // Each backend was taken out of rotation once, not once per failed request.
    const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    const events = new Map<string, number>();
    for (const line of metrics.split("\n").filter((l) => l.startsWith("llmux_cooldowns_total{"))) {
      const backend = /backend="([^"]+)"/.exec(line)?.[1] ?? "";
      events.set(backend, (events.get(backend) ?? 0) + Number(line.split(" ").at(-1)));
    }
    expect(Object.fromEntries(events)).toEqual({ "a:m": 1, "b:m": 1 });
  });

  it(
    "F26: a burst of concurrent failures sets the cooldown once, at its base length",
    async () => {
      const { gw } = await storm();
      expect(await health(gw)).toEqual([
        { name: "a:m", state: "cooling_down", available_at: at(1000) },
        { name: "b:m", state: "cooling_down", available_at: at(1000) },
      ]);
    },
  );
});
