import path from "node:path";
import { closest } from "./closest.js";
import { checkOutboundUrl } from "../lib/url-guard.js";
import type {
  BackendConfig,
  ClientToken,
  Config,
  DiscoveryServerConfig,
  MockSettings,
  ProviderConfig,
  ProviderKind,
  ServerConfig,
} from "./types.js";

/** A log level after normalisation (`warning` is read as `warn`). */
export type LogLevel = ServerConfig["logLevel"];

/**
 * Collects problems as `WHERE: PATH: message` lines, so one pass over every source reports all of them and the
 * operator fixes everything before the next start.
 */
export class IssueList {
  readonly lines: string[] = [];

  /** Records one problem; `where` is the file as given, `environment` or `command line`. */
  add(where: string, keyPath: string, message: string): void {
    this.lines.push(`${where}: ${keyPath}: ${message}`);
  }
}

/** Server settings as one source states them; `undefined` means "not set here, ask the next source". */
export interface ServerLayer {
  host?: string;
  port?: number;
  /** 0 turns the admin RPC listener off. */
  adminPort?: number;
  requestTimeoutMs?: number;
  maxRetries?: number;
  logLevel?: LogLevel;
  httpsEnabled?: boolean;
  /** Absolute paths: each source resolves its own relative paths. */
  sslKeyFile?: string;
  sslCertFile?: string;
  corsEnabled?: boolean;
  corsOrigin?: string;
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  streamTimeoutMs?: number;
  cooldownMs?: number;
  maxCooldownMs?: number;
  drainTimeoutMs?: number;
  /** 0 turns active health checks off. */
  healthCheckIntervalMs?: number;
  /** A SQLite path (absolute) or a postgres:// URL. */
  database?: string;
}

/** Where a definition came from, for messages that point back at it. */
export interface Origin {
  where: string;
  keyPath: string;
}

/** A backend before names are assigned: the default name depends on every other backend. */
export interface BackendDraft {
  origin: Origin;
  explicitName: string | undefined;
  settings: Omit<BackendConfig, "name">;
  /** A `BACKENDS` entry: only a fallback for discovery when discovery servers are configured. */
  fallback?: boolean;
}

/** Everything one source (file, environment, command line) contributes. Later layers win for server settings. */
export interface Layer {
  where: string;
  server: ServerLayer;
  providers: { origin: Origin; provider: ProviderConfig }[];
  backends: BackendDraft[];
  tokens: { origin: Origin; token: ClientToken }[];
  /** Discovery servers (`[[discovery]]`, `VLLM_SERVERS`); absent means none. */
  discovery?: { origin: Origin; server: DiscoveryServerConfig }[];
  /** `LLMUX_SECRET_KEY`, decoded (32 bytes). */
  secretKey?: Uint8Array;
}

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  fatal: "fatal",
};

/** Reads a log level case-insensitively (`INFO`, `Warning`); undefined when it is not one. */
export function parseLogLevel(text: string): LogLevel | undefined {
  const key = text.toLowerCase();
  return Object.hasOwn(LOG_LEVELS, key) ? LOG_LEVELS[key] : undefined;
}

/** The message for a value outside a fixed set: the nearest valid one, or all of them. */
function notOneOf(what: string, text: string, valid: readonly string[]): string {
  const hint = closest(text, valid);
  return `unknown ${what} ${JSON.stringify(text)}; ${hint === undefined ? `expected one of ${valid.join(", ")}` : `did you mean "${hint}"?`}`;
}

/** The message for a log level that is not one. */
export function badLogLevel(text: string): string {
  return notOneOf("log level", text, Object.keys(LOG_LEVELS));
}

/**
 * The default port of the dedicated RPC listener (Connect, gRPC and gRPC-Web on one port): the gateway's own
 * port plus one, so the two are easy to remember and to open together in a firewall.
 */
export const DEFAULT_ADMIN_PORT = 8083;

/** Provider names: safe in URLs, logs and the `provider:model` syntax (no colon). */
const PROVIDER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** True for a valid provider name (1-64 letters, digits, `_`, `.` or `-`); the API applies the file's rule. */
export function isProviderName(name: string): boolean {
  return PROVIDER_NAME.test(name);
}

/** Request body keys the gateway itself sets; a key edit must not touch them (the API applies the same rule). */
export const GATEWAY_KEYS: readonly string[] = ["model", "messages", "stream"];

// Key lists, in the order they are documented (ties in suggestions go to earlier names).
const TOP_KEYS = [
  "host",
  "port",
  "admin_port",
  "request_timeout",
  "max_retries",
  "connect_timeout",
  "first_byte_timeout",
  "idle_timeout",
  "stream_timeout",
  "cooldown",
  "max_cooldown",
  "drain_timeout",
  "health_check_interval",
  "database",
  "log_level",
  "https_enabled",
  "ssl_key_file",
  "ssl_cert_file",
  "enable_cors",
  "cors_origin",
  "provider",
  "backend",
  "discovery",
  "tokens",
] as const;
const MOCK_KEYS = ["reply", "latency_ms", "chunk_chars", "chunk_delay_ms"] as const;
const PROVIDER_KEYS = ["kind", "api_key", "base_url", ...MOCK_KEYS] as const;
const PROVIDER_KINDS: readonly ProviderKind[] = ["openai", "anthropic", "mock"];
const DISCOVERY_KEYS = ["url", "api_key", "interval"] as const;
const BACKEND_KEYS = [
  "model",
  "name",
  "alias",
  "context",
  "vision",
  "thinking",
  "max_per_day",
  "max_per_hour",
  "max_per_5hours",
  "model_match",
  "key_rename",
  "key_delete",
  "key_add",
  "fallbacks",
  "gpt_oss_fix",
] as const;

/** Longest accepted name, alias, glob or fallback: bounds matching cost and log lines. */
export const MAX_NAME = 256;
/** Largest accepted rate window limit (`max_per_day`, `max_per_hour`, `max_per_5hours`). */
export const MAX_WINDOW_LIMIT = 1e9;
/** Polling period of a discovery server when none is given, in seconds. */
export const DEFAULT_DISCOVERY_INTERVAL_S = 30;
/** Longest accepted request timeout, in seconds: one day, comfortably below the Node timer limit. */
const MAX_TIMEOUT_S = 86_400;
/** Longest accepted mock delay: the Node timer limit (larger values would fire immediately). */
const MAX_DELAY_MS = 2_147_483_647;

/** Formats one path segment: bare TOML keys as is, anything else quoted as TOML would. */
function segment(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Appends a key to a dotted path. */
function keyPath(parent: string, key: string): string {
  return parent === "" ? segment(key) : `${parent}.${segment(key)}`;
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The TOML type name of a parsed value (integers arrive as bigint, floats as number). */
function typeName(value: unknown): string {
  if (typeof value === "bigint") return "integer";
  if (typeof value === "number") return "float";
  if (value instanceof Date) return "datetime";
  if (Array.isArray(value)) return "array";
  if (isTable(value)) return "table";
  return typeof value;
}

/** What every reader needs: where messages go and how to resolve `${VAR}` and relative paths. */
interface FileContext {
  source: string;
  baseDir: string;
  env: Record<string, string | undefined>;
  issues: IssueList;
}

/**
 * Typed access to one TOML table. Every getter reports a wrong type or range as an issue and returns undefined,
 * so validation carries on and finds the remaining problems.
 */
class TableReader {
  /** Valid keys an unknown key was taken for: their absence is that typo, not a second problem. */
  private readonly suggested = new Set<string>();

  constructor(
    readonly table: Table,
    readonly path: string,
    private readonly ctx: FileContext,
  ) {}

  /** Reports every key not in `allowed`, with a suggestion. */
  allowOnly(allowed: readonly string[]): void {
    for (const key of Object.keys(this.table)) {
      if (allowed.includes(key)) continue;
      const hint = closest(key, allowed);
      if (hint !== undefined) this.suggested.add(hint);
      this.fail(key, hint === undefined ? `unknown key; expected one of ${allowed.join(", ")}` : `unknown key; did you mean "${hint}"?`);
    }
  }

  /** Reports a missing required key, unless a misspelling of it was already reported. */
  require(key: string, message: string): void {
    if (!this.has(key) && !this.suggested.has(key)) this.fail(key, message);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.table, key);
  }

  keys(): string[] {
    return Object.keys(this.table);
  }

  /** Reports a problem with `key`; returns undefined so getters can `return this.fail(…)`. */
  fail(key: string, message: string): undefined {
    this.ctx.issues.add(this.ctx.source, keyPath(this.path, key), message);
    return undefined;
  }

  /** The raw value when it has the expected TOML type; otherwise reports it. */
  private typed(key: string, expected: string): unknown {
    if (!this.has(key)) return undefined;
    const value = this.table[key];
    const actual = typeName(value);
    if (actual === expected) return value;
    this.fail(key, `expected ${expected === "integer" ? "an" : "a"} ${expected}, got ${actual}`);
    return undefined;
  }

  /** Any string, empty included. */
  text(key: string): string | undefined {
    return this.typed(key, "string") as string | undefined;
  }

  /** A string of 1..`max` characters. */
  string(key: string, max = Infinity): string | undefined {
    const value = this.typed(key, "string") as string | undefined;
    if (value === undefined) return undefined;
    if (value === "") return this.fail(key, "must not be empty");
    if (value.length > max) return this.fail(key, `must be at most ${max} characters, got ${value.length}`);
    return value;
  }

  boolean(key: string): boolean | undefined {
    return this.typed(key, "boolean") as boolean | undefined;
  }

  /** An integer within [min, max]. */
  integer(key: string, min: number, max: number): number | undefined {
    const value = this.typed(key, "integer") as bigint | undefined;
    if (value === undefined) return undefined;
    if (value < BigInt(min) || value > BigInt(max)) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      return this.fail(key, `must be an integer ${range}, got ${value}`);
    }
    return Number(value);
  }

  /** A number (integer or float) in (0, max]. */
  positiveNumber(key: string, max: number): number | undefined {
    if (!this.has(key)) return undefined;
    const raw = this.table[key];
    if (typeof raw !== "bigint" && typeof raw !== "number") {
      return this.fail(key, `expected a number, got ${typeName(raw)}`);
    }
    const value = Number(raw);
    if (!(value > 0 && value <= max)) return this.fail(key, `must be a number greater than 0 and at most ${max}, got ${value}`);
    return value;
  }

  /** A string or an array of strings, each 1..`max` characters; always returned as an array. */
  stringList(key: string, max: number, single: boolean): string[] | undefined {
    if (!this.has(key)) return undefined;
    const raw = this.table[key];
    const items = single && typeof raw === "string" ? [raw] : raw;
    if (!Array.isArray(items)) {
      return this.fail(key, `expected ${single ? "a string or " : ""}an array of strings, got ${typeName(raw)}`);
    }
    const out: string[] = [];
    items.forEach((item: unknown, i) => {
      const at = `${keyPath(this.path, key)}[${i}]`;
      if (typeof item !== "string") this.ctx.issues.add(this.ctx.source, at, `expected a string, got ${typeName(item)}`);
      else if (item === "" || item.length > max) this.ctx.issues.add(this.ctx.source, at, `must be 1 to ${max} characters long`);
      else out.push(item);
    });
    return out.length === items.length ? out : undefined;
  }

  /** Any value, converted to what JSON can carry (`key_add`). */
  json(key: string): unknown {
    return toJson(this.table[key], keyPath(this.path, key), this.ctx);
  }

  /** A sub-table, reported when the key holds anything else. */
  subTable(key: string): TableReader | undefined {
    const value = this.typed(key, "table") as Table | undefined;
    return value === undefined ? undefined : new TableReader(value, keyPath(this.path, key), this.ctx);
  }

  /** A secret string with `${VAR}` references resolved from the environment. */
  secret(key: string): string | undefined {
    const value = this.typed(key, "string") as string | undefined;
    if (value === undefined) return undefined;
    return expandEnv(value, this.ctx.env, (message) => this.fail(key, message));
  }

  /** A path, resolved against the config file's directory; an empty string means "not set". */
  /** A path relative to the file's directory, made absolute. */
  resolvePath(value: string): string {
    return path.resolve(this.ctx.baseDir, value);
  }

  filePath(key: string): string | undefined {
    const value = this.typed(key, "string") as string | undefined;
    return value === undefined || value === "" ? undefined : path.resolve(this.ctx.baseDir, value);
  }
}

/**
 * Expands `${VAR}` references from `env`; `$${` is a literal `${`. Reports every missing variable and returns
 * undefined if any is missing. Messages name variables, never the surrounding (secret) text.
 */
function expandEnv(
  text: string,
  env: Record<string, string | undefined>,
  report: (message: string) => void,
): string | undefined {
  let out = "";
  let ok = true;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
    } else if (text.startsWith("${", i)) {
      const end = text.indexOf("}", i + 2);
      const name = end < 0 ? "" : text.slice(i + 2, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        report('malformed "${NAME}" reference (NAME is letters, digits and _; write "$${" for a literal "${")');
        return undefined;
      }
      const value = env[name];
      if (value === undefined) {
        report(`environment variable ${name} is not set`);
        ok = false;
      } else {
        out += value;
      }
      i = end + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return ok ? out : undefined;
}

/**
 * Validates a provider base URL and puts it in the form the adapters expect: http(s), no credentials, query or
 * fragment, no trailing slash, never a cloud metadata address (lib/url-guard: numeric forms included; private
 * and loopback addresses are allowed, local servers being the common case). Anthropic URLs also lose a trailing
 * `/v1` because that adapter appends `/v1/messages` itself; OpenAI-compatible URLs keep their path as written
 * (`http://localhost:1234/v1`). Returns the normalised URL or an error message that never repeats the URL.
 * The admin API validates provider URLs with this same function.
 */
export function normalizeBaseUrl(text: string, kind: ProviderKind): { url: string } | { error: string } {
  const checked = checkOutboundUrl(text);
  if (!checked.ok) return { error: checked.error };
  const url = checked.url;
  if (url.search !== "" || url.hash !== "") return { error: "must not contain a query or fragment" };
  let pathname = url.pathname.replace(/\/+$/, "");
  if (kind === "anthropic") pathname = pathname.replace(/\/v1$/, "").replace(/\/+$/, "");
  return { url: url.origin + pathname };
}

/** Converts a TOML value to what JSON can carry; reports what it cannot (huge integers, inf, nan). */
function toJson(value: unknown, at: string, ctx: FileContext): unknown {
  if (typeof value === "bigint") {
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    ctx.issues.add(ctx.source, at, "integer is too large to send as JSON");
    return undefined;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    ctx.issues.add(ctx.source, at, `${value} cannot be sent as JSON`);
    return undefined;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item: unknown, i) => toJson(item, `${at}[${i}]`, ctx));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v, keyPath(at, k), ctx)]));
  return value;
}

function readServer(doc: TableReader): ServerLayer {
  const server: ServerLayer = {};
  server.host = doc.string("host");
  server.port = doc.integer("port", 1, 65_535);
  server.adminPort = doc.integer("admin_port", 0, 65_535);
  const timeout = doc.positiveNumber("request_timeout", MAX_TIMEOUT_S);
  if (timeout !== undefined) server.requestTimeoutMs = Math.ceil(timeout * 1000);
  server.maxRetries = doc.integer("max_retries", 0, 10);
  const level = doc.string("log_level");
  if (level !== undefined) {
    server.logLevel = parseLogLevel(level);
    if (server.logLevel === undefined) doc.fail("log_level", badLogLevel(level));
  }
  server.httpsEnabled = doc.boolean("https_enabled");
  server.sslKeyFile = doc.filePath("ssl_key_file");
  server.sslCertFile = doc.filePath("ssl_cert_file");
  server.corsEnabled = doc.boolean("enable_cors");
  server.corsOrigin = doc.string("cors_origin");
  const seconds = (key: string) => {
    const value = doc.positiveNumber(key, MAX_TIMEOUT_S);
    return value === undefined ? undefined : Math.ceil(value * 1000);
  };
  server.connectTimeoutMs = seconds("connect_timeout");
  server.firstByteTimeoutMs = seconds("first_byte_timeout");
  server.idleTimeoutMs = seconds("idle_timeout");
  server.streamTimeoutMs = seconds("stream_timeout");
  server.cooldownMs = seconds("cooldown");
  server.maxCooldownMs = seconds("max_cooldown");
  server.drainTimeoutMs = seconds("drain_timeout");
  const interval = doc.integer("health_check_interval", 0, MAX_TIMEOUT_S);
  if (interval !== undefined) server.healthCheckIntervalMs = interval * 1000;
  // A postgres:// URL may carry a password: `${ENV}` references are expanded as for other secrets.
  const database = doc.secret("database");
  if (database !== undefined && database !== "") {
    server.database = /^postgres(ql)?:\/\//.test(database) || database === ":memory:" ? database : doc.resolvePath(database);
  }
  return server;
}


/** Reports a key edit that would touch a field the gateway owns. */
function checkGatewayKey(reader: TableReader, at: string, key: string, verb: string): boolean {
  if (!GATEWAY_KEYS.includes(key)) return true;
  reader.fail(at, `cannot ${verb} "${key}": the gateway sets ${GATEWAY_KEYS.join(", ")} itself`);
  return false;
}

/** `kind`, defaulting to openai; undefined when invalid (already reported). */
function readKind(p: TableReader): ProviderKind | undefined {
  const text = p.string("kind");
  if (text === undefined) return p.has("kind") ? undefined : "openai";
  const kind = PROVIDER_KINDS.find((k) => k === text);
  if (kind === undefined) p.fail("kind", notOneOf("kind", text, PROVIDER_KINDS));
  return kind;
}

/**
 * One `[provider.NAME]` table. Always returns a provider (with placeholders where values were invalid), so
 * backends that name it are not reported a second time as referring to an undefined provider.
 */
function readProvider(name: string, p: TableReader): ProviderConfig {
  p.allowOnly(PROVIDER_KEYS);
  const kind = readKind(p);
  // An empty key counts as none: local servers often need no credential.
  const apiKey = p.secret("api_key") || undefined;
  if (kind === "mock") {
    const mock: MockSettings = {
      reply: p.text("reply"),
      latencyMs: p.integer("latency_ms", 0, MAX_DELAY_MS) ?? 0,
      chunkChars: p.integer("chunk_chars", 1, Number.MAX_SAFE_INTEGER) ?? 8,
      chunkDelayMs: p.integer("chunk_delay_ms", 0, MAX_DELAY_MS) ?? 0,
    };
    // base_url may stay in place while a provider is switched to the mock; it is not used.
    return { name, kind, baseUrl: "", apiKey, mock };
  }
  let baseUrl = "";
  if (kind !== undefined) {
    for (const key of MOCK_KEYS) if (p.has(key)) p.fail(key, 'only valid when kind = "mock"');
    p.require("base_url", `required for kind = "${kind}"`);
    const text = p.string("base_url");
    if (text !== undefined) {
      const result = normalizeBaseUrl(text, kind);
      if ("error" in result) p.fail("base_url", result.error);
      else baseUrl = result.url;
    }
  }
  return { name, kind: kind ?? "openai", baseUrl, apiKey, mock: undefined };
}

/** One `[[backend]]` table; the provider reference and the name are checked once every source is read. */
function readBackend(b: TableReader, where: string): BackendDraft {
  b.allowOnly(BACKEND_KEYS);
  let provider = "";
  let model = "";
  b.require("model", 'required; write "provider:model"');
  const spec = b.string("model");
  if (spec !== undefined) {
    // The first colon separates the provider: model names may contain colons ("hf:Qwen/Qwen3-Coder").
    const colon = spec.indexOf(":");
    if (colon <= 0 || colon === spec.length - 1) b.fail("model", `must be "provider:model", got ${JSON.stringify(spec)}`);
    else [provider, model] = [spec.slice(0, colon), spec.slice(colon + 1)];
  }

  const keyRename: [string, string][] = [];
  const rename = b.subTable("key_rename");
  for (const from of rename?.keys() ?? []) {
    const to = rename?.string(from);
    if (rename === undefined || to === undefined) continue;
    if (from === "") rename.fail(from, "key must not be empty");
    else if (checkGatewayKey(rename, from, from, "rename") && checkGatewayKey(rename, from, to, "rename to")) keyRename.push([from, to]);
  }
  const keyDelete = b.stringList("key_delete", MAX_NAME, true) ?? [];
  for (const key of keyDelete) checkGatewayKey(b, "key_delete", key, "delete");
  const keyAdd: [string, unknown][] = [];
  const add = b.subTable("key_add");
  for (const key of add?.keys() ?? []) {
    if (add === undefined) continue;
    if (key === "") add.fail(key, "key must not be empty");
    else if (checkGatewayKey(add, key, key, "add")) keyAdd.push([key, add.json(key)]);
  }

  return {
    origin: { where, keyPath: b.path },
    explicitName: b.string("name", MAX_NAME),
    settings: {
      provider,
      model,
      alias: b.string("alias", MAX_NAME),
      context: b.integer("context", 1, Number.MAX_SAFE_INTEGER),
      vision: b.boolean("vision") ?? false,
      thinking: b.boolean("thinking") ?? false,
      maxPerDay: b.integer("max_per_day", 1, MAX_WINDOW_LIMIT),
      maxPerHour: b.integer("max_per_hour", 1, MAX_WINDOW_LIMIT),
      maxPer5Hours: b.integer("max_per_5hours", 1, MAX_WINDOW_LIMIT),
      modelMatch: b.stringList("model_match", MAX_NAME, true) ?? [],
      keyRename: Object.fromEntries(keyRename),
      keyDelete,
      keyAdd: Object.fromEntries(keyAdd),
      fallbacks: b.stringList("fallbacks", MAX_NAME, false) ?? [],
      gptOssFix: b.boolean("gpt_oss_fix") ?? false,
    },
  };
}

/**
 * A discovery server from its URL: the URL checked and normalised as an OpenAI-compatible base URL (so metadata
 * addresses are refused here, before anything is fetched), and its provider named `vllm-<host>-<port>` (other
 * characters of the host become `-`). Shared by `[[discovery]]` and `VLLM_SERVERS`.
 */
export function discoveryServer(
  text: string,
  apiKey: string | undefined,
  intervalMs: number,
): { server: DiscoveryServerConfig } | { error: string } {
  const result = normalizeBaseUrl(text, "openai");
  if ("error" in result) return result;
  const url = new URL(result.url);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const host = url.hostname.replace(/^\[|\]$/g, "").replace(/[^A-Za-z0-9_.-]+/g, "-");
  // Provider names are at most 64 characters; a longer host is cut (names still collide only by being reported).
  const provider = `vllm-${host.slice(0, 64 - "vllm-".length - port.length - 1)}-${port}`;
  return { server: { provider, url: result.url, apiKey, intervalMs } };
}

/** One `[[discovery]]` table: `url` (required), `api_key`, `interval` (seconds). */
function readDiscovery(d: TableReader): DiscoveryServerConfig | undefined {
  d.allowOnly(DISCOVERY_KEYS);
  d.require("url", "required: the server's OpenAI-compatible base URL, e.g. http://localhost:8000/v1");
  // An empty key counts as none, as for providers.
  const apiKey = d.secret("api_key") || undefined;
  const interval = d.integer("interval", 1, MAX_TIMEOUT_S) ?? DEFAULT_DISCOVERY_INTERVAL_S;
  const text = d.string("url");
  if (text === undefined) return undefined;
  const result = discoveryServer(text, apiKey, interval * 1000);
  if ("error" in result) return d.fail("url", result.error);
  return result.server;
}

/**
 * Reads a parsed TOML document (parsed with integers as bigint, so `8082.0` is told apart from `8082`) into a
 * layer. Problems go to `issues`; the returned layer is only meaningful when none were added.
 */
export function readFileLayer(
  doc: Record<string, unknown>,
  options: { source: string; baseDir: string; env: Record<string, string | undefined>; issues: IssueList },
): Layer {
  const ctx: FileContext = options;
  const where = options.source;
  const root = new TableReader(doc, "", ctx);
  root.allowOnly(TOP_KEYS);
  const layer: Layer = { where, server: readServer(root), providers: [], backends: [], tokens: [] };

  const providers = root.subTable("provider");
  for (const [name, value] of Object.entries(providers?.table ?? {})) {
    const at = keyPath("provider", name);
    if (!PROVIDER_NAME.test(name)) providers?.fail(name, "invalid provider name; use 1 to 64 letters, digits, _ . or -");
    if (!isTable(value)) providers?.fail(name, `expected a table, got ${typeName(value)}`);
    else layer.providers.push({ origin: { where, keyPath: at }, provider: readProvider(name, new TableReader(value, at, ctx)) });
  }

  if (root.has("backend")) {
    const list = doc["backend"];
    if (!Array.isArray(list)) root.fail("backend", `expected an array of tables ([[backend]]), got ${typeName(list)}`);
    else {
      list.forEach((value: unknown, i) => {
        const at = `backend[${i}]`;
        if (!isTable(value)) options.issues.add(where, at, `expected a table, got ${typeName(value)}`);
        else layer.backends.push(readBackend(new TableReader(value, at, ctx), where));
      });
    }
  }

  if (root.has("discovery")) {
    const list = doc["discovery"];
    if (!Array.isArray(list)) root.fail("discovery", `expected an array of tables ([[discovery]]), got ${typeName(list)}`);
    else {
      layer.discovery = [];
      list.forEach((value: unknown, i) => {
        const at = `discovery[${i}]`;
        if (!isTable(value)) options.issues.add(where, at, `expected a table, got ${typeName(value)}`);
        else {
          const server = readDiscovery(new TableReader(value, at, ctx));
          if (server !== undefined) layer.discovery?.push({ origin: { where, keyPath: at }, server });
        }
      });
    }
  }

  // Token names are free-form: they only label clients in logs and usage records.
  const tokens = root.subTable("tokens");
  for (const name of tokens?.keys() ?? []) {
    const secret = tokens?.secret(name);
    if (name === "") tokens?.fail(name, "token name must not be empty");
    else if (secret === "") tokens?.fail(name, "must not be empty");
    else if (secret !== undefined) layer.tokens.push({ origin: { where, keyPath: keyPath("tokens", name) }, token: { name, secret } });
  }
  return layer;
}

/** Names a definition for "already used by …" messages; the source is given only when it differs. */
function describe(origin: Origin, from: string): string {
  return origin.where === from ? origin.keyPath : `${origin.keyPath} in ${origin.where}`;
}

/** The value of a server setting from the last layer that sets it (flags > environment > file). */
function pick<K extends keyof ServerLayer>(layers: readonly Layer[], key: K): ServerLayer[K] {
  let value: ServerLayer[K] | undefined = undefined;
  for (const layer of layers) value = layer.server[key] ?? value;
  return value;
}

/**
 * Merges layers (later ones override server settings; providers, backends and tokens accumulate in order),
 * applies defaults and checks what spans sources: backend → provider references, unique names, unique token
 * secrets, HTTPS files. The result is meaningful only when `issues` stays empty.
 */
export function assembleConfig(source: string, layers: readonly Layer[], issues: IssueList): Config {
  const httpsEnabled = pick(layers, "httpsEnabled") ?? false;
  const keyFile = pick(layers, "sslKeyFile");
  const certFile = pick(layers, "sslCertFile");
  if (httpsEnabled && keyFile === undefined) issues.add(source, "ssl_key_file", "required when HTTPS is enabled");
  if (httpsEnabled && certFile === undefined) issues.add(source, "ssl_cert_file", "required when HTTPS is enabled");
  const server: ServerConfig = {
    host: pick(layers, "host") ?? "127.0.0.1",
    port: pick(layers, "port") ?? 8082,
    adminPort: pick(layers, "adminPort") ?? DEFAULT_ADMIN_PORT,
    requestTimeoutMs: pick(layers, "requestTimeoutMs") ?? 90_000,
    maxRetries: pick(layers, "maxRetries") ?? 2,
    logLevel: pick(layers, "logLevel") ?? "info",
    https: { enabled: httpsEnabled, keyFile, certFile },
    cors: { enabled: pick(layers, "corsEnabled") ?? false, origin: pick(layers, "corsOrigin") ?? "*" },
    timeouts: {
      connectMs: pick(layers, "connectTimeoutMs") ?? 10_000,
      firstByteMs: pick(layers, "firstByteTimeoutMs") ?? 60_000,
      idleMs: pick(layers, "idleTimeoutMs") ?? 120_000,
      streamMs: pick(layers, "streamTimeoutMs") ?? 3_600_000,
    },
    cooldownMs: pick(layers, "cooldownMs") ?? 5_000,
    maxCooldownMs: pick(layers, "maxCooldownMs") ?? 300_000,
    drainTimeoutMs: pick(layers, "drainTimeoutMs") ?? 30_000,
    healthCheckIntervalMs: pick(layers, "healthCheckIntervalMs") ?? 30_000,
    database: pick(layers, "database"),
  };
  // Port 0 asks the OS for a free port, so two zeros never collide.
  if (server.adminPort !== 0 && server.adminPort === server.port) {
    issues.add(source, "admin_port", `must differ from port (${server.port}); set another port, or 0 to turn the admin listener off`);
  }
  if (server.cooldownMs > server.maxCooldownMs) issues.add(source, "cooldown", `must not exceed max_cooldown (${server.maxCooldownMs / 1000} s)`);

  const providers = new Map<string, ProviderConfig>();
  const providerOrigins = new Map<string, Origin>();
  for (const { origin, provider } of layers.flatMap((l) => l.providers)) {
    const earlier = providerOrigins.get(provider.name);
    if (earlier !== undefined) {
      issues.add(origin.where, origin.keyPath, `provider "${provider.name}" is already defined by ${describe(earlier, origin.where)}`);
      continue;
    }
    providers.set(provider.name, provider);
    providerOrigins.set(provider.name, origin);
  }

  // Each discovery server brings its own provider; its name must be free.
  const servers: DiscoveryServerConfig[] = [];
  for (const { origin, server } of layers.flatMap((l) => l.discovery ?? [])) {
    const earlier = providerOrigins.get(server.provider);
    if (earlier !== undefined) {
      issues.add(origin.where, origin.keyPath, `provider "${server.provider}" (named after this server's host and port) is already defined by ${describe(earlier, origin.where)}`);
      continue;
    }
    providerOrigins.set(server.provider, origin);
    servers.push(server);
  }

  const drafts = layers.flatMap((l) => l.backends);
  for (const { origin, settings } of drafts) {
    if (settings.provider === "" || providers.has(settings.provider)) continue;
    const hint = closest(settings.provider, [...providers.keys()]);
    issues.add(
      origin.where,
      `${origin.keyPath}.model`,
      `provider "${settings.provider}" is not defined; ${hint === undefined ? `add a [${keyPath("provider", settings.provider)}] table` : `did you mean "${hint}"?`}`,
    );
  }
  // Explicit names are claimed first, so a default name never takes one the operator chose.
  const taken = new Map<string, Origin>();
  for (const { origin, explicitName } of drafts) {
    if (explicitName === undefined) continue;
    const earlier = taken.get(explicitName);
    if (earlier !== undefined) {
      issues.add(origin.where, `${origin.keyPath}.name`, `"${explicitName}" is already used by ${describe(earlier, origin.where)}`);
    }
    taken.set(explicitName, origin);
  }
  const named: BackendConfig[] = drafts.map(({ origin, explicitName, settings }) => {
    let name = explicitName;
    if (name === undefined) {
      const base = `${settings.provider}:${settings.model}`;
      name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}#${n}`;
      taken.set(name, origin);
    }
    return { name, ...settings };
  });
  // With discovery servers, BACKENDS entries wait as the fallback for when discovery finds nothing (LLMMux).
  const held = (i: number) => servers.length > 0 && drafts[i]!.fallback === true;
  const backends = named.filter((_, i) => !held(i));
  const fallback = named.filter((_, i) => held(i));

  const tokens: ClientToken[] = [];
  const byName = new Map<string, Origin>();
  const bySecret = new Map<string, Origin>();
  for (const { origin, token } of layers.flatMap((l) => l.tokens)) {
    const sameName = byName.get(token.name);
    const sameSecret = bySecret.get(token.secret);
    // Each secret must identify one client, or usage and logs would be attributed arbitrarily.
    if (sameName !== undefined) issues.add(origin.where, origin.keyPath, `token name "${token.name}" is already used by ${describe(sameName, origin.where)}`);
    else if (sameSecret !== undefined) issues.add(origin.where, origin.keyPath, `same secret as ${describe(sameSecret, origin.where)}`);
    else tokens.push(token);
    byName.set(token.name, origin);
    bySecret.set(token.secret, origin);
  }

  let secretKey: Uint8Array | undefined;
  for (const layer of layers) secretKey = layer.secretKey ?? secretKey;
  return { server, providers, backends, tokens, discovery: { servers, fallback }, secretKey, source };
}
