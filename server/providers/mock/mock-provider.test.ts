import { afterEach, describe, expect, it, vi } from "vitest";
import type { MockSettings, ProviderConfig } from "../../config/types.js";
import { Reason } from "../../errors/llmux-error.js";
import { createSseParser } from "../../lib/sse.js";
import type { UpstreamCall, UpstreamResponse } from "../provider.js";
import { createMockProvider, type MockProviderDeps, type Sleep } from "./mock-provider.js";

const NOW = 1_700_000_000_999;
const CREATED = 1_700_000_000;

function config(settings: Partial<MockSettings> = {}): ProviderConfig {
  return {
    name: "fake",
    kind: "mock",
    baseUrl: "",
    apiKey: undefined,
    mock: { reply: undefined, latencyMs: 0, chunkChars: 5, chunkDelayMs: 0, ...settings },
  };
}

/** A sleep that returns at once and records what it was asked to wait. */
function recordingSleep(): { sleep: Sleep; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    sleep: async (ms) => {
      calls.push(ms);
    },
  };
}

function provider(settings: Partial<MockSettings> = {}, deps: MockProviderDeps = {}) {
  return createMockProvider(config(settings), { now: () => NOW, sleep: recordingSleep().sleep, ...deps });
}

function call(body: Record<string, unknown>, signal = new AbortController().signal): UpstreamCall {
  return { operation: "chat", body, headers: {}, signal };
}

async function readText(response: UpstreamResponse): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const part of response.body) parts.push(part);
  return Buffer.concat(parts).toString("utf8");
}

/** The `data` of every SSE event of the body, parsed with our own parser; fails on a truncated stream. */
async function readSse(response: UpstreamResponse): Promise<string[]> {
  const parser = createSseParser();
  const data: string[] = [];
  for await (const part of response.body) data.push(...parser.push(part).map((e) => e.data));
  data.push(...parser.end().map((e) => e.data));
  expect(parser.hasPartial).toBe(false);
  return data;
}

const user = (content: unknown) => ({ role: "user", content });
const request = (text: string, extra: Record<string, unknown> = {}) => ({
  model: "mock-1",
  messages: [{ role: "system", content: "Be brief." }, user(text)],
  ...extra,
});
const WEATHER_TOOL = { type: "function", function: { name: "get_weather", parameters: { type: "object" } } };

/** One expected stream chunk of the first completion of a provider. */
const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: null) => ({
  id: "chatcmpl-mock-1",
  object: "chat.completion.chunk",
  created: CREATED,
  model: "mock-1",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...(usage === null ? { usage } : {}),
});
const usageChunk = (usage: Record<string, number>) => ({
  id: "chatcmpl-mock-1",
  object: "chat.completion.chunk",
  created: CREATED,
  model: "mock-1",
  choices: [],
  usage,
});
const wire = (objects: object[]) => [...objects.map((o) => JSON.stringify(o)), "[DONE]"];

describe("createMockProvider", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is an OpenAI-dialect adapter named after its config", async () => {
    const p = provider();
    expect({ name: p.name, kind: p.kind, dialect: p.dialect }).toEqual({ name: "fake", kind: "mock", dialect: "openai" });
    await expect(p.close()).resolves.toBeUndefined();
  });

  it("throws INTERNAL when the config has no mock settings", () => {
    expect(() => createMockProvider({ ...config(), mock: undefined }, {})).toThrow(
      expect.objectContaining({ reason: Reason.INTERNAL }),
    );
  });

  describe("non-streaming", () => {
    it("echoes the last user message as one chat.completion object", async () => {
      const response = await provider().send(call(request("Hello there")));
      expect(response.status).toBe(200);
      expect(response.headers).toEqual({ "content-type": "application/json" });
      // Exact bytes, key order included: "Be brief." + "Hello there" = 20 chars → 5 tokens; 11 chars → 3 tokens.
      expect(await readText(response)).toBe(
        JSON.stringify({
          id: "chatcmpl-mock-1",
          object: "chat.completion",
          created: CREATED,
          model: "mock-1",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: "Hello there", refusal: null },
              logprobs: null,
              finish_reason: "stop",
            },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
      );
    });

    it.each([
      { name: "configured reply wins over the echo", reply: "Fixed.", messages: [user("hi")], content: "Fixed." },
      {
        name: "text parts joined with a newline, other parts skipped",
        reply: undefined,
        messages: [user([{ type: "text", text: "a" }, { type: "image_url", image_url: { url: "x" } }, { type: "text", text: "b" }])],
        content: "a\nb",
      },
      {
        name: "the last user message, not the last message",
        reply: undefined,
        messages: [user("first"), { role: "assistant", content: "x" }, user("second"), { role: "assistant", content: "y" }],
        content: "second",
      },
      { name: "no user message: empty reply", reply: undefined, messages: [{ role: "system", content: "s" }], content: "" },
    ])("$name", async ({ reply, messages, content }) => {
      const response = await provider({ reply }).send(call({ model: "mock-1", messages }));
      expect(JSON.parse(await readText(response)).choices[0].message.content).toBe(content);
    });

    it("replies with a tool call when asked for a declared tool", async () => {
      const response = await provider().send(call(request("please call:get_weather now", { tools: [WEATHER_TOOL] })));
      const completion = JSON.parse(await readText(response));
      expect(completion.choices).toEqual([
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            refusal: null,
            tool_calls: [{ id: "call_mock_0", type: "function", function: { name: "get_weather", arguments: "{}" } }],
          },
          logprobs: null,
          finish_reason: "tool_calls",
        },
      ]);
      // "get_weather{}" = 13 chars → 4 tokens.
      expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    });

    it.each([
      { name: "undeclared tool", text: "call:get_time", tools: [WEATHER_TOOL] },
      { name: "no tools", text: "call:get_weather", tools: undefined },
      { name: "name only a prefix of the marker", text: "call:get_weather_now", tools: [WEATHER_TOOL] },
    ])("echoes instead of calling a tool: $name", async ({ text, tools }) => {
      const response = await provider().send(call(request(text, { tools })));
      const completion = JSON.parse(await readText(response));
      expect(completion.choices[0].message.content).toBe(text);
      expect(completion.choices[0].finish_reason).toBe("stop");
    });

    it("numbers completions per provider instance", async () => {
      const p = provider();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(JSON.parse(await readText(await p.send(call(request("x"))))).id);
      const other = JSON.parse(await readText(await provider().send(call(request("x"))))).id;
      expect([...ids, other]).toEqual(["chatcmpl-mock-1", "chatcmpl-mock-2", "chatcmpl-mock-3", "chatcmpl-mock-1"]);
    });
  });

  describe("streaming", () => {
    it("sends the exact OpenAI chunk sequence", async () => {
      const response = await provider().send(call(request("Hello there", { stream: true })));
      expect(response.status).toBe(200);
      expect(response.headers).toEqual({ "content-type": "text/event-stream" });
      const expected = wire([
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Hello" }),
        chunk({ content: " ther" }),
        chunk({ content: "e" }),
        chunk({}, "stop"),
      ]);
      expect(await readSse(response)).toEqual(expected);
    });

    it("frames every chunk as `data: JSON` and a blank line", async () => {
      const response = await provider({ chunkChars: 100 }).send(call(request("Hi", { stream: true })));
      const expected = wire([chunk({ role: "assistant", content: "" }), chunk({ content: "Hi" }), chunk({}, "stop")]);
      expect(await readText(response)).toBe(expected.map((d) => `data: ${d}\n\n`).join(""));
    });

    it("adds usage: null to every chunk and a usage chunk with include_usage", async () => {
      const body = request("Hello there", { stream: true, stream_options: { include_usage: true } });
      const response = await provider().send(call(body));
      expect(await readSse(response)).toEqual(
        wire([
          chunk({ role: "assistant", content: "" }, null, null),
          chunk({ content: "Hello" }, null, null),
          chunk({ content: " ther" }, null, null),
          chunk({ content: "e" }, null, null),
          chunk({}, "stop", null),
          usageChunk({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }),
        ]),
      );
    });

    it("sends no usage without include_usage: true", async () => {
      const body = request("Hi", { stream: true, stream_options: { include_usage: false } });
      const data = await readSse(await provider().send(call(body)));
      expect(data.filter((d) => d.includes('"usage"'))).toEqual([]);
    });

    it("streams a tool call: id and name first, then argument fragments", async () => {
      const body = request("call:get_weather", { stream: true, stream_options: { include_usage: true }, tools: [WEATHER_TOOL] });
      const response = await provider({ chunkChars: 1 }).send(call(body));
      expect(await readSse(response)).toEqual(
        wire([
          chunk(
            {
              role: "assistant",
              content: null,
              tool_calls: [{ index: 0, id: "call_mock_0", type: "function", function: { name: "get_weather", arguments: "" } }],
            },
            null,
            null,
          ),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "{" } }] }, null, null),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "}" } }] }, null, null),
          chunk({}, "tool_calls", null),
          usageChunk({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 }),
        ]),
      );
    });

    it.each([
      { chunkChars: 1, pieces: ["h", "é", "l", "l", "o", " ", "🙂", " ", "w", "ö", "r", "l", "d"] },
      { chunkChars: 3, pieces: ["hél", "lo ", "🙂 w", "örl", "d"] },
      { chunkChars: 6, pieces: ["héllo ", "🙂 wörl", "d"] },
      { chunkChars: 7, pieces: ["héllo 🙂", " wörld"] },
      { chunkChars: 50, pieces: ["héllo 🙂 wörld"] },
    ])("cuts content into $chunkChars code points per chunk", async ({ chunkChars, pieces }) => {
      const response = await provider({ chunkChars }).send(call(request("héllo 🙂 wörld", { stream: true })));
      const content = (await readSse(response))
        .slice(1, -2)
        .map((d) => JSON.parse(d).choices[0].delta.content);
      expect(content).toEqual(pieces);
    });
  });

  describe("timing", () => {
    it("waits latencyMs before answering and chunkDelayMs between chunks", async () => {
      const { sleep, calls } = recordingSleep();
      const p = provider({ latencyMs: 250, chunkDelayMs: 40, chunkChars: 100 }, { sleep });
      const response = await p.send(call(request("Hi", { stream: true })));
      expect(calls).toEqual([250]);
      await readSse(response);
      // role, content, finish, [DONE]: three gaps.
      expect(calls).toEqual([250, 40, 40, 40]);
    });

    it("does not sleep when both delays are zero", async () => {
      const { sleep, calls } = recordingSleep();
      await readSse(await provider({}, { sleep }).send(call(request("Hi", { stream: true }))));
      expect(calls).toEqual([]);
    });

    it("turns a failing sleep into INTERNAL", async () => {
      const sleep: Sleep = () => Promise.reject(new Error("boom"));
      await expect(provider({ latencyMs: 1 }, { sleep }).send(call(request("Hi")))).rejects.toMatchObject({
        reason: Reason.INTERNAL,
      });
    });
  });

  describe("cancellation", () => {
    it("rejects at once when the signal has already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(provider().send(call(request("Hi"), controller.signal))).rejects.toMatchObject({
        reason: Reason.CANCELED,
      });
    });

    it("rejects a send pending on latency and clears its timer (default sleep)", async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const p = createMockProvider(config({ latencyMs: 60_000 }));
      const pending = p.send(call(request("Hi"), controller.signal));
      expect(vi.getTimerCount()).toBe(1);
      controller.abort();
      await expect(pending).rejects.toMatchObject({ reason: Reason.CANCELED });
      expect(vi.getTimerCount()).toBe(0);
    });

    it("stops the body mid-stream: the next read fails with CANCELED, then the iterator is done", async () => {
      const controller = new AbortController();
      const response = await provider().send(call(request("Hello there", { stream: true }), controller.signal));
      const iterator = response.body[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      expect((await iterator.next()).done).toBe(false);
      controller.abort();
      await expect(iterator.next()).rejects.toMatchObject({ reason: Reason.CANCELED });
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
    });

    it("interrupts a pending chunk delay and leaves no timer behind (default sleep)", async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const p = createMockProvider(config({ chunkDelayMs: 60_000 }));
      const response = await p.send(call(request("Hello there", { stream: true }), controller.signal));
      const iterator = response.body[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      const pending = iterator.next();
      expect(vi.getTimerCount()).toBe(1);
      controller.abort();
      await expect(pending).rejects.toMatchObject({ reason: Reason.CANCELED });
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe("errors", () => {
    it("rejects count_tokens with INVALID_REQUEST", async () => {
      const p = provider();
      await expect(p.send({ ...call(request("Hi")), operation: "count_tokens" })).rejects.toMatchObject({
        reason: Reason.INVALID_REQUEST,
        rawMessage: "count_tokens is not supported by mock providers",
      });
    });

    it.each([
      {
        name: "missing messages",
        body: { model: "mock-1" },
        error: { message: "Missing required parameter: 'messages'.", param: "messages" },
      },
      {
        name: "messages not an array",
        body: { model: "mock-1", messages: "hi" },
        error: { message: "Invalid type for 'messages': expected an array of objects, but got a string instead.", param: "messages" },
      },
      {
        name: "messages an object",
        body: { model: "mock-1", messages: { role: "user" } },
        error: { message: "Invalid type for 'messages': expected an array of objects, but got an object instead.", param: "messages" },
      },
      {
        name: "missing model",
        body: { messages: [user("hi")] },
        error: { message: "you must provide a model parameter", param: null },
      },
    ])("answers 400 like OpenAI: $name", async ({ body, error }) => {
      const response = await provider().send(call({ ...body, stream: true }));
      expect(response.status).toBe(400);
      expect(response.headers).toEqual({ "content-type": "application/json" });
      expect(await readText(response)).toBe(
        JSON.stringify({ error: { message: error.message, type: "invalid_request_error", param: error.param, code: null } }),
      );
    });
  });
});
