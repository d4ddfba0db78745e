import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { createSseParser } from "../../lib/sse.js";
import type { ChatEvent, SseEvent } from "../canonical.js";
import { AnthropicStreamDecoder } from "./stream-decoder.js";

interface Outcome {
  events: ChatEvent[];
  error?: { reason: string; message: string };
}

/** Parses `chunks` as one SSE body and decodes it; an LlmuxError ends the run and is recorded like a fixture. */
function decode(chunks: Uint8Array[]): Outcome {
  const parser = createSseParser();
  const decoder = new AnthropicStreamDecoder();
  const events: ChatEvent[] = [];
  try {
    for (const chunk of chunks) for (const ev of parser.push(chunk)) events.push(...decoder.push(ev));
    for (const ev of parser.end()) events.push(...decoder.push(ev));
    events.push(...decoder.end());
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    return { events, error: { reason: Reason[err.reason], message: err.rawMessage } };
  }
  return { events };
}

const dir = new URL("./testdata/stream-decoder/", import.meta.url);
const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".sse"))
  .map((f) => [f, new Uint8Array(readFileSync(new URL(f, dir))), JSON.parse(readFileSync(new URL(f.replace(/\.sse$/, ".json"), dir), "utf8")) as Outcome] as const);

describe("AnthropicStreamDecoder (testdata/stream-decoder)", () => {
  it("has the fixtures the brief lists", () => {
    expect(cases.map(([f]) => f).sort()).toEqual([
      "overloaded-error.sse",
      "redacted-thinking-stop-sequence.sse",
      "server-tool-skipped.sse",
      "text-thinking-tool.sse",
      "truncated.sse",
    ]);
  });

  describe.each(cases)("%s", (_file, bytes, expected) => {
    it("whole", () => {
      const got = decode([bytes]);
      expect(got).toEqual(expected);
      expect(JSON.stringify(got)).not.toContain("\uFFFD");
    });

    it("byte by byte", () => {
      expect(decode(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(expected);
    });

    it("split at every byte offset", () => {
      for (let i = 0; i <= bytes.length; i++) {
        const got = decode([bytes.subarray(0, i), bytes.subarray(i)]);
        if (JSON.stringify(got) !== JSON.stringify(expected)) expect(got, `split at ${i}`).toEqual(expected);
      }
    });
  });
});

const ev = (data: unknown, event?: string): SseEvent => ({ event: event ?? (data as { type?: string }).type, data: typeof data === "string" ? data : JSON.stringify(data) });
const START = ev({ type: "message_start", message: { id: "msg_1", model: "m", usage: { input_tokens: 5, output_tokens: 1 } } });
const TEXT_START = ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
const TOOL_START = ev({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} } });
const STOP0 = ev({ type: "content_block_stop", index: 0 });
const MESSAGE_STOP = ev({ type: "message_stop" });

/** `{"a":{"a":…{}…}}`: `levels` nested objects, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`;

/** A tool_use content_block_start whose initial input nests `levels` objects deep, written as text (no recursion). */
function deepToolStart(levels: number): SseEvent {
  return { event: "content_block_start", data: `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":${nestedText(levels)}}}` };
}

function run(events: SseEvent[]): ChatEvent[] {
  const decoder = new AnthropicStreamDecoder();
  const out: ChatEvent[] = [];
  for (const e of events) out.push(...decoder.push(e));
  out.push(...decoder.end());
  return out;
}

function failure(events: SseEvent[]): { reason: Reason; message: string } {
  try {
    run(events);
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    return { reason: err.reason, message: err.rawMessage };
  }
  throw new Error("no error");
}

describe("AnthropicStreamDecoder", () => {
  it.each<[string, SseEvent[], Reason, string]>([
    ["unparsable JSON", [START, { event: "content_block_start", data: "{not json" }], Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event"],
    ["data that is not an object", [START, { event: "message_delta", data: "42" }], Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event"],
    ["event: error", [START, ev({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, "error")], Reason.UPSTREAM_OVERLOADED, "upstream is overloaded"],
    ["an error body without the event name (the account's rate limit is not passed on)", [ev({ type: "error", error: { type: "rate_limit_error", message: "slow down" } }, "")], Reason.RATE_LIMITED, "the upstream provider's rate limit was exceeded"],
    ["event: error with an unexpected body", [{ event: "error", data: '{"oops":1}' }], Reason.UPSTREAM_FAILED, "upstream request failed"],
    ["a block before message_start", [TEXT_START], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["two message_start", [START, START], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["a block opened while another is open", [START, TEXT_START, ev({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } })], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["a delta for another index", [START, TEXT_START, ev({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "x" } })], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["a text_delta for a tool_use block", [START, TOOL_START, ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "x" } })], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["message_stop inside a block", [START, TEXT_START, MESSAGE_STOP], Reason.UPSTREAM_FAILED, "upstream stream events out of order"],
    ["a tool_use block without id", [START, ev({ type: "content_block_start", index: 0, content_block: { type: "tool_use", name: "f", input: {} } })], Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event"],
    ["an initial tool input nested past the depth limit", [START, deepToolStart(MAX_JSON_DEPTH + 1)], Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event"],
    ["an initial tool input nested 100,000 deep", [START, deepToolStart(100_000)], Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event"],
    ["an empty body", [], Reason.UPSTREAM_FAILED, "upstream stream ended before completion"],
    ["a body that ends after message_delta", [START, ev({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 3 } })], Reason.UPSTREAM_FAILED, "upstream stream ended before completion"],
  ])("throws on %s", (_name, events, reason, message) => {
    expect(failure(events)).toEqual({ reason, message });
  });

  it("ignores pings, unknown events, empty data and anything after message_stop", () => {
    expect(
      run([
        ev({ type: "ping" }),
        START,
        { event: undefined, data: "" },
        ev({ type: "future_event_2030", x: 1 }),
        TEXT_START,
        ev({ type: "content_block_delta", index: 0, delta: { type: "future_delta", x: 1 } }),
        STOP0,
        MESSAGE_STOP,
        ev({ type: "message_start", message: {} }),
      ]),
    ).toEqual([
      { type: "start", id: "msg_1", model: "m", usage: { inputTokens: 5, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 } },
      { type: "block_start", index: 0, block: { type: "text" } },
      { type: "block_stop", index: 0 },
      { type: "finish", stopReason: "end_turn", stopSequence: null, usage: { inputTokens: 5, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 } },
    ]);
  });

  it("merges usage: output overwritten, input/cache only when present, stop reason kept against a later null", () => {
    const out = run([
      ev({ type: "message_start", message: { id: "msg_1", model: "m", usage: { input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 1 } } }),
      ev({ type: "message_delta", delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { output_tokens: 7, input_tokens: null } }),
      ev({ type: "message_delta", delta: { stop_reason: null, stop_sequence: null }, usage: { output_tokens: 9, cache_creation_input_tokens: 4 } }),
      MESSAGE_STOP,
    ]);
    expect(out.at(-1)).toEqual({ type: "finish", stopReason: "max_tokens", stopSequence: null, usage: { inputTokens: 5, outputTokens: 9, cacheReadTokens: 100, cacheCreationTokens: 4 } });
  });

  it("passes an initial tool input nested exactly to the depth limit on whole", () => {
    const out = run([START, deepToolStart(MAX_JSON_DEPTH), STOP0, MESSAGE_STOP]);
    expect(out[2]).toEqual({ type: "tool_input_delta", index: 0, partialJson: nestedText(MAX_JSON_DEPTH) });
  });

  it("passes a non-empty initial tool input and initial text on as deltas", () => {
    const out = run([
      START,
      ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "Hi" } }),
      STOP0,
      ev({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } } }),
      ev({ type: "content_block_stop", index: 1 }),
      MESSAGE_STOP,
    ]);
    expect(out.slice(1, -1)).toEqual([
      { type: "block_start", index: 0, block: { type: "text" } },
      { type: "text_delta", index: 0, text: "Hi" },
      { type: "block_stop", index: 0 },
      { type: "block_start", index: 1, block: { type: "tool_use", id: "toolu_1", name: "f" } },
      { type: "tool_input_delta", index: 1, partialJson: '{"a":1}' },
      { type: "block_stop", index: 1 },
    ]);
  });
});
