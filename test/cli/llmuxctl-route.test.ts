import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_TOKEN, LLMUXCTL, freePort, runCli, startLlmux, stopAll, type RunningLlmux } from "../helpers/cli.js";

/** One gateway (examples/llmux.toml) for the whole file: llmuxctl only reads, so tests cannot disturb each other. */
let gateway: RunningLlmux;

beforeAll(async () => {
  gateway = await startLlmux(["--port", "0", "--config", "examples/llmux.toml"]);
});
afterAll(async () => {
  await gateway?.stop();
  await stopAll();
});

/** Runs llmuxctl against the shared gateway with the demo token. */
function ctl(...args: string[]) {
  return runCli(LLMUXCTL, ["--server", gateway.url, "--token", DEMO_TOKEN, ...args]);
}

const NO_VISION = "request has images, backend has no vision";
const NO_THINKING = "request asks for reasoning, backend has no thinking";

describe("llmuxctl route explain", () => {
  it.each([
    [
      "an image goes to the only vision backend",
      ["gpt-4o", "--images"],
      [
        "mode: capability",
        "BACKEND                     DECISION      REASON     DETAIL",
        `mock:mock-small             skipped       no vision  ${NO_VISION}`,
        "mock:mock-vision            candidate #1",
        `mock-reasoner:mock-thinker  skipped       no vision  ${NO_VISION}`,
      ],
    ],
    [
      "an unknown model may go to every backend, in configuration order",
      ["gpt-4o"],
      [
        "mode: capability",
        "BACKEND                     DECISION      REASON  DETAIL",
        "mock:mock-small             candidate #1",
        "mock:mock-vision            candidate #2",
        "mock-reasoner:mock-thinker  candidate #3",
      ],
    ],
    [
      "reasoning needs a thinking backend",
      ["gpt-4o", "--thinking"],
      [
        "mode: capability",
        "BACKEND                     DECISION      REASON       DETAIL",
        `mock:mock-small             skipped       no thinking  ${NO_THINKING}`,
        `mock:mock-vision            skipped       no thinking  ${NO_THINKING}`,
        "mock-reasoner:mock-thinker  candidate #1",
      ],
    ],
    [
      "an alias routes by name, and a prompt too large for its context skips it",
      ["fast", "--prompt-tokens", "30000", "--max-tokens", "4000"],
      [
        "mode: model name",
        "BACKEND                     DECISION  REASON                     DETAIL",
        "mock:mock-small             skipped   context too small          needs about 34000 tokens, context is 32000",
        "mock:mock-vision            skipped   model name does not match  does not serve fast",
        "mock-reasoner:mock-thinker  skipped   model name does not match  does not serve fast",
      ],
    ],
  ])("%s", async (_title, args, lines) => {
    expect(await ctl("route", "explain", ...args)).toEqual({ code: 0, stdout: `${lines.join("\n")}\n`, stderr: "" });
  });

  it("prints the response as proto JSON with --json", async () => {
    const result = await ctl("--json", "route", "explain", "gpt-4o", "--images");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      candidates: [{ backend: "mock:mock-vision", provider: "mock", model: "mock-vision", providerKind: "mock", context: 128000 }],
      mode: "ROUTE_MODE_CAPABILITY",
      decisions: [
        { backend: "mock:mock-small", reason: "SKIP_REASON_NO_VISION", detail: NO_VISION },
        { backend: "mock:mock-vision", kept: true },
        { backend: "mock-reasoner:mock-thinker", reason: "SKIP_REASON_NO_VISION", detail: NO_VISION },
      ],
    });
  });
});

describe("llmuxctl route select", () => {
  it("lists the candidates in the order they are tried", async () => {
    expect(await ctl("route", "select", "gpt-4o")).toEqual({
      code: 0,
      stdout: [
        "mode: capability",
        "ORDER  BACKEND                     PROVIDER       MODEL         KIND  CONTEXT",
        "1      mock:mock-small             mock           mock-small    mock  32000",
        "2      mock:mock-vision            mock           mock-vision   mock  128000",
        "3      mock-reasoner:mock-thinker  mock-reasoner  mock-thinker  mock  200000",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  it("says so when no backend fits", async () => {
    expect(await ctl("route", "select", "gpt-4o", "--images", "--thinking")).toEqual({
      code: 0,
      stdout: "mode: capability\nno backend can serve this request; run `llmuxctl route explain` with the same flags to see why\n",
      stderr: "",
    });
  });

  it("prints proto JSON with --json, given after the arguments", async () => {
    const result = await ctl("route", "select", "mock-thinker", "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      candidates: [
        { backend: "mock-reasoner:mock-thinker", provider: "mock-reasoner", model: "mock-thinker", providerKind: "mock", context: 200000 },
      ],
      mode: "ROUTE_MODE_MODEL_NAME",
    });
  });

  it("takes the server and token from LLMUX_SERVER and LLMUX_TOKEN, and --token over LLMUX_TOKEN", async () => {
    const fromEnv = await runCli(LLMUXCTL, ["route", "select", "fast"], { env: { LLMUX_SERVER: gateway.url, LLMUX_TOKEN: DEMO_TOKEN } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain("1      mock:mock-small  mock      mock-small  mock  32000\n");
    const flagWins = await runCli(LLMUXCTL, ["--token", DEMO_TOKEN, "route", "select", "fast"], {
      env: { LLMUX_SERVER: gateway.url, LLMUX_TOKEN: "not-the-token" },
    });
    expect(flagWins.code).toBe(0);
  });
});

describe("llmuxctl failures exit 1 with what to do next", () => {
  const MISSING = "missing credentials: send 'Authorization: Bearer <token>'";
  const notLoggedIn = () => `not logged in to ${gateway.url} (${MISSING}): run \`llmuxctl login USERNAME\`, or pass --token or set LLMUX_TOKEN`;

  it.each([
    ["no token and no saved login", [], notLoggedIn],
    [
      "a wrong token",
      ["--token", "not-the-token"],
      () => "the gateway rejected the token (invalid or expired credentials): check --token or LLMUX_TOKEN, or run `llmuxctl login USERNAME`",
    ],
  ])("%s", async (_title, tokenArgs, message) => {
    expect(await runCli(LLMUXCTL, ["--server", gateway.url, ...tokenArgs, "route", "explain", "fast"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `llmuxctl: unauthenticated: ${message()}\n`,
    });
  });

  it("an unauthenticated call with --json", async () => {
    expect(await runCli(LLMUXCTL, ["--server", gateway.url, "--json", "route", "select", "fast"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `${JSON.stringify({ error: { code: "unauthenticated", message: notLoggedIn() } })}\n`,
    });
  });

  it("an argument the gateway refuses keeps the server's code and message", async () => {
    expect(await ctl("route", "explain", "")).toEqual({
      code: 1,
      stdout: "",
      stderr: "llmuxctl: invalid_argument: requirements.model is required\n",
    });
  });

  it.each([
    ["text", [], (url: string) => `llmuxctl: unavailable: cannot reach the gateway at ${url}: is \`llmux start\` running? set --server or LLMUX_SERVER\n`],
    [
      "--json",
      ["--json"],
      (url: string) =>
        `${JSON.stringify({ error: { code: "unavailable", message: `cannot reach the gateway at ${url}: is \`llmux start\` running? set --server or LLMUX_SERVER` } })}\n`,
    ],
  ])("a gateway that is not running (%s)", async (_title, jsonArgs, stderr) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    expect(await runCli(LLMUXCTL, ["--server", url, "--token", DEMO_TOKEN, ...jsonArgs, "route", "explain", "fast"])).toEqual({
      code: 1,
      stdout: "",
      stderr: stderr(url),
    });
  });
});
