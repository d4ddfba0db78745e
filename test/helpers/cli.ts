import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
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
 * The environment a child sees: PATH plus what the test passes, nothing else. The developer's own LLMUX_*,
 * PORT or NODE_OPTIONS must not change what a test observes.
 */
function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", ...env };
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
 * Runs `node BIN ARGS…` to completion and returns its exit code and output. A run that outlives `timeoutMs` is
 * killed and rejected with its output so far, so a hung CLI fails its test with something to read.
 */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  track(child);
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
  /** Every stdout line so far (the JSON log). */
  logs: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code (null if it had to be killed after 10 s). */
  stop(): Promise<number | null>;
}

/**
 * Starts `node dist/cli/llmux.js start ARGS…` and resolves once it logs "llmux listening on"; rejects with its
 * exit code and stderr if it exits first, and kills it if it is not listening within 10 s.
 */
export function startLlmux(args: readonly string[], env: Record<string, string> = {}): Promise<RunningLlmux> {
  const child = spawn(process.execPath, [LLMUX, "start", ...args], { cwd: ROOT, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
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
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        const url = listeningUrl(line);
        if (url !== undefined) {
          clearTimeout(timer);
          resolve({ url, logs, stderr: () => stderr, stop });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`llmux start ${args.join(" ")} exited with ${code} before listening\nstderr: ${stderr}`));
    });
  });
}

/** The `url` of the "llmux listening on" log line, or undefined for any other line. */
function listeningUrl(line: string): string | undefined {
  if (!line.includes("llmux listening on")) return undefined;
  const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
  return typeof entry.msg === "string" && entry.msg.startsWith("llmux listening on") && typeof entry.url === "string" ? entry.url : undefined;
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
