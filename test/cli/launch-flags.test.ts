import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LLMUX, ROOT } from "../helpers/cli.js";

/** The Node options a file's `#!/usr/bin/env -S node …` line gives, or [] for a plain `#!/usr/bin/env node`. */
function shebangFlags(file: string): string[] {
  const first = readFileSync(file, "utf8").split("\n", 1)[0]!;
  const match = /^#!\/usr\/bin\/env (?:-S )?node((?: --[a-z-]+(?:=\S+)?)*)$/.exec(first);
  if (!match) throw new Error(`${file}: unexpected first line ${JSON.stringify(first)}`);
  return match[1]!.trim().split(" ").filter(Boolean);
}

describe("llmux launch flags", () => {
  const flags = shebangFlags(path.join(ROOT, "cli/llmux.ts"));

  it("are the heap settings the bench measured, kept by the build", () => {
    expect(flags).toEqual(["--max-semi-space-size=8"]);
    expect(shebangFlags(LLMUX)).toEqual(flags);
  });

  it("are the same in `npm start`", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain(`node ${flags.join(" ")} dist/cli/llmux.js start`);
  });

  it("are options this Node accepts", () => {
    const result = spawnSync(process.execPath, [...flags, LLMUX, "--version"], { encoding: "utf8", timeout: 10_000 });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: "0.1.0\n", stderr: "" });
  });
});
