import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { fixGptOssResponse, GptOssStreamFixer } from "./gpt-oss-fix.js";

/** `{"a":{"a":…{}…}}`: `levels` nested objects, as JSON text. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`;

const TOOLS: ReadonlySet<string> = new Set(["get_weather", "echo"]);
const CALL = '{"name":"get_weather","arguments":{"city":"Paris"}}';

const completion = (message: Record<string, unknown>) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-oss-20b",
  choices: [{ index: 0, message: { role: "assistant", ...message }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});

const repaired = (args: string, extra: Record<string, unknown> = {}) => ({
  ...completion({}),
  choices: [
    {
      index: 0,
      message: { role: "assistant", ...extra, content: null, tool_calls: [{ id: "call_gptoss_0", type: "function", function: { name: "get_weather", arguments: args } }] },
      logprobs: null,
      finish_reason: "tool_calls",
    },
  ],
});

describe("fixGptOssResponse", () => {
  it.each([
    ["an object", CALL],
    ["string arguments", '{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}'],
    ["a json fence", "```json\n" + CALL + "\n```"],
    ["a bare fence", "```\n" + CALL + "\n```\n"],
    ["whitespace", "\n  " + CALL + "  \n"],
    ["spaces inside", '{ "name": "get_weather", "arguments": { "city": "Paris" } }'],
  ])("repairs a call written as %s", (_, content) => {
    expect(fixGptOssResponse(completion({ content, reasoning_content: "r" }), TOOLS)).toEqual(repaired('{"city":"Paris"}', { reasoning_content: "r" }));
  });

  it("counts braces inside strings as text", () => {
    const body = completion({ content: '{"name":"get_weather","arguments":{"city":"a } b { c"}}' });
    expect(fixGptOssResponse(body, TOOLS)).toEqual(repaired('{"city":"a } b { c"}'));
  });

  it.each([
    ["an undeclared tool", '{"name":"rm_rf","arguments":{}}'],
    ["extra keys", '{"name":"get_weather","arguments":{},"id":1}'],
    ["no arguments", '{"name":"get_weather"}'],
    ["text before", "Sure: " + CALL],
    ["text after", CALL + " done"],
    ["arguments that are not JSON", '{"name":"get_weather","arguments":"city=Paris"}'],
    ["an array", "[" + CALL + "]"],
    ["plain text", "Hello"],
    ["arguments nested past the depth limit", `{"name":"get_weather","arguments":${nestedText(MAX_JSON_DEPTH + 1)}}`],
    ["string arguments nested 100,000 deep", `{"name":"get_weather","arguments":${JSON.stringify(nestedText(100_000))}}`],
  ])("leaves %s alone", (_, content) => {
    const body = completion({ content });
    expect(fixGptOssResponse(body, TOOLS)).toBe(body);
  });

  it("leaves a message that already has tool_calls alone", () => {
    const body = completion({ content: CALL, tool_calls: [{ id: "x", type: "function", function: { name: "echo", arguments: "{}" } }] });
    expect(fixGptOssResponse(body, TOOLS)).toBe(body);
  });

  it("keeps arguments nested exactly to the depth limit", () => {
    const body = completion({ content: `{"name":"get_weather","arguments":${nestedText(MAX_JSON_DEPTH)}}` });
    expect(fixGptOssResponse(body, TOOLS)).toEqual(repaired(nestedText(MAX_JSON_DEPTH)));
  });
});

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
  id: "chatcmpl-2",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-oss-20b",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
});
const usage = { id: "chatcmpl-2", object: "chat.completion.chunk", created: 1, model: "gpt-oss-20b", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };

/** Pushes each chunk and records what came out for it. */
function run(fixer: GptOssStreamFixer, chunks: Array<Record<string, unknown>>): Array<Array<Record<string, unknown>>> {
  return chunks.map((c) => fixer.push(c));
}

describe("GptOssStreamFixer", () => {
  it("holds a call back and turns it into a tool_calls delta at the finish", () => {
    const role = chunk({ role: "assistant", content: "" });
    const thought = chunk({ reasoning_content: "User wants weather." });
    const held1 = chunk({ content: "```json\n{\"name\":\"get_" });
    const held2 = chunk({ content: 'weather","arguments":{"ci', reasoning: "late" });
    const held3 = chunk({ content: 'ty":"Paris"}}\n``' });
    const finish = chunk({ content: "`" }, "stop");
    const out = run(new GptOssStreamFixer(TOOLS), [role, thought, held1, held2, held3, finish, usage]);
    expect(out).toEqual([
      [role],
      [thought],
      [],
      [],
      [],
      [
        chunk({ reasoning: "late" }),
        chunk({ tool_calls: [{ index: 0, id: "call_gptoss_0", type: "function", function: { name: "get_weather", arguments: "" } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
        chunk({}, "tool_calls"),
      ],
      [usage],
    ]);
  });

  it("releases held chunks unchanged once the object is not a call", () => {
    const a = chunk({ content: '{"answer":' });
    const b = chunk({ content: " 42}" });
    const c = chunk({ content: "" }, "stop");
    expect(run(new GptOssStreamFixer(TOOLS), [a, b, c])).toEqual([[], [a, b], [c]]);
  });

  it("releases leading whitespace as soon as text follows", () => {
    const a = chunk({ content: " \n" });
    const b = chunk({ content: "Hi" });
    const c = chunk({ content: " there" });
    expect(run(new GptOssStreamFixer(TOOLS), [a, b, c])).toEqual([[], [a, b], [c]]);
  });

  it("releases a call whose arguments are nested too deeply to rewrite, unchanged", () => {
    const a = chunk({ content: `{"name":"get_weather","arguments":${nestedText(100_000)}` });
    const b = chunk({ content: "}" }, "stop");
    expect(run(new GptOssStreamFixer(TOOLS), [a, b])).toEqual([[], [a, b]]);
  });

  it("releases a call whose object never closed at the finish", () => {
    const a = chunk({ content: '{"name":"get_weather","arguments":{' });
    const b = chunk({}, "length");
    expect(run(new GptOssStreamFixer(TOOLS), [a, b])).toEqual([[], [a, b]]);
  });

  it("passes native tool calls through", () => {
    const a = chunk({ content: "{" });
    const b = chunk({ tool_calls: [{ index: 0, id: "c", type: "function", function: { name: "echo", arguments: "" } }] });
    const c = chunk({ content: "}" });
    expect(run(new GptOssStreamFixer(TOOLS), [a, b, c])).toEqual([[], [a, b], [c]]);
  });

  it("passes everything through when no tool was declared", () => {
    const a = chunk({ content: CALL }, "stop");
    expect(run(new GptOssStreamFixer(new Set()), [a])).toEqual([[a]]);
  });

  it("hands held chunks back at end()", () => {
    const fixer = new GptOssStreamFixer(TOOLS);
    const a = chunk({ content: "{" });
    expect(fixer.push(a)).toEqual([]);
    expect(fixer.end()).toEqual([a]);
    expect(fixer.push(chunk({ content: "x" }))).toEqual([chunk({ content: "x" })]);
  });

  it("never mutates the chunks it is given", () => {
    const a = chunk({ content: CALL });
    const b = chunk({}, "stop");
    const copies = structuredClone([a, b]);
    run(new GptOssStreamFixer(TOOLS), [a, b]);
    expect([a, b]).toEqual(copies);
  });
});
