import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Reason } from "../../errors/llmux-error.js";
import { createSseParser } from "../../lib/sse.js";
import type { ChatEvent, SseEvent } from "../canonical.js";
import { OpenAIStreamDecoder } from "./stream-decoder.js";

const STREAMS = new URL("./testdata/stream/", import.meta.url);

interface Expected {
  toolNames: Array<[string, string]>;
  events: ChatEvent[];
  error?: { reason: string; message: string };
}

interface Outcome {
  events: ChatEvent[];
  error?: { reason: string; message: string };
}

/** Runs raw SSE bytes, cut into the given pieces, through the real SSE parser and one decoder. */
function replay(pieces: Uint8Array[], toolNames: Array<[string, string]>): Outcome {
  const parser = createSseParser();
  const decoder = new OpenAIStreamDecoder(new Map(toolNames));
  const events: ChatEvent[] = [];
  try {
    for (const piece of pieces) for (const ev of parser.push(piece)) events.push(...decoder.push(ev));
    for (const ev of parser.end()) events.push(...decoder.push(ev));
    events.push(...decoder.end());
    return { events };
  } catch (err) {
    const e = err as { reason: Reason; rawMessage: string };
    return { events, error: { reason: Reason[e.reason], message: e.rawMessage } };
  }
}

const fixtures = readdirSync(STREAMS)
  .filter((f) => f.endsWith(".sse"))
  .sort()
  .map((f): [string, Uint8Array, Expected] => {
    const name = f.slice(0, -".sse".length);
    const expected = JSON.parse(readFileSync(new URL(`${name}.events.json`, STREAMS), "utf8")) as Expected;
    return [name, new Uint8Array(readFileSync(new URL(f, STREAMS))), expected];
  });

describe("OpenAIStreamDecoder fixtures", () => {
  it.each(fixtures)("%s, whole", (_, bytes, expected) => {
    expect(replay([bytes], expected.toolNames)).toEqual({ events: expected.events, ...(expected.error && { error: expected.error }) });
  });

  it.each(fixtures)("%s, one byte at a time", (_, bytes, expected) => {
    const pieces = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect(replay(pieces, expected.toolNames)).toEqual(replay([bytes], expected.toolNames));
  });

  it.each(fixtures)("%s, split at every offset", (_, bytes, expected) => {
    const whole = replay([bytes], expected.toolNames);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(replay([bytes.subarray(0, cut), bytes.subarray(cut)], expected.toolNames)).toEqual(whole);
    }
  });
});

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
  ({ event: undefined, data: JSON.stringify({ id: "c1", model: "m", choices: [{ index: 0, delta, finish_reason: finishReason }] }) }) satisfies SseEvent;
const DONE: SseEvent = { event: undefined, data: "[DONE]" };

function run(events: SseEvent[]): ChatEvent[] {
  const decoder = new OpenAIStreamDecoder(new Map());
  return [...events.flatMap((ev) => decoder.push(ev)), ...decoder.end()];
}

describe("OpenAIStreamDecoder", () => {
  it("numbers tool calls that arrive without an index (Gemini) one per fragment", () => {
    const events = run([
      chunk({ role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: '{"x":1}' } }] }),
      chunk({ tool_calls: [{ id: "b", type: "function", function: { name: "g", arguments: "{}" } }] }),
      chunk({}, "tool_calls"),
      DONE,
    ]);
    expect(events.filter((e) => e.type !== "start" && e.type !== "finish")).toEqual([
      { type: "block_start", index: 0, block: { type: "tool_use", id: "a", name: "f" } },
      { type: "tool_input_delta", index: 0, partialJson: '{"x":1}' },
      { type: "block_stop", index: 0 },
      { type: "block_start", index: 1, block: { type: "tool_use", id: "b", name: "g" } },
      { type: "tool_input_delta", index: 1, partialJson: "{}" },
      { type: "block_stop", index: 1 },
    ]);
  });

  it("flushes waiting tool calls when text follows them", () => {
    const events = run([
      chunk({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "{}" } }, { index: 1, id: "b", function: { name: "g", arguments: "{}" } }] }),
      chunk({ content: "done" }),
      chunk({}, "stop"),
      DONE,
    ]);
    expect(events.map((e) => `${e.type}${"index" in e ? e.index : ""}`)).toEqual([
      "start",
      "block_start0",
      "tool_input_delta0",
      "block_stop0",
      "block_start1",
      "tool_input_delta1",
      "block_stop1",
      "block_start2",
      "text_delta2",
      "block_stop2",
      "finish",
    ]);
  });

  it.each<[string, SseEvent[], string, Reason]>([
    ["arguments for a tool call that ended", [chunk({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "{" } }] }), chunk({ content: "x" }), chunk({ tool_calls: [{ index: 0, function: { arguments: "}" } }] })], "upstream sent arguments for a tool call that had ended", Reason.UPSTREAM_FAILED],
    ["a tool call that never got a name", [chunk({ tool_calls: [{ index: 0, id: "a", function: { arguments: "{}" } }] }), DONE], "upstream sent a tool call without a name", Reason.UPSTREAM_FAILED],
    ["[DONE] before any chunk", [DONE], "upstream stream ended before completion", Reason.UPSTREAM_FAILED],
    ["a chunk that is not an object", [{ event: undefined, data: "[1]" }], "upstream sent a stream chunk that is not a JSON object", Reason.UPSTREAM_FAILED],
    ["an error event", [{ event: "error", data: '{"message":"slow down","type":"rate_limit_error"}' }], "the upstream provider's rate limit was exceeded", Reason.RATE_LIMITED],
    ["a vLLM in-band error", [chunk({ content: "a" }), { event: undefined, data: '{"error":{"object":"error","message":"context too long","type":"BadRequestError","code":400}}' }], "context too long", Reason.INVALID_REQUEST],
  ])("throws on %s", (_, events, message, reason) => {
    expect(() => run(events)).toThrow(expect.objectContaining({ reason, rawMessage: message }));
  });

  it("ignores empty data, later choices and anything after [DONE]", () => {
    const decoder = new OpenAIStreamDecoder(new Map());
    const other = { event: undefined, data: JSON.stringify({ id: "c1", model: "m", choices: [{ index: 1, delta: { content: "other choice" } }] }) };
    const events = [chunk({ content: "a" }), { event: undefined, data: " " }, other, chunk({}, "length"), DONE, chunk({ content: "late" }), DONE].flatMap((ev) => decoder.push(ev));
    expect(events.filter((e) => e.type === "text_delta")).toEqual([{ type: "text_delta", index: 0, text: "a" }]);
    expect(events.at(-1)).toEqual({ type: "finish", stopReason: "max_tokens", stopSequence: null, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 } });
    expect(decoder.end()).toEqual([]);
  });

  it("exposes the usage reported so far", () => {
    const decoder = new OpenAIStreamDecoder(new Map());
    expect(decoder.usage()).toBeUndefined();
    decoder.push({ event: undefined, data: JSON.stringify({ id: "c", choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }) });
    expect(decoder.usage()).toEqual({ inputTokens: 9, outputTokens: 2, cacheReadTokens: 0, cacheCreationTokens: 0 });
  });
});
