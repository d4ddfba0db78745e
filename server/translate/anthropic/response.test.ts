import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import type { CanonicalResponse, EncodeContext } from "../canonical.js";
import { anthropicResponseToCanonical, canonicalToAnthropicResponse } from "./response.js";

function fixtures(folder: string): Array<[string, Record<string, unknown>]> {
  const dir = new URL(`./testdata/${folder}/`, import.meta.url);
  return readdirSync(dir).map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), "utf8")) as Record<string, unknown>]);
}

/** `levels` nested objects, parsed from text as an upstream answer would be (building it needs no recursion). */
function nested(levels: number): Record<string, unknown> {
  return JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`) as Record<string, unknown>;
}

const MESSAGE = { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 1, output_tokens: 2 } };

describe("anthropicResponseToCanonical (testdata/response-to-canonical)", () => {
  it.each(fixtures("response-to-canonical"))("%s", (_file, c) => {
    expect(anthropicResponseToCanonical(c["input"])).toEqual(c["expected"]);
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "<html>502 Bad Gateway</html>"],
    ["an array", [MESSAGE]],
    ["an error body", { type: "error", error: { type: "api_error", message: "boom" } }],
    ["content not an array", { ...MESSAGE, content: "hi" }],
    ["id missing", { ...MESSAGE, id: undefined }],
    ["a block that is not an object", { ...MESSAGE, content: ["hi"] }],
    ["text block without text", { ...MESSAGE, content: [{ type: "text" }] }],
    ["tool_use with string input", { ...MESSAGE, content: [{ type: "tool_use", id: "t", name: "f", input: "{}" }] }],
    ["tool_use without id", { ...MESSAGE, content: [{ type: "tool_use", name: "f", input: {} }] }],
    ["tool_use input nested past the depth limit", { ...MESSAGE, content: [{ type: "tool_use", id: "t", name: "f", input: nested(MAX_JSON_DEPTH + 1) }] }],
    ["tool_use input nested 100,000 deep", { ...MESSAGE, content: [{ type: "tool_use", id: "t", name: "f", input: nested(100_000) }] }],
  ])("rejects %s as UPSTREAM_FAILED", (_name, body) => {
    const err = (() => {
      try {
        anthropicResponseToCanonical(body);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LlmuxError);
    expect(err).toMatchObject({ reason: Reason.UPSTREAM_FAILED, rawMessage: "upstream returned an invalid response" });
  });

  it.each([
    ["missing", { ...MESSAGE, usage: undefined }, { inputTokens: 0, outputTokens: 0 }],
    ["without output_tokens", { ...MESSAGE, usage: { input_tokens: 1 } }, { inputTokens: 1, outputTokens: 0 }],
    ["of the wrong type", { ...MESSAGE, usage: "lots" }, { inputTokens: 0, outputTokens: 0 }],
  ])("reads usage %s as unknown (zero), keeping the content (F24)", (_name, body, usage) => {
    const response = anthropicResponseToCanonical(body);
    expect(response.usage).toMatchObject({ ...usage, cacheReadTokens: 0, cacheCreationTokens: 0 });
    expect(response.content).toEqual(anthropicResponseToCanonical(MESSAGE).content);
  });

  it("keeps a tool_use input nested exactly to the depth limit", () => {
    const input = nested(MAX_JSON_DEPTH);
    expect(anthropicResponseToCanonical({ ...MESSAGE, content: [{ type: "tool_use", id: "t", name: "f", input }] }).content).toEqual([{ type: "tool_use", id: "t", name: "f", input }]);
  });

  it("reads an unknown stop_reason as end_turn and a missing model as empty", () => {
    expect(anthropicResponseToCanonical({ ...MESSAGE, model: undefined, stop_reason: "brand_new_reason" })).toMatchObject({ model: "", stopReason: "end_turn" });
  });
});

describe("canonicalToAnthropicResponse (testdata/canonical-to-response)", () => {
  it.each(fixtures("canonical-to-response"))("%s", (_file, c) => {
    expect(canonicalToAnthropicResponse(c["input"] as CanonicalResponse, c["ctx"] as EncodeContext)).toEqual(c["expected"]);
  });

  it("gives back what it reads from an Anthropic upstream", () => {
    for (const [file, c] of fixtures("response-to-canonical")) {
      const canonical = c["expected"] as CanonicalResponse;
      const ctx = { id: canonical.id, model: canonical.model, created: 0 };
      expect(anthropicResponseToCanonical(canonicalToAnthropicResponse(canonical, ctx)), file).toEqual({ ...canonical, usage: { ...canonical.usage, reasoningTokens: undefined } });
    }
  });
});
