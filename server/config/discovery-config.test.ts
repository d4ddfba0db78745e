import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { loadConfig, parseConfig } from "./load.js";
import type { Config } from "./types.js";

// Model discovery in the configuration: `[[discovery]]` tables, `VLLM_SERVERS`, BACKENDS as the fallback, and
// `LLMUX_SECRET_KEY`.

type Env = Record<string, string | undefined>;

function parse(text: string, env: Env = {}): Config {
  return parseConfig(text, { source: "llmux.toml", baseDir: "/etc/llmux", env });
}

function issues(text: string, env: Env = {}): string[] {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

describe("[[discovery]]", () => {
  it("reads url, api_key (with ${ENV}) and interval, naming each server's provider after host and port", () => {
    const config = parse(
      `[[discovery]]
url = "http://gpu-1.lan:8000/v1/"
api_key = "\${VLLM_KEY}"
interval = 10

[[discovery]]
url = "https://vllm.example.com/v1"
`,
      { VLLM_KEY: "sk-vllm" },
    );
    expect(config.discovery).toEqual({
      servers: [
        { provider: "vllm-gpu-1.lan-8000", url: "http://gpu-1.lan:8000/v1", apiKey: "sk-vllm", intervalMs: 10_000 },
        { provider: "vllm-vllm.example.com-443", url: "https://vllm.example.com/v1", apiKey: undefined, intervalMs: 30_000 },
      ],
      fallback: [],
    });
  });

  it("defaults to no servers and no key", () => {
    const config = parse("");
    expect(config.discovery).toEqual({ servers: [], fallback: [] });
    expect(config.secretKey).toBeUndefined();
  });

  it.each([
    ['[[discovery]]\ninterval = 5', ["llmux.toml: discovery[0].url: required: the server's OpenAI-compatible base URL, e.g. http://localhost:8000/v1"]],
    ['[[discovery]]\nurl = "http://169.254.169.254/v1"', ["llmux.toml: discovery[0].url: points at a cloud metadata address, which is always refused"]],
    ['[[discovery]]\nurl = "http://0xa9fea9fe/v1"', ["llmux.toml: discovery[0].url: points at a cloud metadata address, which is always refused"]],
    ['[[discovery]]\nurl = "http://[fd00:ec2::254]/v1"', ["llmux.toml: discovery[0].url: points at a cloud metadata address, which is always refused"]],
    ['[[discovery]]\nurl = "http://metadata.google.internal/v1"', ["llmux.toml: discovery[0].url: points at a cloud metadata address, which is always refused"]],
    ['[[discovery]]\nurl = "file:///etc/passwd"', ["llmux.toml: discovery[0].url: must be an http or https URL, got file:"]],
    ['[[discovery]]\nurl = "http://admin:pw@vllm:8000/v1"', ["llmux.toml: discovery[0].url: must not contain credentials; use api_key"]],
    ['[[discovery]]\nurl = "http://vllm:8000/v1?x=1"', ["llmux.toml: discovery[0].url: must not contain a query or fragment"]],
    ['[[discovery]]\nurl = "http://vllm:8000/v1"\ninterval = 0', ["llmux.toml: discovery[0].interval: must be an integer from 1 to 86400, got 0"]],
    ['[[discovery]]\nurl = "http://vllm:8000/v1"\nintervall = 5', ['llmux.toml: discovery[0].intervall: unknown key; did you mean "interval"?']],
    ['[[discovery]]\nurl = "http://vllm:8000/v1"\napi_key = "${NOPE}"', ["llmux.toml: discovery[0].api_key: environment variable NOPE is not set"]],
    ['discovery = "http://vllm:8000/v1"', ["llmux.toml: discovery: expected an array of tables ([[discovery]]), got string"]],
    ["discovery = [1]", ["llmux.toml: discovery[0]: expected a table, got integer"]],
    [
      '[[discovery]]\nurl = "http://vllm:8000/v1"\n[[discovery]]\nurl = "http://vllm:8000/other/v1"',
      ['llmux.toml: discovery[1]: provider "vllm-vllm-8000" (named after this server\'s host and port) is already defined by discovery[0]'],
    ],
    [
      '[provider.vllm-vllm-8000]\nbase_url = "http://vllm:8000/v1"\n[[discovery]]\nurl = "http://vllm:8000/v1"',
      ['llmux.toml: discovery[0]: provider "vllm-vllm-8000" (named after this server\'s host and port) is already defined by provider.vllm-vllm-8000'],
    ],
  ])("reports %j", (text, expected) => {
    expect(issues(text)).toEqual(expected);
  });
});

describe("VLLM_SERVERS", () => {
  it("adds one server per host:port, polled every 30 s, after the file's", () => {
    const config = parse('[[discovery]]\nurl = "http://file-vllm:9000/v1"', { VLLM_SERVERS: "localhost:8000, 10.0.0.7:8001,[::1]:8002" });
    expect(config.discovery.servers).toEqual([
      { provider: "vllm-file-vllm-9000", url: "http://file-vllm:9000/v1", apiKey: undefined, intervalMs: 30_000 },
      { provider: "vllm-localhost-8000", url: "http://localhost:8000/v1", apiKey: undefined, intervalMs: 30_000 },
      { provider: "vllm-10.0.0.7-8001", url: "http://10.0.0.7:8001/v1", apiKey: undefined, intervalMs: 30_000 },
      { provider: "vllm--1-8002", url: "http://[::1]:8002/v1", apiKey: undefined, intervalMs: 30_000 },
    ]);
  });

  it.each([
    ["localhost", 'environment: VLLM_SERVERS[0]: expected HOST:PORT, got "localhost"'],
    ["localhost:0", 'environment: VLLM_SERVERS[0]: expected HOST:PORT, got "localhost:0"'],
    ["bad host:80", 'environment: VLLM_SERVERS[0]: expected HOST:PORT, got "bad host:80"'],
    ["169.254.169.254:80", "environment: VLLM_SERVERS[0]: points at a cloud metadata address, which is always refused"],
    ["ok:1,0xa9fea9fe:80", "environment: VLLM_SERVERS[1]: points at a cloud metadata address, which is always refused"],
  ])("reports %s", (value, expected) => {
    expect(issues("", { VLLM_SERVERS: value })).toEqual([expected]);
  });

  it("keeps BACKENDS as the fallback when servers are configured", () => {
    const config = parse("", { VLLM_SERVERS: "localhost:8000", BACKENDS: "qwen3-8b:localhost:8001" });
    expect(config.backends).toEqual([]);
    expect(config.discovery.fallback.map((b) => [b.name, b.provider, b.model])).toEqual([["env-qwen3-8b:qwen3-8b", "env-qwen3-8b", "qwen3-8b"]]);
    // The fallback's provider stays defined, so the fallback can be served.
    expect([...config.providers.keys()]).toEqual(["env-qwen3-8b"]);
  });

  it("leaves BACKENDS as ordinary backends without servers, and the file's backends always", () => {
    const file = '[provider.p]\nbase_url = "http://p:1/v1"\n[[backend]]\nmodel = "p:m"\n';
    expect(parse(file, { BACKENDS: "q:localhost:8001" }).backends.map((b) => b.name)).toEqual(["p:m", "env-q:q"]);
    const withServers = parse(file, { BACKENDS: "q:localhost:8001", VLLM_SERVERS: "localhost:8000" });
    expect(withServers.backends.map((b) => b.name)).toEqual(["p:m"]);
    expect(withServers.discovery.fallback.map((b) => b.name)).toEqual(["env-q:q"]);
  });
});

describe("LLMUX_SECRET_KEY", () => {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  it.each([
    ["hex", bytes.toString("hex")],
    ["HEX", bytes.toString("hex").toUpperCase()],
    ["base64", bytes.toString("base64")],
    ["base64url", bytes.toString("base64url")],
  ])("decodes %s", (_, value) => {
    expect(Buffer.from(parse("", { LLMUX_SECRET_KEY: value }).secretKey!)).toEqual(bytes);
  });

  it.each([
    ["too short", Buffer.alloc(16).toString("base64")],
    ["too long", Buffer.alloc(33).toString("hex")],
    ["not base64", "this is not a key at all, though it is long enough"],
  ])("refuses a key that is %s, without echoing it", (_, value) => {
    const found = issues("", { LLMUX_SECRET_KEY: value });
    expect(found).toEqual(["environment: LLMUX_SECRET_KEY: must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)"]);
    expect(found.join("\n")).not.toContain(value);
  });
});

describe("loadConfig without a file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmux-discovery-config-"));
  const cwd = process.cwd();
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts VLLM_SERVERS alone: backends come from discovery", async () => {
    process.chdir(dir);
    const config = await loadConfig({ env: { VLLM_SERVERS: "localhost:8000" } });
    expect(config.backends).toEqual([]);
    expect(config.discovery.servers.map((s) => s.provider)).toEqual(["vllm-localhost-8000"]);
  });
});
