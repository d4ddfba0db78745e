import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { anthropicRequestToCanonical } from "./request.js";
import { anthropicRequirements } from "./requirements.js";
import { validateAnthropicRequest } from "./validate.js";

const TOOLS = [{ name: "get_weather", input_schema: { type: "object" } }];

/** A minimal valid body with `patch` applied (a key set to undefined is removed). */
function body(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...patch };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

function userBlocks(...blocks: unknown[]): Record<string, unknown> {
  return body({ messages: [{ role: "user", content: blocks }] });
}

function rejection(input: unknown): { reason: Reason; message: string; param: string | undefined } {
  try {
    validateAnthropicRequest(input);
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    return { reason: err.reason, message: err.rawMessage, param: err.param };
  }
  throw new Error("accepted");
}

function nested(depth: number): unknown {
  let v: unknown = {};
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe("validateAnthropicRequest", () => {
  // reliability.md §3 rows 10, 12–17, 28, 29 as they apply to a parsed body (row 11, __proto__, is the HTTP layer's).
  it.each<[string, unknown, string | undefined, string]>([
    ["#10 top-level array", [], undefined, "request body must be a JSON object"],
    ["#10 top-level string", "x", undefined, "request body must be a JSON object"],
    ["#10 top-level null", null, undefined, "request body must be a JSON object"],
    ["#13 model missing", body({ model: undefined }), "model", "model: field required"],
    ["#13 model non-string", body({ model: 42 }), "model", "model: must be a string"],
    ["#13 model empty", body({ model: "" }), "model", "model: must not be empty"],
    ["#13 model of 10k characters", body({ model: "m".repeat(10_000) }), "model", "model: must be at most 256 characters"],
    ["#13 model with CRLF", body({ model: "claude\r\nX-Injected: 1" }), "model", "model: must not contain control characters"],
    ["#13 model with NUL", body({ model: "claude\u0000" }), "model", "model: must not contain control characters"],
    ["#14 messages missing", body({ messages: undefined }), "messages", "messages: field required"],
    ["#14 messages empty", body({ messages: [] }), "messages", "messages: must contain at least one message"],
    ["#14 messages not an array", body({ messages: { role: "user" } }), "messages", "messages: must be an array"],
    [
      "#14 100 001 messages",
      body({ messages: Array.from({ length: 100_001 }, () => ({ role: "user", content: "x" })) }),
      "messages",
      "messages: must contain at most 100000 messages",
    ],
    ["#15 message not an object", body({ messages: ["hi"] }), "messages.0", "messages.0: must be an object"],
    ["#15 bad role", body({ messages: [{ role: "robot", content: "hi" }] }), "messages.0.role", "messages.0.role: must be one of user, assistant, system"],
    ["#15 content is a number", body({ messages: [{ role: "user", content: 42 }] }), "messages.0.content", "messages.0.content: must be a string or an array of content blocks"],
    ["#15 content missing", body({ messages: [{ role: "user" }] }), "messages.0.content", "messages.0.content: must be a string or an array of content blocks"],
    [
      "#15 unknown block type",
      body({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: [{ type: "video", url: "x" }] }] }),
      "messages.2.content.0.type",
      'messages.2.content.0.type: unknown content block type "video"',
    ],
    ["#15 block type missing", userBlocks({ text: "hi" }), "messages.0.content.0.type", "messages.0.content.0.type: field required"],
    ["#15 text not a string", userBlocks({ type: "text", text: 5 }), "messages.0.content.0.text", "messages.0.content.0.text: must be a string"],
    [
      "#15 image source type",
      userBlocks({ type: "image", source: { type: "ftp", url: "ftp://x" } }),
      "messages.0.content.0.source.type",
      "messages.0.content.0.source.type: must be one of base64, url, file",
    ],
    ["#15 base64 image without data", userBlocks({ type: "image", source: { type: "base64", media_type: "image/png" } }), "messages.0.content.0.source.data", "messages.0.content.0.source.data: field required"],
    ["#15 tool_use input not an object", userBlocks({ type: "tool_use", id: "t", name: "f", input: "{}" }), "messages.0.content.0.input", "messages.0.content.0.input: must be an object"],
    ["#15 tool_result without id", userBlocks({ type: "tool_result", content: "ok" }), "messages.0.content.0.tool_use_id", "messages.0.content.0.tool_use_id: field required"],
    [
      "#15 tool_result content block type",
      userBlocks({ type: "tool_result", tool_use_id: "t", content: [{ type: "audio" }] }),
      "messages.0.content.0.content.0.type",
      'messages.0.content.0.content.0.type: unknown tool_result content block type "audio"',
    ],
    ["#15 is_error not boolean", userBlocks({ type: "tool_result", tool_use_id: "t", is_error: "yes" }), "messages.0.content.0.is_error", "messages.0.content.0.is_error: must be a boolean"],
    [
      "#15 image in a system message",
      body({ messages: [{ role: "user", content: "a" }, { role: "system", content: [{ type: "image", source: { type: "url", url: "https://x" } }] }] }),
      "messages.1.content.0.type",
      "messages.1.content.0.type: system messages may contain only text blocks",
    ],
    ["#15 cache_control of the wrong type", userBlocks({ type: "text", text: "a", cache_control: "ephemeral" }), "messages.0.content.0.cache_control", "messages.0.content.0.cache_control: must be null or an object with a type"],
    ["#16 max_tokens -1", body({ max_tokens: -1 }), "max_tokens", "max_tokens: must be a positive integer"],
    ["#16 max_tokens 0", body({ max_tokens: 0 }), "max_tokens", "max_tokens: must be a positive integer"],
    ["#16 max_tokens 1.5", body({ max_tokens: 1.5 }), "max_tokens", "max_tokens: must be a positive integer"],
    ['#16 max_tokens "100"', body({ max_tokens: "100" }), "max_tokens", "max_tokens: must be a positive integer"],
    ["#16 max_tokens 1e309 (Infinity)", JSON.parse('{"model":"m","max_tokens":1e309,"messages":[{"role":"user","content":"hi"}]}'), "max_tokens", "max_tokens: must be a positive integer"],
    ['#16 temperature "hot"', body({ temperature: "hot" }), "temperature", "temperature: must be a number between 0 and 1"],
    ["#16 top_p null", body({ top_p: null }), "top_p", "top_p: must be a number between 0 and 1"],
    ["#16 top_k 1.5", body({ top_k: 1.5 }), "top_k", "top_k: must be a non-negative integer"],
    ["#16 top_k -1", body({ top_k: -1 }), "top_k", "top_k: must be a non-negative integer"],
    ["#16 temperature -0.5", body({ temperature: -0.5 }), "temperature", "temperature: must be a number between 0 and 1"],
    ["#16 temperature 1.5 (OpenAI's range, not Anthropic's)", body({ temperature: 1.5 }), "temperature", "temperature: must be a number between 0 and 1"],
    ["#16 temperature Infinity", body({ temperature: Infinity }), "temperature", "temperature: must be a number between 0 and 1"],
    ["#16 top_p 1.01", body({ top_p: 1.01 }), "top_p", "top_p: must be a number between 0 and 1"],
    ["#16 top_p -0.1", body({ top_p: -0.1 }), "top_p", "top_p: must be a number between 0 and 1"],
    ["#16 top_p NaN", body({ top_p: NaN }), "top_p", "top_p: must be a number between 0 and 1"],
    ['#17 stream "true"', body({ stream: "true" }), "stream", "stream: must be a boolean"],
    ["#17 stream 1", body({ stream: 1 }), "stream", "stream: must be a boolean"],
    ["#28 max_tokens missing", body({ max_tokens: undefined }), "max_tokens", "max_tokens: field required"],
    ["#28 system a number", body({ system: 42 }), "system", "system: must be a string or an array of text blocks"],
    ["#28 system with an image block", body({ system: [{ type: "image", source: { type: "url", url: "https://x" } }] }), "system.0.type", 'system.0.type: must be "text"'],
    ["#28 system block text missing", body({ system: [{ type: "text" }] }), "system.0.text", "system.0.text: field required"],
    ["#29 tool_choice names an undeclared tool", body({ tools: TOOLS, tool_choice: { type: "tool", name: "get_time" } }), "tool_choice.name", 'tool_choice.name: tool "get_time" is not defined in tools'],
    ["#29 tool_choice tool without tools", body({ tool_choice: { type: "tool", name: "get_weather" } }), "tool_choice.name", 'tool_choice.name: tool "get_weather" is not defined in tools'],
    ["#29 tool_choice of unknown type", body({ tools: TOOLS, tool_choice: { type: "required" } }), "tool_choice.type", "tool_choice.type: must be one of auto, any, tool, none"],
    ["#29 tool_choice a string", body({ tools: TOOLS, tool_choice: "auto" }), "tool_choice", "tool_choice: must be an object"],
    ["tool without name", body({ tools: [{ input_schema: { type: "object" } }] }), "tools.0.name", "tools.0.name: field required"],
    ["tool with empty name", body({ tools: [{ name: "", input_schema: {} }] }), "tools.0.name", "tools.0.name: must be a non-empty string"],
    ["custom tool without schema", body({ tools: [{ name: "f" }] }), "tools.0.input_schema", "tools.0.input_schema: field required"],
    ["tools not an array", body({ tools: { name: "f" } }), "tools", "tools: must be an array"],
    ["stop_sequences a string", body({ stop_sequences: "STOP" }), "stop_sequences", "stop_sequences: must be an array of strings"],
    ["stop_sequences with a number", body({ stop_sequences: ["a", 1] }), "stop_sequences.1", "stop_sequences.1: must be a string"],
    ["thinking of unknown type", body({ thinking: { type: "on" } }), "thinking.type", "thinking.type: must be one of enabled, adaptive, disabled, between_tools"],
    ["thinking enabled without budget", body({ thinking: { type: "enabled" } }), "thinking.budget_tokens", "thinking.budget_tokens: field required"],
    ["output_config.effort unknown", body({ output_config: { effort: "extreme" } }), "output_config.effort", "output_config.effort: must be one of low, medium, high, xhigh, max"],
    ["output_config.format not json_schema", body({ output_config: { format: { type: "json_object" } } }), "output_config.format.type", 'output_config.format.type: must be "json_schema"'],
  ])("%s", (_name, input, param, message) => {
    expect(rejection(input)).toEqual({ reason: Reason.INVALID_REQUEST, param, message });
  });

  it("#12 rejects a 100 000-deep tool input without overflowing the stack", () => {
    // Built as JSON text and parsed, like the HTTP layer would (JSON.parse itself copes with the depth).
    const input = "[".repeat(100_000) + "]".repeat(100_000);
    const parsed = JSON.parse(`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"x":${input}}}]}]}`);
    expect(rejection(parsed)).toEqual({
      reason: Reason.INVALID_REQUEST,
      param: "messages.0.content.0.input",
      message: `messages.0.content.0.input: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it("accepts nesting just inside the limit, and the translators handle it", () => {
    // body → messages → 0 → content → 0 → input: the input object itself sits 5 levels down.
    const input = nested(MAX_JSON_DEPTH - 6);
    const req = validateAnthropicRequest(body({ messages: [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input }] }] }));
    expect(anthropicRequestToCanonical(req).messages[0]!.content[0]).toEqual({ type: "tool_use", id: "t", name: "f", input });
    expect(anthropicRequirements(req).promptTokens).toBe(Math.ceil(JSON.stringify(input).length / 4));
    expect(rejection(body({ messages: [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: nested(MAX_JSON_DEPTH - 5) }] }] })).param).toBe(
      "messages.0.content.0.input",
    );
  });

  it("accepts 100 000 messages (validation is linear)", () => {
    const messages = Array.from({ length: 100_000 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: [{ type: "text", text: "x" }] }));
    expect(validateAnthropicRequest(body({ messages })).messages).toHaveLength(100_000);
  });

  it.each<[string, Record<string, unknown>]>([
    ["unknown top-level fields (passed through on Anthropic routes)", body({ context_management: { edits: [] }, betas_unknown: 1, container: "c" })],
    ["Claude Code's cache_control: null and ttl", body({ system: [{ type: "text", text: "a", cache_control: null }, { type: "text", text: "b", cache_control: { type: "ephemeral", ttl: "5m" } }] })],
    ["mid-conversation system message with text blocks", body({ messages: [{ role: "user", content: "a" }, { role: "system", content: [{ type: "text", text: "s" }] }] })],
    ["server tools and a forced server tool", body({ tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 3 }], tool_choice: { type: "tool", name: "web_search" } })],
    ["server-tool history blocks", userBlocks({ type: "server_tool_use", id: "s", name: "web_search", input: {} }, { type: "web_search_tool_result", tool_use_id: "s", content: [] })],
    ["documents and file images (rejected later, per backend)", userBlocks({ type: "document", source: { type: "base64" } }, { type: "image", source: { type: "file", file_id: "f" } })],
    ["thinking with and without signature, redacted thinking", body({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }, { type: "thinking", thinking: "u" }, { type: "redacted_thinking", data: "d" }] }] })],
    ["tool_result content as string, blocks, or absent", userBlocks({ type: "tool_result", tool_use_id: "a", content: "x" }, { type: "tool_result", tool_use_id: "b", content: [{ type: "text", text: "y" }, { type: "image", source: { type: "url", url: "https://i" } }], is_error: true }, { type: "tool_result", tool_use_id: "c" })],
    ["every thinking type and null output_config fields", body({ thinking: { type: "between_tools" }, output_config: { effort: null, format: null }, output_format: null })],
    ["temperature, top_p, top_k, stop_sequences, stream", body({ temperature: 0, top_p: 1, top_k: 0, stop_sequences: [], stream: false })],
    ["temperature and top_p at the other ends of their ranges", body({ temperature: 1, top_p: 0 })],
  ])("accepts %s", (_name, input) => {
    expect(validateAnthropicRequest(input)).toBe(input);
  });

  it("accepts every golden request fixture (Claude Code and Anthropic SDK bodies)", () => {
    const dir = new URL("./testdata/request-to-canonical/", import.meta.url);
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const { input } = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as { input: unknown };
      expect(() => validateAnthropicRequest(input), file).not.toThrow();
    }
  });
});
