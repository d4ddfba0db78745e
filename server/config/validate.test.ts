import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./load.js";
import type { Config } from "./types.js";

// The file format, key by key, through the public entry point. Every case uses an empty environment unless it
// is about `${VAR}` resolution; environment overrides are covered in env.test.ts.

const SOURCE = "llmux.toml";
const BASE_DIR = "/etc/llmux";
const OPENAI = `[provider.openai]\nbase_url = "https://api.openai.com/v1"\n`;

function parse(text: string, env: Record<string, string | undefined> = {}): Config {
  return parseConfig(text, { source: SOURCE, baseDir: BASE_DIR, env });
}

/** The issues parseConfig reports; fails the test when it accepts the text. */
function issues(text: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

/** A config with one openai backend whose table also holds `lines`. */
function backend(lines: string): string {
  return `${OPENAI}[[backend]]\nmodel = "openai:gpt-4o"\n${lines}\n`;
}

describe("top-level settings", () => {
  it("applies defaults to an empty file", () => {
    const config = parse("");
    expect(config.server).toEqual({
      host: "127.0.0.1",
      port: 8082,
      adminPort: 8083,
      requestTimeoutMs: 90_000,
      maxRetries: 2,
      logLevel: "info",
      https: { enabled: false, keyFile: undefined, certFile: undefined },
      cors: { enabled: false, origin: "*" },
      timeouts: { connectMs: 10_000, firstByteMs: 60_000, idleMs: 120_000, streamMs: 3_600_000 },
      cooldownMs: 5_000,
      maxCooldownMs: 300_000,
      drainTimeoutMs: 30_000,
      healthCheckIntervalMs: 30_000,
      database: undefined,
    });
    expect(config.providers.size).toBe(0);
    expect(config.backends).toEqual([]);
    expect(config.tokens).toEqual([]);
    expect(config.source).toBe(SOURCE);
  });

  it.each([
    ['host = "0.0.0.0"', { host: "0.0.0.0" }],
    ["port = 1", { port: 1 }],
    ["port = 65535", { port: 65_535 }],
    ["admin_port = 9090", { adminPort: 9090 }],
    ["admin_port = 0", { adminPort: 0 }],
    // The admin listener may take the gateway's default port when the gateway moves elsewhere.
    ["port = 9000\nadmin_port = 8082", { port: 9000, adminPort: 8082 }],
    ["request_timeout = 90", { requestTimeoutMs: 90_000 }],
    ["request_timeout = 2.5", { requestTimeoutMs: 2_500 }],
    ["request_timeout = 86400", { requestTimeoutMs: 86_400_000 }],
    ["max_retries = 0", { maxRetries: 0 }],
    ["max_retries = 10", { maxRetries: 10 }],
    ['log_level = "INFO"', { logLevel: "info" }],
    ['log_level = "Trace"', { logLevel: "trace" }],
    ['log_level = "debug"', { logLevel: "debug" }],
    ['log_level = "warn"', { logLevel: "warn" }],
    ['log_level = "WARNING"', { logLevel: "warn" }],
    ['log_level = "error"', { logLevel: "error" }],
    ['log_level = "fatal"', { logLevel: "fatal" }],
    ["enable_cors = true", { cors: { enabled: true, origin: "*" } }],
    ["connect_timeout = 2.5\nfirst_byte_timeout = 30\nidle_timeout = 15\nstream_timeout = 600", { timeouts: { connectMs: 2_500, firstByteMs: 30_000, idleMs: 15_000, streamMs: 600_000 } }],
    ["cooldown = 1\nmax_cooldown = 60", { cooldownMs: 1_000, maxCooldownMs: 60_000 }],
    ["drain_timeout = 5", { drainTimeoutMs: 5_000 }],
    ["health_check_interval = 0", { healthCheckIntervalMs: 0 }],
    ['database = "data/llmux.db"', { database: "/etc/llmux/data/llmux.db" }],
    ['database = "postgres://u@db:5432/llmux"', { database: "postgres://u@db:5432/llmux" }],
    ['cors_origin = "https://app.example"', { cors: { enabled: false, origin: "https://app.example" } }],
    [
      'https_enabled = true\nssl_key_file = "certs/key.pem"\nssl_cert_file = "/abs/cert.pem"',
      { https: { enabled: true, keyFile: "/etc/llmux/certs/key.pem", certFile: "/abs/cert.pem" } },
    ],
    // Empty paths (as in the README's reference) mean "not set".
    ['https_enabled = false\nssl_key_file = ""\nssl_cert_file = ""', { https: { enabled: false, keyFile: undefined, certFile: undefined } }],
  ])("%s", (text, expected) => {
    expect(parse(text).server).toMatchObject(expected);
  });

  it.each([
    ["host = 1", "host: expected a string, got integer"],
    ['host = ""', "host: must not be empty"],
    ["port = 0", "port: must be an integer from 1 to 65535, got 0"],
    ["port = 65536", "port: must be an integer from 1 to 65535, got 65536"],
    ["port = -80", "port: must be an integer from 1 to 65535, got -80"],
    ["port = 8082.5", "port: expected an integer, got float"],
    ["port = 8082.0", "port: expected an integer, got float"],
    ["admin_port = -1", "admin_port: must be an integer from 0 to 65535, got -1"],
    ["admin_port = 65536", "admin_port: must be an integer from 0 to 65535, got 65536"],
    ['admin_port = "8083"', "admin_port: expected an integer, got string"],
    ["admin_port = 8082", "admin_port: must differ from port (8082); set another port, or 0 to turn the admin listener off"],
    ["port = 9000\nadmin_port = 9000", "admin_port: must differ from port (9000); set another port, or 0 to turn the admin listener off"],
    ["adminport = 1", 'adminport: unknown key; did you mean "admin_port"?'],
    ['port = "8082"', "port: expected an integer, got string"],
    ["request_timeout = 0", "request_timeout: must be a number greater than 0 and at most 86400, got 0"],
    ["request_timeout = -1.5", "request_timeout: must be a number greater than 0 and at most 86400, got -1.5"],
    ["request_timeout = 86401", "request_timeout: must be a number greater than 0 and at most 86400, got 86401"],
    ["request_timeout = nan", "request_timeout: must be a number greater than 0 and at most 86400, got NaN"],
    ['request_timeout = "90"', "request_timeout: expected a number, got string"],
    ["max_retries = 11", "max_retries: must be an integer from 0 to 10, got 11"],
    ["max_retries = -1", "max_retries: must be an integer from 0 to 10, got -1"],
    ["max_retries = true", "max_retries: expected an integer, got boolean"],
    ['log_level = "warnn"', 'log_level: unknown log level "warnn"; did you mean "warn"?'],
    [
      'log_level = "loud"',
      'log_level: unknown log level "loud"; expected one of trace, debug, info, warn, warning, error, fatal',
    ],
    ["log_level = 3", "log_level: expected a string, got integer"],
    ['https_enabled = "yes"', "https_enabled: expected a boolean, got string"],
    ["ssl_key_file = 1", "ssl_key_file: expected a string, got integer"],
    ["ssl_cert_file = []", "ssl_cert_file: expected a string, got array"],
    ["enable_cors = 1", "enable_cors: expected a boolean, got integer"],
    ['cors_origin = ""', "cors_origin: must not be empty"],
    ["provider = 1", "provider: expected a table, got integer"],
    ["backend = 1", "backend: expected an array of tables ([[backend]]), got integer"],
    ['[backend]\nmodel = "openai:x"', "backend: expected an array of tables ([[backend]]), got table"],
    ['tokens = "x"', "tokens: expected a table, got string"],
    ["created = 2024-01-01", "created: unknown key; expected one of host, port, admin_port, request_timeout, max_retries, connect_timeout, first_byte_timeout, idle_timeout, stream_timeout, cooldown, max_cooldown, drain_timeout, health_check_interval, database, log_level, https_enabled, ssl_key_file, ssl_cert_file, enable_cors, cors_origin, provider, backend, discovery, tokens"],
    ["prot = 8082", 'prot: unknown key; did you mean "port"?'],
    ["PORT = 8082", 'PORT: unknown key; did you mean "port"?'],
    ["logLevel = 'info'", 'logLevel: unknown key; did you mean "log_level"?'],
    // Too far from any key for a suggestion (https_enabled is 8 edits away): list them instead.
    ["https = true", "https: unknown key; expected one of host, port, admin_port, request_timeout, max_retries, connect_timeout, first_byte_timeout, idle_timeout, stream_timeout, cooldown, max_cooldown, drain_timeout, health_check_interval, database, log_level, https_enabled, ssl_key_file, ssl_cert_file, enable_cors, cors_origin, provider, backend, discovery, tokens"],
    ['[[backends]]\nmodel = "x:y"', 'backends: unknown key; did you mean "backend"?'],
    ['[providers.openai]\nbase_url = "https://x"', 'providers: unknown key; did you mean "provider"?'],
    ['[token]\na = "b"', 'token: unknown key; did you mean "tokens"?'],
  ])("%s", (text, issue) => {
    expect(issues(text)).toEqual([`${SOURCE}: ${issue}`]);
  });

  it("requires both TLS files when HTTPS is enabled", () => {
    expect(issues("https_enabled = true")).toEqual([
      `${SOURCE}: ssl_key_file: required when HTTPS is enabled`,
      `${SOURCE}: ssl_cert_file: required when HTTPS is enabled`,
    ]);
  });
});

describe("[provider.NAME]", () => {
  it("defaults kind to openai and keeps an OpenAI-compatible URL's path", () => {
    const config = parse('[provider.lmstudio]\nbase_url = "http://localhost:1234/v1"\napi_key = "sk-local"');
    expect(config.providers.get("lmstudio")).toEqual({
      name: "lmstudio",
      kind: "openai",
      baseUrl: "http://localhost:1234/v1",
      apiKey: "sk-local",
      mock: undefined,
    });
  });

  it.each([
    ["openai", "https://api.openai.com/v1", "https://api.openai.com/v1"],
    ["openai", "https://api.openai.com/v1/", "https://api.openai.com/v1"],
    ["openai", "http://localhost:1234/v1", "http://localhost:1234/v1"],
    ["openai", "https://api.synthetic.new/openai/v1", "https://api.synthetic.new/openai/v1"],
    ["openai", "HTTPS://API.Example.com:443/Path/v1//", "https://api.example.com/Path/v1"],
    ["openai", "http://127.0.0.1:8000", "http://127.0.0.1:8000"],
    ["anthropic", "https://api.anthropic.com", "https://api.anthropic.com"],
    ["anthropic", "https://api.anthropic.com/", "https://api.anthropic.com"],
    ["anthropic", "https://api.anthropic.com/v1", "https://api.anthropic.com"],
    ["anthropic", "https://api.anthropic.com/v1/", "https://api.anthropic.com"],
    ["anthropic", "https://proxy.example/anthropic/v1", "https://proxy.example/anthropic"],
    ["anthropic", "https://proxy.example/v1/v1", "https://proxy.example/v1"],
  ])("kind %s: base_url %s → %s", (kind, input, expected) => {
    const config = parse(`[provider.p]\nkind = "${kind}"\nbase_url = "${input}"`);
    expect(config.providers.get("p")?.baseUrl).toBe(expected);
  });

  it("reads a mock provider with defaults and without base_url", () => {
    expect(parse('[provider.fake]\nkind = "mock"').providers.get("fake")).toEqual({
      name: "fake",
      kind: "mock",
      baseUrl: "",
      apiKey: undefined,
      mock: { reply: undefined, latencyMs: 0, chunkChars: 8, chunkDelayMs: 0 },
    });
  });

  it("reads every mock setting", () => {
    const text = '[provider.fake]\nkind = "mock"\nreply = "hi there"\nlatency_ms = 250\nchunk_chars = 1\nchunk_delay_ms = 10';
    expect(parse(text).providers.get("fake")?.mock).toEqual({ reply: "hi there", latencyMs: 250, chunkChars: 1, chunkDelayMs: 10 });
  });

  it.each([
    ['[provider.p]\nkind = "opanai"\nbase_url = "https://x"', 'provider.p.kind: unknown kind "opanai"; did you mean "openai"?'],
    ['[provider.p]\nkind = "grpc"\nbase_url = "https://x"', 'provider.p.kind: unknown kind "grpc"; expected one of openai, anthropic, mock'],
    ["[provider.p]\nkind = 1", "provider.p.kind: expected a string, got integer"],
    ["[provider.p]", 'provider.p.base_url: required for kind = "openai"'],
    ['[provider.p]\nkind = "anthropic"', 'provider.p.base_url: required for kind = "anthropic"'],
    ["[provider.p]\nbase_url = 5", "provider.p.base_url: expected a string, got integer"],
    ['[provider.p]\nbase_url = "api.openai.com/v1"', "provider.p.base_url: not a valid URL"],
    ['[provider.p]\nbase_url = "ftp://files.example/v1"', "provider.p.base_url: must be an http or https URL, got ftp:"],
    ['[provider.p]\nbase_url = "https://user:pw@api.example/v1"', "provider.p.base_url: must not contain credentials; use api_key"],
    ['[provider.p]\nbase_url = "https://api.example/v1?key=1"', "provider.p.base_url: must not contain a query or fragment"],
    ['[provider.p]\nbase_url = "https://x"\napi_key = 42', "provider.p.api_key: expected a string, got integer"],
    ['[provider.p]\nbase_url = "https://x"\nreply = "hi"', 'provider.p.reply: only valid when kind = "mock"'],
    ['[provider.p]\nbase_url = "https://x"\nlatency_ms = 1', 'provider.p.latency_ms: only valid when kind = "mock"'],
    ['[provider.p]\nkind = "anthropic"\nbase_url = "https://x"\nchunk_chars = 1', 'provider.p.chunk_chars: only valid when kind = "mock"'],
    ['[provider.p]\nbase_url = "https://x"\nchunk_delay_ms = 1', 'provider.p.chunk_delay_ms: only valid when kind = "mock"'],
    ['[provider.p]\nkind = "mock"\nreply = 1', "provider.p.reply: expected a string, got integer"],
    ['[provider.p]\nkind = "mock"\nlatency_ms = -1', "provider.p.latency_ms: must be an integer from 0 to 2147483647, got -1"],
    ['[provider.p]\nkind = "mock"\nchunk_chars = 0', "provider.p.chunk_chars: must be an integer of at least 1, got 0"],
    ['[provider.p]\nkind = "mock"\nchunk_delay_ms = 1.5', "provider.p.chunk_delay_ms: expected an integer, got float"],
    ['[provider.p]\nbse_url = "https://x"', 'provider.p.bse_url: unknown key; did you mean "base_url"?'],
    ['[provider.p]\nbase_url = "https://x"\napikey = "k"', 'provider.p.apikey: unknown key; did you mean "api_key"?'],
    ['[provider.p]\nbase_url = "https://x"\n[provider.p.headers]\na = "b"', "provider.p.headers: unknown key; expected one of kind, api_key, base_url, reply, latency_ms, chunk_chars, chunk_delay_ms"],
    ['[provider."my provider"]\nkind = "mock"', 'provider."my provider": invalid provider name; use 1 to 64 letters, digits, _ . or -'],
    [`[provider.${"a".repeat(65)}]\nkind = "mock"`, `provider.${"a".repeat(65)}: invalid provider name; use 1 to 64 letters, digits, _ . or -`],
    ["[provider]\nopenai = 1", "provider.openai: expected a table, got integer"],
  ])("%s", (text, issue) => {
    expect(issues(text)).toEqual([`${SOURCE}: ${issue}`]);
  });

  it("accepts the whole provider name alphabet", () => {
    expect([...parse('[provider."Az09_.-"]\nkind = "mock"').providers.keys()]).toEqual(["Az09_.-"]);
  });
});

describe("secrets with ${ENV} references", () => {
  const env = { OPENAI_API_KEY: "sk-live", PART: "middle", EMPTY: "" };

  it.each([
    ["sk-literal", "sk-literal"],
    ["${OPENAI_API_KEY}", "sk-live"],
    ["pre-${PART}-${PART}-post", "pre-middle-middle-post"],
    ["$${OPENAI_API_KEY}", "${OPENAI_API_KEY}"],
    ["cost $5 and ${PART}", "cost $5 and middle"],
    ["a$${b}${PART}", "a${b}middle"],
  ])("api_key %j → %j", (written, resolved) => {
    const config = parse(`[provider.p]\nbase_url = "https://x"\napi_key = "${written}"`, env);
    expect(config.providers.get("p")?.apiKey).toBe(resolved);
  });

  it("treats an empty key (literal or from an empty variable) as no key", () => {
    expect(parse('[provider.p]\nbase_url = "https://x"\napi_key = ""').providers.get("p")?.apiKey).toBeUndefined();
    expect(parse('[provider.p]\nbase_url = "https://x"\napi_key = "${EMPTY}"', env).providers.get("p")?.apiKey).toBeUndefined();
  });

  it("resolves tokens", () => {
    expect(parse('[tokens]\nci = "${PART}-token"', env).tokens).toEqual([{ name: "ci", secret: "middle-token" }]);
  });

  it.each([
    ['api_key = "${OPENAI_API_KEY}"', ["provider.p.api_key: environment variable OPENAI_API_KEY is not set"]],
    [
      'api_key = "${A}:${B}"',
      ["provider.p.api_key: environment variable A is not set", "provider.p.api_key: environment variable B is not set"],
    ],
    ['api_key = "${unterminated"', ['provider.p.api_key: malformed "${NAME}" reference (NAME is letters, digits and _; write "$${" for a literal "${")']],
    ['api_key = "${}"', ['provider.p.api_key: malformed "${NAME}" reference (NAME is letters, digits and _; write "$${" for a literal "${")']],
    ['api_key = "${1ABC}"', ['provider.p.api_key: malformed "${NAME}" reference (NAME is letters, digits and _; write "$${" for a literal "${")']],
  ])("%s", (line, expected) => {
    expect(issues(`[provider.p]\nbase_url = "https://x"\n${line}`)).toEqual(expected.map((i) => `${SOURCE}: ${i}`));
  });

  it("reports a missing token variable without the secret text around it", () => {
    const found = issues('[tokens]\nci = "very-secret-${CI_TOKEN}"');
    expect(found).toEqual([`${SOURCE}: tokens.ci: environment variable CI_TOKEN is not set`]);
  });
});

describe("[tokens]", () => {
  it("reads free-form names in file order", () => {
    const text = '[tokens]\nfrontend_app = "k1"\n"mobile app" = "k2"\ninternal-service = "k3"';
    expect(parse(text).tokens).toEqual([
      { name: "frontend_app", secret: "k1" },
      { name: "mobile app", secret: "k2" },
      { name: "internal-service", secret: "k3" },
    ]);
  });

  it("accepts short secrets", () => {
    expect(parse('[tokens]\na = "x"').tokens).toEqual([{ name: "a", secret: "x" }]);
  });

  it.each([
    ["[tokens]\na = 1", "tokens.a: expected a string, got integer"],
    ['[tokens]\na = ""', "tokens.a: must not be empty"],
    ['[tokens]\na = "${EMPTY}"', "tokens.a: must not be empty"],
    ['[tokens]\n"" = "secret"', 'tokens."": token name must not be empty'],
    ['[tokens]\na = "same"\nb = "same"', "tokens.b: same secret as tokens.a"],
  ])("%s", (text, issue) => {
    expect(issues(text, { EMPTY: "" })).toEqual([`${SOURCE}: ${issue}`]);
  });
});

describe("[[backend]]", () => {
  it("applies defaults", () => {
    expect(parse(backend("")).backends).toEqual([
      {
        name: "openai:gpt-4o",
        provider: "openai",
        model: "gpt-4o",
        alias: undefined,
        context: undefined,
        vision: false,
        thinking: false,
        maxPerDay: undefined,
        maxPerHour: undefined,
        maxPer5Hours: undefined,
        modelMatch: [],
        keyRename: {},
        keyDelete: [],
        keyAdd: {},
        fallbacks: [],
        gptOssFix: false,
      },
    ]);
  });

  it.each([
    ["openai:gpt-4o", "openai", "gpt-4o"],
    // Split on the first colon only: the model name keeps its own colons.
    ["synthetic:hf:Qwen/Qwen3-Coder", "synthetic", "hf:Qwen/Qwen3-Coder"],
    ["ollama:qwen3:8b", "ollama", "qwen3:8b"],
  ])("model %j → provider %j, model %j", (spec, provider, model) => {
    const text = `[provider.${provider}]\nkind = "mock"\n[[backend]]\nmodel = "${spec}"`;
    expect(parse(text).backends[0]).toMatchObject({ name: spec, provider, model });
  });

  it.each([
    ['name = "fast"', { name: "fast" }],
    ['alias = "claude-sonnet"', { alias: "claude-sonnet" }],
    ["context = 128000", { context: 128_000 }],
    ["context = 1", { context: 1 }],
    ["vision = true", { vision: true }],
    ["thinking = true", { thinking: true }],
    ["max_per_day = 1000", { maxPerDay: 1000 }],
    ["max_per_hour = 1", { maxPerHour: 1 }],
    ["max_per_5hours = 1000000000", { maxPer5Hours: 1_000_000_000 }],
    ['model_match = "*opus*"', { modelMatch: ["*opus*"] }],
    ['model_match = ["*opus*", "*o1*"]', { modelMatch: ["*opus*", "*o1*"] }],
    ["model_match = []", { modelMatch: [] }],
    [`model_match = "${"m".repeat(256)}"`, { modelMatch: ["m".repeat(256)] }],
    ['key_rename = { max_tokens = "max_completion_tokens" }', { keyRename: { max_tokens: "max_completion_tokens" } }],
    ['key_delete = "logprobs"', { keyDelete: ["logprobs"] }],
    ['key_delete = ["logprobs", "top_k"]', { keyDelete: ["logprobs", "top_k"] }],
    ['key_add = { temperature = 0.7, top_k = 40, safe = true, tag = "x" }', { keyAdd: { temperature: 0.7, top_k: 40, safe: true, tag: "x" } }],
    [
      'key_add = { opts = { stop = ["a", "b"], n = [1, 2.5] }, empty = {} }',
      { keyAdd: { opts: { stop: ["a", "b"], n: [1, 2.5] }, empty: {} } },
    ],
    ["key_add = { since = 2024-05-27T07:32:00Z }", { keyAdd: { since: "2024-05-27T07:32:00.000Z" } }],
    ["key_add = { day = 2024-05-27 }", { keyAdd: { day: "2024-05-27" } }],
    ['fallbacks = ["gpt-4o-mini", "local"]', { fallbacks: ["gpt-4o-mini", "local"] }],
  ])("%s", (line, expected) => {
    expect(parse(backend(line)).backends[0]).toMatchObject(expected);
  });

  it("accepts key_add as a sub-table", () => {
    const text = `${OPENAI}[[backend]]\nmodel = "openai:o3"\n[backend.key_add]\nreasoning_effort = "high"\n`;
    expect(parse(text).backends[0]?.keyAdd).toEqual({ reasoning_effort: "high" });
  });

  it.each([
    ["", "backend[0].model: required; write \"provider:model\""],
    ['model = "gpt-4o"', 'backend[0].model: must be "provider:model", got "gpt-4o"'],
    ['model = ":gpt-4o"', 'backend[0].model: must be "provider:model", got ":gpt-4o"'],
    ['model = "openai:"', 'backend[0].model: must be "provider:model", got "openai:"'],
    ["model = 4", "backend[0].model: expected a string, got integer"],
    ['model = "opanai:gpt-4o"', 'backend[0].model: provider "opanai" is not defined; did you mean "openai"?'],
    // A misspelt required key is reported once, as the typo.
    ['mdoel = "openai:gpt-4o"', 'backend[0].mdoel: unknown key; did you mean "model"?'],
    ['model = "cerebras:llama"', "backend[0].model: provider \"cerebras\" is not defined; add a [provider.cerebras] table"],
  ])("model: %s", (line, issue) => {
    expect(issues(`${OPENAI}[[backend]]\n${line}\n`)).toEqual([`${SOURCE}: ${issue}`]);
  });

  it.each([
    ['name = ""', "backend[0].name: must not be empty"],
    [`name = "${"n".repeat(257)}"`, "backend[0].name: must be at most 256 characters, got 257"],
    ["alias = 1", "backend[0].alias: expected a string, got integer"],
    ["context = 0", "backend[0].context: must be an integer of at least 1, got 0"],
    ["context = 128000.5", "backend[0].context: expected an integer, got float"],
    ['context = "128k"', "backend[0].context: expected an integer, got string"],
    ['vision = "yes"', "backend[0].vision: expected a boolean, got string"],
    ["thinking = 1", "backend[0].thinking: expected a boolean, got integer"],
    ["max_per_day = 0", "backend[0].max_per_day: must be an integer from 1 to 1000000000, got 0"],
    ["max_per_hour = 1000000001", "backend[0].max_per_hour: must be an integer from 1 to 1000000000, got 1000000001"],
    ["max_per_5hours = -5", "backend[0].max_per_5hours: must be an integer from 1 to 1000000000, got -5"],
    ["model_match = 1", "backend[0].model_match: expected a string or an array of strings, got integer"],
    ['model_match = ["ok", 2]', "backend[0].model_match[1]: expected a string, got integer"],
    ['model_match = ""', "backend[0].model_match[0]: must be 1 to 256 characters long"],
    [`model_match = ["${"m".repeat(257)}"]`, "backend[0].model_match[0]: must be 1 to 256 characters long"],
    ['key_rename = "max_tokens"', "backend[0].key_rename: expected a table, got string"],
    ["key_rename = { max_tokens = 1 }", "backend[0].key_rename.max_tokens: expected a string, got integer"],
    ['key_rename = { max_tokens = "" }', "backend[0].key_rename.max_tokens: must not be empty"],
    ['key_rename = { "" = "x" }', 'backend[0].key_rename."": key must not be empty'],
    ['key_rename = { model = "engine" }', 'backend[0].key_rename.model: cannot rename "model": the gateway sets model, messages, stream itself'],
    ['key_rename = { verbose = "stream" }', 'backend[0].key_rename.verbose: cannot rename to "stream": the gateway sets model, messages, stream itself'],
    ["key_delete = 1", "backend[0].key_delete: expected a string or an array of strings, got integer"],
    ['key_delete = ["messages"]', 'backend[0].key_delete: cannot delete "messages": the gateway sets model, messages, stream itself'],
    ["key_add = [1]", "backend[0].key_add: expected a table, got array"],
    ['key_add = { stream = false }', 'backend[0].key_add.stream: cannot add "stream": the gateway sets model, messages, stream itself'],
    ["key_add = { seed = 9007199254740993 }", "backend[0].key_add.seed: integer is too large to send as JSON"],
    ["key_add = { t = [1.0, inf] }", "backend[0].key_add.t[1]: Infinity cannot be sent as JSON"],
    ['fallbacks = "gpt-4o-mini"', "backend[0].fallbacks: expected an array of strings, got string"],
    ['fallbacks = [""]', "backend[0].fallbacks[0]: must be 1 to 256 characters long"],
    ["contxt = 128000", 'backend[0].contxt: unknown key; did you mean "context"?'],
    ["max_per_days = 5", 'backend[0].max_per_days: unknown key; did you mean "max_per_day"?'],
    ["keyrename = {}", 'backend[0].keyrename: unknown key; did you mean "key_rename"?'],
    ["priority = 1", "backend[0].priority: unknown key; expected one of model, name, alias, context, vision, thinking, max_per_day, max_per_hour, max_per_5hours, model_match, key_rename, key_delete, key_add, fallbacks, gpt_oss_fix"],
  ])("%s", (line, issue) => {
    expect(issues(backend(line))).toEqual([`${SOURCE}: ${issue}`]);
  });

  it("reports a backend that is not a table", () => {
    expect(issues(`backend = [1]\n${OPENAI}`)).toEqual([`${SOURCE}: backend[0]: expected a table, got integer`]);
  });

  it("numbers backends from 0 in file order", () => {
    const text = `${OPENAI}[[backend]]\nmodel = "openai:a"\n[[backend]]\nmodel = "openai:b"\n[[backend]]\nmodel = "openai:c"\ncontxt = 1\n`;
    expect(issues(text)).toEqual([`${SOURCE}: backend[2].contxt: unknown key; did you mean "context"?`]);
  });
});

describe("backend names", () => {
  const models = (...entries: string[]): string =>
    OPENAI + entries.map((e) => `[[backend]]\n${e}\n`).join("");

  it("defaults to provider:model and numbers repeats #2, #3", () => {
    const config = parse(models('model = "openai:gpt-4o"', 'model = "openai:o3"', 'model = "openai:gpt-4o"', 'model = "openai:gpt-4o"'));
    expect(config.backends.map((b) => b.name)).toEqual(["openai:gpt-4o", "openai:o3", "openai:gpt-4o#2", "openai:gpt-4o#3"]);
  });

  it("gives explicit names precedence over defaults", () => {
    const config = parse(models('model = "openai:gpt-4o"', 'model = "openai:o3"\nname = "openai:gpt-4o"'));
    expect(config.backends.map((b) => b.name)).toEqual(["openai:gpt-4o#2", "openai:gpt-4o"]);
  });

  it("rejects an explicit duplicate name", () => {
    const text = models('model = "openai:a"\nname = "fast"', 'model = "openai:b"', 'model = "openai:c"\nname = "fast"');
    expect(issues(text)).toEqual([`${SOURCE}: backend[2].name: "fast" is already used by backend[0]`]);
  });
});
