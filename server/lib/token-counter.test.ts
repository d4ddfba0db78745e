import { describe, expect, it } from "vitest";
import { encodingForModel, loadTokenCounter } from "./token-counter.js";

describe("token counter", () => {
  it.each([
    ["gpt-4o-mini", "o200k_base"],
    ["openai/gpt-4.1", "o200k_base"],
    ["o3", "o200k_base"],
    ["gpt-oss-120b", "o200k_base"],
    ["gpt-4-turbo", "cl100k_base"],
    ["gpt-3.5-turbo", "cl100k_base"],
    ["claude-sonnet-4-5", undefined],
    ["Qwen/Qwen3-8B", undefined],
  ])("%s uses %s", (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });

  it("counts exactly with the loaded encodings and declines the rest", async () => {
    const counter = await loadTokenCounter(["gpt-4o", "gpt-4"]);
    // Reference counts from OpenAI's tokenizer for these strings.
    expect(counter.countText("hello world", "gpt-4o")).toBe(2);
    expect(counter.countText("hello world", "gpt-4")).toBe(2);
    expect(counter.countText("Tokenization is fun!", "gpt-4o")).toBe(5);
    expect(counter.countPrompt({ text: "hello world", messages: 1 }, "gpt-4o")).toBe(2 + 3 + 3);
    expect(counter.countText("hello", "claude-3")).toBeUndefined();
  }, 30_000);

  it("loads nothing when no model needs it", async () => {
    const counter = await loadTokenCounter(["mock-small", "claude-x"]);
    expect(counter.countText("hello", "gpt-4o")).toBeUndefined();
  });
});
