// npm 11.19 leaves platform-specific optional dependencies of other platforms (for example
// @bufbuild/buf-darwin-arm64) out of package-lock.json, and `npm ci` then refuses the lock as out of sync.
// Run this after `npm install` changes the lock: it adds the missing entries, from the registry's manifest when the
// registry has one, else from the platform named in the package (the registry this project uses carries only the
// Linux builds; npm never downloads a package for another platform, so the entry needs no integrity).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const CPUS = { arm64: "arm64", aarch64: "arm64", x64: "x64", armv7: "arm", ia32: "ia32" };

function manifestOf(name, range) {
  try {
    const manifest = JSON.parse(execFileSync("npm", ["view", `${name}@${range}`, "--json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    return Array.isArray(manifest) ? manifest.at(-1) : manifest;
  } catch {
    const platform = /-(darwin|linux|win32|freebsd)-(arm64|aarch64|x64|armv7|ia32)$/.exec(name);
    if (!platform || !/^\d+\.\d+\.\d+$/.test(range)) throw new Error(`cannot describe ${name}@${range}`);
    return { version: range, os: [platform[1]], cpu: [CPUS[platform[2]]] };
  }
}

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (lock.packages[target]) continue;
    const latest = manifestOf(name, range);
    lock.packages[target] = {
      version: latest.version,
      ...(latest.cpu ? { cpu: latest.cpu } : {}),
      ...(entry.dev ? { dev: true } : {}),
      ...(latest.license ? { license: latest.license } : {}),
      optional: true,
      ...(latest.os ? { os: latest.os } : {}),
      ...(latest.engines ? { engines: latest.engines } : {}),
    };
    added++;
    console.log(`added ${target}@${latest.version} (wanted by ${key || "root"})`);
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${added} entr${added === 1 ? "y" : "ies"} added`);
