import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./load.js";
import type { ConfigOverrides } from "./load.js";
import type { Config } from "./types.js";

// Environment overrides (LLMMux style) and command-line flags, through parseConfig.

const SOURCE = "llmux.toml";
const FILE = `host = "0.0.0.0"
port = 9000
log_level = "debug"
enable_cors = true
cors_origin = "https://file.example"

[provider.openai]
base_url = "https://api.openai.com/v1"

[[backend]]
model = "openai:gpt-4o"

[tokens]
ci = "file-secret"
`;

type Env = Record<string, string | undefined>;

function parse(env: Env, overrides?: ConfigOverrides, text = FILE): Config {
  return parseConfig(text, { source: SOURCE, baseDir: "/etc/llmux", env, overrides });
}

function issues(env: Env, overrides?: ConfigOverrides, text = FILE): string[] {
  try {
    parse(env, overrides, text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

describe("server settings: flags > environment > file > defaults", () => {
  it("uses the file when nothing overrides it", () => {
    expect(parse({}).server).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      logLevel: "debug",
      cors: { enabled: true, origin: "https://file.example" },
    });
  });

  it.each<[string, Env, ConfigOverrides | undefined, Partial<Config["server"]>]>([
    ["PORT over file", { PORT: "8080" }, undefined, { port: 8080 }],
    ["flag over PORT", { PORT: "8080" }, { port: 8443 }, { port: 8443 }],
    ["flag port 0 picks a free port", {}, { port: 0 }, { port: 0 }],
    ["HOST over file", { HOST: "127.0.0.2" }, undefined, { host: "127.0.0.2" }],
    ["flag over HOST", { HOST: "127.0.0.2" }, { host: "::" }, { host: "::" }],
    ["LOG_LEVEL over file", { LOG_LEVEL: "WARNING" }, undefined, { logLevel: "warn" }],
    ["flag over LOG_LEVEL", { LOG_LEVEL: "warn" }, { logLevel: "trace" }, { logLevel: "trace" }],
    ["ENABLE_CORS=false over file", { ENABLE_CORS: "false" }, undefined, { cors: { enabled: false, origin: "https://file.example" } }],
    ["ENABLE_CORS=0", { ENABLE_CORS: "0" }, undefined, { cors: { enabled: false, origin: "https://file.example" } }],
    ["CORS_ORIGIN over file", { CORS_ORIGIN: "*" }, undefined, { cors: { enabled: true, origin: "*" } }],
    ["empty variables count as unset", { PORT: "", HOST: " ", LOG_LEVEL: "" }, undefined, { port: 9000, host: "0.0.0.0", logLevel: "debug" }],
    ["values are trimmed", { PORT: " 8080 " }, undefined, { port: 8080 }],
    ["ADMIN_PORT over the default", { ADMIN_PORT: "9443" }, undefined, { adminPort: 9443 }],
    ["ADMIN_PORT=0 turns the admin listener off", { ADMIN_PORT: "0" }, undefined, { adminPort: 0 }],
    ["an empty ADMIN_PORT counts as unset", { ADMIN_PORT: "" }, undefined, { adminPort: 8083 }],
  ])("%s", (_, env, overrides, expected) => {
    expect(parse(env, overrides).server).toMatchObject(expected);
  });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("ENABLE_CORS=%s over defaults", (value, enabled) => {
    expect(parse({ ENABLE_CORS: value }, undefined, "").server.cors).toEqual({ enabled, origin: "*" });
  });

  it("enables HTTPS from flags, resolving flag paths against the current directory", () => {
    const config = parse({}, { https: true, sslKeyFile: "key.pem", sslCertFile: "/tls/cert.pem" });
    expect(config.server.https).toEqual({ enabled: true, keyFile: `${process.cwd()}/key.pem`, certFile: "/tls/cert.pem" });
  });

  it("lets a flag disable HTTPS that the file enables", () => {
    const text = 'https_enabled = true\nssl_key_file = "k.pem"\nssl_cert_file = "c.pem"';
    expect(parse({}, { https: false }, text).server.https).toEqual({
      enabled: false,
      keyFile: "/etc/llmux/k.pem",
      certFile: "/etc/llmux/c.pem",
    });
  });

  it("takes TLS files from the file when a flag enables HTTPS", () => {
    const text = 'ssl_key_file = "k.pem"\nssl_cert_file = "c.pem"';
    expect(parse({}, { https: true }, text).server.https).toEqual({
      enabled: true,
      keyFile: "/etc/llmux/k.pem",
      certFile: "/etc/llmux/c.pem",
    });
  });
});

describe("invalid environment values and flags", () => {
  it.each<[Env, string]>([
    [{ PORT: "abc" }, 'environment: PORT: must be an integer from 1 to 65535, got "abc"'],
    [{ PORT: "0" }, 'environment: PORT: must be an integer from 1 to 65535, got "0"'],
    [{ PORT: "65536" }, 'environment: PORT: must be an integer from 1 to 65535, got "65536"'],
    [{ PORT: "80.5" }, 'environment: PORT: must be an integer from 1 to 65535, got "80.5"'],
    [{ PORT: "-1" }, 'environment: PORT: must be an integer from 1 to 65535, got "-1"'],
    [{ ADMIN_PORT: "off" }, 'environment: ADMIN_PORT: must be an integer from 1 to 65535, or 0 to turn the admin listener off, got "off"'],
    [{ ADMIN_PORT: "65536" }, 'environment: ADMIN_PORT: must be an integer from 1 to 65535, or 0 to turn the admin listener off, got "65536"'],
    [{ ADMIN_PORT: "9000" }, "llmux.toml: admin_port: must differ from port (9000); set another port, or 0 to turn the admin listener off"],
    [{ LOG_LEVEL: "verbose" }, 'environment: LOG_LEVEL: unknown log level "verbose"; expected one of trace, debug, info, warn, warning, error, fatal'],
    [{ LOG_LEVEL: "inf" }, 'environment: LOG_LEVEL: unknown log level "inf"; did you mean "info"?'],
    [{ ENABLE_CORS: "yes" }, 'environment: ENABLE_CORS: must be true, false, 1 or 0, got "yes"'],
  ])("%j", (env, issue) => {
    expect(issues(env)).toEqual([issue]);
  });

  it.each<[ConfigOverrides, string]>([
    [{ port: 70_000 }, "command line: port: must be an integer from 0 to 65535, got 70000"],
    [{ port: 1.5 }, "command line: port: must be an integer from 0 to 65535, got 1.5"],
    [{ host: "" }, "command line: host: must not be empty"],
    [{ logLevel: "loud" as ConfigOverrides["logLevel"] }, 'command line: log_level: unknown log level "loud"; expected one of trace, debug, info, warn, warning, error, fatal'],
    [{ sslKeyFile: "" }, "command line: ssl_key_file: must not be empty"],
  ])("%j", (overrides, issue) => {
    expect(issues({}, overrides)).toEqual([issue]);
  });

  it("reports a flag enabling HTTPS without files", () => {
    expect(issues({}, { https: true })).toEqual([
      `${SOURCE}: ssl_key_file: required when HTTPS is enabled`,
      `${SOURCE}: ssl_cert_file: required when HTTPS is enabled`,
    ]);
  });
});

describe("API_KEYS", () => {
  it("appends env-1, env-2… after the file's tokens, skipping empty entries", () => {
    expect(parse({ API_KEYS: " sk-one, sk-two,,sk-three, " }).tokens).toEqual([
      { name: "ci", secret: "file-secret" },
      { name: "env-1", secret: "sk-one" },
      { name: "env-2", secret: "sk-two" },
      { name: "env-3", secret: "sk-three" },
    ]);
  });

  it("adds nothing for an empty value", () => {
    expect(parse({ API_KEYS: "" }).tokens).toEqual([{ name: "ci", secret: "file-secret" }]);
  });

  it("rejects a secret already used, without printing it", () => {
    const found = issues({ API_KEYS: "sk-one,file-secret,sk-one" });
    expect(found).toEqual([
      `environment: API_KEYS[1]: same secret as tokens.ci in ${SOURCE}`,
      "environment: API_KEYS[2]: same secret as API_KEYS[0]",
    ]);
    expect(found.join("\n")).not.toMatch(/sk-one|file-secret/);
  });

  it("rejects a file token named like an environment token", () => {
    expect(issues({ API_KEYS: "sk-one" }, undefined, '[tokens]\nenv-1 = "other"')).toEqual([
      `environment: API_KEYS[0]: token name "env-1" is already used by tokens.env-1 in ${SOURCE}`,
    ]);
  });
});

describe("BACKENDS", () => {
  it("adds one OpenAI-compatible provider and backend per entry, after the file's backends", () => {
    const config = parse({ BACKENDS: "qwen3-30b:localhost:8000, qwen3-8b:10.0.0.5:8001,Qwen/Qwen3-8B:[::1]:8002" });
    expect([...config.providers.values()].slice(1)).toEqual([
      { name: "env-qwen3-30b", kind: "openai", baseUrl: "http://localhost:8000/v1", apiKey: undefined, mock: undefined },
      { name: "env-qwen3-8b", kind: "openai", baseUrl: "http://10.0.0.5:8001/v1", apiKey: undefined, mock: undefined },
      { name: "env-Qwen/Qwen3-8B", kind: "openai", baseUrl: "http://[::1]:8002/v1", apiKey: undefined, mock: undefined },
    ]);
    expect(config.backends.map((b) => [b.name, b.provider, b.model, b.modelMatch])).toEqual([
      ["openai:gpt-4o", "openai", "gpt-4o", []],
      ["env-qwen3-30b:qwen3-30b", "env-qwen3-30b", "qwen3-30b", ["qwen3-30b"]],
      ["env-qwen3-8b:qwen3-8b", "env-qwen3-8b", "qwen3-8b", ["qwen3-8b"]],
      ["env-Qwen/Qwen3-8B:Qwen/Qwen3-8B", "env-Qwen/Qwen3-8B", "Qwen/Qwen3-8B", ["Qwen/Qwen3-8B"]],
    ]);
    expect(config.backends[1]).toEqual({
      name: "env-qwen3-30b:qwen3-30b",
      provider: "env-qwen3-30b",
      model: "qwen3-30b",
      alias: undefined,
      context: undefined,
      vision: false,
      thinking: false,
      maxPerDay: undefined,
      maxPerHour: undefined,
      maxPer5Hours: undefined,
      modelMatch: ["qwen3-30b"],
      keyRename: {},
      keyDelete: [],
      keyAdd: {},
      fallbacks: [],
      gptOssFix: false,
    });
  });

  it.each<[string, string[]]>([
    ["qwen", ['environment: BACKENDS[0]: expected NAME:HOST:PORT, got "qwen"']],
    ["qwen:8000", ['environment: BACKENDS[0]: expected NAME:HOST:PORT, got "qwen:8000"']],
    [":localhost:8000", ['environment: BACKENDS[0]: expected NAME:HOST:PORT, got ":localhost:8000"']],
    ["qwen:localhost:99999", ['environment: BACKENDS[0]: port must be an integer from 1 to 65535, got "99999"']],
    ["qwen:localhost:", ['environment: BACKENDS[0]: port must be an integer from 1 to 65535, got ""']],
    ["qwen:local host:80", ['environment: BACKENDS[0]: invalid host "local host"']],
    ["qwen:user@host:80", ['environment: BACKENDS[0]: invalid host "user@host"']],
    ["qw*n:host:80", ['environment: BACKENDS[0]: invalid name "qw*n"; use 1 to 60 letters, digits, _ . / or -']],
    [
      "ok:h:1,bad:h:0,:x:1",
      [
        'environment: BACKENDS[1]: port must be an integer from 1 to 65535, got "0"',
        'environment: BACKENDS[2]: expected NAME:HOST:PORT, got ":x:1"',
      ],
    ],
    ["qwen:a:1,qwen:b:2", ['environment: BACKENDS[1]: provider "env-qwen" is already defined by BACKENDS[0]']],
  ])("%j", (value, expected) => {
    expect(issues({ BACKENDS: value })).toEqual(expected);
  });

  it("rejects a name whose provider the file already defines", () => {
    const text = '[provider.env-qwen]\nkind = "mock"';
    expect(issues({ BACKENDS: "qwen:h:1" }, undefined, text)).toEqual([
      `environment: BACKENDS[0]: provider "env-qwen" is already defined by provider.env-qwen in ${SOURCE}`,
    ]);
  });
});

it("reports problems from the file, the environment and the flags together", () => {
  const text = `${FILE}\n[[backend]]\nmodel = "opnai:o3"\n`;
  expect(issues({ PORT: "x", BACKENDS: "q" }, { port: -1 }, text)).toEqual([
    'environment: PORT: must be an integer from 1 to 65535, got "x"',
    'environment: BACKENDS[0]: expected NAME:HOST:PORT, got "q"',
    "command line: port: must be an integer from 0 to 65535, got -1",
    `${SOURCE}: backend[1].model: provider "opnai" is not defined; did you mean "openai"?`,
  ]);
});
