import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Reason } from "../../errors/llmux-error.js";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { canonicalToAnthropicRequest } from "../anthropic/request.js";
import type { CanonicalRequest } from "../canonical.js";
import { canonicalToOpenaiRequest, DROPPED_FIELDS, openaiRequestToCanonical } from "./request.js";
import { canonicalToOpenaiResponse, openaiResponseToCanonical } from "./response.js";
import { NO_SHORTENED_NAMES } from "./tool-names.js";
import { validateOpenAIRequest } from "./validate.js";

const TESTDATA = new URL("./testdata/", import.meta.url);

/** Every `<case>.json` of a testdata folder, parsed, as `[case, fixture]` rows for it.each. */
function cases<T>(folder: string): Array<[string, T]> {
  const dir = new URL(`${folder}/`, TESTDATA);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [f.slice(0, -".json".length), JSON.parse(readFileSync(new URL(f, dir), "utf8")) as T]);
}

function decode(body: unknown): CanonicalRequest {
  return openaiRequestToCanonical(validateOpenAIRequest(body));
}

function errorOf(fn: () => unknown): { reason: unknown; param: unknown; message: unknown } {
  try {
    fn();
  } catch (err) {
    const e = err as { reason: unknown; param: unknown; rawMessage: unknown };
    return { reason: e.reason, param: e.param, message: e.rawMessage };
  }
  throw new Error("expected an error");
}

const user = (content: unknown) => ({ role: "user", content });

describe("openaiRequestToCanonical", () => {
  it.each(cases<{ input: unknown; expected: unknown }>("request-to-canonical"))("%s", (_, fixture) => {
    expect(decode(fixture.input)).toEqual(fixture.expected);
  });

  it.each([
    ["n > 1", { n: 2 }, "n", "n must be 1 for this backend"],
    ["unknown field", { top_a: 1 }, "top_a", "unrecognized request argument: top_a (llmux cannot translate it for this backend)"],
    ["legacy functions", { functions: [] }, "functions", "functions is not supported; use tools and tool_choice"],
    ["custom tool", { tools: [{ type: "custom", custom: { name: "x" } }] }, "tools.0.type", "tools of type custom are not supported for this backend"],
    ["allowed_tools choice", { tool_choice: { type: "allowed_tools" } }, "tool_choice", 'tool_choice must be "auto", "none", "required" or {type:"function", function:{name}}'],
    ["unknown effort", { reasoning_effort: "extreme" }, "reasoning_effort", "unsupported reasoning_effort: extreme"],
    ["stop of numbers", { stop: [1] }, "stop", "stop must be a string or an array of strings"],
    ["response_format type", { response_format: { type: "xml" } }, "response_format.type", "unsupported response_format type: xml"],
    ["model of 10k characters", { model: "m".repeat(10_000) }, "model", "model must be at most 256 characters"],
    ["model with CRLF", { model: "gpt\r\nX-Injected: 1" }, "model", "model must not contain control characters"],
    ["model with a C1 control", { model: "gpt\u009b31m" }, "model", "model must not contain control characters"],
  ])("refuses %s", (_, extra, param, message) => {
    const body = { model: "m", messages: [user("hi")], ...extra };
    expect(errorOf(() => decode(body))).toEqual({ reason: Reason.INVALID_REQUEST, param, message });
  });

  it.each([
    ["audio part", [user([{ type: "input_audio", input_audio: { data: "", format: "wav" } }])], "messages.0.content.0.type", "input_audio content parts are not supported for this backend"],
    ["file part", [user([{ type: "text", text: "a" }, { type: "file", file: { file_id: "f" } }])], "messages.0.content.1.type", "file content parts are not supported for this backend"],
    ["vLLM video part", [user([{ type: "video_url", video_url: { url: "https://x/a.mp4" } }])], "messages.0.content.0.type", "video_url content parts are not supported for this backend"],
    ["refusal in a user message", [user([{ type: "refusal", refusal: "no" }])], "messages.0.content.0.type", "unsupported content part type: refusal"],
    ["ftp image", [user([{ type: "image_url", image_url: { url: "ftp://x/y.png" } }])], "messages.0.content.0.image_url.url", "image_url.url must be an http(s) URL or a base64 data: URL"],
    ["non-base64 data URL", [user([{ type: "image_url", image_url: { url: "data:image/svg+xml,<svg/>" } }])], "messages.0.content.0.image_url.url", "image_url.url must be an http(s) URL or a base64 data: URL"],
    [
      "unparsable arguments",
      [user("hi"), { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{nope" } }] }],
      "messages.1.tool_calls.0.function.arguments",
      "function.arguments is not valid JSON",
    ],
    [
      "array arguments",
      [user("hi"), { role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "f", arguments: "{}" } }, { id: "c", type: "function", function: { name: "f", arguments: "[1]" } }] }],
      "messages.1.tool_calls.1.function.arguments",
      "function.arguments must encode a JSON object",
    ],
    ["tool without id", [user("hi"), { role: "tool", content: "x" }], "messages.1.tool_call_id", "tool_call_id must be a string"],
    ["function role", [user("hi"), { role: "function", name: "f", content: "x" }], "messages.1.role", "function messages are not supported; use tool messages"],
    ["image in system", [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x" } }] }], "messages.0.content.0.type", "content parts of this message must be text, not image_url"],
  ])("refuses %s", (_, messages, param, message) => {
    expect(errorOf(() => decode({ model: "m", messages }))).toEqual({ reason: Reason.INVALID_REQUEST, param, message });
  });

  describe("arguments the body's own checks could not see inside", () => {
    const DEEP = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    const withArguments = (args: string) => ({
      model: "m",
      messages: [
        user("hi"),
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: args } }] },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    });
    /** `{"a":{"a":…{}…}}`: `levels` nested objects. */
    const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`;

    it.each([
      ["nested 100,000 deep (the audit's reproduction)", DEEP, `function.arguments is nested too deeply (more than ${MAX_JSON_DEPTH} levels)`],
      ["nested one level past the limit", nested(MAX_JSON_DEPTH + 1), `function.arguments is nested too deeply (more than ${MAX_JSON_DEPTH} levels)`],
      ["with a number that overflows to Infinity", '{"x":[1,-1e309]}', "function.arguments has a number out of range (JSON numbers must be finite)"],
      ["with a __proto__ key", '{"x":{"__proto__":{"polluted":true}}}', 'function.arguments has a "__proto__" key or a "constructor" with a "prototype"'],
    ])("refuses arguments %s", (_, args, message) => {
      expect(errorOf(() => decode(withArguments(args)))).toEqual({ reason: Reason.INVALID_REQUEST, param: "messages.1.tool_calls.0.function.arguments", message });
    });

    it("accepts arguments nested exactly to the limit, and the Anthropic body serialises", () => {
      const canonical = decode(withArguments(nested(MAX_JSON_DEPTH)));
      const body = canonicalToAnthropicRequest(canonical, { model: "claude", defaultMaxTokens: 10 });
      expect(JSON.stringify(body)).toContain(nested(MAX_JSON_DEPTH));
    });
  });

  it("drops exactly the fields of DROPPED_FIELDS, whatever their value", () => {
    const base = decode({ model: "m", messages: [user("hi")] });
    for (const field of Object.keys(DROPPED_FIELDS)) {
      expect(decode({ model: "m", messages: [user("hi")], [field]: { "1": 1 } })).toEqual(base);
    }
  });

  it("treats null fields as absent", () => {
    const body = { model: "m", messages: [user("hi")], temperature: null, stop: null, tool_choice: null, reasoning_effort: null, top_a: null, n: null };
    expect(decode(body)).toEqual(decode({ model: "m", messages: [user("hi")] }));
  });

  it("keeps Anthropic-safe tool ids as the client holds them and escapes only unsafe ones", () => {
    const call = (id: string) => ({ id, type: "function", function: { name: "f", arguments: "{}" } });
    const body = {
      model: "m",
      messages: [user("hi"), { role: "assistant", content: null, tool_calls: [call("toolu_xA1b"), call("fn.f:0")] }],
    };
    expect(decode(body).messages[1]!.content.map((b) => (b.type === "tool_use" ? b.id : ""))).toEqual(["toolu_xA1b", "fn_x002e_f_x003a_0"]);
  });

  it.each(["call_xyz", "functions.get_weather:0", "toolu_01A"])("gives upstream id %s back to its upstream after a client turn", (upstreamId) => {
    const upstream = { choices: [{ message: { role: "assistant", content: null, tool_calls: [{ id: upstreamId, type: "function", function: { name: "f", arguments: "{}" } }] }, finish_reason: "tool_calls" }] };
    const toClient = canonicalToOpenaiResponse(openaiResponseToCanonical(upstream, new Map()), { id: "c", model: "m", created: 1 }) as {
      choices: Array<{ message: { tool_calls: Array<{ id: string }> } }>;
    };
    const assistant = toClient.choices[0]!.message;
    const next = decode({ model: "m", messages: [user("hi"), assistant, { role: "tool", tool_call_id: assistant.tool_calls[0]!.id, content: "ok" }] });
    const { body } = canonicalToOpenaiRequest(next, { model: "m" });
    expect(body.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [{ id: upstreamId, type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: upstreamId, content: "ok" },
    ]);
  });

  it("reports include_usage only for streams", () => {
    expect(decode({ model: "m", messages: [user("hi")], stream_options: { include_usage: true } }).includeUsage).toBe(false);
  });
});

describe("canonicalToOpenaiRequest", () => {
  it.each(cases<{ model: string; input: CanonicalRequest; expected: { body: unknown; toolNames: Array<[string, string]> } }>("canonical-to-request"))(
    "%s",
    (_, fixture) => {
      const { body, toolNames } = canonicalToOpenaiRequest(fixture.input, { model: fixture.model });
      expect(body).toEqual(fixture.expected.body);
      expect([...toolNames]).toEqual(fixture.expected.toolNames);
    },
  );

  const base: CanonicalRequest = { model: "c", system: [], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false, includeUsage: false };

  it.each<[string, Partial<CanonicalRequest>, string | undefined]>([
    ["budget 4096", { thinking: { type: "enabled", budgetTokens: 4096 } }, "high"],
    ["budget 4095", { thinking: { type: "enabled", budgetTokens: 4095 } }, "medium"],
    ["budget 2048", { thinking: { type: "enabled", budgetTokens: 2048 } }, "medium"],
    ["budget 1024", { thinking: { type: "enabled", budgetTokens: 1024 } }, "low"],
    ["budget 1023", { thinking: { type: "enabled", budgetTokens: 1023 } }, "minimal"],
    ["adaptive", { thinking: { type: "adaptive" } }, "medium"],
    ["adaptive + low", { thinking: { type: "adaptive" }, effort: "low" }, "low"],
    ["effort minimal", { effort: "minimal" }, "minimal"],
    ["effort xhigh", { effort: "xhigh" }, "high"],
    ["effort max", { thinking: { type: "adaptive" }, effort: "max" }, "high"],
    ["disabled", { thinking: { type: "disabled" }, effort: "high" }, undefined],
    ["none", {}, undefined],
  ])("reasoning_effort for %s", (_, extra, effort) => {
    expect(canonicalToOpenaiRequest({ ...base, ...extra }, { model: "o" }).body.reasoning_effort).toBe(effort);
  });

  it("restores the same shortened name for every mention and keeps short names out of the map", () => {
    const long = "x".repeat(65);
    const { body, toolNames } = canonicalToOpenaiRequest(
      { ...base, tools: [{ name: long, inputSchema: {} }, { name: "y".repeat(64), inputSchema: {} }], toolChoice: { type: "tool", name: long } },
      { model: "o" },
    );
    const short = `${"x".repeat(55)}_${"b42b1787"}`;
    expect(toolNames).toEqual(new Map([[short, long]]));
    expect(body.tools).toEqual([
      { type: "function", function: { name: short, parameters: {} } },
      { type: "function", function: { name: "y".repeat(64), parameters: {} } },
    ]);
    expect(body.tool_choice).toEqual({ type: "function", function: { name: short } });
  });

  it("shares one empty map among requests that shorten no name, and never writes to it", () => {
    const plain = canonicalToOpenaiRequest({ ...base, tools: [{ name: "Read", inputSchema: {} }] }, { model: "o" }).toolNames;
    expect(plain).toBe(NO_SHORTENED_NAMES);
    const shortened = canonicalToOpenaiRequest({ ...base, tools: [{ name: "z".repeat(70), inputSchema: {} }] }, { model: "o" }).toolNames;
    expect(shortened).not.toBe(NO_SHORTENED_NAMES);
    expect(shortened.size).toBe(1);
    expect(NO_SHORTENED_NAMES.size).toBe(0);
  });
});
