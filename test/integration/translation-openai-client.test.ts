import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestGateway } from "../helpers/gateway.js";
import { startTwoUpstreams, type TwoUpstreams } from "../helpers/two-upstreams.js";
import type { MockUpstream } from "../helpers/mock-upstream.js";

// The official OpenAI SDK against llmux, routed to an Anthropic backend ("claude-up", translated through the
// canonical hub) and to an OpenAI-compatible backend ("gpt-up", passed through). Every test asserts what the
// client got AND what the upstream received.

const TOKEN = "client-token-openai-sdk";
const OPENAI_KEY = "sk-openai-provider-key-2";
const ANTHROPIC_KEY = "sk-ant-provider-key-2";
/** A 1×1 transparent PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/** Parameters valid for both `create` (non-streaming) and `stream`. */
type ChatParams = Omit<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, "stream">;
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

let oai: MockUpstream;
let ant: MockUpstream;
let gw: TestGateway;

let upstreams: TwoUpstreams;
beforeAll(async () => {
  upstreams = await startTwoUpstreams({ token: TOKEN, openaiKey: OPENAI_KEY, anthropicKey: ANTHROPIC_KEY, clockStepMs: 3_600_000 });
  ({ oai, ant, gw } = upstreams);
});
afterAll(() => upstreams?.close());
beforeEach(() => upstreams.reset());

function openai(): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
}

/** Sends `params` with `chat.completions.create`, or with `chat.completions.stream(...).finalChatCompletion()`. */
async function send(params: ChatParams, stream: boolean): Promise<OpenAI.Chat.Completions.ChatCompletion> {
  return stream ? openai().chat.completions.stream(params).finalChatCompletion() : openai().chat.completions.create(params);
}

/** The JSON body of the only request the mock received. */
function upstreamBody(mock: MockUpstream): Record<string, unknown> {
  expect(mock.requests).toHaveLength(1);
  return mock.requests[0]!.json as Record<string, unknown>;
}

const weatherTool: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
  type: "function",
  function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};
const timeTool: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } },
};

describe("OpenAI client → Anthropic backend", () => {
  it("answers plain text with prompt_tokens counting cached and cache-written tokens", async () => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "Hello from Claude" }], usage: { input: 50, output: 9, cacheRead: 30, cacheCreation: 20 } }));
    const completion = await openai().chat.completions.create({ model: "claude-up", max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
    expect(completion).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: "chat.completion",
      created: expect.any(Number),
      model: "claude-up",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello from Claude", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 9,
        total_tokens: 109,
        prompt_tokens_details: { cached_tokens: 30 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(upstreamBody(ant)).toEqual({ model: "claude-upstream", max_tokens: 256, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: false });
    expect(oai.requests).toHaveLength(0);
  });

  it("streams plain text, with the usage chunk only when the client asked for it", async () => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "Hello from Claude" }], chunkChars: 3, usage: { input: 50, output: 9, cacheRead: 30, cacheCreation: 20 } }));
    const params: ChatParams = { model: "claude-up", messages: [{ role: "user", content: "hi" }] };
    const final = await openai()
      .chat.completions.stream({ ...params, stream_options: { include_usage: true } })
      .finalChatCompletion();
    expect(final.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello from Claude", refusal: null, parsed: null }, logprobs: null, finish_reason: "stop" }]);
    expect(final.usage).toEqual({
      prompt_tokens: 100,
      completion_tokens: 9,
      total_tokens: 109,
      prompt_tokens_details: { cached_tokens: 30 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    // Anthropic requires max_tokens; an OpenAI client need not send one.
    expect(upstreamBody(ant)).toEqual({ model: "claude-upstream", max_tokens: 4096, messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], stream: true });

    const chunks = [];
    for await (const chunk of await openai().chat.completions.create({ ...params, stream: true })) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Hello from Claude");
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.some((c) => c.usage !== undefined || c.choices.length === 0)).toBe(false);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it.each([false, true])("turns one tool_use into a tool call, with tool_choice and parallel_tool_calls mapped (stream: %s)", async (stream) => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } }], chunkChars: 5 }));
    const completion = await send(
      { model: "claude-up", tools: [weatherTool], tool_choice: "required", parallel_tool_calls: false, messages: [{ role: "user", content: "weather?" }] },
      stream,
    );
    expect(completion.choices[0]!.message.tool_calls).toEqual([
      { id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
    expect(completion.choices[0]!.message.content).toBeNull();
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    const body = upstreamBody(ant);
    expect(body.tools).toEqual([{ name: "get_weather", description: "Weather for a city", input_schema: weatherTool.function.parameters }]);
    expect(body.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
  });

  it.each([false, true])("turns parallel tool_use into tool calls, then merges the tool messages into one user turn of tool_result blocks (stream: %s)", async (stream) => {
    ant.script(() => ({
      type: "anthropic-message",
      content: [
        { type: "text", text: "Checking both." },
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_02", name: "get_time", input: { tz: "CET" } },
      ],
      chunkChars: 3,
    }));
    const question: Message = { role: "user", content: "weather and time?" };
    const params: ChatParams = { model: "claude-up", tools: [weatherTool, timeTool], messages: [question] };
    const completion = await send(params, stream);
    const assistant = completion.choices[0]!.message;
    expect(assistant.content).toBe("Checking both.");
    expect(assistant.tool_calls).toEqual([
      { id: "toolu_01", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "toolu_02", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } },
    ]);
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");

    ant.requests.length = 0;
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "18C at 10:00." }] }));
    // The assistant message goes back as the SDK returned it (refusal: null, parsed, …), as real clients do.
    const answer = await openai().chat.completions.create({
      ...params,
      messages: [
        question,
        assistant as Message,
        { role: "tool", tool_call_id: "toolu_01", content: "18C" },
        { role: "tool", tool_call_id: "toolu_02", content: [{ type: "text", text: "10:00" }] },
        { role: "user", content: "Summarize." },
      ],
    });
    expect(answer.choices[0]!.message.content).toBe("18C at 10:00.");
    expect(upstreamBody(ant).messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather and time?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking both." },
          { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_02", name: "get_time", input: { tz: "CET" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01", content: [{ type: "text", text: "18C" }] },
          { type: "tool_result", tool_use_id: "toolu_02", content: [{ type: "text", text: "10:00" }] },
          { type: "text", text: "Summarize." },
        ],
      },
    ]);
  });

  it("sends data-URL and http images as base64 and url sources, without fetching them", async () => {
    const imageUrl = `${ant.url}/images/cat.png`;
    await openai().chat.completions.create({
      model: "claude-up",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}`, detail: "high" } },
            { type: "image_url", image_url: { url: imageUrl } },
          ],
        },
      ],
    });
    expect(upstreamBody(ant).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
          { type: "image", source: { type: "url", url: imageUrl } },
        ],
      },
    ]);
    expect(ant.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/messages"]);
  });

  it.each<[string, Record<string, unknown>]>([
    ["minimal", { thinking: { type: "adaptive" }, output_config: { effort: "low" } }],
    ["low", { thinking: { type: "adaptive" }, output_config: { effort: "low" } }],
    ["medium", { thinking: { type: "adaptive" }, output_config: { effort: "medium" } }],
    ["high", { thinking: { type: "adaptive" }, output_config: { effort: "high" } }],
    ["none", { thinking: { type: "disabled" } }],
  ])("reasoning_effort %s reaches the upstream as %j", async (effort, expected) => {
    await openai().chat.completions.create({
      model: "claude-up",
      reasoning_effort: effort as OpenAI.ReasoningEffort,
      temperature: 0.5,
      max_completion_tokens: 2000,
      messages: [{ role: "user", content: "think" }],
    });
    const body = upstreamBody(ant);
    expect({ thinking: body.thinking, output_config: body.output_config }).toEqual(expected);
    expect(body.max_tokens).toBe(2000);
    // Anthropic rejects a temperature with thinking on.
    expect(body.temperature).toBe(effort === "none" ? 0.5 : undefined);
  });

  it("returns Anthropic thinking as reasoning_content, streaming and not", async () => {
    ant.script(() => ({
      type: "anthropic-message",
      content: [
        { type: "thinking", thinking: "Six times seven.", signature: "EqQBsig==" },
        { type: "text", text: "42" },
      ],
      chunkChars: 4,
    }));
    const params: ChatParams = { model: "claude-up", reasoning_effort: "high", messages: [{ role: "user", content: "6*7?" }] };
    const completion = await openai().chat.completions.create(params);
    expect(completion.choices[0]!.message).toEqual({ role: "assistant", content: "42", refusal: null, reasoning_content: "Six times seven." });

    const reasoning: string[] = [];
    const content: string[] = [];
    for await (const chunk of await openai().chat.completions.create({ ...params, stream: true })) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      if (delta?.reasoning_content) reasoning.push(delta.reasoning_content);
      if (delta?.content) content.push(delta.content);
    }
    expect([reasoning.join(""), content.join("")]).toEqual(["Six times seven.", "42"]);
  });

  it.each([
    ["end_turn", false, "stop"],
    ["end_turn", true, "stop"],
    ["max_tokens", false, "length"],
    ["max_tokens", true, "length"],
    ["stop_sequence", false, "stop"],
    ["stop_sequence", true, "stop"],
    ["refusal", false, "content_filter"],
  ])("stop_reason %s (stream: %s) → finish_reason %s", async (stopReason, stream, finishReason) => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "partial" }], stopReason }));
    const completion = await send({ model: "claude-up", max_tokens: 16, stop: "END", messages: [{ role: "user", content: "go" }] }, stream);
    expect(completion.choices[0]!.finish_reason).toBe(finishReason);
    expect(upstreamBody(ant).stop_sequences).toEqual(["END"]);
  });

  it.each([false, true])("stop_reason tool_use → finish_reason tool_calls (stream: %s)", async (stream) => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "tool_use", id: "toolu_9", name: "get_time", input: {} }] }));
    const completion = await send({ model: "claude-up", tools: [timeTool], messages: [{ role: "user", content: "time?" }] }, stream);
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("hoists leading and mid-conversation system and developer messages into system blocks, in order", async () => {
    await openai().chat.completions.create({
      model: "claude-up",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "bye" },
      ],
    });
    const body = upstreamBody(ant);
    expect(body.system).toEqual([
      { type: "text", text: "Be terse." },
      { type: "text", text: "Answer in French." },
    ]);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "text", text: "hello" }] },
      { role: "user", content: [{ type: "text", text: "bye" }] },
    ]);
  });
});

describe("OpenAI client → OpenAI-compatible backend", () => {
  it.each([false, true])("passes text and usage through (stream: %s)", async (stream) => {
    oai.script(() => ({ type: "openai-chat", content: "Hello there, friend", chunkChars: 3, usage: { prompt: 120, completion: 7, cached: 20 } }));
    const params: ChatParams = { model: "gpt-up", max_tokens: 256, messages: [{ role: "user", content: "hi" }] };
    const completion = stream
      ? await openai().chat.completions.stream({ ...params, stream_options: { include_usage: true } }).finalChatCompletion()
      : await openai().chat.completions.create(params);
    expect(completion.id).toMatch(/^chatcmpl-mock\d{6}$/);
    expect(completion.model).toBe("gpt-upstream");
    expect(completion.choices[0]!.message.content).toBe("Hello there, friend");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage).toEqual({
      prompt_tokens: 120,
      completion_tokens: 7,
      total_tokens: 127,
      prompt_tokens_details: { cached_tokens: 20, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(upstreamBody(oai)).toEqual({
      ...params,
      model: "gpt-upstream",
      ...(stream && { stream: true, stream_options: { include_usage: true } }),
    });
    expect(ant.requests).toHaveLength(0);
  });

  it("passes interleaved parallel tool calls through, then the tool messages exactly as sent", async () => {
    oai.script(() => ({
      type: "openai-chat",
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
        { id: "functions.get_time:1", name: "get_time", arguments: '{"tz":"CET"}' },
      ],
      interleaveToolArgs: true,
      chunkChars: 3,
    }));
    const question: Message = { role: "user", content: "weather and time?" };
    const params: ChatParams = { model: "gpt-up", tools: [weatherTool, timeTool], messages: [question] };
    const final = await openai().chat.completions.stream(params).finalChatCompletion();
    expect(final.choices[0]!.message.tool_calls).toEqual([
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "functions.get_time:1", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } },
    ]);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");

    oai.requests.length = 0;
    const toolTurn: Message[] = [
      question,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "functions.get_time:1", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: "18C" },
      { role: "tool", tool_call_id: "functions.get_time:1", content: "10:00" },
    ];
    await openai().chat.completions.create({ ...params, messages: toolTurn });
    expect(upstreamBody(oai).messages).toEqual(toolTurn);
  });

  it("passes image parts, reasoning_effort and the upstream's reasoning_content through", async () => {
    oai.script(() => ({ type: "openai-chat", reasoning: "Looks like a cat.", content: "A cat.", finishReason: "length" }));
    const content: OpenAI.Chat.Completions.ChatCompletionContentPart[] = [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}`, detail: "low" } },
      { type: "image_url", image_url: { url: `${oai.url}/images/cat.png` } },
    ];
    const completion = await openai().chat.completions.create({ model: "gpt-up", reasoning_effort: "low", messages: [{ role: "user", content }] });
    expect(completion.choices[0]!.message).toEqual({ role: "assistant", content: "A cat.", refusal: null, annotations: [], reasoning_content: "Looks like a cat." });
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(upstreamBody(oai)).toEqual({ model: "gpt-upstream", reasoning_effort: "low", messages: [{ role: "user", content }] });
    expect(oai.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/chat/completions"]);
  });
});
