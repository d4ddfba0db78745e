/** The wire protocol a provider speaks. `mock` is the built-in fake LLM (no network). */
export type ProviderKind = "openai" | "anthropic" | "mock";

/** Settings of the built-in mock provider (`kind = "mock"`). */
export interface MockSettings {
  /** Fixed reply text; when absent the mock echoes the last user message. */
  reply: string | undefined;
  /** Delay before the first byte, in milliseconds. */
  latencyMs: number;
  /** Characters per streamed chunk. */
  chunkChars: number;
  /** Delay between streamed chunks, in milliseconds. */
  chunkDelayMs: number;
}

/** One `[provider.NAME]` table, validated. */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  /** Base URL without a trailing slash. OpenAI-compatible: includes `/v1`. Anthropic: without `/v1`. Empty for mock. */
  baseUrl: string;
  /** The provider credential, `${ENV}` already resolved. Never logged. */
  apiKey: string | undefined;
  /** Only for `kind = "mock"`. */
  mock: MockSettings | undefined;
}

/** One `[[backend]]` entry, validated. */
export interface BackendConfig {
  /** Unique name: the `name` key, or `provider:model` (suffixed `#2`, `#3`… when repeated). */
  name: string;
  provider: string;
  /** Model name sent upstream. */
  model: string;
  /** Extra client-visible model name. */
  alias: string | undefined;
  /** Context window in tokens; undefined means unknown (no check). */
  context: number | undefined;
  vision: boolean;
  thinking: boolean;
  maxPerDay: number | undefined;
  maxPerHour: number | undefined;
  maxPer5Hours: number | undefined;
  /** Globs over the requested model name (`*` and `?`). Empty: matches every model. */
  modelMatch: string[];
  /** Request body keys to rename: old → new. */
  keyRename: Record<string, string>;
  /** Request body keys to delete. */
  keyDelete: string[];
  /** Request body keys to add (overwriting). */
  keyAdd: Record<string, unknown>;
  /** Client-visible model names to fail over to when every backend of this model fails. */
  fallbacks: string[];
  /**
   * Turn function calls that the model wrote as JSON in `content` (`{"name":…,"arguments":…}`, as GPT-OSS models
   * served by vLLM do) into proper `tool_calls`, streaming included.
   */
  gptOssFix: boolean;
}

/** One server whose models are discovered: a `[[discovery]]` entry or a `VLLM_SERVERS` item. */
export interface DiscoveryServerConfig {
  /** The provider its models are served through: `vllm-<host>-<port>`, unique among providers. */
  provider: string;
  /** OpenAI-compatible base URL (with `/v1`, no trailing slash); `GET {url}/models` lists the models. */
  url: string;
  /** Sent as `Authorization: Bearer` when polling and serving; never logged. */
  apiKey: string | undefined;
  /** Polling period, in milliseconds. */
  intervalMs: number;
}

/** Model discovery: the servers to poll, and what to use while they yield nothing. */
export interface DiscoveryConfig {
  servers: DiscoveryServerConfig[];
  /**
   * The `BACKENDS` entries when servers are configured: used only while discovery finds no model (LLMMux's
   * fallback). Without servers, `BACKENDS` entries are ordinary backends and this is empty.
   */
  fallback: BackendConfig[];
}

/** A client token from `[tokens]` or `API_KEYS`. */
export interface ClientToken {
  name: string;
  secret: string;
}

/** Server settings (top-level keys of the file). */
export interface ServerConfig {
  host: string;
  port: number;
  /**
   * Port of the dedicated RPC listener: the Connect protocol over HTTP/1.1 and HTTP/2, gRPC (h2c, or h2 with
   * TLS when HTTPS is enabled) and gRPC-Web, for every control-plane service. 0 turns it off.
   */
  adminPort: number;
  /** Whole-request deadline, in milliseconds (`request_timeout`, seconds in the file). */
  requestTimeoutMs: number;
  /** Further attempts after the first one fails. */
  maxRetries: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  https: { enabled: boolean; keyFile: string | undefined; certFile: string | undefined };
  cors: { enabled: boolean; origin: string };
  /** Upstream timeouts, in milliseconds; every one is set by llmux, none is left at a library default. */
  timeouts: {
    /** TCP (and TLS) connect. */
    connectMs: number;
    /** Per attempt, from sending the request to the first valid byte of the answer. */
    firstByteMs: number;
    /** Longest silence between two chunks of an answer. */
    idleMs: number;
    /** Longest a committed stream may run in total. */
    streamMs: number;
  };
  /** First cooldown after a failure; doubles with consecutive failures up to maxCooldownMs. */
  cooldownMs: number;
  maxCooldownMs: number;
  /** On SIGTERM: how long running streams may finish before they are ended. */
  drainTimeoutMs: number;
  /** Active health check period; 0 turns it off. */
  healthCheckIntervalMs: number;
  /** SQLite file path or postgres:// URL; undefined: `llmux.db` next to the config file (or in memory). */
  database: string | undefined;
}

/** The whole validated configuration. */
export interface Config {
  server: ServerConfig;
  providers: Map<string, ProviderConfig>;
  backends: BackendConfig[];
  tokens: ClientToken[];
  discovery: DiscoveryConfig;
  /**
   * The 32-byte key that encrypts provider keys stored in the database (`LLMUX_SECRET_KEY`); undefined: a key
   * generated once and kept in the database is used. Never logged.
   */
  secretKey: Uint8Array | undefined;
  /** Where the configuration came from (a path, or "environment"), for messages. */
  source: string;
}
