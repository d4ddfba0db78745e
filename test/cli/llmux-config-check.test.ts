import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LLMUX, runCli, stopAll } from "../helpers/cli.js";

let dir: string;
let broken: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmux-config-check-"));
  broken = path.join(dir, "broken.toml");
  // A misspelt key and a backend whose provider is not defined.
  await writeFile(broken, '[[backend]]\nmodel = "mock:m"\ncontxt = 1000\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(stopAll);

describe("llmux config check", () => {
  it("accepts the example and names its backends", async () => {
    expect(await runCli(LLMUX, ["config", "check", "examples/llmux.toml"])).toEqual({
      code: 0,
      stdout: [
        "examples/llmux.toml: OK — 2 provider(s), 3 backend(s), 1 client token(s)",
        "  backend mock:mock-small",
        "  backend mock:mock-vision",
        "  backend mock-reasoner:mock-thinker",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  it("prints the result as JSON with --json", async () => {
    const result = await runCli(LLMUX, ["config", "check", "--json", "examples/llmux.toml"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      ok: true,
      source: "examples/llmux.toml",
      issues: [],
      providers: 2,
      backends: ["mock:mock-small", "mock:mock-vision", "mock-reasoner:mock-thinker"],
      tokens: 1,
    });
  });

  it("rejects a broken file with exit 2, naming each key and suggesting the right one", async () => {
    const result = await runCli(LLMUX, ["config", "check", broken]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")).toEqual([
      `${broken}: backend[0].contxt: unknown key; did you mean "context"?`,
      `${broken}: backend[0].model: provider "mock" is not defined; add a [provider.mock] table`,
      "",
    ]);
  });

  it("reports a broken file as JSON with ok:false and the same issues", async () => {
    const result = await runCli(LLMUX, ["config", "check", "--json", broken]);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      source: broken,
      issues: [
        `${broken}: backend[0].contxt: unknown key; did you mean "context"?`,
        `${broken}: backend[0].model: provider "mock" is not defined; add a [provider.mock] table`,
      ],
      providers: 0,
      backends: [],
      tokens: 0,
    });
  });

  it("says a missing file is not found", async () => {
    const missing = path.join(dir, "missing.toml");
    expect(await runCli(LLMUX, ["config", "check", missing])).toEqual({
      code: 2,
      stdout: "",
      stderr: `${missing}: config file not found\n`,
    });
  });
});
