import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The dependency rules of docs/architecture.md, enforced: every import in server/, cli/ and gen/ is checked
 * against the layer table below. A new folder under server/ must be added here before it can import anything.
 */
const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

type Layer = "gen" | "lib" | "errors" | "config" | "config-types" | "translate" | "providers" | "store" | "catalog" | "discovery" | "route" | "telemetry" | "auth" | "services" | "facade" | "composition" | "cli-llmux" | "cli-llmuxctl";

/** Which of our layers each layer may import (itself always allowed). */
const ALLOWED: Record<Layer, Layer[]> = {
  gen: [],
  lib: [],
  "config-types": [],
  errors: ["gen", "lib"],
  config: ["config-types", "lib", "errors"],
  translate: ["config-types", "lib", "errors"],
  providers: ["config-types", "lib", "errors", "translate"],
  // Rows are not protos: the store knows nothing above lib.
  store: ["lib"],
  // What can be routed to: file, database and discovered providers and backends.
  catalog: ["config-types", "config", "lib", "errors", "store", "providers"],
  discovery: ["config-types", "lib", "errors"],
  route: ["config-types", "lib", "errors", "translate", "providers", "store"],
  // Sinks of what routing reports: metrics and usage rows.
  telemetry: ["config-types", "lib", "translate", "route", "store"],
  auth: ["config-types", "lib", "errors"],
  services: ["config-types", "lib", "errors", "gen", "translate", "route", "auth", "store", "catalog", "discovery"],
  facade: ["config-types", "lib", "errors", "translate", "services", "auth"],
  composition: ["gen", "lib", "errors", "config", "config-types", "translate", "providers", "store", "catalog", "discovery", "route", "telemetry", "auth", "services", "facade"],
  "cli-llmux": ["composition"],
  "cli-llmuxctl": ["gen"],
};

/** npm packages each layer may import (node: builtins are allowed everywhere but translate). */
const PACKAGES: Partial<Record<Layer, RegExp>> = {
  gen: /^@bufbuild\/protobuf/,
  lib: /^gpt-tokenizer\//,
  "config-types": /^$/,
  errors: /^@connectrpc\/connect$|^@bufbuild\/protobuf$/,
  translate: /^$/,
  config: /^smol-toml$/,
  providers: /^undici$/,
  store: /^kysely$|^better-sqlite3$|^pg$/,
  catalog: /^$/,
  discovery: /^undici$/,
  telemetry: /^prom-client$/,
  route: /^$/,
  auth: /^jose$/,
  services: /^@connectrpc\/connect$|^@bufbuild\/protobuf(\/wkt)?$/,
  facade: /^fastify$/,
  "cli-llmux": /^commander$/,
  "cli-llmuxctl": /^commander$|^@connectrpc\/|^@bufbuild\//,
};

function layerOf(file: string): Layer | undefined {
  const rel = path.relative(root, file).split(path.sep).join("/");
  if (rel.startsWith("gen/")) return "gen";
  if (rel === "server/app.ts" || rel === "server/main.ts" || rel === "server/rpc-server.ts") return "composition";
  if (rel === "server/config/types.ts") return "config-types";
  if (rel === "cli/llmux.ts") return "cli-llmux";
  if (rel === "cli/llmuxctl.ts" || rel.startsWith("cli/llmuxctl/")) return "cli-llmuxctl";
  const match = /^server\/([^/]+)\//.exec(rel);
  return match ? (match[1] as Layer) : undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== "testdata" && name !== "node_modules") out.push(...sources(full));
    } else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(full);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

const files = ["server", "cli", "gen"].flatMap((dir) => sources(path.join(root, dir)));

describe("import boundaries", () => {
  it("knows the layer of every source file", () => {
    expect(files.filter((file) => layerOf(file) === undefined || !(layerOf(file)! in ALLOWED)).map((f) => path.relative(root, f))).toEqual([]);
  });

  it("every import follows the dependency rules", () => {
    const violations: string[] = [];
    for (const file of files) {
      const layer = layerOf(file)!;
      for (const spec of importsOf(file)) {
        const where = `${path.relative(root, file)} imports ${spec}`;
        if (spec.startsWith(".")) {
          const target = layerOf(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
          if (target === undefined) violations.push(`${where}: outside the layered tree`);
          else if (target !== layer && !ALLOWED[layer].includes(target)) violations.push(`${where}: ${layer} may not depend on ${target}`);
        } else if (spec.startsWith("node:")) {
          if (layer === "translate") violations.push(`${where}: translators are pure (no node builtins)`);
        } else {
          const allowed = PACKAGES[layer];
          if (allowed && !allowed.test(spec)) violations.push(`${where}: package not allowed in ${layer}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("translators have no clock, randomness or environment", () => {
    const impure = /\bDate\.now\(|\bnew Date\(|Math\.random\(|process\.env|\bsetTimeout\(|\bfetch\(/;
    const offenders = files.filter((f) => layerOf(f) === "translate" && impure.test(readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")));
    expect(offenders.map((f) => path.relative(root, f))).toEqual([]);
  });
});
