// A small client on undici for what wrk cannot tell: the time to the first byte of a streamed answer, whether each
// answer is complete and well-formed, and many long streams held open at once.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, Pool } from "undici";

/** Percentiles of a list of milliseconds (sorted in place). */
export function summarize(values) {
  if (values.length === 0) return { count: 0, p50: NaN, p99: NaN, mean: NaN, max: NaN };
  values.sort((a, b) => a - b);
  const at = (q) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
  return { count: values.length, p50: at(0.5), p99: at(0.99), mean: values.reduce((a, b) => a + b, 0) / values.length, max: values[values.length - 1] };
}

/**
 * Judges one answer: status 200, and for a stream the dialect's terminator (`data: [DONE]`, `event: message_stop`)
 * with no error frame; for JSON a body carrying the answer's text. Returns an error string or undefined.
 */
export function checkAnswer({ status, text, stream, dialect }) {
  if (status !== 200) return `status ${status}: ${text.slice(0, 200)}`;
  if (stream) {
    if (/^event: error$/m.test(text) || text.includes('data: {"error"') || text.includes('"type":"error"')) return `error frame in stream: ${text.slice(-300)}`;
    const done = dialect === "openai" ? text.trimEnd().endsWith("data: [DONE]") : text.includes("event: message_stop");
    return done ? undefined : `stream ended without its terminator: ${text.slice(-200)}`;
  }
  try {
    const body = JSON.parse(text);
    const answer = dialect === "openai" ? body.choices?.[0]?.message?.content : body.content?.[0]?.text;
    return typeof answer === "string" && answer.length > 0 ? undefined : `no answer text in ${text.slice(0, 200)}`;
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
}

/**
 * Sends one request and reads the whole answer. Resolves with timings in ms from just before the request is
 * dispatched: `ttfb` when the first body byte arrived, `total` when the body ended; and `error` if checkAnswer
 * (or the transport) failed.
 */
export async function exchange(dispatcher, { path, headers, body, stream, dialect }) {
  const start = performance.now();
  try {
    const res = await dispatcher.request({ method: "POST", path, headers, body });
    let ttfb;
    let ttft;
    const chunks = [];
    let seen = "";
    for await (const chunk of res.body) {
      const at = performance.now() - start;
      ttfb ??= at;
      chunks.push(chunk);
      if (stream && ttft === undefined) {
        seen += Buffer.from(chunk).toString("utf8");
        if (FIRST_CONTENT[dialect].test(seen)) ttft = at;
      }
    }
    const total = performance.now() - start;
    const text = Buffer.concat(chunks).toString("utf8");
    return { ttfb: ttfb ?? total, ttft: ttft ?? total, total, error: checkAnswer({ status: res.statusCode, text, stream, dialect }) };
  } catch (err) {
    return { ttfb: NaN, ttft: NaN, total: performance.now() - start, error: `${err.code ?? err.name}: ${err.message}` };
  }
}

/**
 * The first event of a stream that carries generated text: an OpenAI delta with non-empty content, an Anthropic
 * content_block_delta. A gateway that can still fail over holds back the content-less preamble (OpenAI's role
 * chunk, Anthropic's message_start) until then, where a blind proxy passes it on at once: time to first token is
 * the latency a user sees, time to first byte is not the same measure for the two.
 */
const FIRST_CONTENT = {
  openai: /"delta":\{[^}]*"content":"[^"]/,
  anthropic: /event: content_block_delta/,
};

/**
 * One connection sending the request back to back for `durationMs`: the TTFB probe. Run alone it measures the
 * pure per-hop cost; run beside wrk it measures time to first byte under load.
 */
export async function probe(origin, request, durationMs) {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 30_000 });
  const ttfb = [];
  const ttft = [];
  const total = [];
  const errors = [];
  const end = performance.now() + durationMs;
  try {
    while (performance.now() < end) {
      const r = await exchange(client, request);
      if (r.error) errors.push(r.error);
      else {
        ttfb.push(r.ttfb);
        ttft.push(r.ttft);
        total.push(r.total);
      }
    }
  } finally {
    await client.close();
  }
  return { ttfb: summarize(ttfb), ttft: summarize(ttft), total: summarize(total), errors };
}

/**
 * `count` streams, each on its own connection, each read to its end; they are opened in batches of 10 spread over
 * `rampMs` (a listen backlog of 511 would otherwise drop SYNs of a 1,000-connection burst and add the kernel's
 * 1 s retransmit to the measurement). Resolves when every one has ended (or failed) with per-stream TTFB and
 * duration, the errors, and the wall time of the whole batch.
 */
export async function concurrentStreams(origin, request, count, { timeoutMs, rampMs }) {
  const pool = new Pool(origin, { connections: count, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 30_000 });
  const start = performance.now();
  try {
    const pending = [];
    const batches = Math.ceil(count / 10);
    for (let b = 0; b < batches; b++) {
      for (let i = b * 10; i < Math.min(count, (b + 1) * 10); i++) pending.push(exchange(pool, request));
      if (b < batches - 1) await sleep(rampMs / batches);
    }
    const results = await Promise.all(pending);
    const ok = results.filter((r) => !r.error);
    return {
      wallMs: performance.now() - start,
      completed: ok.length,
      ttfb: summarize(ok.map((r) => r.ttfb)),
      total: summarize(ok.map((r) => r.total)),
      errors: results.filter((r) => r.error).map((r) => r.error),
    };
  } finally {
    await pool.destroy();
  }
}
