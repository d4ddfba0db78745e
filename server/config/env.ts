import { badLogLevel, DEFAULT_DISCOVERY_INTERVAL_S, discoveryServer, parseLogLevel } from "./validate.js";
import type { IssueList, Layer } from "./validate.js";

/** The source name environment problems are reported under. */
const WHERE = "environment";

/** `BACKENDS` names: those of a provider, plus `/` for model names like `Qwen/Qwen3-8B`; `env-` is prefixed. */
const BACKEND_NAME = /^[A-Za-z0-9_./-]{1,60}$/;
/** A DNS name, an IPv4 address or a bracketed IPv6 address. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/;

/** A variable's trimmed value; empty counts as unset, as `PORT=` in a compose file means "no value". */
function read(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
}

/**
 * Decodes `LLMUX_SECRET_KEY`: 64 hex digits, or base64 / base64url of exactly 32 bytes (`openssl rand -base64 32`).
 * Undefined when it is neither; the caller reports it without the value.
 */
function parseSecretKey(text: string): Uint8Array | undefined {
  if (/^[0-9A-Fa-f]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(text)) return undefined;
  const key = Buffer.from(text, "base64");
  return key.length === 32 ? key : undefined;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/**
 * Reads the environment overrides (in the style of LLMMux's `.env`): `HOST`, `PORT`, `ADMIN_PORT`, `LOG_LEVEL`,
 * `ENABLE_CORS`, `CORS_ORIGIN`, `API_KEYS` (comma-separated client tokens, named `env-1`, `env-2`…),
 * `BACKENDS` (`name:host:port,…`, each an OpenAI-compatible server at `http://host:port/v1` serving the model
 * `name`, added as provider `env-<name>`; only a fallback for discovery when discovery servers are configured),
 * `VLLM_SERVERS` (`host:port,…`, vLLM servers at `http://host:port/v1` whose models are discovered) and
 * `LLMUX_SECRET_KEY` (the key that encrypts provider keys in the database). Invalid values are reported naming
 * the variable; secrets never appear in messages. `LLMUX_CONFIG` is read by `loadConfig`, not here.
 */
export function readEnvironment(env: Record<string, string | undefined>, issues: IssueList): Layer {
  const layer: Layer = { where: WHERE, server: {}, providers: [], backends: [], tokens: [] };
  const { server } = layer;

  server.host = read(env, "HOST");
  const port = read(env, "PORT");
  if (port !== undefined) {
    server.port = parsePort(port);
    if (server.port === undefined) issues.add(WHERE, "PORT", `must be an integer from 1 to 65535, got ${JSON.stringify(port)}`);
  }
  const adminPort = read(env, "ADMIN_PORT");
  if (adminPort !== undefined) {
    // 0 is valid here (unlike PORT): it turns the admin listener off.
    server.adminPort = adminPort === "0" ? 0 : parsePort(adminPort);
    if (server.adminPort === undefined) issues.add(WHERE, "ADMIN_PORT", `must be an integer from 1 to 65535, or 0 to turn the admin listener off, got ${JSON.stringify(adminPort)}`);
  }
  const interval = read(env, "HEALTH_CHECK_INTERVAL");
  if (interval !== undefined) {
    // Milliseconds, as in LLMMux's .env (the file's health_check_interval is in seconds).
    if (/^\d+$/.test(interval) && Number(interval) <= 86_400_000) server.healthCheckIntervalMs = Number(interval);
    else issues.add(WHERE, "HEALTH_CHECK_INTERVAL", `must be a whole number of milliseconds (0 turns checks off), got ${JSON.stringify(interval)}`);
  }
  const database = read(env, "DATABASE_URL");
  if (database !== undefined) server.database = database;
  const level = read(env, "LOG_LEVEL");
  if (level !== undefined) {
    server.logLevel = parseLogLevel(level);
    if (server.logLevel === undefined) issues.add(WHERE, "LOG_LEVEL", badLogLevel(level));
  }
  const cors = read(env, "ENABLE_CORS")?.toLowerCase();
  if (cors === "true" || cors === "1") server.corsEnabled = true;
  else if (cors === "false" || cors === "0") server.corsEnabled = false;
  else if (cors !== undefined) issues.add(WHERE, "ENABLE_CORS", `must be true, false, 1 or 0, got ${JSON.stringify(cors)}`);
  server.corsOrigin = read(env, "CORS_ORIGIN");

  const secretKey = read(env, "LLMUX_SECRET_KEY");
  if (secretKey !== undefined) {
    layer.secretKey = parseSecretKey(secretKey);
    if (layer.secretKey === undefined) issues.add(WHERE, "LLMUX_SECRET_KEY", "must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)");
  }

  const keys = (read(env, "API_KEYS") ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  keys.forEach((secret, i) => {
    layer.tokens.push({ origin: { where: WHERE, keyPath: `API_KEYS[${i}]` }, token: { name: `env-${i + 1}`, secret } });
  });

  const entries = (read(env, "BACKENDS") ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
  entries.forEach((entry, i) => {
    const at = `BACKENDS[${i}]`;
    // name:host:port, where an IPv6 host has colons of its own: the name ends at the first colon, the port
    // starts after the last one.
    const first = entry.indexOf(":");
    const last = entry.lastIndexOf(":");
    if (first <= 0 || last === first) {
      issues.add(WHERE, at, `expected NAME:HOST:PORT, got ${JSON.stringify(entry)}`);
      return;
    }
    const [name, host, portText] = [entry.slice(0, first), entry.slice(first + 1, last), entry.slice(last + 1)];
    const entryPort = parsePort(portText);
    let ok = true;
    const fail = (message: string): void => {
      issues.add(WHERE, at, message);
      ok = false;
    };
    if (!BACKEND_NAME.test(name)) fail(`invalid name ${JSON.stringify(name)}; use 1 to 60 letters, digits, _ . / or -`);
    if (!HOST.test(host)) fail(`invalid host ${JSON.stringify(host)}`);
    if (entryPort === undefined) fail(`port must be an integer from 1 to 65535, got ${JSON.stringify(portText)}`);
    if (!ok) return;
    const provider = `env-${name}`;
    const origin = { where: WHERE, keyPath: at };
    layer.providers.push({
      origin,
      provider: { name: provider, kind: "openai", baseUrl: `http://${host}:${entryPort}/v1`, apiKey: undefined, mock: undefined },
    });
    layer.backends.push({
      origin,
      explicitName: undefined,
      // When VLLM_SERVERS or [[discovery]] is set, BACKENDS is only used while discovery finds nothing.
      fallback: true,
      settings: {
        provider,
        model: name,
        alias: undefined,
        context: undefined,
        vision: false,
        thinking: false,
        maxPerDay: undefined,
        maxPerHour: undefined,
        maxPer5Hours: undefined,
        // Served by model name, as in LLMMux: only requests for this model reach this server.
        modelMatch: [name],
        keyRename: {},
        keyDelete: [],
        keyAdd: {},
        fallbacks: [],
        gptOssFix: false,
      },
    });
  });

  const servers = (read(env, "VLLM_SERVERS") ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (servers.length > 0) layer.discovery = [];
  servers.forEach((entry, i) => {
    const at = `VLLM_SERVERS[${i}]`;
    const last = entry.lastIndexOf(":");
    const [host, portText] = last < 0 ? [entry, ""] : [entry.slice(0, last), entry.slice(last + 1)];
    const port = parsePort(portText);
    if (!HOST.test(host) || port === undefined) {
      issues.add(WHERE, at, `expected HOST:PORT, got ${JSON.stringify(entry)}`);
      return;
    }
    const result = discoveryServer(`http://${host}:${port}/v1`, undefined, DEFAULT_DISCOVERY_INTERVAL_S * 1000);
    if ("error" in result) issues.add(WHERE, at, result.error);
    else layer.discovery?.push({ origin: { where: WHERE, keyPath: at }, server: result.server });
  });
  return layer;
}
