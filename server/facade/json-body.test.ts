import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../errors/llmux-error.js";
import { parseJsonBody } from "./json-body.js";

/** What the parser hands Fastify for `text`: the value, or the refusal (reason, message, param). */
function parse(text: string | Buffer, request = {} as FastifyRequest): { value: unknown } | { reason: string; message: string; param: string | undefined } {
  let outcome: { value: unknown } | { reason: string; message: string; param: string | undefined } | undefined;
  parseJsonBody(request, typeof text === "string" ? Buffer.from(text) : text, (err, body) => {
    if (err === null) outcome = { value: body };
    else if (err instanceof LlmuxError) outcome = { reason: Reason[err.reason], message: err.rawMessage, param: err.param };
    else throw err;
  });
  return outcome!;
}

const POISONED = 'request body has a "__proto__" key or a "constructor" with a "prototype", which llmux refuses';
const outOfRange = (param: string) => ({
  reason: "INVALID_REQUEST",
  message: `${param}: number out of range (it overflows to Infinity; JSON numbers must be finite)`,
  param,
});

describe("parseJsonBody", () => {
  it.each<[string, string, unknown]>([
    ["OpenAI top_k", '{"model":"m","top_k":1e309,"messages":[]}', outOfRange("top_k")],
    ["OpenAI presence_penalty", '{"model":"m","presence_penalty":-1e309,"messages":[]}', outOfRange("presence_penalty")],
    ["OpenAI seed", '{"model":"m","seed":1e309,"messages":[]}', outOfRange("seed")],
    ["OpenAI thinking.budget_tokens", '{"model":"m","thinking":{"budget_tokens":1e309},"messages":[]}', outOfRange("thinking.budget_tokens")],
    ["Anthropic metadata.user_id", '{"model":"m","max_tokens":1,"metadata":{"user_id":1e309},"messages":[]}', outOfRange("metadata.user_id")],
    ["a number inside a tool schema", '{"tools":[{"input_schema":{"properties":{"n":{"maximum":2e308}}}}]}', outOfRange("tools.0.input_schema.properties.n.maximum")],
    ["a __proto__ key", '{"model":"m","__proto__":{"x":1}}', { reason: "INVALID_REQUEST", message: POISONED, param: undefined }],
  ])("refuses %s", (_, text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it("names at most 16 levels of the path of a number nested deeper", () => {
    const refusal = parse(`{"a":${"[".repeat(100_000)}1e309${"]".repeat(100_000)}}`);
    expect(refusal).toEqual(outOfRange(["a", ...Array.from({ length: 15 }, () => 0)].join(".")));
  });

  it("accepts the largest finite numbers and hands on the parsed value", () => {
    expect(parse('{"a":1.7976931348623157e308,"b":-5e-324,"c":"1e309"}')).toEqual({ value: { a: 1.7976931348623157e308, b: -5e-324, c: "1e309" } });
  });

  it("ignores a leading byte-order mark and decodes the body as UTF-8", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"text":"héllo ☃ 𝄞"}')]);
    expect(parse(bytes)).toEqual({ value: { text: "héllo ☃ 𝄞" } });
  });

  it("leaves the bytes of an accepted body on the request, and none of a refused one", () => {
    const accepted = {} as FastifyRequest;
    const bytes = Buffer.from('{"model":"m"}');
    parse(bytes, accepted);
    expect(accepted.jsonBytes).toBe(bytes);
    const refused = {} as FastifyRequest;
    expect(parse('{"model":', refused)).toEqual({ reason: "INVALID_REQUEST", message: "request body is not valid JSON", param: undefined });
    expect(refused.jsonBytes).toBeUndefined();
  });
});
