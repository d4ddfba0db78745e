import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig, parseConfig } from "./load.js";
import { backendConfig } from "../../test/helpers/backend-config.js";

const TESTDATA = path.join(path.dirname(fileURLToPath(import.meta.url)), "testdata");

function fixture(name: string) {
  const file = path.join(TESTDATA, name);
  return parseConfig(fs.readFileSync(file, "utf8"), { source: file, baseDir: TESTDATA, env: {} });
}

/** Runs `fn` and returns the ConfigError it throws. */
async function configError(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("the README examples (seed 000)", () => {
  it("parses Basic Configuration", () => {
    const config = fixture("basic.toml");
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 8082, logLevel: "info" });
    expect([...config.providers.values()]).toEqual([
      { name: "openai", kind: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "sk-your-openai-key", mock: undefined },
      { name: "cerebras_gig", kind: "openai", baseUrl: "https://api.cerebras.ai/v1", apiKey: "csk-your-cerebras-key", mock: undefined },
    ]);
    expect(config.backends).toEqual([
      backendConfig({ name: "openai:gpt-4o", provider: "openai", model: "gpt-4o", context: 128_000, vision: true, maxPerDay: 1000 }),
      backendConfig({ name: "cerebras_gig:zai-glm-4.6", provider: "cerebras_gig", model: "zai-glm-4.6", context: 131_000 }),
      backendConfig({
        name: "openai:o3",
        provider: "openai",
        model: "o3",
        context: 1_000_000,
        thinking: true,
        modelMatch: ["*opus*", "*o1*"],
      }),
    ]);
    expect(config.tokens).toEqual([{ name: "client1", secret: "your-secret-api-key" }]);
  });

  it("parses the Configuration Reference with the Complex Example", () => {
    const config = fixture("complex.toml");
    expect(config.server).toEqual({
      host: "0.0.0.0",
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
    expect([...config.providers.keys()]).toEqual(["openai", "cerebras", "synthetic", "lmstudio"]);
    expect(config.providers.get("synthetic")?.baseUrl).toBe("https://api.synthetic.new/openai/v1");
    expect(config.providers.get("lmstudio")?.baseUrl).toBe("http://localhost:1234/v1");
    expect(config.backends).toEqual([
      backendConfig({
        name: "synthetic:hf:Qwen/Qwen3-Coder-480B-A35B-Instruct",
        provider: "synthetic",
        model: "hf:Qwen/Qwen3-Coder-480B-A35B-Instruct",
        context: 256_000,
      }),
      backendConfig({ name: "openai:gpt-4o", provider: "openai", model: "gpt-4o", context: 128_000, vision: true }),
      backendConfig({ name: "openai:gpt-4-turbo", provider: "openai", model: "gpt-4-turbo", context: 1_000_000 }),
      backendConfig({
        name: "openai:o3",
        provider: "openai",
        model: "o3",
        context: 1_000_000,
        thinking: true,
        modelMatch: ["*opus*", "*o1*"],
        keyRename: { max_tokens: "max_completion_tokens" },
      }),
    ]);
    expect(config.tokens).toEqual([]);
  });
});

describe("parseConfig errors", () => {
  it.each([
    ["port = \n", "x.toml:1:8: TOML syntax error: invalid value"],
    ['host = "a"\nhost = "b"\n', "x.toml:2:1: TOML syntax error: trying to redefine an already defined table or value"],
    ['[tokens]\nci = "unterminated', "x.toml:2:6: TOML syntax error: unfinished string"],
    ["[backend.key_add]\n__proto__ = 1\n", "x.toml:2:1: TOML syntax error: document contains an unsafe property"],
  ])("reports a TOML syntax error with line and column: %j", async (text, issue) => {
    const err = await configError(() => parseConfig(text, { source: "x.toml", baseDir: "/", env: {} }));
    expect(err.issues).toEqual([issue]);
    expect(err.message).toBe(issue);
  });

  it("still reports environment problems next to a syntax error", async () => {
    const err = await configError(() => parseConfig("port = \n", { source: "x.toml", baseDir: "/", env: { PORT: "x" } }));
    expect(err.issues).toEqual(["x.toml:1:8: TOML syntax error: invalid value", 'environment: PORT: must be an integer from 1 to 65535, got "x"']);
  });

  it("lists every problem in one error, one line each", async () => {
    const text = `prot = 8082
log_level = "loud"

[provider.openai]
base_url = "https://api.openai.com/v1"
api_key = "\${OPENAI_API_KEY}"

[[backend]]
model = "openai:gpt-4o"

[[backend]]
model = "opnai:o3"

[[backend]]
model = "openai:gpt-4o-mini"
contxt = 128000
vision = "yes"
`;
    const err = await configError(() => parseConfig(text, { source: "examples/x.toml", baseDir: "/", env: {} }));
    const expected = [
      'examples/x.toml: prot: unknown key; did you mean "port"?',
      'examples/x.toml: log_level: unknown log level "loud"; expected one of trace, debug, info, warn, warning, error, fatal',
      "examples/x.toml: provider.openai.api_key: environment variable OPENAI_API_KEY is not set",
      'examples/x.toml: backend[2].contxt: unknown key; did you mean "context"?',
      "examples/x.toml: backend[2].vision: expected a boolean, got string",
      'examples/x.toml: backend[1].model: provider "opnai" is not defined; did you mean "openai"?',
    ];
    expect(err.issues).toEqual(expected);
    expect(err.message).toBe(expected.join("\n"));
    expect(err.name).toBe("ConfigError");
    expect(err).toBeInstanceOf(Error);
  });

  it("accepts a byte order mark", () => {
    expect(parseConfig("\uFEFFport = 1", { source: "x.toml", baseDir: "/", env: {} }).server.port).toBe(1);
  });
});

describe("loadConfig", () => {
  const cwd = process.cwd();
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "llmux-config-"));
  });
  afterEach(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  }

  const MOCK = '[provider.fake]\nkind = "mock"\n\n[[backend]]\nmodel = "fake:echo"\n';

  it("reads an explicit path and resolves TLS files against the file's directory", async () => {
    write("conf/tls/key.pem", "key");
    write("conf/tls/cert.pem", "cert");
    const file = write("conf/llmux.toml", `https_enabled = true\nssl_key_file = "tls/key.pem"\nssl_cert_file = "tls/cert.pem"\n${MOCK}`);
    const config = await loadConfig({ path: file, env: { PORT: "9999" } });
    expect(config.source).toBe(file);
    expect(config.server.port).toBe(9999);
    expect(config.server.https).toEqual({
      enabled: true,
      keyFile: path.join(dir, "conf/tls/key.pem"),
      certFile: path.join(dir, "conf/tls/cert.pem"),
    });
    expect(config.backends.map((b) => b.name)).toEqual(["fake:echo"]);
  });

  it("prefers the explicit path to LLMUX_CONFIG", async () => {
    const file = write("a.toml", `port = 1111\n${MOCK}`);
    write("b.toml", `port = 2222\n${MOCK}`);
    const config = await loadConfig({ path: file, env: { LLMUX_CONFIG: path.join(dir, "b.toml") } });
    expect(config.server.port).toBe(1111);
  });

  it("reads LLMUX_CONFIG", async () => {
    const file = write("b.toml", `port = 2222\n${MOCK}`);
    const config = await loadConfig({ env: { LLMUX_CONFIG: file } });
    expect(config.server.port).toBe(2222);
    expect(config.source).toBe(file);
  });

  it("falls back to ./llmux.toml", async () => {
    write("llmux.toml", `port = 3333\n${MOCK}`);
    process.chdir(dir);
    const config = await loadConfig({ env: {} });
    expect(config.server.port).toBe(3333);
    expect(config.source).toBe("llmux.toml");
  });

  it("applies flags over the environment over the file", async () => {
    const file = write("llmux.toml", `port = 1\nhost = "file"\nlog_level = "error"\n${MOCK}`);
    const config = await loadConfig({ path: file, env: { PORT: "2", HOST: "env" }, overrides: { port: 3 } });
    expect(config.server).toMatchObject({ port: 3, host: "env", logLevel: "error" });
  });

  it("rejects a path that does not exist", async () => {
    const missing = path.join(dir, "nope.toml");
    expect((await configError(() => loadConfig({ path: missing, env: {} }))).issues).toEqual([`${missing}: config file not found`]);
    expect((await configError(() => loadConfig({ env: { LLMUX_CONFIG: missing } }))).issues).toEqual([
      `${missing}: config file not found (from LLMUX_CONFIG)`,
    ]);
  });

  it("rejects a path that cannot be read as a file", async () => {
    expect((await configError(() => loadConfig({ path: dir, env: {} }))).issues).toEqual([`${dir}: cannot read config file (EISDIR)`]);
  });

  it("reports the file's problems with the path as given", async () => {
    write("bad.toml", "port = 0\n");
    process.chdir(dir);
    expect((await configError(() => loadConfig({ path: "bad.toml", env: {} }))).issues).toEqual([
      "bad.toml: port: must be an integer from 1 to 65535, got 0",
    ]);
  });

  it("builds the configuration from BACKENDS when there is no file", async () => {
    process.chdir(dir);
    const config = await loadConfig({ env: { BACKENDS: "qwen3-8b:localhost:8001", API_KEYS: "sk-1", PORT: "8080" } });
    expect(config.source).toBe("environment");
    expect(config.server.port).toBe(8080);
    expect([...config.providers.keys()]).toEqual(["env-qwen3-8b"]);
    expect(config.backends.map((b) => b.name)).toEqual(["env-qwen3-8b:qwen3-8b"]);
    expect(config.tokens).toEqual([{ name: "env-1", secret: "sk-1" }]);
  });

  it("asks for a config file or BACKENDS when there is neither", async () => {
    process.chdir(dir);
    expect((await configError(() => loadConfig({ env: { LLMUX_CONFIG: "" } }))).issues).toEqual([
      "environment: no backends configured; pass --config FILE, set LLMUX_CONFIG, create ./llmux.toml, set BACKENDS=name:host:port or VLLM_SERVERS=host:port",
    ]);
  });

  it("reports invalid environment values when there is no file", async () => {
    process.chdir(dir);
    expect((await configError(() => loadConfig({ env: { BACKENDS: "q:h:1", PORT: "x" } }))).issues).toEqual([
      'environment: PORT: must be an integer from 1 to 65535, got "x"',
    ]);
  });

  it("checks that TLS files are readable when HTTPS is enabled", async () => {
    write("cert.pem", "cert");
    const file = write("llmux.toml", `https_enabled = true\nssl_key_file = "missing-key.pem"\nssl_cert_file = "cert.pem"\n${MOCK}`);
    expect((await configError(() => loadConfig({ path: file, env: {} }))).issues).toEqual([
      `${file}: ssl_key_file: cannot read ${path.join(dir, "missing-key.pem")} (ENOENT)`,
    ]);
    // The same files are not checked while HTTPS is off.
    expect((await loadConfig({ path: file, env: {}, overrides: { https: false } })).server.https.enabled).toBe(false);
  });
});
