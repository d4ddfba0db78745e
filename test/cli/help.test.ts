import { afterEach, describe, expect, it } from "vitest";
import { LLMUX, LLMUXCTL, runCli, stopAll } from "../helpers/cli.js";

const BINS = { llmux: LLMUX, llmuxctl: LLMUXCTL } as const;

afterEach(stopAll);

describe("--help and --version", () => {
  it.each([
    ["llmux", ["--help"], ["Usage: llmux [options] [command]", "-V, --version", "start [options]", "config"]],
    [
      "llmux",
      ["start", "--help"],
      ["Usage: llmux start [options]", "-c, --config <file>", "--host <host>", "-p, --port <port>", "--https", "--ssl-key <file>", "--ssl-cert <file>", "-v, --verbose"],
    ],
    ["llmux", ["config", "--help"], ["Usage: llmux config [options] [command]", "check [options] [file]"]],
    ["llmux", ["config", "check", "--help"], ["Usage: llmux config check [options] [file]", "--json"]],
    [
      "llmuxctl",
      ["--help"],
      ["Usage: llmuxctl [options] [command]", "-V, --version", "--server <url>", "env: LLMUX_SERVER", "--token <token>", "env: LLMUX_TOKEN", "--ca <file>", "--json", "route"],
    ],
    ["llmuxctl", ["route", "--help"], ["Usage: llmuxctl route [options] [command]", "explain [options] <model>", "select [options] <model>", "--server <url>"]],
    [
      "llmuxctl",
      ["route", "explain", "--help"],
      ["Usage: llmuxctl route explain [options] <model>", "--prompt-tokens <n>", "--max-tokens <n>", "--images", "--thinking", "--server <url>", "--token <token>", "--ca <file>", "--json"],
    ],
    [
      "llmuxctl",
      ["route", "select", "--help"],
      ["Usage: llmuxctl route select [options] <model>", "--prompt-tokens <n>", "--max-tokens <n>", "--images", "--thinking", "--server <url>"],
    ],
  ] as const)("%s %j exits 0 and lists its options", async (name, args, expected) => {
    const result = await runCli(BINS[name], args);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    // commander wraps descriptions at 80 columns; compare with the line breaks folded.
    const text = result.stdout.replace(/\s+/g, " ");
    for (const option of expected) expect(text).toContain(option);
  });

  it.each(["llmux", "llmuxctl"] as const)("%s --version prints the version", async (name) => {
    expect(await runCli(BINS[name], ["--version"])).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });
});

describe("llmuxctl usage errors exit 2 before any call", () => {
  it.each([
    [["route", "explain"], "error: missing required argument 'model'"],
    [["route", "explain", "m", "--prompt-tokens", "lots"], "error: option '--prompt-tokens <n>' argument 'lots' is invalid. must be a whole number of tokens (0 to 4294967295)"],
    [["route", "select", "m", "--max-tokens", "-1"], "error: option '--max-tokens <n>' argument '-1' is invalid. must be a whole number of tokens (0 to 4294967295)"],
    [["route", "explain", "m", "--bogus"], "error: unknown option '--bogus'"],
    [["--server", "127.0.0.1:8082", "route", "explain", "m"], 'error: --server must be a URL such as http://127.0.0.1:8082, got "127.0.0.1:8082"'],
    [["--server", "ftp://127.0.0.1", "route", "explain", "m"], 'error: --server must start with http:// or https://, got "ftp://127.0.0.1"'],
    [["--server", "http://127.0.0.1:9", "--ca", "ca.pem", "route", "explain", "m"], "error: --ca only applies to an https:// server, got http://127.0.0.1:9"],
    [["--server", "https://127.0.0.1:9", "--ca", "no/such/ca.pem", "route", "explain", "m"], "error: cannot read the --ca file no/such/ca.pem (ENOENT)"],
  ])("llmuxctl %j", async (args, message) => {
    const result = await runCli(LLMUXCTL, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`${message}\n(run with --help for usage)\n`);
  });

  it("a command group without a subcommand shows its help on stderr", async () => {
    const result = await runCli(LLMUXCTL, ["route"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Usage: llmuxctl route [options] [command]");
  });
});
