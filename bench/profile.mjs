#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per package, so the hot path of
// llmux can be read without opening DevTools.
//
//   node bench/profile.mjs FILE.cpuprofile [TOP]
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Where a script lives, coarse enough to act on: an llmux source file, a package, or Node's internals. */
export function owner(url, root) {
  if (!url) return "(native / V8)";
  if (url.startsWith("node:")) return "node:internal";
  const file = url.startsWith("file://") ? new URL(url).pathname : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1];
  return root ? path.relative(root, file) : file;
}

function frameName({ functionName, url, lineNumber }, root) {
  const where = owner(url, root);
  return `${functionName || "(anonymous)"}  ${url ? `${where}:${lineNumber + 1}` : where}`;
}

/**
 * Self time of every function (by name, file and line) and of every owner, in ms and % of the sampled time.
 * Idle, program and GC pseudo-nodes are kept as their own rows: GC time is part of the hot path's cost. A native
 * or Node-internal function is named with the nearest llmux or package frame that called it
 * (`writev ← … ← flushSync  sonic-boom:…`), so it can be acted on.
 * `fromUs`/`toUs` (CLOCK_MONOTONIC µs, the clock of `process.hrtime` and of the profile) keep only the samples of
 * that window, e.g. the measured load without start-up.
 */
export function summarizeProfile(file, { top = 20, root, fromUs = -Infinity, toUs = Infinity } = {}) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n);
  const selfUs = new Map();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byOwner = new Map();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    const { functionName, url } = node.callFrame;
    if (functionName === "(idle)") idle += us;
    const where = owner(url, root);
    // Native and node:internal frames are named with the nearest llmux or package frame that led to them.
    let key = frameName(node.callFrame, root);
    if ((!url && !functionName.startsWith("(")) || where === "node:internal") {
      let up = parents.get(id);
      while (up && (!up.callFrame.url || up.callFrame.url.startsWith("node:"))) up = parents.get(up.id);
      if (up) key += ` ← ${frameName(up.callFrame, root)}`;
    }
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byOwner.set(where, (byOwner.get(where) ?? 0) + us);
  }
  const rows = (map, n) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / total }));
  return { totalMs: total / 1000, idleMs: idle / 1000, functions: rows(byFunction, top), owners: rows(byOwner, 15) };
}

/** The summary as Markdown tables. */
export function profileMarkdown(summary) {
  const busy = summary.totalMs - summary.idleMs;
  const lines = [
    `Sampled ${summary.totalMs.toFixed(0)} ms, of which ${summary.idleMs.toFixed(0)} ms idle (${((100 * busy) / summary.totalMs).toFixed(0)}% busy).`,
    "",
    "| # | self ms | self % | function  location |",
    "|--:|--:|--:|---|",
    ...summary.functions.map((f, i) => `| ${i + 1} | ${f.ms.toFixed(0)} | ${f.percent.toFixed(1)} | \`${f.name}\` |`),
    "",
    "| self ms | self % | owner |",
    "|--:|--:|---|",
    ...summary.owners.map((o) => `| ${o.ms.toFixed(0)} | ${o.percent.toFixed(1)} | ${o.name} |`),
  ];
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node bench/profile.mjs FILE.cpuprofile [TOP]");
    process.exit(2);
  }
  console.log(profileMarkdown(summarizeProfile(file, { top: Number(top ?? 20), root: process.cwd() })));
}
