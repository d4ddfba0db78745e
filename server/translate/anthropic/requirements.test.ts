import { describe, expect, it } from "vitest";
import { IMAGE_TOKEN_ESTIMATE } from "../requirements.js";
import { anthropicRequirements } from "./requirements.js";
import { validateAnthropicRequest } from "./validate.js";

const IMAGE = { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } };

describe("anthropicRequirements", () => {
  it("counts system, text, tool_use input, tool results and tools, plus every image", () => {
    const body = validateAnthropicRequest({
      model: "claude-sonnet-4-6",
      max_tokens: 500,
      system: "abcd", // 4
      messages: [
        { role: "user", content: "hello" }, // 5
        {
          role: "assistant",
          content: [
            { type: "text", text: "hi!" }, // 3
            { type: "thinking", thinking: "not counted: the API strips earlier thinking", signature: "s" },
            { type: "tool_use", id: "t1", name: "get", input: { a: 1 } }, // {"a":1} = 7
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "ok" }, IMAGE] }, // 2 + image
            { type: "tool_result", tool_use_id: "t2", content: "done" }, // 4
            IMAGE,
          ],
        },
        { role: "system", content: "sys" }, // 3
      ],
      tools: [
        { name: "get", description: "desc", input_schema: { type: "object" } }, // 3 + 4 + 17
        { type: "web_search_20250305", name: "web_search" }, // 10
      ],
    });
    expect(anthropicRequirements(body)).toEqual({
      model: "claude-sonnet-4-6",
      promptTokens: Math.ceil(62 / 4) + 2 * IMAGE_TOKEN_ESTIMATE,
      maxOutputTokens: 500,
      hasImages: true,
      wantsThinking: false,
    });
  });

  it("reads system text blocks and reports no images when there are none", () => {
    const body = validateAnthropicRequest({
      model: "m",
      max_tokens: 32000,
      system: [{ type: "text", text: "12345678" }, { type: "text", text: "90", cache_control: null }],
      messages: [{ role: "user", content: [{ type: "text", text: "abc" }] }],
    });
    expect(anthropicRequirements(body)).toEqual({ model: "m", promptTokens: 4, maxOutputTokens: 32000, hasImages: false, wantsThinking: false });
  });

  it.each<[unknown, boolean]>([
    [undefined, false],
    [{ type: "disabled" }, false],
    [{ type: "enabled", budget_tokens: 1024 }, true],
    [{ type: "adaptive" }, true],
    [{ type: "between_tools" }, true],
  ])("thinking %j → wantsThinking %s", (thinking, wants) => {
    const body = validateAnthropicRequest({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }], ...(thinking !== undefined && { thinking }) });
    expect(anthropicRequirements(body).wantsThinking).toBe(wants);
  });
});
