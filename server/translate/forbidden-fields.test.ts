import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../errors/llmux-error.js";
import { validateAnthropicRequest } from "./anthropic/validate.js";
import { FORBIDDEN_FIELDS } from "./forbidden-fields.js";
import { validateOpenAIRequest } from "./openai/validate.js";

function rejection(validate: (body: unknown) => unknown, body: unknown): { reason: Reason; message: string; param: string | undefined } {
  try {
    validate(body);
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    return { reason: err.reason, message: err.rawMessage, param: err.param };
  }
  throw new Error("accepted");
}

const OPENAI = { model: "gpt-test", messages: [{ role: "user", content: "hi" }] };
const ANTHROPIC = { model: "claude-test", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

describe("FORBIDDEN_FIELDS", () => {
  it("lists the fields that would redirect a call or carry credentials", () => {
    expect(FORBIDDEN_FIELDS).toEqual(["api_base", "base_url", "api_key", "extra_headers", "headers", "api_version"]);
  });

  // Any value, null included: the field's presence is the attempt.
  it.each(FORBIDDEN_FIELDS.flatMap((field) => [[field, "http://attacker.example"] as const, [field, null] as const]))("%s: %s is refused by both dialects", (field, value) => {
    expect(rejection(validateOpenAIRequest, { ...OPENAI, [field]: value })).toEqual({
      reason: Reason.INVALID_REQUEST,
      message: `${field} is not allowed: llmux decides where requests go`,
      param: field,
    });
    expect(rejection(validateAnthropicRequest, { ...ANTHROPIC, [field]: value })).toEqual({
      reason: Reason.INVALID_REQUEST,
      message: `${field}: not allowed: llmux decides where requests go`,
      param: field,
    });
  });

  it("is checked at the top level only: the same names inside a tool schema or metadata are data", () => {
    const schema = { type: "object", properties: { base_url: { type: "string" }, headers: { type: "object" } } };
    expect(() => validateOpenAIRequest({ ...OPENAI, tools: [{ type: "function", function: { name: "f", parameters: schema } }] })).not.toThrow();
    expect(() => validateAnthropicRequest({ ...ANTHROPIC, tools: [{ name: "f", input_schema: schema }], metadata: { api_key: "x" } })).not.toThrow();
  });
});
