// The load generator: wrk from Debian. It is C with an epoll loop per thread, so on a 2-core machine shared with
// the upstream and the target it takes far less CPU per request than a Node load generator would, and leaves more
// of the machine to what is measured. One thread drives every connection (one wrk thread does well over 50k req/s
// on loopback, far above any target here), keeping the generator to at most one core.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { spawnTracked } from "./processes.mjs";

const SCRIPT = fileURLToPath(new URL("./wrk-post.lua", import.meta.url));

function has(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Makes sure `wrk` is on PATH, installing Debian's package when it is not (needs root or sudo-less apt). */
export function ensureWrk() {
  if (has("wrk")) return;
  if (!has("apt-get")) throw new Error("wrk is not installed and apt-get is not available: install wrk (https://github.com/wg/wrk) and run again");
  console.error("wrk not found: installing Debian's package (apt-get install -y wrk)");
  const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "wrk"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  if (!install()) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    if (!install()) throw new Error("could not install wrk with apt-get (are you root?)");
  }
}

const versionOf = (text) => /wrk (?:debian\/)?(\S+)/.exec(text)?.[0].replace("debian/", "") ?? "wrk";

/** wrk's version, for the report. */
export function wrkVersion() {
  try {
    return versionOf(execFileSync("wrk", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (err) {
    // wrk --version exits 1 after printing its usage
    return versionOf(String(err.stdout ?? ""));
  }
}

/**
 * Runs wrk against `url` (path included) and resolves with its JSON summary (see wrk-post.lua): requests,
 * duration_us, bytes, errors {connect, read, write, status, timeout}, latency_us {mean, p50, p90, p99, max}.
 */
export async function runWrk({ url, connections, durationS, bodyFile, headersFile, timeoutS = 60 }) {
  const child = spawnTracked(
    "wrk",
    ["-t1", `-c${connections}`, `-d${durationS}s`, `--timeout`, `${timeoutS}s`, "-s", SCRIPT, url],
    { env: { BENCH_METHOD: "POST", BENCH_BODY: bodyFile, BENCH_HEADERS: headersFile } },
  );
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (text) => (out += text));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  const line = out.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`wrk failed (exit ${code}): ${out.slice(-500)}`);
  return JSON.parse(line);
}
