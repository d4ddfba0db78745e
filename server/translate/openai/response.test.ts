import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Reason } from "../../errors/llmux-error.js";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import type { CanonicalResponse, EncodeContext, StopReason } from "../canonical.js";
import { canonicalToOpenaiResponse, openaiResponseToCanonical } from "./response.js";

const TESTDATA = new URL("./testdata/", import.meta.url);

function cases<T>(folder: string): Array<[string, T]> {
  const dir = new URL(`${folder}/`, TESTDATA);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [f.slice(0, -".json".length), JSON.parse(readFileSync(new URL(f, dir), "utf8")) as T]);
}

const completion = (message: Record<string, unknown>, finishReason: unknown = "stop") => ({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason }],
});

/** `{"a":{"a":…{}…}}`: `levels` nested objects, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`;

describe("openaiResponseToCanonical", () => {
  it.each(cases<{ input: unknown; toolNames: Array<[string, string]>; expected: unknown }>("response-to-canonical"))("%s", (_, fixture) => {
    expect(openaiResponseToCanonical(fixture.input, new Map(fixture.toolNames))).toEqual(fixture.expected);
  });

  it.each<[unknown, StopReason]>([
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["function_call", "tool_use"],
    ["content_filter", "refusal"],
    [null, "end_turn"],
    ["eos", "end_turn"],
  ])("finish_reason %s → %s", (finishReason, stopReason) => {
    expect(openaiResponseToCanonical(completion({ content: "x" }, finishReason), new Map()).stopReason).toBe(stopReason);
  });

  it.each([
    ["a string", "oops"],
    ["no choices", { id: "x" }],
    ["a choice without message", { choices: [{ index: 0 }] }],
    ["an empty choices array", { choices: [] }],
    ["numeric content", completion({ content: 5 })],
    ["a tool call without name", completion({ tool_calls: [{ id: "a", type: "function", function: { arguments: "{}" } }] })],
    ["tool_calls not an array", completion({ tool_calls: {} })],
    ["arguments nested past the depth limit", completion({ tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: nestedText(MAX_JSON_DEPTH + 1) } }] })],
    ["arguments nested 100,000 deep", completion({ tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: nestedText(100_000) } }] })],
    ["an argument object nested past the limit", completion({ tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: JSON.parse(nestedText(MAX_JSON_DEPTH + 1)) } }] })],
  ])("rejects %s as UPSTREAM_FAILED", (_, body) => {
    expect(() => openaiResponseToCanonical(body, new Map())).toThrow(
      expect.objectContaining({ reason: Reason.UPSTREAM_FAILED, rawMessage: "upstream returned an invalid response" }),
    );
  });

  it("never makes an empty text block, and turns a refusal into text", () => {
    expect(openaiResponseToCanonical(completion({ content: "", refusal: null }), new Map()).content).toEqual([]);
    expect(openaiResponseToCanonical(completion({ content: null, refusal: "I can't." }, "content_filter"), new Map()).content).toEqual([
      { type: "text", text: "I can't." },
    ]);
  });

  it("keeps arguments nested exactly to the depth limit", () => {
    const body = completion({ tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: nestedText(MAX_JSON_DEPTH) } }] });
    expect(openaiResponseToCanonical(body, new Map()).content).toEqual([{ type: "tool_use", id: "a", name: "f", input: JSON.parse(nestedText(MAX_JSON_DEPTH)) }]);
  });

  it("reads text parts, argument objects and missing ids", () => {
    const body = completion({
      content: [{ type: "text", text: "a" }, { type: "text", text: "b" }],
      tool_calls: [{ type: "function", function: { name: "f", arguments: { x: 1 } } }],
    });
    expect(openaiResponseToCanonical(body, new Map()).content).toEqual([
      { type: "text", text: "ab" },
      { type: "tool_use", id: "call_0", name: "f", input: { x: 1 } },
    ]);
  });
});

describe("canonicalToOpenaiResponse", () => {
  it.each(cases<{ input: CanonicalResponse; ctx: EncodeContext; expected: unknown }>("canonical-to-response"))("%s", (_, fixture) => {
    expect(canonicalToOpenaiResponse(fixture.input, fixture.ctx)).toEqual(fixture.expected);
  });

  it.each<[StopReason, string]>([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["pause_turn", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ])("%s → finish_reason %s", (stopReason, finishReason) => {
    const resp: CanonicalResponse = {
      id: "m",
      model: "m",
      content: [{ type: "text", text: "x" }],
      stopReason,
      stopSequence: null,
      usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 },
    };
    const out = canonicalToOpenaiResponse(resp, { id: "c", model: "m", created: 1 }) as { choices: Array<{ finish_reason: string }> };
    expect(out.choices[0]!.finish_reason).toBe(finishReason);
  });
});
