import { afterEach, describe, expect, it } from "vitest";
import { LLMUXCTL, runCli, stopAll } from "../helpers/cli.js";

afterEach(stopAll);

/** Every command group and its subcommands, as `--help` must list them. */
const GROUPS: Record<string, string[]> = {
  users: ["list", "create", "get", "set-role", "disable", "enable", "delete", "passwd"],
  keys: ["list", "create", "revoke"],
  providers: ["list", "create", "update", "delete"],
  backends: ["list", "create", "update", "reorder", "delete"],
  discovery: ["list", "stats", "refresh"],
  route: ["explain", "select"],
};
const TOP_LEVEL = ["login", "logout", "whoami", "status", "usage", "audit"];

describe("llmuxctl --help everywhere", () => {
  it("the program lists every command and the global options", async () => {
    const result = await runCli(LLMUXCTL, ["--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const text = result.stdout.replace(/\s+/g, " ");
    for (const name of [...TOP_LEVEL, ...Object.keys(GROUPS)]) expect(text).toMatch(new RegExp(` ${name} `));
    for (const option of ["--server <url>", "env: LLMUX_SERVER", "--token <token>", "env: LLMUX_TOKEN", "--ca <file>", "--grpc", "--json"]) expect(text).toContain(option);
  });

  it.each(Object.entries(GROUPS))("%s --help lists its subcommands", async (group, commands) => {
    const result = await runCli(LLMUXCTL, [group, "--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(`Usage: llmuxctl ${group} [options] [command]`);
    for (const command of commands) expect(result.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
  });

  it.each([
    ...TOP_LEVEL.map((c) => [c]),
    ...Object.entries(GROUPS).flatMap(([group, commands]) => commands.map((c) => [group, c])),
  ])("%s %s --help shows its usage and the global options", async (...command) => {
    const result = await runCli(LLMUXCTL, [...command.filter((c) => c !== undefined), "--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(`Usage: llmuxctl ${command.filter((c) => c !== undefined).join(" ")}`);
    expect(result.stdout).toContain("--server <url>");
  });
});

describe("llmuxctl usage errors exit 2 before any call", () => {
  it.each([
    [["users", "set-role", "bob", "root"], "error: command-argument value 'root' is invalid for argument 'role'. must be user, admin or super_admin"],
    [["users", "create", "bob", "--role", "boss"], "error: option '--role <role>' argument 'boss' is invalid. must be user, admin or super_admin"],
    [["keys", "create", "k", "--rpm", "lots"], "error: option '--rpm <n>' argument 'lots' is invalid. must be a whole number from 0 to 4294967295"],
    [
      ["keys", "create", "k", "--expires", "soon"],
      "error: option '--expires <when>' argument 'soon' is invalid. must be an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z), \"now\", or a duration such as 30m, 24h, 7d",
    ],
    [["usage", "--group-by", "day"], "error: option '--group-by <what>' argument 'day' is invalid. must be backend, model, key or user"],
    [["providers", "create", "p", "--kind", "grpc"], "error: option '--kind <kind>' argument 'grpc' is invalid. must be openai, anthropic or mock"],
    [["providers", "create", "p"], "error: required option '--kind <kind>' not specified"],
    [["backends", "create", "no-colon"], "error: command-argument value 'no-colon' is invalid for argument 'provider:model'. must be \"provider:model\""],
    [["login"], "error: missing required argument 'username'"],
    [["--server", "localhost:8083", "whoami"], 'error: --server must start with http:// or https://, got "localhost:8083" (did you mean http://localhost:8083?)'],
  ])("llmuxctl %j", async (args, message) => {
    const result = await runCli(LLMUXCTL, args);
    expect(result).toEqual({ code: 2, stdout: "", stderr: `${message}\n(run with --help for usage)\n` });
  });
});
