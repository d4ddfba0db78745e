import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_TOKEN, LLMUX, LLMUXCTL, freePort, runCli, startLlmux, stopAll } from "../helpers/cli.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmux-start-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(stopAll);

/** Writes a config file into the test's temp dir and returns its path. */
async function configFile(name: string, toml: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, toml);
  return file;
}

/** A one-backend mock config; the server keys vary per test. */
const MOCK_BACKEND = '[provider.mock]\nkind = "mock"\n\n[[backend]]\nmodel = "mock:m"\n\n[tokens]\nt = "secret-token"\n';

function chat(url: string, token: string, content: unknown, model = "fast"): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
  });
}

/** The stdout log as parsed JSON lines; throws (failing the test) on any line that is not JSON. */
function entries(logs: readonly string[]): Record<string, unknown>[] {
  return logs.filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("llmux start", () => {
  it("refuses a bad config with exit 2 and the problems on stderr, no stack trace", async () => {
    const file = await configFile("bad.toml", '[[backend]]\nmodel = "mock:m"\ncontxt = 1000\n');
    expect(await runCli(LLMUX, ["start", "--port", "0", "--config", file])).toEqual({
      code: 2,
      stdout: "",
      stderr: [
        "llmux: configuration error",
        `  ${file}: backend[0].contxt: unknown key; did you mean "context"?`,
        `  ${file}: backend[0].model: provider "mock" is not defined; add a [provider.mock] table`,
        "Run 'llmux config check FILE' after fixing it.",
        "",
      ].join("\n"),
    });
  });

  it("refuses a missing config file with exit 2", async () => {
    const result = await runCli(LLMUX, ["start", "--config", "no/such/llmux.toml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("llmux: configuration error\n  no/such/llmux.toml: config file not found\nRun 'llmux config check FILE' after fixing it.\n");
  });

  it("serves /healthz and chat completions on port 0, and exits 0 on SIGTERM", async () => {
    const gateway = await startLlmux(["--port", "0", "--config", "examples/llmux.toml"]);
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await fetch(`${gateway.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: "ok",
      backends: [
        { name: "mock:mock-small", provider: "mock", state: "available", health: "healthy" },
        { name: "mock:mock-vision", provider: "mock", state: "available", health: "healthy" },
        { name: "mock-reasoner:mock-thinker", provider: "mock-reasoner", state: "available", health: "healthy" },
      ],
    });

    const res = await chat(gateway.url, DEMO_TOKEN, "hello there");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; choices: { message: { content: string } }[] };
    expect(body.model).toBe("mock-small");
    expect(body.choices[0]!.message.content).toBe("hello there");

    expect(await gateway.stop()).toBe(0);
    const messages = gateway.logs.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.slice(-2)).toEqual(["shutting down: new requests are refused, running ones may finish", "stopped: every usage row written, every connection closed"]);
    // A fresh database: the first super admin is created and its one-time password shown, on stderr only.
    expect(gateway.stderr()).toMatch(/^llmux: created the first super admin 'admin' with password [A-Za-z0-9_-]{16,}\n {7}It is shown only now[^\n]*\n$/);
    const password = /with password (\S+)/.exec(gateway.stderr())![1]!;
    expect(gateway.logs.join("\n")).not.toContain(password);
  });

  it("lets --host and --port override PORT, which overrides the file", async () => {
    const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const file = await configFile("ports.toml", `host = "0.0.0.0"\nport = ${filePort}\n\n${MOCK_BACKEND}`);

    const fromFlags = await startLlmux(["--config", file, "--host", "127.0.0.1", "--port", String(flagPort)], { PORT: String(envPort) });
    expect(fromFlags.url).toBe(`http://127.0.0.1:${flagPort}`);
    expect((await fetch(`${fromFlags.url}/healthz`)).status).toBe(200);
    expect(await fromFlags.stop()).toBe(0);

    const fromEnv = await startLlmux(["--config", file], { PORT: String(envPort) });
    expect(fromEnv.url).toBe(`http://0.0.0.0:${envPort}`);
    expect((await fetch(`http://127.0.0.1:${envPort}/healthz`)).status).toBe(200);
    expect(await fromEnv.stop()).toBe(0);
  });

  it("logs the routing decision with --verbose, naming the chosen backend and the skipped ones", async () => {
    const gateway = await startLlmux(["--port", "0", "--config", "examples/llmux.toml", "--verbose"]);
    const image = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };
    const res = await chat(gateway.url, DEMO_TOKEN, [{ type: "text", text: "what is this?" }, image], "gpt-4o");
    expect(res.status).toBe(200);
    expect(await gateway.stop()).toBe(0);

    const decisions = entries(gateway.logs).filter((e) => e.msg === "route decision");
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      level: 20,
      mode: "capability",
      candidates: ["mock:mock-vision"],
      skipped: [
        { backend: "mock:mock-small", reason: "no_vision", detail: "request has images, backend has no vision" },
        { backend: "mock-reasoner:mock-thinker", reason: "no_vision", detail: "request has images, backend has no vision" },
      ],
      attempts: [{ backend: "mock:mock-vision", outcome: "ok" }],
    });
  });

  it("writes JSON log lines that never contain the client token or a provider api_key", async () => {
    const clientToken = "client-canary-5d1e80";
    const apiKey = "sk-canary-7f3a9c2e";
    const closed = await freePort();
    const file = await configFile(
      "canary.toml",
      [
        "max_retries = 0",
        // The first request must reach the (closed) upstream, not be refused by an earlier health check.
        "health_check_interval = 0",
        "[provider.upstream]",
        'kind = "openai"',
        `base_url = "http://127.0.0.1:${closed}/v1"`,
        `api_key = "${apiKey}"`,
        "[[backend]]",
        'model = "upstream:gpt-canary"',
        "[tokens]",
        `ci = "${clientToken}"`,
        "",
      ].join("\n"),
    );
    const gateway = await startLlmux(["--port", "0", "--config", file, "--verbose"]);

    const bearer = await chat(gateway.url, clientToken, "hi", "gpt-canary");
    expect(bearer.status).toBe(502);
    const apiKeyHeader = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-api-key": clientToken, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-canary", messages: [{ role: "user", content: "hi" }] }),
    });
    // The failure put the only backend in cooldown, so this one is refused without an upstream attempt.
    expect(apiKeyHeader.status).toBe(503);
    const rpc = await runCli(LLMUXCTL, ["--server", gateway.url, "--token", clientToken, "route", "select", "gpt-canary"]);
    expect(rpc.code).toBe(0);
    expect(await gateway.stop()).toBe(0);

    const logged = entries(gateway.logs);
    expect(logged.filter((e) => e.msg === "request").map((e) => [e.url, e.status])).toEqual([
      ["/v1/chat/completions", 502],
      ["/v1/chat/completions", 503],
      ["/llmux.route.v1.RouteService/SelectBackend", 200],
    ]);
    const everything = `${gateway.logs.join("\n")}\n${gateway.stderr()}`;
    expect(everything).not.toContain(clientToken);
    expect(everything).not.toContain(apiKey);
  });
});
