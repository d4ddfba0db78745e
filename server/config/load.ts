import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { TomlError, parse } from "smol-toml";
import { ConfigError } from "./config-error.js";
import { readEnvironment } from "./env.js";
import type { Config, ServerConfig } from "./types.js";
import { IssueList, assembleConfig, badLogLevel, parseLogLevel, readFileLayer } from "./validate.js";
import type { Layer } from "./validate.js";

/** Command-line flags; they override the environment, which overrides the file, which overrides defaults. */
export interface ConfigOverrides {
  host?: string;
  /** 1..65535, or 0 to let the OS pick a free port (tests). */
  port?: number;
  https?: boolean;
  /** Relative paths are resolved against the current directory, as a shell user expects. */
  sslKeyFile?: string;
  sslCertFile?: string;
  logLevel?: ServerConfig["logLevel"];
}

/** Where command-line problems are reported. */
const FLAGS = "command line";
/** The file used when neither a path nor LLMUX_CONFIG is given, relative to the current directory. */
const DEFAULT_PATH = "llmux.toml";

/** Validates the flags into the top layer; the CLI's types are trusted no further than its users' typing. */
function readOverrides(overrides: ConfigOverrides, issues: IssueList): Layer {
  const server: Layer["server"] = { httpsEnabled: overrides.https };
  if (overrides.host !== undefined) {
    if (overrides.host.trim() === "") issues.add(FLAGS, "host", "must not be empty");
    else server.host = overrides.host;
  }
  if (overrides.port !== undefined) {
    if (Number.isInteger(overrides.port) && overrides.port >= 0 && overrides.port <= 65_535) server.port = overrides.port;
    else issues.add(FLAGS, "port", `must be an integer from 0 to 65535, got ${overrides.port}`);
  }
  if (overrides.logLevel !== undefined) {
    server.logLevel = parseLogLevel(overrides.logLevel);
    if (server.logLevel === undefined) issues.add(FLAGS, "log_level", badLogLevel(overrides.logLevel));
  }
  for (const [field, key, value] of [
    ["sslKeyFile", "ssl_key_file", overrides.sslKeyFile],
    ["sslCertFile", "ssl_cert_file", overrides.sslCertFile],
  ] as const) {
    if (value === "") issues.add(FLAGS, key, "must not be empty");
    else if (value !== undefined) server[field] = path.resolve(value);
  }
  return { where: FLAGS, server, providers: [], backends: [], tokens: [] };
}

/** Adds the environment and flag layers on top of the file's, checks everything together and throws on any problem. */
function build(
  source: string,
  fileLayers: readonly Layer[],
  env: Record<string, string | undefined>,
  overrides: ConfigOverrides,
  issues: IssueList,
): Config {
  const layers = [...fileLayers, readEnvironment(env, issues), readOverrides(overrides, issues)];
  const config = assembleConfig(source, layers, issues);
  if (issues.lines.length > 0) throw new ConfigError(issues.lines);
  return config;
}

/**
 * Parses and validates a TOML configuration, then applies environment overrides and flags. Pure: it reads no
 * files (`baseDir` resolves relative paths in the file) and no process state other than the current directory
 * for relative flag paths, so tests and the admin plane can validate text directly.
 *
 * Throws ConfigError listing every problem found, TOML syntax errors with line and column.
 */
export function parseConfig(
  text: string,
  options: { source: string; baseDir: string; env: Record<string, string | undefined>; overrides?: ConfigOverrides },
): Config {
  const issues = new IssueList();
  const overrides = options.overrides ?? {};
  let doc: Record<string, unknown>;
  try {
    // Integers as bigint so `port = 8082.5` and `port = 8082.0` are reported as floats; unsafe keys
    // (`__proto__`) are refused so key_add and key_rename tables can be copied without prototype tricks.
    doc = parse(text.replace(/^\uFEFF/, ""), { integersAsBigInt: true, unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    issues.lines.push(`${options.source}:${err.line}:${err.column}: TOML syntax error: ${reason}`);
    // The other sources' problems are still worth reporting; cross-checks need the file and are skipped.
    readEnvironment(options.env, issues);
    readOverrides(overrides, issues);
    throw new ConfigError(issues.lines);
  }
  const file = readFileLayer(doc, { source: options.source, baseDir: options.baseDir, env: options.env, issues });
  return build(options.source, [file], options.env, overrides, issues);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads the configuration the server starts with. The file is `path`, else `env.LLMUX_CONFIG`, else
 * `./llmux.toml` when it exists; a named file that does not exist is an error (a typo must not silently start
 * a different setup). Without any file the configuration comes from the environment alone, which then must
 * define `BACKENDS` or `VLLM_SERVERS`. When HTTPS is enabled the key and certificate files must be readable, so the server fails
 * at startup rather than at the first TLS handshake.
 */
export async function loadConfig(options: {
  path?: string;
  env: Record<string, string | undefined>;
  overrides?: ConfigOverrides;
}): Promise<Config> {
  const fromEnv = options.env["LLMUX_CONFIG"]?.trim() || undefined;
  const named = options.path ?? fromEnv;
  let file: string | undefined = named;
  if (named !== undefined && !(await exists(named))) {
    const via = options.path === undefined ? " (from LLMUX_CONFIG)" : "";
    throw new ConfigError([`${named}: config file not found${via}`]);
  }
  if (named === undefined && (await exists(DEFAULT_PATH))) file = DEFAULT_PATH;

  let config: Config;
  if (file === undefined) {
    config = build("environment", [], options.env, options.overrides ?? {}, new IssueList());
    if (config.backends.length === 0 && config.discovery.servers.length === 0) {
      throw new ConfigError([
        `environment: no backends configured; pass --config FILE, set LLMUX_CONFIG, create ./${DEFAULT_PATH}, set BACKENDS=name:host:port or VLLM_SERVERS=host:port`,
      ]);
    }
  } else {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
      throw new ConfigError([`${file}: cannot read config file (${code})`]);
    }
    config = parseConfig(text, { source: file, baseDir: path.dirname(path.resolve(file)), env: options.env, overrides: options.overrides });
  }

  const unreadable: string[] = [];
  if (config.server.https.enabled) {
    for (const [key, tlsFile] of [
      ["ssl_key_file", config.server.https.keyFile],
      ["ssl_cert_file", config.server.https.certFile],
    ] as const) {
      if (tlsFile === undefined) continue;
      try {
        await access(tlsFile, constants.R_OK);
      } catch (err) {
        unreadable.push(`${config.source}: ${key}: cannot read ${tlsFile} (${(err as NodeJS.ErrnoException).code ?? "unknown error"})`);
      }
    }
  }
  if (unreadable.length > 0) throw new ConfigError(unreadable);
  return config;
}
