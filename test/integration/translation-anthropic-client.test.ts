import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestGateway } from "../helpers/gateway.js";
import { startTwoUpstreams, type TwoUpstreams } from "../helpers/two-upstreams.js";
import type { MockUpstream } from "../helpers/mock-upstream.js";

// The official Anthropic SDK against llmux, routed to an OpenAI-compatible backend ("gpt-up", translated through
// the canonical hub) and to an Anthropic backend ("claude-up", passed through). Every test asserts what the client
// got AND what the upstream received.

const TOKEN = "client-token-anthropic-sdk";
const OPENAI_KEY = "sk-openai-provider-key-1";
const ANTHROPIC_KEY = "sk-ant-provider-key-1";
/** A 1×1 transparent PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

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

function anthropic(): Anthropic {
  return new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
}

/** Sends `params` with `messages.create`, or with `messages.stream(...).finalMessage()` (which only resolves after message_stop). */
async function send(params: Anthropic.MessageCreateParamsNonStreaming, stream: boolean): Promise<Anthropic.Message> {
  if (!stream) return anthropic().messages.create(params);
  // finalMessage() adds the SDK's own parsed_output/stop_details keys; the wire message is what is compared.
  const { parsed_output: _parsed, stop_details: _details, ...message } = (await anthropic().messages.stream(params).finalMessage()) as Anthropic.Message & {
    parsed_output?: unknown;
    stop_details?: unknown;
  };
  return message as Anthropic.Message;
}

/** The JSON body of the only request the mock received. */
function upstreamBody(mock: MockUpstream): Record<string, unknown> {
  expect(mock.requests).toHaveLength(1);
  return mock.requests[0]!.json as Record<string, unknown>;
}

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const timeTool: Anthropic.Tool = { name: "get_time", input_schema: { type: "object", properties: { tz: { type: "string" } } } };

describe("Anthropic client → OpenAI-compatible backend", () => {
  it.each([false, true])("answers plain text with the upstream's usage, cache excluded from input (stream: %s)", async (stream) => {
    oai.script(() => ({ type: "openai-chat", content: "Hello there, friend", chunkChars: 3, usage: { prompt: 120, completion: 7, cached: 20 } }));
    const params = { model: "gpt-up", max_tokens: 256, messages: [{ role: "user" as const, content: "hi" }] };
    const message = await send(params, stream);
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: "message",
      role: "assistant",
      model: "gpt-up",
      content: [{ type: "text", text: "Hello there, friend" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 7, cache_read_input_tokens: 20, cache_creation_input_tokens: 0 },
    });
    expect(upstreamBody(oai)).toEqual({
      model: "gpt-upstream",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 256,
      stream,
      ...(stream && { stream_options: { include_usage: true } }),
    });
    expect(ant.requests).toHaveLength(0);
  });

  it.each([false, true])("turns one tool call into a tool_use block (stream: %s)", async (stream) => {
    oai.script(() => ({ type: "openai-chat", toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Paris"}' }], chunkChars: 5 }));
    const params = { model: "gpt-up", max_tokens: 256, tools: [weatherTool], messages: [{ role: "user" as const, content: "weather?" }] };
    const message = await send(params, stream);
    expect(message.content).toEqual([{ type: "tool_use", id: "call_w1", name: "get_weather", input: { city: "Paris" } }]);
    expect(message.stop_reason).toBe("tool_use");
    expect(upstreamBody(oai).tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: weatherTool.input_schema } },
    ]);
  });

  it.each([false, true])("turns interleaved parallel tool calls into sequential tool_use blocks, then sends the results back as tool messages (stream: %s)", async (stream) => {
    oai.script(() => ({
      type: "openai-chat",
      content: "Checking both.",
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
        // A Kimi-style id that Anthropic clients would reject: escaped for the client, restored for the upstream.
        { id: "functions.get_time:1", name: "get_time", arguments: '{"tz":"CET"}' },
      ],
      interleaveToolArgs: true,
      chunkChars: 3,
    }));
    const question: Anthropic.MessageParam = { role: "user", content: "weather and time?" };
    const params = { model: "gpt-up", max_tokens: 256, tools: [weatherTool, timeTool], messages: [question] };
    const message = await send(params, stream);
    expect(message.content).toEqual([
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "call_a", name: "get_weather", input: { city: "Paris" } },
      // Escaped to Anthropic's id alphabet; the escaping scheme is llmux's own business, the round trip is not.
      { type: "tool_use", id: expect.stringMatching(/^[a-zA-Z0-9_-]+$/), name: "get_time", input: { tz: "CET" } },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    const timeCallId = (message.content[2] as Anthropic.ToolUseBlock).id;

    oai.requests.length = 0;
    oai.script(() => ({ type: "openai-chat", content: "18C and 10:00." }));
    const answer = await anthropic().messages.create({
      ...params,
      messages: [
        question,
        { role: "assistant", content: message.content },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_a", content: "18C" },
            { type: "tool_result", tool_use_id: timeCallId, content: [{ type: "text", text: "clock unavailable" }], is_error: true },
            { type: "text", text: "Summarize." },
          ],
        },
      ],
    });
    expect(answer.content).toEqual([{ type: "text", text: "18C and 10:00." }]);
    expect(upstreamBody(oai).messages).toEqual([
      { role: "user", content: "weather and time?" },
      {
        role: "assistant",
        content: "Checking both.",
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "functions.get_time:1", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: "18C" },
      { role: "tool", tool_call_id: "functions.get_time:1", content: "Error: clock unavailable" },
      { role: "user", content: "Summarize." },
    ]);
  });

  it("sends base64 and URL images as image_url parts (data URL and the URL as given), without fetching them", async () => {
    const imageUrl = `${oai.url}/images/cat.png`;
    const message = await anthropic().messages.create({
      model: "gpt-up",
      max_tokens: 64,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "image", source: { type: "url", url: imageUrl } },
          ],
        },
      ],
    });
    expect(message.content).toEqual([{ type: "text", text: "What is in these?" }]);
    expect(upstreamBody(oai).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: "image_url", image_url: { url: imageUrl } },
        ],
      },
    ]);
    // The only request the mock saw is the chat completion: the gateway never fetched the image.
    expect(oai.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/chat/completions"]);
  });

  it("moves a tool result's image into a user message after the tool message (OpenAI tool messages are text-only)", async () => {
    await anthropic().messages.create({
      model: "gpt-up",
      max_tokens: 64,
      tools: [{ name: "screenshot", input_schema: { type: "object", properties: {} } }],
      messages: [
        { role: "user", content: "look" },
        { role: "assistant", content: [{ type: "tool_use", id: "call_s", name: "screenshot", input: {} }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "call_s",
              content: [
                { type: "text", text: "here it is" },
                { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
              ],
            },
          ],
        },
      ],
    });
    expect(upstreamBody(oai).messages).toEqual([
      { role: "user", content: "look" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_s", type: "function", function: { name: "screenshot", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_s", content: "here it is" },
      { role: "user", content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }] },
    ]);
  });

  it.each<[string, string | undefined, Partial<Anthropic.MessageCreateParamsNonStreaming>]>([
    ["enabled, budget 1024", "low", { thinking: { type: "enabled", budget_tokens: 1024 } }],
    ["enabled, budget 3000", "medium", { thinking: { type: "enabled", budget_tokens: 3000 } }],
    ["enabled, budget 6000", "high", { thinking: { type: "enabled", budget_tokens: 6000 } }],
    ["adaptive without effort", "medium", { thinking: { type: "adaptive" } }],
    ["adaptive + effort low", "low", { thinking: { type: "adaptive" }, output_config: { effort: "low" } }],
    ["adaptive + effort high", "high", { thinking: { type: "adaptive" }, output_config: { effort: "high" } }],
    ["adaptive + effort max", "high", { thinking: { type: "adaptive" }, output_config: { effort: "max" } }],
    ["disabled", undefined, { thinking: { type: "disabled" } }],
  ])("thinking %s reaches the upstream as reasoning_effort %s", async (_, effort, thinking) => {
    await anthropic().messages.create({ model: "gpt-up", max_tokens: 8000, messages: [{ role: "user", content: "think" }], ...thinking });
    const body = upstreamBody(oai);
    expect(body.reasoning_effort).toBe(effort);
    expect(body).not.toHaveProperty("thinking");
    expect(body).not.toHaveProperty("output_config");
  });

  it.each([false, true])("returns the upstream's reasoning as a leading thinking block (stream: %s)", async (stream) => {
    oai.script(() => ({ type: "openai-chat", reasoning: "Six times seven.", content: "42", chunkChars: 4 }));
    const params = { model: "gpt-up", max_tokens: 2048, thinking: { type: "enabled" as const, budget_tokens: 1024 }, messages: [{ role: "user" as const, content: "6*7?" }] };
    const message = await send(params, stream);
    // Synthesised thinking carries an empty signature: llmux never sends it to an Anthropic upstream.
    expect(message.content).toEqual([
      { type: "thinking", thinking: "Six times seven.", signature: "" },
      { type: "text", text: "42" },
    ]);
  });

  it.each<[string, boolean, string, { finishReason?: string; toolCalls?: Array<{ id: string; name: string; arguments: string }> }]>([
    ["stop", false, "end_turn", { finishReason: "stop" }],
    ["stop", true, "end_turn", { finishReason: "stop" }],
    ["length", false, "max_tokens", { finishReason: "length" }],
    ["length", true, "max_tokens", { finishReason: "length" }],
    ["tool_calls", false, "tool_use", { toolCalls: [{ id: "c1", name: "get_weather", arguments: "{}" }] }],
    ["tool_calls", true, "tool_use", { toolCalls: [{ id: "c1", name: "get_weather", arguments: "{}" }] }],
    ["content_filter", false, "refusal", { finishReason: "content_filter" }],
  ])("finish_reason %s (stream: %s) → stop_reason %s", async (_, stream, stopReason, reply) => {
    oai.script(() => ({ type: "openai-chat", content: reply.toolCalls ? undefined : "partial", ...reply }));
    const params = { model: "gpt-up", max_tokens: 16, tools: [weatherTool], messages: [{ role: "user" as const, content: "go" }] };
    const message = await send(params, stream);
    expect(message.stop_reason).toBe(stopReason);
    expect(message.stop_sequence).toBeNull();
  });

  it("sends stop_sequences as stop; a stop on one reads as end_turn, since OpenAI does not say which stopped it", async () => {
    oai.script(() => ({ type: "openai-chat", content: "one, two", finishReason: "stop" }));
    const message = await anthropic().messages.create({ model: "gpt-up", max_tokens: 16, stop_sequences: ["three", "\n\nHuman:"], messages: [{ role: "user", content: "count" }] });
    expect([message.stop_reason, message.stop_sequence]).toEqual(["end_turn", null]);
    expect(upstreamBody(oai).stop).toEqual(["three", "\n\nHuman:"]);
  });

  it("sends a string system prompt as the first system message", async () => {
    await anthropic().messages.create({ model: "gpt-up", max_tokens: 16, system: "Be terse.", messages: [{ role: "user", content: "hi" }] });
    expect(upstreamBody(oai).messages).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: "hi" },
    ]);
  });

  it("joins system blocks in order, drops cache_control, and keeps a mid-conversation system message in place", async () => {
    const body = {
      model: "gpt-up",
      max_tokens: 16,
      system: [
        { type: "text", text: "Block one.", cache_control: null },
        { type: "text", text: "Block two.", cache_control: { type: "ephemeral" } },
      ],
      messages: [
        { role: "user", content: "first" },
        { role: "system", content: "<system-reminder>Agents: Explore.</system-reminder>" },
        { role: "assistant", content: "ok" },
        { role: "user", content: [{ type: "text", text: "second", cache_control: { type: "ephemeral", ttl: "5m" } }] },
      ],
    };
    // A mid-conversation system message is beta-only and not in the SDK's types: sent as Claude Code sends it.
    await anthropic().messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming);
    expect(upstreamBody(oai).messages).toEqual([
      { role: "system", content: "Block one.\nBlock two." },
      { role: "user", content: "first" },
      { role: "system", content: "<system-reminder>Agents: Explore.</system-reminder>" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "second" },
    ]);
  });
});

describe("Anthropic client → Anthropic backend", () => {
  it.each([false, true])("passes text and usage through as the upstream sent them (stream: %s)", async (stream) => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "Hello from Claude" }], usage: { input: 50, output: 9, cacheRead: 30, cacheCreation: 20 } }));
    const params = { model: "claude-up", max_tokens: 256, messages: [{ role: "user" as const, content: "hi" }] };
    const message = await send(params, stream);
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_mock\d{6}$/),
      type: "message",
      role: "assistant",
      model: "claude-upstream",
      content: [{ type: "text", text: "Hello from Claude" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 50,
        cache_creation_input_tokens: 20,
        cache_read_input_tokens: 30,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 0 },
        output_tokens: 9,
        service_tier: "standard",
      },
    });
    expect(upstreamBody(ant)).toEqual({ ...params, model: "claude-upstream", ...(stream && { stream: true }) });
    expect(oai.requests).toHaveLength(0);
  });

  it.each([false, true])("passes parallel tool_use through, then the tool results with is_error as sent (stream: %s)", async (stream) => {
    ant.script(() => ({
      type: "anthropic-message",
      content: [
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_02", name: "get_time", input: { tz: "CET" } },
      ],
    }));
    const question: Anthropic.MessageParam = { role: "user", content: "weather and time?" };
    const params = { model: "claude-up", max_tokens: 256, tools: [weatherTool, timeTool], messages: [question] };
    const message = await send(params, stream);
    expect(message.content).toEqual([
      { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_02", name: "get_time", input: { tz: "CET" } },
    ]);
    expect(message.stop_reason).toBe("tool_use");

    ant.requests.length = 0;
    const results: Anthropic.MessageParam = {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_01", content: "18C" },
        { type: "tool_result", tool_use_id: "toolu_02", content: "clock unavailable", is_error: true },
      ],
    };
    await anthropic().messages.create({ ...params, messages: [question, { role: "assistant", content: message.content }, results] });
    expect(upstreamBody(ant).messages).toEqual([
      { role: "user", content: "weather and time?" },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_02", name: "get_time", input: { tz: "CET" } },
        ],
      },
      results,
    ]);
  });

  it("passes images through in Anthropic's own format, without fetching them", async () => {
    const imageUrl = `${ant.url}/images/cat.png`;
    const content: Anthropic.ContentBlockParam[] = [
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      { type: "image", source: { type: "url", url: imageUrl } },
      { type: "text", text: "Describe." },
    ];
    await anthropic().messages.create({ model: "claude-up", max_tokens: 64, messages: [{ role: "user", content }] });
    expect(upstreamBody(ant).messages).toEqual([{ role: "user", content }]);
    expect(ant.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/messages"]);
  });

  it.each([false, true])("passes thinking with its signature through (stream: %s)", async (stream) => {
    ant.script(() => ({
      type: "anthropic-message",
      content: [
        { type: "thinking", thinking: "Six times seven.", signature: "EqQBCkYIBxgCKkDv1y0Jd3sig==" },
        { type: "text", text: "42" },
      ],
    }));
    const params = {
      model: "claude-up",
      max_tokens: 4096,
      thinking: { type: "adaptive" as const },
      output_config: { effort: "high" as const },
      messages: [{ role: "user" as const, content: "6*7?" }],
    };
    const message = await send(params, stream);
    expect(message.content).toEqual([
      { type: "thinking", thinking: "Six times seven.", signature: "EqQBCkYIBxgCKkDv1y0Jd3sig==" },
      { type: "text", text: "42" },
    ]);
    expect(upstreamBody(ant)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "high" } });
  });

  it.each([
    ["end_turn", false],
    ["max_tokens", true],
    ["stop_sequence", false],
    ["stop_sequence", true],
    ["tool_use", true],
  ])("passes stop_reason %s through (stream: %s)", async (stopReason, stream) => {
    ant.script(() => ({ type: "anthropic-message", content: [{ type: "text", text: "partial" }], stopReason }));
    const params = { model: "claude-up", max_tokens: 16, stop_sequences: ["END"], messages: [{ role: "user" as const, content: "go" }] };
    const message = await send(params, stream);
    expect(message.stop_reason).toBe(stopReason);
    expect(upstreamBody(ant).stop_sequences).toEqual(["END"]);
  });

  it("passes string and block system prompts through untouched", async () => {
    const system: Anthropic.TextBlockParam[] = [
      { type: "text", text: "Block one." },
      { type: "text", text: "Block two.", cache_control: { type: "ephemeral", ttl: "1h" } },
    ];
    await anthropic().messages.create({ model: "claude-up", max_tokens: 16, system, messages: [{ role: "user", content: "hi" }] });
    expect(upstreamBody(ant).system).toEqual(system);
    ant.requests.length = 0;
    await anthropic().messages.create({ model: "claude-up", max_tokens: 16, system: "Be terse.", messages: [{ role: "user", content: "hi" }] });
    expect(upstreamBody(ant).system).toBe("Be terse.");
  });
});
