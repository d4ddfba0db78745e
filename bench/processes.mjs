// Child processes of the bench and what is measured on them. Every child is tracked from the moment it is spawned
// and killed when the runner exits for any reason (normal end, an error, Ctrl-C, SIGTERM), so a failed run never
// leaves a mock, a proxy, a gateway or a load generator behind.
import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

/** Every child still running, by pid. */
const children = new Map();

function killAll(signal) {
  for (const child of children.values()) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Synchronous clean-ups (temporary directories) run once the children are killed, however the run ends. */
const cleanups = [];

/** Registers a synchronous clean-up for the end of the run (normal or not). */
export function onExitCleanup(fn) {
  cleanups.push(fn);
}

function cleanUp() {
  killAll("SIGKILL");
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // best effort: the run is ending anyway
    }
  }
}

let installed = false;

/** Kills every tracked child when this process ends; idempotent. Signals end the run with 128 + the signal number. */
export function installExitHandlers() {
  if (installed) return;
  installed = true;
  process.on("exit", cleanUp);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]]) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${children.size} child process(es)\n`);
      cleanUp();
      process.exit(code);
    });
  }
  process.on("uncaughtException", (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    cleanUp();
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    cleanUp();
    process.exit(1);
  });
}

/**
 * Spawns a tracked child. `logFile` receives its stdout and stderr when given (stdout is then not readable);
 * otherwise stdout is piped and stderr inherited.
 */
export function spawnTracked(command, args, { env, logFile, cwd } = {}) {
  let fd;
  if (logFile) fd = openSync(logFile, "a");
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: fd === undefined ? ["ignore", "pipe", "inherit"] : ["ignore", fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  children.set(child.pid, child);
  child.once("exit", () => children.delete(child.pid));
  return child;
}

/**
 * The Node options a script's `#!/usr/bin/env -S node …` line starts it with ([] for a plain `node` line), so the
 * bench runs llmux as its own launcher does (`llmux start`, `npm start`), heap settings included.
 */
export function nodeFlagsOf(file) {
  const first = readFileSync(file, "utf8").split("\n", 1)[0];
  const match = /^#!\/usr\/bin\/env (?:-S )?node((?: --[a-z0-9-]+(?:=\S+)?)*)$/.exec(first);
  if (!match) throw new Error(`${file}: expected a '#!/usr/bin/env node' line, found ${JSON.stringify(first)}`);
  return match[1].trim().split(" ").filter(Boolean);
}

/** Resolves with the first stdout line of `child` parsed as JSON (the servers announce `{"port":N}` this way). */
export async function firstJsonLine(child, name, timeoutMs = 15_000) {
  let buffered = "";
  const line = new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text) => {
      buffered += text;
      const end = buffered.indexOf("\n");
      if (end >= 0) resolve(JSON.parse(buffered.slice(0, end)));
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with code ${code} before it was ready`)));
  });
  const timeout = sleep(timeoutMs).then(() => {
    throw new Error(`${name} did not start within ${timeoutMs} ms`);
  });
  return Promise.race([line, timeout]);
}

/** Polls `url` until it answers 2xx; fails if `child` exits first or the deadline passes. */
export async function waitForHttp(url, child, name, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited before it was ready (see its log)`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready at ${url} within ${timeoutMs} ms`);
}

/** Ends `child` with SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes; undefined when /proc is not readable. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms; NaN when /proc is not readable. */
export function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at state, field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Kernel clock ticks per second (USER_HZ), 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * Follows a process's peak RSS over one measurement: resets the kernel's high-water mark (`clear_refs` 5) at the
 * start when allowed, and also samples VmRSS every 50 ms in case it is not; `stop()` returns the larger of the two.
 */
export function trackPeakRss(pid) {
  let reset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    reset = true;
  } catch {
    // not permitted: VmHWM is the lifetime peak, so the samples alone decide
  }
  let sampled = memoryOf(pid)?.rss ?? 0;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m && m.rss > sampled) sampled = m.rss;
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      const m = memoryOf(pid);
      return Math.max(sampled, reset ? (m?.peak ?? 0) : 0, m?.rss ?? 0);
    },
  };
}
