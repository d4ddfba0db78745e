import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LLMUX, ROOT } from "../helpers/cli.js";

/**
 * The Node options of a file's `#!` line, read by the bench's own `nodeFlagsOf` (the reader the bench launches llmux
 * with), in a child process: the bench is plain JavaScript outside the typed build.
 */
function shebangFlags(file: string): string[] {
  const program = `import { nodeFlagsOf } from "./bench/processes.mjs"; process.stdout.write(JSON.stringify(nodeFlagsOf(${JSON.stringify(file)})));`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: ROOT, encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) throw new Error(`nodeFlagsOf(${file}) failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

describe("llmux launch flags", () => {
  const flags = shebangFlags(path.join(ROOT, "cli/llmux.ts"));

  it("are the heap settings the bench measured, kept by the build and read by the bench", () => {
    expect(flags).toEqual(["--max-semi-space-size=8", "--max-old-space-size=1536", "--no-allocation-site-pretenuring"]);
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
