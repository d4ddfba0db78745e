import { mkdtempSync, readFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root; the CLIs run with it as their working directory, so `examples/llmux.toml` resolves. */
export const ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The built binaries (the test script runs `npm run build` first): tests exercise what users install. */
export const LLMUX = path.join(ROOT, "dist/cli/llmux.js");
export const LLMUXCTL = path.join(ROOT, "dist/cli/llmuxctl.js");
/** The client token of examples/llmux.toml. */
export const DEMO_TOKEN = "llmux-demo-token";

/** What a finished CLI run produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Where llmuxctl keeps saved logins in tests unless a test sets XDG_CONFIG_HOME itself: a directory of this test
 * worker, never the developer's ~/.config.
 */
export const TEST_CONFIG_HOME = path.join(tmpdir(), `llmux-test-config-${process.pid}`);

/**
 * The environment a child sees: PATH plus what the test passes, nothing else. The developer's own LLMUX_*,
 * PORT, NODE_OPTIONS or saved logins must not change what a test observes.
 */
function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", XDG_CONFIG_HOME: TEST_CONFIG_HOME, ...env };
}

/** Children still running; killed by stopAll() and, as a last resort, when the test worker exits. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

/**
 * Runs `node BIN ARGS…` to completion and returns its exit code and output; `input` is piped to its stdin (which
 * is otherwise closed). A run that outlives `timeoutMs` is killed and rejected with its output so far, so a hung
 * CLI fails its test with something to read.
 */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const stdin = options.input === undefined ? "ignore" : "pipe";
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: [stdin, "pipe", "pipe"] });
  track(child);
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${path.basename(bin)} ${args.join(" ")} did not exit within ${options.timeoutMs ?? 10_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 10_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // "close" (not "exit") so both pipes are drained before the output is returned.
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `llmux start`. */
export interface RunningLlmux {
  /** The URL from the "llmux listening on" log line. */
  url: string;
  /** The admin port's URL (the "llmux admin API listening on" line), when started with `adminPort`. */
  adminUrl: string | undefined;
  /** Every stdout line so far (the JSON log). */
  logs: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code (null if it had to be killed after 10 s). */
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/cli/llmux.js start ARGS…` and resolves once it logs "llmux listening on" (and, with
 * `adminPort`, "llmux admin API listening on"); rejects with its exit code and stderr if it exits first, and
 * kills it if it is not listening within 10 s.
 *
 * The admin port is off (ADMIN_PORT=0) unless `adminPort` is set, so parallel test files never compete for its
 * default port; with `adminPort` it is a free port picked here (ADMIN_PORT has no "OS picks" value: 0 is off), and
 * picked again if another process takes it before llmux binds it.
 */
export async function startLlmux(args: readonly string[], env: Record<string, string> = {}, options: { adminPort?: boolean } = {}): Promise<RunningLlmux> {
  if (!options.adminPort) return startLlmuxOn(args, env, "0");
  // A port found free can be taken by another test's connection (outgoing ports come from the same range) before
  // llmux binds it: llmux then exits saying so, and another free port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLlmuxOn(args, env, String(await freePort()));
    } catch (err) {
      if (attempt === 3 || !String(err).includes("the address is already in use")) throw err;
    }
  }
}

async function startLlmuxOn(args: readonly string[], env: Record<string, string>, adminPort: string): Promise<RunningLlmux> {
  // Each gateway gets a fresh database, unless its config names one or the test passes DATABASE_URL: parallel
  // test files must never share a store (nor write one into the repository beside examples/llmux.toml).
  const configAt = args.indexOf("--config");
  const configText = configAt >= 0 ? readFileSync(path.resolve(ROOT, args[configAt + 1]!), "utf8") : "";
  if (env.DATABASE_URL === undefined && !/^\s*database\s*=/m.test(configText)) {
    env = { ...env, DATABASE_URL: path.join(mkdtempSync(path.join(tmpdir(), "llmux-cli-db-")), "llmux.db") };
  }
  const child = spawn(process.execPath, [LLMUX, "start", ...args], { cwd: ROOT, env: childEnv({ ADMIN_PORT: adminPort, ...env }), stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  const logs: string[] = [];
  let stderr = "";
  let partial = "";
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`llmux start ${args.join(" ")} was not listening within 10 s\nstdout: ${logs.join("\n")}\nstderr: ${stderr}`));
    }, 10_000);
    const stop = async (): Promise<number | null> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        const code = await exited;
        clearTimeout(killer);
        return code;
      }
      return exited;
    };
    let url: string | undefined;
    let adminUrl: string | undefined;
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        url ??= loggedUrl(line, "llmux listening on", "url");
        adminUrl ??= loggedUrl(line, "llmux admin API listening on", "adminUrl");
        if (url !== undefined && (adminUrl !== undefined || adminPort === "0")) {
          clearTimeout(timer);
          resolve({ url, adminUrl, logs, stderr: () => stderr, stop });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`llmux start ${args.join(" ")} exited with ${code} before listening\nstderr: ${stderr}`));
    });
  });
}

/** The URL in field `field` of a JSON log line whose message starts with `message`, or undefined for any other line. */
function loggedUrl(line: string, message: string, field: string): string | undefined {
  if (!line.includes(message)) return undefined;
  const entry = JSON.parse(line) as Record<string, unknown>;
  const value = entry[field];
  return typeof entry.msg === "string" && entry.msg.startsWith(message) && typeof value === "string" ? value : undefined;
}

/** Kills every child still running (SIGKILL); call it in afterEach/afterAll so no process outlives its test. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map((child) => new Promise<void>((resolve) => {
      child.once("close", () => resolve());
      child.kill("SIGKILL");
    })),
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}
