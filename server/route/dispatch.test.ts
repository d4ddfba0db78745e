import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { backendConfig } from "../../test/helpers/backend-config.js";
import { openaiDispatchCall } from "../../test/helpers/dispatch-call.js";
import { Cancellation } from "../lib/cancellation.js";
import { LlmuxError, Reason } from "../errors/llmux-error.js";
import type { ProviderAdapter, UpstreamCall, UpstreamResponse } from "../providers/provider.js";
import type { SseEvent } from "../lib/sse.js";
import { createBackendState } from "./backend-state.js";
import { createDispatcher, type DispatchResult } from "./dispatch.js";
import { createRetryBudget } from "./retry-budget.js";
import { NO_TELEMETRY } from "./telemetry.js";
import { lazyExchanges } from "../translate/exchange/exchange.js";
import { createOpenAIPassthrough } from "../translate/exchange/openai-to-openai.js";
import { validateOpenAIRequest } from "../translate/openai/validate.js";

const backend = backendConfig({ provider: "up", model: "gpt" });

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "gpt", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

const FRAMES = [
  chunk({ role: "assistant", content: "" }),
  chunk({ content: "Hel" }),
  chunk({ content: "lo" }),
  chunk({}, "stop"),
  "data: [DONE]\n\n",
];

/** A dispatcher over one provider whose stream arrives in the given reads. */
function dispatcherWith(reads: string[]) {
  return dispatcherOver(async () => ({
    status: 200,
    headers: { "content-type": "text/event-stream" },
    body: (async function* () {
      for (const read of reads) yield new TextEncoder().encode(read);
    })(),
  }));
}

/** Resolves never; rejects with the call's abort reason once it is aborted. */
function untilAborted(call: UpstreamCall): Promise<never> {
  return new Promise((_, reject) => call.signal.addEventListener("abort", () => reject(call.signal.reason), { once: true }));
}

/** A dispatcher over one provider that answers with `send`, with short first-byte and request deadlines. */
function dispatcherOver(
  send: (call: UpstreamCall) => Promise<UpstreamResponse>,
  timeouts = { firstByteTimeoutMs: 10_000, requestTimeoutMs: 10_000 },
  maxStreamBytes?: number,
) {
  const provider: ProviderAdapter = {
    name: "up",
    kind: "openai",
    dialect: "openai",
    send,
    probe: async () => true,
    redact: (text) => text,
    close: async () => {},
  };
  return createDispatcher({
    providers: new Map([["up", provider]]),
    state: createBackendState({ now: Date.now, random: Math.random, cooldownMs: 1000, maxCooldownMs: 10_000 }),
    budget: createRetryBudget({ ratio: 0.2, minRetries: 3 }),
    telemetry: NO_TELEMETRY,
    now: Date.now,
    random: Math.random,
    sleep: async () => {},
    maxRetries: 1,
    ...timeouts,
    streamTimeoutMs: 10_000,
    shutdown: new Cancellation(),
    maxStreamBytes,
  });
}

async function streamOf(reads: string[]): Promise<{ first: string; rest: string[] }> {
  const result: DispatchResult = await dispatcherWith(reads).dispatch(openaiDispatchCall(true), [backend]);
  if (result.kind !== "stream") throw new Error(`expected a stream, got ${result.kind}`);
  const rest: string[] = [];
  for await (const frames of result.rest) rest.push(frames);
  return { first: result.first, rest };
}

describe("dispatch: the first frames of a stream", () => {
  it("leave at the first content even when the whole answer arrives in one read; the rest follows unchanged", async () => {
    const { first, rest } = await streamOf([FRAMES.join("")]);
    expect(first).toBe(FRAMES[0]! + FRAMES[1]!);
    expect(rest).toEqual([FRAMES.slice(2).join("")]);
  });

  it("carry the same bytes however the upstream's reads are split", async () => {
    const whole = FRAMES.join("");
    for (let cut = 1; cut < whole.length; cut += 7) {
      const { first, rest } = await streamOf([whole.slice(0, cut), whole.slice(cut)]);
      expect(first + rest.join("")).toBe(whole);
      expect(first.endsWith(FRAMES[1]!)).toBe(true);
    }
  });
});

/** Lets pending callbacks run, then forces a full GC: what a stream still references survives it. */
async function collectGarbage(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * An SSE body sending `reads` in turn and waiting for `resume()` before the last; `seen` watches every read. It keeps
 * none of its reads itself (an async generator's frame would hold the last one it yielded).
 */
function pausedBody(reads: string[]) {
  let resume: () => void = () => {};
  const paused = new Promise<void>((resolve) => (resume = resolve));
  const seen: WeakRef<Uint8Array>[] = [];
  let next = 0;
  const body: AsyncIterableIterator<Uint8Array> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (next === reads.length - 1) await paused;
      if (next === reads.length) return { value: undefined, done: true };
      const read = new TextEncoder().encode(reads[next++]);
      seen.push(new WeakRef(read));
      return { value: read, done: false };
    },
  };
  const dispatcher = dispatcherOver(async () => ({ status: 200, headers: { "content-type": "text/event-stream" }, body }));
  return { dispatcher, seen, resume: () => resume() };
}

/** The rest of a stream, from an iterator whose next step is already `pending`. */
async function restOf(iterator: AsyncIterator<string>, pending: Promise<IteratorResult<string>>): Promise<string> {
  let rest = "";
  for (let step = await pending; !step.done; step = await iterator.next()) rest += step.value;
  return rest;
}

describe("dispatch: what a committed stream keeps", () => {
  it("keeps nothing of the request's exchange while the stream runs (a long stream must not hold an agent's body)", async () => {
    const { dispatcher, resume } = pausedBody([FRAMES[0]! + FRAMES[1]!, FRAMES.slice(2).join("")]);
    // What the facade keeps for the request's whole life: its cancellation and trace, not the call.
    const start = () => {
      const call = openaiDispatchCall(true);
      return { signal: call.signal, trace: call.trace, exchange: new WeakRef(call.exchangeFor), pending: dispatcher.dispatch(call, [backend]) };
    };
    const { signal, trace, exchange, pending } = start();
    const result = await pending;
    if (result.kind !== "stream") throw new Error(`expected a stream, got ${result.kind}`);
    await collectGarbage();
    expect(exchange.deref()).toBeUndefined();
    resume();
    let rest = "";
    for await (const frames of result.rest) rest += frames;
    expect(rest).toBe(FRAMES.slice(2).join(""));
    expect([signal.aborted, trace.streamOutcome]).toEqual([false, "ok"]);
  });

  it("lets go of the first read's events once it has translated them, not at the stream's end", async () => {
    // The content that commits the stream and the frames after it, in one read (a burst).
    const { dispatcher, resume } = pausedBody([FRAMES[0]! + FRAMES[1]! + FRAMES[2]!, FRAMES.slice(3).join("")]);
    // Every event the translator is handed, watched: they are slices of the read's text and would hold all of it.
    const events: WeakRef<SseEvent>[] = [];
    const start = async () => {
      const call = openaiDispatchCall(true);
      const exchangeFor = call.exchangeFor;
      call.exchangeFor = (dialect) => {
        const exchange = exchangeFor(dialect);
        return {
          ...exchange,
          stream(b) {
            const translator = exchange.stream(b);
            return { ...translator, push: (event: SseEvent) => (events.push(new WeakRef(event)), translator.push(event)) };
          },
        };
      };
      return dispatcher.dispatch(call, [backend]);
    };
    const result = await start();
    if (result.kind !== "stream") throw new Error(`expected a stream, got ${result.kind}`);
    const iterator = result.rest[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(FRAMES[2]);
    // The stream now waits for the upstream's next read.
    const pending = iterator.next();
    await collectGarbage();
    expect(events.map((ref) => ref.deref())).toEqual([undefined, undefined, undefined]);
    resume();
    expect(await restOf(iterator, pending)).toBe(FRAMES.slice(3).join(""));
  });

  it("holds no upstream read while it waits for the next (a read is a view of the socket's buffer)", async () => {
    const { dispatcher, seen, resume } = pausedBody([FRAMES[0]! + FRAMES[1]!, FRAMES[2]!, FRAMES.slice(3).join("")]);
    const result = await dispatcher.dispatch(openaiDispatchCall(true), [backend]);
    if (result.kind !== "stream") throw new Error(`expected a stream, got ${result.kind}`);
    const iterator = result.rest[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(FRAMES[2]);
    // The stream now waits for the third read, having translated the second.
    const pending = iterator.next();
    await collectGarbage();
    expect(seen.map((ref) => ref.deref())).toEqual([undefined, undefined]);
    resume();
    expect(await restOf(iterator, pending)).toBe(FRAMES.slice(3).join(""));
  });
});

describe("dispatch: the stream byte cap (F22)", () => {
  const call = () => openaiDispatchCall(true);
  /** An upstream that sends `reads`, then content forever; `aborted` tells whether llmux dropped it. */
  function runaway(reads: string[]) {
    let upstream: UpstreamCall | undefined;
    const send = async (c: UpstreamCall): Promise<UpstreamResponse> => {
      upstream = c;
      return {
        status: 200,
        headers: { "content-type": "text/event-stream" },
        body: (async function* () {
          for (const read of reads) yield new TextEncoder().encode(read);
          for (;;) yield new TextEncoder().encode(chunk({ content: "more" }));
        })(),
      };
    };
    return { send, aborted: () => upstream?.signal.aborted === true };
  }

  it("cuts a committed stream off past the cap with a terminal error frame, and drops the upstream", async () => {
    const committed = FRAMES[0]! + FRAMES[1]!;
    const upstream = runaway([FRAMES[0]!, FRAMES[1]!]);
    const limit = committed.length + 1_000;
    const result = await dispatcherOver(upstream.send, undefined, limit).dispatch(call(), [backend]);
    if (result.kind !== "stream") throw new Error("expected a stream");
    expect(result.first).toBe(committed);
    let rest = "";
    for await (const frames of result.rest) rest += frames;
    const frames = rest.trim().split("\n\n");
    expect(frames.at(-1)).toBe(`data: ${JSON.stringify({ error: { message: `up:gpt streamed more than ${limit} bytes`, type: "server_error", param: null, code: "upstream_error" } })}`);
    expect(frames.slice(0, -1).every((f) => f === chunk({ content: "more" }).trim())).toBe(true);
    // Everything before the read that crossed the cap was passed on, nothing after it.
    expect(committed.length + rest.length - frames.at(-1)!.length - 2).toBeLessThanOrEqual(limit);
    expect(upstream.aborted()).toBe(true);
  });

  it("fails the attempt over when the cap is crossed before the first content", async () => {
    const upstream = runaway(Array.from({ length: 100 }, () => FRAMES[0]!));
    const err = await dispatcherOver(upstream.send, undefined, 1_000).dispatch(call(), [backend]).catch((e: unknown) => e);
    expect(err).toEqual(expect.objectContaining({ reason: Reason.UPSTREAM_FAILED, rawMessage: "up:gpt streamed more than 1000 bytes" }));
    expect(upstream.aborted()).toBe(true);
  });
});

describe("dispatch: deadlines of a non-streaming answer", () => {
  const call = () => openaiDispatchCall(false);

  it("times out an upstream that sends no headers by the first-byte deadline", async () => {
    const dispatcher = dispatcherOver(untilAborted, { firstByteTimeoutMs: 20, requestTimeoutMs: 10_000 });
    await expect(dispatcher.dispatch(call(), [backend])).rejects.toEqual(
      expect.objectContaining({ reason: Reason.UPSTREAM_TIMEOUT, rawMessage: "up:gpt did not answer in time" }),
    );
  });

  it("lets a body whose headers came in time run past the first-byte deadline, up to the request deadline", async () => {
    let aborted = 0;
    const dispatcher = dispatcherOver(async (upstream) => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: { [Symbol.asyncIterator]: () => ({ next: () => untilAborted(upstream).finally(() => (aborted = Date.now())) }) },
    }), { firstByteTimeoutMs: 20, requestTimeoutMs: 150 });
    const started = Date.now();
    const err: unknown = await dispatcher.dispatch(call(), [backend]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmuxError);
    expect(err).toEqual(expect.objectContaining({ reason: Reason.UPSTREAM_TIMEOUT, rawMessage: "up:gpt did not finish in time" }));
    // Not cut at the first-byte deadline: the body was aborted by the request deadline, after it.
    expect(aborted - started).toBeGreaterThanOrEqual(140);
  });
});

describe("dispatch: the parsed request while an attempt waits", () => {
  it("is parked once the attempt's upstream body is on its way, and read again for a failover", async () => {
    const log: string[] = [];
    const bytesOf = (text: string) => (async function* () {
      yield new TextEncoder().encode(text);
    })();
    const dispatcher = dispatcherOver(async (call) => {
      log.push(`send ${String(call.body.model)}`);
      await new Promise((resolve) => setImmediate(resolve));
      if (call.body.model === "gpt") return { status: 503, headers: {}, body: bytesOf('{"error":{"message":"overloaded","type":"server_error"}}') };
      const answer = { id: "c1", object: "chat.completion", created: 1, model: "gpt-2", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }] };
      return { status: 200, headers: { "content-type": "application/json" }, body: bytesOf(JSON.stringify(answer)) };
    });
    const body = validateOpenAIRequest({ model: "gpt", messages: [{ role: "user", content: "hi" }] });
    const call = {
      ...openaiDispatchCall(false),
      exchangeFor: lazyExchanges("openai", () => createOpenAIPassthrough(() => (log.push("read"), body)), () => {
        throw new Error("no other dialect here");
      }),
      parkRequest: () => log.push("park"),
    };
    const result = await dispatcher.dispatch(call, [backend, backendConfig({ provider: "up", model: "gpt-2" })]);
    expect(result.kind).toBe("json");
    // Read when the exchange is made and for each attempt's body; parked before either answer arrived.
    expect(log).toEqual(["read", "read", "send gpt", "park", "read", "send gpt-2", "park"]);
  });
});
