#!/usr/bin/env node
// Samples where llmux allocates, through the V8 inspector, and summarises a sampling heap profile in bytes a
// request. `node --heap-prof` keeps only the objects still alive when it stops, which says nothing about garbage;
// the inspector's sampler can include the objects the collector already freed, which is what costs GC time.
//
//   node bench/alloc-profile.mjs FILE.heapprofile REQUESTS [TOP]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { WebSocket } from "undici";
import { owner } from "./profile.mjs";

/** A connection to the inspector of the process listening on `port` (Chrome DevTools protocol over a WebSocket). */
export async function openInspector(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`could not open the inspector on port ${port}`)), { once: true });
  });
  let nextId = 0;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error) waiting.reject(new Error(`${message.error.message} (${message.error.code})`));
    else waiting.resolve(message.result);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Starts the sampler: one sample per `intervalBytes` allocated on average. Freed objects stay in the profile; with
 * `survivors`, only those a major GC freed: what is left is what outlived the minor GCs (promoted, or allocated
 * straight into the old generation) or is still live, the old generation's garbage.
 */
export function startAllocationSampling(inspector, { intervalBytes = 1024, survivors = false } = {}) {
  return inspector.call("HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !survivors,
  });
}

/** Stops the sampler and returns the sampling heap profile. */
export async function stopAllocationSampling(inspector) {
  return (await inspector.call("HeapProfiler.stopSampling")).profile;
}

/**
 * Bytes allocated a request by allocating function (the frame that allocated, by name, file and line) and by owner
 * (an llmux file, a package, Node's internals), largest first.
 */
export function summarizeAllocations(profile, requests, { top = 30, root } = {}) {
  const byFunction = new Map();
  const byOwner = new Map();
  let total = 0;
  const walk = (node) => {
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const where = owner(url, root);
      const key = `${functionName || "(anonymous)"}  ${url ? `${where}:${lineNumber + 1}` : where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
      byOwner.set(where, (byOwner.get(where) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const rows = (map, n) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, bytes]) => ({ name, bytesPerRequest: bytes / requests, percent: (100 * bytes) / total }));
  return { bytesPerRequest: total / requests, requests, functions: rows(byFunction, top), owners: rows(byOwner, 15) };
}

/** The summary as Markdown tables. */
export function allocationMarkdown(summary, { survivors = false } = {}) {
  return [
    survivors
      ? `${Math.round(summary.bytesPerRequest)} bytes a request outlived the minor GCs (${summary.requests} requests): promoted, allocated in the old generation, or still live.`
      : `${Math.round(summary.bytesPerRequest)} bytes allocated a request (${summary.requests} requests), freed objects included.`,
    "",
    "| # | bytes/req | % | allocating function  location |",
    "|--:|--:|--:|---|",
    ...summary.functions.map((f, i) => `| ${i + 1} | ${Math.round(f.bytesPerRequest)} | ${f.percent.toFixed(1)} | \`${f.name}\` |`),
    "",
    "| bytes/req | % | owner |",
    "|--:|--:|---|",
    ...summary.owners.map((o) => `| ${Math.round(o.bytesPerRequest)} | ${o.percent.toFixed(1)} | ${o.name} |`),
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [file, requests, top] = process.argv.slice(2);
  if (!file || !(Number(requests) > 0)) {
    console.error("usage: node bench/alloc-profile.mjs FILE.heapprofile REQUESTS [TOP]");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8"));
  console.log(allocationMarkdown(summarizeAllocations(profile, Number(requests), { top: Number(top ?? 30), root: process.cwd() })));
}
