#!/usr/bin/env node
// `npm run bench`: llmux against two baselines measured in the same run (the mock upstream directly, and a bare
// undici pass-through proxy), scenario by scenario, with warm-up and interleaved rounds; then the table and the
// verdicts of issue 6 §3. See bench/README.md for how to read the numbers.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Client } from "undici";
import { assertAuthRequired, issueApiKey } from "./api-key.mjs";
import { allocationMarkdown, openInspector, startAllocationSampling, stopAllocationSampling, summarizeAllocations } from "./alloc-profile.mjs";
import { summarizeProfile, profileMarkdown } from "./profile.mjs";
import { cpuMsOf, firstJsonLine, installExitHandlers, nodeFlagsOf, onExitCleanup, spawnTracked, stopChild, trackPeakRss, waitForHttp } from "./processes.mjs";
import { criteria, criteriaMarkdown, EVENT_LOOP_SAMPLE_MS, table, TARGET_LABELS } from "./report.mjs";
import { SCENARIOS, withApiKey } from "./scenarios.mjs";
import { concurrentStreams, exchange, probe } from "./stream-client.mjs";
import { ensureWrk, runWrk, wrkVersion } from "./wrk.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const RESULTS = path.join(BENCH, "results");
// LLMUX_BIN measures another build (a copy of dist/ from another commit, for an A/B) with the same runner.
const LLMUX = process.env.LLMUX_BIN ? path.resolve(process.env.LLMUX_BIN) : path.join(ROOT, "dist/cli/llmux.js");

const HELP = `usage: npm run bench -- [options]

  --quick             short run: 3 rounds of 3 s after 1 s of warm-up (default: 3 rounds of 10 s after 3 s)
  --scenario NAME     run only this scenario (repeat, or separate with commas); names: ${SCENARIOS.map((s) => s.name).join(", ")}
  --rounds N          rounds per scenario and target
  --duration S        seconds per round
  --warmup S          seconds of warm-up per scenario and target
  --build             rebuild llmux (npm run build) even if dist/ exists
  --profile           instead of the comparison: run llmux under --cpu-prof through one scenario (default
                      openai-json-c32) and list the top self-time functions
  --alloc             instead of the comparison: sample where llmux allocates through one scenario (default
                      openai-json-c32), freed objects included, and list the bytes a request by function
  --survivors         with --alloc: only what outlived the minor GCs (the old generation's garbage, by function)
  --keep              keep the temporary directory (config, llmux log, database)
  --help

environment: LLMUX_BIN=PATH measures that llmux.js (e.g. a copy of dist/ built at another commit) instead of
dist/cli/llmux.js.`;

function parseArgs(argv) {
  const opts = { quick: false, scenarios: [], rounds: undefined, duration: undefined, warmup: undefined, build: false, profile: false, alloc: false, survivors: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") opts.quick = true;
    else if (arg === "--scenario") opts.scenarios.push(...value().split(","));
    else if (arg === "--rounds") opts.rounds = Number(value());
    else if (arg === "--duration") opts.duration = Number(value());
    else if (arg === "--warmup") opts.warmup = Number(value());
    else if (arg === "--build") opts.build = true;
    else if (arg === "--profile") opts.profile = true;
    else if (arg === "--alloc") opts.alloc = true;
    else if (arg === "--survivors") opts.survivors = true;
    else if (arg === "--keep") opts.keep = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(HELP);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n\n${HELP}`);
  }
  if (opts.survivors && !opts.alloc) throw new Error("--survivors goes with --alloc");
  const unknown = opts.scenarios.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  opts.rounds ??= 3;
  opts.duration ??= opts.quick ? 3 : 10;
  opts.warmup ??= opts.quick ? 1 : 3;
  return opts;
}

const median = (values) => {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ensureBuilt(force) {
  if (existsSync(LLMUX) && !force) return;
  console.error("building llmux (npm run build)…");
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
  // tsc emits despite type errors elsewhere in a tree being edited; what matters is that the entry point exists.
  if (!existsSync(LLMUX)) throw new Error(`npm run build did not produce ${LLMUX} (exit ${r.status})`);
  if (r.status !== 0) console.error("warning: npm run build reported errors; measuring what it emitted");
}

function llmuxConfig({ port, adminPort, upstream, database }) {
  return `# Generated by bench/run.mjs: everything on the hot path is enabled (client auth by API key, rate windows, usage
# rows, metrics). The API key is issued through the control plane once llmux runs (a super admin from
# \`llmux admin create\`, a login, AdminService/CreateApiKey) and stored hashed in the database, with limits. The
# windows and the key's limits are far above what a run sends, so they never trigger; they are still counted.
host = "127.0.0.1"
port = ${port}
# The control plane listens as in production, on a free port so a gateway already on 8083 does not stop the run.
admin_port = ${adminPort}
log_level = "info"
database = "${database}"

[provider.oa]
kind = "openai"
base_url = "${upstream}/v1"
api_key = "sk-bench-openai-provider-key"

[provider.an]
kind = "anthropic"
base_url = "${upstream}"
api_key = "sk-ant-bench-anthropic-provider-key"

# Model-name routing for "gpt-bench" and "claude-bench"; Claude Code's own model name finds the OpenAI backend by
# capability (thinking, context), as a real Claude Code session routed to an OpenAI-compatible model would.
[[backend]]
model = "oa:gpt-bench"
context = 400000
thinking = true
max_per_hour = 1000000000
max_per_day = 1000000000

[[backend]]
model = "an:claude-bench"
context = 200000
max_per_day = 1000000000

# Without any client token llmux serves requests that carry no credential. This one is random, never written
# anywhere else and sent by no client: it only closes the gateway, so the API key is the only way in.
[tokens]
lock = "${randomBytes(32).toString("base64url")}"
`;
}

/**
 * Starts the mock upstream, the bare proxy and llmux, checks that llmux refuses a request without a credential and
 * issues the API key every scenario sends; resolves with the targets in measuring order and that key.
 */
async function startTargets(tmp, { cpuProfDir, inspectPort } = {}) {
  const mock = spawnTracked(process.execPath, [path.join(BENCH, "mock-upstream.mjs"), "--port", "0", "--exit-with-parent"]);
  const upstream = `http://127.0.0.1:${(await firstJsonLine(mock, "mock upstream")).port}`;
  const bare = spawnTracked(process.execPath, [path.join(BENCH, "bare-proxy.mjs"), "--upstream", upstream, "--port", "0", "--exit-with-parent"]);
  const bareUrl = `http://127.0.0.1:${(await firstJsonLine(bare, "bare proxy")).port}`;
  const port = await freePort();
  let adminPort = await freePort();
  while (adminPort === port) adminPort = await freePort();
  const config = path.join(tmp, "llmux.toml");
  writeFileSync(config, llmuxConfig({ port, adminPort, upstream, database: path.join(tmp, "llmux.db") }));
  const nodeArgs = [
    ...nodeFlagsOf(LLMUX),
    ...(cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", cpuProfDir] : []),
    ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
  ];
  const llmux = spawnTracked(process.execPath, [...nodeArgs, LLMUX, "start", "--config", config], { logFile: path.join(tmp, "llmux.log"), cwd: ROOT });
  const llmuxUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${llmuxUrl}/readyz`, llmux, "llmux");
  await assertAuthRequired(llmuxUrl);
  const apiKey = await issueApiKey({ llmux: LLMUX, config, url: llmuxUrl, cwd: ROOT });
  return {
    upstream,
    apiKey,
    children: { mock, bare, llmux },
    targets: [
      { key: "upstream", url: upstream, pid: mock.pid },
      { key: "bare", url: bareUrl, pid: bare.pid },
      { key: "llmux", url: llmuxUrl, pid: llmux.pid },
    ],
  };
}

async function configureMock(upstream, settings) {
  const res = await fetch(`${upstream}/_bench/config`, { method: "POST", body: JSON.stringify(settings) });
  if (!res.ok) throw new Error(`mock rejected its settings: ${await res.text()}`);
  await res.arrayBuffer();
}

/**
 * llmux's event-loop histogram p99 since the previous scrape (prom-client resets it on every scrape; the report
 * derives the delay from it, see `eventLoopDelayMs`) and its request outcomes.
 */
async function scrapeLlmux(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const p99 = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  const outcomes = {};
  for (const m of text.matchAll(/^llmux_requests_total\{[^}]*outcome="([a-z_]+)"[^}]*\} (\S+)$/gm)) outcomes[m[1]] = (outcomes[m[1]] ?? 0) + Number(m[2]);
  return { eventLoopIntervalP99Ms: p99 ? Number(p99[1]) * 1000 : NaN, outcomes };
}

/** Requests llmux itself counted as failed between two scrapes (a client hanging up at the end of a wrk run is not). */
function llmuxFailures(before, after) {
  let n = 0;
  for (const [outcome, count] of Object.entries(after.outcomes)) {
    if (outcome !== "ok" && outcome !== "client_closed") n += count - (before.outcomes[outcome] ?? 0);
  }
  return n;
}

function request(scenario) {
  return { path: scenario.path, headers: scenario.headers, body: scenario.body, stream: scenario.stream, dialect: scenario.dialect };
}

/** One answer from every target before measuring, so a broken path fails loudly instead of producing fast errors. */
async function validate(scenario, targets) {
  const problems = {};
  for (const t of targets) {
    const client = new Client(t.url);
    const r = await exchange(client, request(scenario));
    await client.close();
    if (r.error) problems[t.key] = r.error;
  }
  return problems;
}

/** One measured round of one target. `mockPid` is the upstream's, whose CPU share is recorded beside the target's. */
async function measure(scenario, target, opts, files, mockPid) {
  const isLlmux = target.key === "llmux";
  const before = isLlmux ? await scrapeLlmux(target.url) : undefined;
  const rss = trackPeakRss(target.pid);
  const cpuBefore = { target: cpuMsOf(target.pid), mock: cpuMsOf(mockPid), at: performance.now() };
  const round = { errors: 0, errorSamples: [] };
  let requests = 0;
  if (scenario.kind === "wrk") {
    const [wrk, ttfb] = await Promise.all([
      runWrk({ url: target.url + scenario.path, connections: scenario.connections, durationS: opts.duration, bodyFile: files.body, headersFile: files.headers }),
      scenario.stream ? probe(target.url, request(scenario), opts.duration * 1000 - 250) : undefined,
    ]);
    const e = wrk.errors;
    requests = wrk.requests + (ttfb?.total.count ?? 0);
    round.rps = wrk.requests / (wrk.duration_us / 1e6);
    round.latencyP50Ms = wrk.latency_us.p50 / 1000;
    round.latencyP99Ms = wrk.latency_us.p99 / 1000;
    round.errors += e.connect + e.read + e.write + e.status + e.timeout;
    if (round.errors > 0) round.errorSamples.push(`wrk: ${JSON.stringify(e)}`);
    if (ttfb) {
      round.ttfbP50Ms = ttfb.ttfb.p50;
      round.ttfbP99Ms = ttfb.ttfb.p99;
      round.errors += ttfb.errors.length;
      round.errorSamples.push(...ttfb.errors.slice(0, 3));
    }
  } else if (scenario.kind === "ttfb") {
    const r = await probe(target.url, request(scenario), opts.duration * 1000);
    requests = r.total.count;
    round.rps = r.total.count / opts.duration;
    round.latencyP50Ms = r.total.p50;
    round.latencyP99Ms = r.total.p99;
    round.ttfbP50Ms = r.ttfb.p50;
    round.ttfbP99Ms = r.ttfb.p99;
    round.ttftP50Ms = r.ttft.p50;
    round.errors += r.errors.length;
    round.errorSamples.push(...r.errors.slice(0, 3));
  } else {
    const r = await concurrentStreams(target.url, request(scenario), scenario.connections, { timeoutMs: 120_000, rampMs: 1_000 });
    round.streams = scenario.connections;
    round.completed = r.completed;
    requests = r.completed;
    round.rps = r.completed / (r.wallMs / 1000);
    round.latencyP50Ms = r.total.p50;
    round.latencyP99Ms = r.total.p99;
    round.ttfbP50Ms = r.ttfb.p50;
    round.ttfbP99Ms = r.ttfb.p99;
    round.errors += r.errors.length;
    round.errorSamples.push(...[...new Set(r.errors)].slice(0, 3));
  }
  round.peakRssBytes = rss.stop();
  const wallMs = performance.now() - cpuBefore.at;
  const targetCpuMs = cpuMsOf(target.pid) - cpuBefore.target;
  round.cpuUsPerRequest = requests > 0 ? (targetCpuMs * 1000) / requests : NaN;
  round.targetCpuPercent = (100 * targetCpuMs) / wallMs;
  round.mockCpuPercent = (100 * (cpuMsOf(mockPid) - cpuBefore.mock)) / wallMs;
  if (isLlmux) {
    const after = await scrapeLlmux(target.url);
    round.eventLoopIntervalP99Ms = after.eventLoopIntervalP99Ms;
    const failed = llmuxFailures(before, after);
    if (failed > 0) {
      round.errors += failed;
      round.errorSamples.push(`llmux counted ${failed} failed request(s): ${JSON.stringify(after.outcomes)}`);
    }
  }
  return round;
}

function aggregate(scenario, rounds, validation) {
  const pick = (key) => rounds.map((r) => r[key]);
  const out = {
    rps: median(pick("rps")),
    latencyP50Ms: median(pick("latencyP50Ms")),
    latencyP99Ms: median(pick("latencyP99Ms")),
    ttfbP50Ms: median(pick("ttfbP50Ms").map((v) => v ?? NaN)),
    ttfbP99Ms: median(pick("ttfbP99Ms").map((v) => v ?? NaN)),
    ttftP50Ms: median(pick("ttftP50Ms").map((v) => v ?? NaN)),
    peakRssBytes: Math.max(...pick("peakRssBytes")),
    cpuUsPerRequest: median(pick("cpuUsPerRequest")),
    targetCpuPercent: median(pick("targetCpuPercent")),
    mockCpuPercent: median(pick("mockCpuPercent")),
    eventLoopIntervalP99Ms: rounds[0].eventLoopIntervalP99Ms === undefined ? undefined : Math.max(...pick("eventLoopIntervalP99Ms")),
    errors: rounds.reduce((n, r) => n + r.errors, 0) + (validation ? 1 : 0),
    errorSamples: [...(validation ? [`validation: ${validation}`] : []), ...rounds.flatMap((r) => r.errorSamples)].slice(0, 5),
    rounds,
  };
  if (scenario.kind === "streams") {
    out.streams = rounds[0].streams;
    out.completed = Math.min(...pick("completed"));
  }
  return out;
}

/** Scenarios that exercise each process's shared code (HTTP, auth, routing, JSON, SSE, translation) before any is measured. */
const PROCESS_WARMUP = ["openai-json-c32", "openai-stream-c32", "a2o-json-c32"];

/**
 * Warms every process up once, before the first scenario: fresh Node processes take ~10 s of load to reach their
 * steady speed (JIT tiers, heap sizing), the bare proxy as much as llmux, and the short warm-up of each scenario
 * would leave the first scenario measuring that ramp. Each target gets `opts.warmup` seconds of each scenario of
 * {@link PROCESS_WARMUP}.
 */
async function warmUpProcesses(targets, upstream, apiKey, opts, tmp) {
  if (opts.warmup <= 0) return;
  const seconds = Math.max(1, Math.round(opts.warmup));
  console.error(`\nwarming up every process: ${PROCESS_WARMUP.join(", ")}, ${seconds} s each per target`);
  for (const name of PROCESS_WARMUP) {
    const scenario = withApiKey(SCENARIOS.find((s) => s.name === name), apiKey);
    await configureMock(upstream, scenario.mock);
    const files = { body: path.join(tmp, `warmup-${name}.body`), headers: path.join(tmp, `warmup-${name}.headers`) };
    writeFileSync(files.body, scenario.body);
    writeFileSync(files.headers, Object.entries(scenario.headers).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n");
    for (const t of targets) await runWrk({ url: t.url + scenario.path, connections: scenario.connections, durationS: seconds, bodyFile: files.body, headersFile: files.headers });
  }
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function runScenario(scenario, targets, upstream, opts, tmp) {
  const files = { body: path.join(tmp, `${scenario.name}.body`), headers: path.join(tmp, `${scenario.name}.headers`) };
  writeFileSync(files.body, scenario.body);
  writeFileSync(files.headers, Object.entries(scenario.headers).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n");
  await configureMock(upstream, scenario.mock);
  const validation = await validate(scenario, targets);
  for (const [key, problem] of Object.entries(validation)) console.error(`  ! ${TARGET_LABELS[key]} answered wrongly: ${problem}`);

  const rounds = scenario.kind === "streams" && opts.quick ? 1 : opts.rounds;
  if (scenario.kind === "wrk" && opts.warmup > 0) {
    for (const t of targets) await runWrk({ url: t.url + scenario.path, connections: scenario.connections, durationS: opts.warmup, bodyFile: files.body, headersFile: files.headers });
  } else if (scenario.kind === "ttfb" && opts.warmup > 0) {
    for (const t of targets) await probe(t.url, request(scenario), opts.warmup * 1000);
  }
  const perTarget = Object.fromEntries(targets.map((t) => [t.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of rotate(targets, r)) {
      const round = await measure(scenario, t, opts, files, targets[0].pid);
      perTarget[t.key].push(round);
      process.stderr.write(`  round ${r + 1}/${rounds} ${TARGET_LABELS[t.key].padEnd(17)} ${round.rps.toFixed(0).padStart(6)} req/s${round.errors ? `  ${round.errors} error(s)` : ""}\n`);
      if (scenario.kind === "streams") await sleep(1000); // let the previous batch's sockets close
    }
  }
  const result = {
    name: scenario.name,
    title: scenario.title,
    kind: scenario.kind,
    bar: scenario.bar,
    connections: scenario.connections,
    bodyBytes: Buffer.byteLength(scenario.body),
    mock: scenario.mock,
    targets: Object.fromEntries(targets.map((t) => [t.key, aggregate(scenario, perTarget[t.key], validation[t.key])])),
  };
  result.llmuxToBare = result.targets.llmux.rps / result.targets.bare.rps;
  return result;
}

function machine() {
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" });
  return {
    date: new Date().toISOString(),
    commit: `${git.stdout.trim() || "unknown"}${dirty.stdout.trim() ? " (with uncommitted changes)" : ""}`,
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    loadAverageAtStart: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    wrk: wrkVersion(),
  };
}

function markdown(meta, opts, scenarios, verdicts) {
  const notes = [
    `Run: ${meta.date}, commit ${meta.commit}, Node ${meta.node}, ${meta.cpus}, ${meta.memory}; load average at start ${meta.loadAverageAtStart}.`,
    `Load: ${meta.wrk}, one thread; ${opts.rounds} interleaved rounds of ${opts.duration} s per target after ${opts.warmup} s of warm-up; medians of the rounds (peak RSS and EL delay p99: worst round).`,
    "Translated scenarios: llmux translates Anthropic ⇄ OpenAI; the upstream and the bare proxy get the same Anthropic body and answer it in Anthropic format — the transport ceiling, not a translator.",
    `TTFB: the undici probe (one extra connection beside wrk for streams; alone in ttfb-stream-c1), time to the first body byte. EL delay p99: llmux's nodejs_eventloop_lag_p99_seconds less its ${EVENT_LOOP_SAMPLE_MS} ms sampling interval, which the histogram records in every sample.`,
  ];
  return [
    "# llmux bench",
    "",
    ...notes.map((n) => `- ${n}`),
    "",
    table(scenarios),
    "",
    "## The bar (issue 6 §3)",
    "",
    criteriaMarkdown(verdicts),
    "",
  ].join("\n");
}

/** The run's temporary directory (config, llmux log, database, request files), removed at exit unless --keep. */
function tempDir(opts) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "llmux-bench-"));
  if (opts.keep) console.error(`keeping ${tmp}`);
  else onExitCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  return tmp;
}

async function runComparison(opts) {
  const selected = opts.scenarios.length > 0 ? SCENARIOS.filter((s) => opts.scenarios.includes(s.name)) : SCENARIOS;
  const tmp = tempDir(opts);
  const meta = machine();
  console.error(`llmux bench: ${selected.length} scenario(s), ${opts.rounds} × ${opts.duration} s, load average ${meta.loadAverageAtStart} (${tmp})`);
  if (os.loadavg()[0] > 0.5 * os.cpus().length) console.error("warning: the machine is busy; numbers will be noisy");
  const { targets, upstream, children, apiKey } = await startTargets(tmp);
  const results = [];
  try {
    await warmUpProcesses(targets, upstream, apiKey, opts, tmp);
    for (const scenario of selected) {
      console.error(`\n${scenario.name}: ${scenario.title}`);
      results.push(await runScenario(withApiKey(scenario, apiKey), targets, upstream, opts, tmp));
    }
  } finally {
    await stopChild(children.llmux);
    await Promise.all([stopChild(children.bare), stopChild(children.mock)]);
  }
  const verdicts = criteria(results);
  const md = markdown(meta, opts, results, verdicts);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify({ meta, options: opts, scenarios: results, criteria: verdicts }, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, "latest.md"), md);
  console.log(`\n${md}`);
  const errors = results.flatMap((s) => Object.entries(s.targets).flatMap(([k, r]) => r.errorSamples.map((e) => `${s.name}/${k}: ${e}`)));
  if (errors.length > 0) console.error(`error samples:\n${errors.map((e) => `  ${e}`).join("\n")}`);
  console.error(`written: ${path.relative(ROOT, path.join(RESULTS, "latest.md"))}, ${path.relative(ROOT, path.join(RESULTS, "latest.json"))}`);
}

/**
 * Runs `work` against llmux under one wrk scenario (`--profile`, `--alloc`; default openai-json-c32): starts the
 * targets with the Node options `startOptions(tmp)` gives llmux, issues the key, configures the mock, and stops every
 * process however it ends (llmux with time to write what it profiled). `work` gets `load(seconds)`, one wrk run.
 */
async function withOneScenario(opts, flag, startOptions, work) {
  const name = opts.scenarios[0] ?? "openai-json-c32";
  const chosen = SCENARIOS.find((s) => s.name === name);
  if (chosen.kind !== "wrk") throw new Error(`${flag} needs a wrk scenario, not ${name}`);
  const tmp = tempDir(opts);
  const { targets, upstream, children, apiKey } = await startTargets(tmp, await startOptions(tmp));
  const scenario = withApiKey(chosen, apiKey);
  const llmux = targets.find((t) => t.key === "llmux");
  const files = { body: path.join(tmp, "body"), headers: path.join(tmp, "headers") };
  writeFileSync(files.body, scenario.body);
  writeFileSync(files.headers, Object.entries(scenario.headers).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n");
  const load = (durationS) => runWrk({ url: llmux.url + scenario.path, connections: scenario.connections, durationS, bodyFile: files.body, headersFile: files.headers });
  try {
    await configureMock(upstream, scenario.mock);
    return await work({ name, scenario, load });
  } finally {
    await stopChild(children.llmux, 15_000);
    await Promise.all([stopChild(children.bare), stopChild(children.mock)]);
  }
}

async function runProfile(opts) {
  let profDir;
  const startOptions = (tmp) => {
    profDir = path.join(tmp, "cpuprof");
    mkdirSync(profDir);
    return { cpuProfDir: profDir };
  };
  const { name, measured } = await withOneScenario(opts, "--profile", startOptions, async ({ name, scenario, load }) => {
    console.error(`profiling llmux under ${name}: ${opts.warmup} s warm-up, ${opts.duration} s measured`);
    await load(opts.warmup);
    // The measured load only: start-up and warm-up samples (module loading, compilation) are left out.
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const wrk = await load(opts.duration);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const line = `${(wrk.requests / (wrk.duration_us / 1e6)).toFixed(0)} req/s under the profiler, ${scenario.connections} connections, ${opts.duration} s (start-up and warm-up excluded).`;
    return { name, measured: { fromUs, toUs, line } };
  });
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("llmux wrote no .cpuprofile (did it exit cleanly on SIGTERM?)");
  mkdirSync(RESULTS, { recursive: true });
  const kept = path.join(RESULTS, `llmux-${name}.cpuprofile`);
  copyFileSync(path.join(profDir, file), kept);
  const summary = summarizeProfile(kept, { top: 25, root: ROOT, fromUs: measured.fromUs, toUs: measured.toUs });
  const md = `# llmux CPU profile: ${name}\n\n${measured.line} ${profileMarkdown(summary)}\n`;
  writeFileSync(path.join(RESULTS, `profile-${name}.md`), md);
  console.log(md);
  console.error(`written: ${path.relative(ROOT, kept)} (open in Chrome DevTools or speedscope), ${path.relative(ROOT, path.join(RESULTS, `profile-${name}.md`))}`);
}

async function runAlloc(opts) {
  const inspectPort = await freePort();
  const { name, scenario, wrk, profile } = await withOneScenario(opts, "--alloc", () => ({ inspectPort }), async ({ name, scenario, load }) => {
    // A fresh process needs ~10 s of load to reach its steady speed (see "Before the first scenario" in the README).
    const warmup = Math.max(opts.warmup, 10);
    console.error(`sampling llmux's allocations under ${name}: ${warmup} s warm-up, ${opts.duration} s sampled`);
    await load(warmup);
    const inspector = await openInspector(inspectPort);
    try {
      await startAllocationSampling(inspector, { survivors: opts.survivors });
      const wrk = await load(opts.duration);
      return { name, scenario, wrk, profile: await stopAllocationSampling(inspector) };
    } finally {
      inspector.close();
    }
  });
  mkdirSync(RESULTS, { recursive: true });
  const kept = path.join(RESULTS, `llmux-${name}.heapprofile`);
  writeFileSync(kept, JSON.stringify(profile));
  const summary = summarizeAllocations(profile, wrk.requests, { top: 30, root: ROOT });
  const rps = (wrk.requests / (wrk.duration_us / 1e6)).toFixed(0);
  const md = `# llmux ${opts.survivors ? "allocations that outlived the minor GCs" : "allocations"}: ${name}\n\n${rps} req/s while sampling, ${scenario.connections} connections, ${opts.duration} s. ${allocationMarkdown(summary, { survivors: opts.survivors })}\n`;
  writeFileSync(path.join(RESULTS, `alloc-${name}.md`), md);
  console.log(md);
  console.error(`written: ${path.relative(ROOT, kept)} (open in Chrome DevTools' Memory tab), ${path.relative(ROOT, path.join(RESULTS, `alloc-${name}.md`))}`);
}

async function main() {
  installExitHandlers();
  const opts = parseArgs(process.argv.slice(2));
  ensureWrk();
  ensureBuilt(opts.build);
  if (opts.profile) await runProfile(opts);
  else if (opts.alloc) await runAlloc(opts);
  else await runComparison(opts);
  process.exit(0);
}

main().catch((err) => {
  console.error(`bench failed: ${err?.stack ?? err}`);
  process.exit(1);
});
