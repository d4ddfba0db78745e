// Turns measurements into the Markdown table and the PASS/FAIL verdicts of issue 6 §3.

/** The throughput bars: llmux's median req/s over the bare proxy's, per kind of path. */
export const THROUGHPUT_BARS = { "same-dialect": 0.6, translated: 0.45, streaming: 0.6 };
/** Added p50 latency over the bare proxy at 1 connection, ms. */
export const LATENCY_BAR_MS = 0.1;
/** Added time to first byte of a stream over the bare proxy, ms. */
export const TTFB_BAR_MS = 0.3;
/** Peak RSS over the bare proxy's, in every scenario. */
export const RSS_BAR = 1.5;
/** Event-loop delay p99 during the 1,000 streams, ms (see {@link eventLoopDelayMs}). */
export const EVENT_LOOP_BAR_MS = 20;
/**
 * The interval of the timer behind prom-client's event-loop histogram (its `eventLoopMonitoringPrecision`, which
 * llmux sets in server/telemetry/metrics.ts). Node's histogram records the time between two ticks of that timer, so
 * every sample is the interval plus the delay, and an idle loop reads 10 ms: the delay is the p99 less the interval.
 */
export const EVENT_LOOP_SAMPLE_MS = 10;

/** The event-loop delay p99 (ms) of a histogram p99 taken over {@link EVENT_LOOP_SAMPLE_MS} samples. */
export const eventLoopDelayMs = (intervalP99Ms) => (intervalP99Ms === undefined ? undefined : Math.max(0, intervalP99Ms - EVENT_LOOP_SAMPLE_MS));

export const TARGET_LABELS = { upstream: "upstream (direct)", bare: "bare proxy", llmux: "llmux" };

function ms(value) {
  if (value === undefined || Number.isNaN(value)) return "–";
  if (value < 10) return value.toFixed(3);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

const mb = (bytes) => (bytes ? (bytes / 1048576).toFixed(0) : "–");
const ratio = (r) => (r === undefined || Number.isNaN(r) ? "–" : `${r.toFixed(2)}×`);

/** The Markdown results table: one row per scenario and target. */
export function table(scenarios) {
  const rows = [
    "| Scenario | Target | req/s | p50 ms | p99 ms | TTFB p50 ms | TTFB p99 ms | CPU µs/req | peak RSS MB | EL delay p99 ms | errors | ÷ bare |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const s of scenarios) {
    for (const [key, r] of Object.entries(s.targets)) {
      const name = key === "upstream" ? `**${s.name}**` : "";
      const rps = s.kind === "streams" ? `${r.completed}/${r.streams} done, ${r.rps.toFixed(0)}` : r.rps.toFixed(0);
      rows.push(
        `| ${name} | ${TARGET_LABELS[key]} | ${rps} | ${ms(r.latencyP50Ms)} | ${ms(r.latencyP99Ms)} | ${ms(r.ttfbP50Ms)} | ${ms(r.ttfbP99Ms)} | ${Number.isNaN(r.cpuUsPerRequest) ? "–" : r.cpuUsPerRequest.toFixed(0)} | ${mb(r.peakRssBytes)} | ${ms(eventLoopDelayMs(r.eventLoopIntervalP99Ms))} | ${r.errors} | ${key === "llmux" ? ratio(s.llmuxToBare) : key === "upstream" ? ratio(r.rps / s.targets.bare?.rps) : ""} |`,
      );
    }
  }
  return rows.join("\n");
}

function verdict(name, pass, detail) {
  return { name, result: pass === undefined ? "n/a" : pass ? "PASS" : "FAIL", detail };
}

/** The criteria of issue 6 §3, each PASS, FAIL or n/a (its scenario was not run), with the numbers behind it. */
export function criteria(scenarios) {
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  const out = [];
  for (const [bar, min] of Object.entries(THROUGHPUT_BARS)) {
    const list = scenarios.filter((s) => s.bar === bar && s.targets.llmux && s.targets.bare);
    const pass = list.length === 0 ? undefined : list.every((s) => s.llmuxToBare >= min);
    out.push(verdict(`${bar} throughput ≥ ${min}× bare proxy`, pass, list.map((s) => `${s.name} ${ratio(s.llmuxToBare)}`).join(", ") || "not run"));
  }
  const c1 = byName.get("openai-json-c1");
  if (c1?.targets.llmux && c1.targets.bare) {
    const added = c1.targets.llmux.latencyP50Ms - c1.targets.bare.latencyP50Ms;
    out.push(verdict(`added p50 latency at 1 connection ≤ ${LATENCY_BAR_MS} ms`, added <= LATENCY_BAR_MS, `+${ms(added)} ms (${ms(c1.targets.llmux.latencyP50Ms)} vs ${ms(c1.targets.bare.latencyP50Ms)})`));
  } else out.push(verdict(`added p50 latency at 1 connection ≤ ${LATENCY_BAR_MS} ms`, undefined, "openai-json-c1 not run"));
  const ttfb = byName.get("ttfb-stream-c1");
  if (ttfb?.targets.llmux && ttfb.targets.bare) {
    const added = ttfb.targets.llmux.ttfbP50Ms - ttfb.targets.bare.ttfbP50Ms;
    const { llmux, bare } = ttfb.targets;
    const token = Number.isNaN(llmux.ttftP50Ms) || llmux.ttftP50Ms === undefined
      ? ""
      : `; time to first token +${ms(llmux.ttftP50Ms - bare.ttftP50Ms)} ms (${ms(llmux.ttftP50Ms)} vs ${ms(bare.ttftP50Ms)}: llmux holds the content-less preamble until the first content, its point of no return for failover)`;
    out.push(verdict(`time-to-first-byte overhead ≤ ${TTFB_BAR_MS} ms`, added <= TTFB_BAR_MS, `+${ms(added)} ms at p50 (${ms(llmux.ttfbP50Ms)} vs ${ms(bare.ttfbP50Ms)})${token}`));
  } else out.push(verdict(`time-to-first-byte overhead ≤ ${TTFB_BAR_MS} ms`, undefined, "ttfb-stream-c1 not run"));
  const rss = scenarios.filter((s) => s.targets.llmux?.peakRssBytes && s.targets.bare?.peakRssBytes).map((s) => ({ s, r: s.targets.llmux.peakRssBytes / s.targets.bare.peakRssBytes }));
  const worst = rss.sort((a, b) => b.r - a.r)[0];
  out.push(
    verdict(
      `peak RSS ≤ ${RSS_BAR}× bare proxy's`,
      worst === undefined ? undefined : worst.r <= RSS_BAR,
      worst === undefined ? "not run" : `worst ${worst.s.name}: ${mb(worst.s.targets.llmux.peakRssBytes)} MB vs ${mb(worst.s.targets.bare.peakRssBytes)} MB (${ratio(worst.r)})`,
    ),
  );
  const streams = byName.get("streams-1000");
  if (streams?.targets.llmux) {
    const l = streams.targets.llmux;
    const allDone = l.completed === l.streams && l.errors === 0;
    const delayMs = eventLoopDelayMs(l.eventLoopIntervalP99Ms);
    const loop = delayMs < EVENT_LOOP_BAR_MS;
    out.push(
      verdict(
        `1,000 streams all complete, event-loop delay p99 < ${EVENT_LOOP_BAR_MS} ms`,
        allDone && loop,
        `${l.completed}/${l.streams} complete, stream p99 ${ms(l.latencyP99Ms / 1000)} s, EL delay p99 ${ms(delayMs)} ms (histogram p99 ${ms(l.eventLoopIntervalP99Ms)} ms less its ${EVENT_LOOP_SAMPLE_MS} ms sampling interval), peak RSS ${mb(l.peakRssBytes)} MB (bare ${mb(streams.targets.bare?.peakRssBytes)} MB)`,
      ),
    );
  } else out.push(verdict(`1,000 streams all complete, event-loop delay p99 < ${EVENT_LOOP_BAR_MS} ms`, undefined, "streams-1000 not run"));
  const errors = scenarios.flatMap((s) => Object.entries(s.targets).filter(([, r]) => r.errors > 0).map(([k, r]) => `${s.name}/${k}: ${r.errors}`));
  out.push(verdict("zero errors in every scenario", scenarios.length === 0 ? undefined : errors.length === 0, errors.length === 0 ? "none" : errors.join(", ")));
  return out;
}

/** The criteria as a Markdown list. */
export function criteriaMarkdown(list) {
  return list.map((c) => `- **${c.result}** ${c.name}: ${c.detail}`).join("\n");
}
