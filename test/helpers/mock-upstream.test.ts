import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startMockUpstream } from "./mock-upstream.js";
import type { MockReply, MockUpstream } from "./mock-upstream.js";

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream();
});

afterEach(async () => {
  await mock.close();
});

function post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(mock.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

/** Splits an SSE body into its frames, each keeping its trailing blank line. */
function framesOf(text: string): string[] {
  return text.split(/(?<=\n\n)/).filter((f) => f !== "");
}

/** The JSON of an OpenAI `data:` frame. */
function dataOf(frame: string): Record<string, unknown> {
  return JSON.parse(frame.slice("data: ".length)) as Record<string, unknown>;
}

/** Replies with `reply` to every request and resolves `arrived` when the first one reaches the script. */
function scriptWithArrival(reply: MockReply): Promise<void> {
  return new Promise<void>((resolve) => {
    mock.script(() => {
      resolve();
      return reply;
    });
  });
}

const USER = { role: "user", content: "hi" };

describe("request recording", () => {
  it("records method, path with query, headers, body and parsed JSON", async () => {
    const body = { model: "gpt-x", messages: [USER] };
    await post("/v1/chat/completions?api-version=2024-10-21", body, {
      headers: { "content-type": "application/json", authorization: "Bearer sk-test", "x-trace": "t1" },
    });
    expect(mock.requests).toHaveLength(1);
    const [req] = mock.requests;
    expect(req).toMatchObject({ method: "POST", path: "/v1/chat/completions?api-version=2024-10-21", body: JSON.stringify(body), json: body });
    expect(req!.headers).toMatchObject({ authorization: "Bearer sk-test", "x-trace": "t1", "content-type": "application/json" });
  });

  it.each([
    ["a non-JSON body", "POST", "not json", "not json"],
    ["no body", "GET", undefined, ""],
  ])("leaves json undefined for %s", async (_name, method, body, recorded) => {
    await fetch(mock.url + "/v1/models", { method, body });
    expect(mock.requests[0]).toMatchObject({ method, body: recorded, json: undefined });
  });
});

describe("default script", () => {
  it("echoes the last user text as an OpenAI chat completion", async () => {
    const res = await post("/v1/chat/completions", {
      model: "m",
      messages: [{ role: "user", content: "first" }, { role: "assistant", content: "x" }, { role: "user", content: [{ type: "text", text: "echo " }, { type: "text", text: "me" }] }],
    });
    const json = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]!.message.content).toBe("echo me");
  });

  it("echoes the last user text as an Anthropic message", async () => {
    const res = await post("/v1/messages", { model: "c", max_tokens: 10, messages: [{ role: "user", content: "ping" }] });
    expect(((await res.json()) as { content: unknown }).content).toEqual([{ type: "text", text: "ping" }]);
  });

  it("counts tokens as one per four characters of the body", async () => {
    const body = JSON.stringify({ model: "c", messages: [{ role: "user", content: "count these tokens please" }] });
    const res = await post("/v1/messages/count_tokens", body);
    expect(await res.text()).toBe(JSON.stringify({ input_tokens: Math.ceil(body.length / 4) }));
  });

  it("lists one OpenAI model", async () => {
    const res = await fetch(mock.url + "/v1/models");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ object: "list", data: [{ id: "mock-model", object: "model", created: 1_704_067_200, owned_by: "mock" }] });
  });

  it.each([
    ["/v1/unknown", { error: { message: "mock upstream: 404 Not Found", type: "invalid_request_error", param: null, code: null } }],
    ["/v1/messages/batches", { type: "error", error: { type: "not_found_error", message: "mock upstream: 404 Not Found" } }],
  ])("answers %s with the dialect's 404", async (path, expected) => {
    const res = await post(path, {});
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(expected);
  });
});

describe("openai-chat, non-streaming", () => {
  it.each<[string, MockReply, Record<string, unknown>, string]>([
    [
      "text",
      { type: "openai-chat", content: "Hello", usage: { prompt: 7, completion: 2 } },
      { role: "assistant", content: "Hello", refusal: null, annotations: [] },
      "stop",
    ],
    [
      "tool calls with reasoning",
      {
        type: "openai-chat",
        reasoning: "think",
        toolCalls: [{ id: "call_1", name: "f", arguments: '{"a":1}' }],
        usage: { prompt: 7, completion: 2, cached: 3, reasoning: 1 },
      },
      {
        role: "assistant",
        content: null,
        refusal: null,
        annotations: [],
        tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
        reasoning_content: "think",
      },
      "tool_calls",
    ],
  ])("returns the exact chat.completion bytes: %s", async (_name, reply, message, finish) => {
    mock.script(() => reply);
    const res = await post("/v1/chat/completions", { model: "gpt-x", messages: [USER] });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get("x-request-id")).toBe("req_mock000001");
    const { created } = JSON.parse(text) as { created: unknown };
    expect(Number.isInteger(created)).toBe(true);
    const usage = reply.type === "openai-chat" ? reply.usage! : undefined;
    expect(text).toBe(
      JSON.stringify({
        id: "chatcmpl-mock000001",
        object: "chat.completion",
        created,
        model: "gpt-x",
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage: {
          prompt_tokens: 7,
          completion_tokens: 2,
          total_tokens: 9,
          prompt_tokens_details: { cached_tokens: usage?.cached ?? 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: usage?.reasoning ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
        },
        service_tier: "default",
        system_fingerprint: "fp_mock",
      }),
    );
  });
});

describe("openai-chat, streaming", () => {
  /** Streams `reply` and returns the frames plus a builder for the exact bytes expected of chunk n. */
  async function stream(reply: MockReply, request: Record<string, unknown>) {
    mock.script(() => reply);
    const res = await post("/v1/chat/completions", { model: "gpt-x", messages: [USER], stream: true, ...request });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("content-length")).toBeNull();
    const frames = framesOf(await res.text());
    const chunks = frames.slice(0, -1).map(dataOf);
    const { created } = chunks[0]!;
    for (const c of chunks) expect(c["obfuscation"]).toMatch(/^\w+$/);
    const head = { id: "chatcmpl-mock000001", object: "chat.completion.chunk", created, model: "gpt-x", service_tier: "default", system_fingerprint: "fp_mock" };
    return { frames, chunks, head };
  }

  it("streams text without include_usage", async () => {
    const { frames, chunks, head } = await stream({ type: "openai-chat", content: "Hello world", chunkChars: 5 }, {});
    const chunk = (n: number, delta: unknown, finish: string | null = null): string =>
      `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], obfuscation: chunks[n]!["obfuscation"] })}\n\n`;
    expect(frames).toEqual([
      chunk(0, { role: "assistant", content: "", refusal: null }),
      chunk(1, { content: "Hello" }),
      chunk(2, { content: " worl" }),
      chunk(3, { content: "d" }),
      chunk(4, {}, "stop"),
      "data: [DONE]\n\n",
    ]);
  });

  it("streams text with include_usage: usage null on every chunk, then a usage chunk", async () => {
    const reply: MockReply = { type: "openai-chat", content: "Hi!", chunkChars: 2, usage: { prompt: 10, completion: 3, cached: 4 } };
    const { frames, chunks, head } = await stream(reply, { stream_options: { include_usage: true } });
    const chunk = (n: number, choices: unknown[], usage: unknown): string =>
      `data: ${JSON.stringify({ ...head, choices, usage, obfuscation: chunks[n]!["obfuscation"] })}\n\n`;
    const delta = (n: number, d: unknown, finish: string | null = null): string => chunk(n, [{ index: 0, delta: d, logprobs: null, finish_reason: finish }], null);
    expect(frames).toEqual([
      delta(0, { role: "assistant", content: "", refusal: null }),
      delta(1, { content: "Hi" }),
      delta(2, { content: "!" }),
      delta(3, {}, "stop"),
      chunk(4, [], {
        prompt_tokens: 10,
        completion_tokens: 3,
        total_tokens: 13,
        prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      }),
      "data: [DONE]\n\n",
    ]);
  });

  const calls = [
    { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
    { id: "call_b", name: "get_time", arguments: '{"tz":"CET"}' },
  ];
  const head = (index: number) => ({ tool_calls: [{ index, id: calls[index]!.id, type: "function", function: { name: calls[index]!.name, arguments: "" } }] });
  const args = (index: number, piece: string) => ({ tool_calls: [{ index, function: { arguments: piece } }] });

  it.each([
    ["in order", false, [head(0), args(0, '{"city":'), args(0, '"Paris"}'), head(1), args(1, '{"tz":"C'), args(1, 'ET"}')]],
    ["interleaved", true, [head(0), args(0, '{"city":'), head(1), args(1, '{"tz":"C'), args(0, '"Paris"}'), args(1, 'ET"}')]],
  ])("streams two tool calls %s, after reasoning and content", async (_name, interleaveToolArgs, toolDeltas) => {
    const reply: MockReply = { type: "openai-chat", reasoning: "Hmm", content: "Ok", toolCalls: calls, chunkChars: 8, interleaveToolArgs };
    const { frames, chunks } = await stream(reply, {});
    const choices = chunks.map((c) => (c["choices"] as unknown[])[0]);
    expect(choices).toEqual([
      { role: "assistant", content: "", refusal: null },
      { reasoning_content: "Hmm" },
      { content: "Ok" },
      ...toolDeltas,
      {},
    ].map((delta, i, all) => ({ index: 0, delta, logprobs: null, finish_reason: i === all.length - 1 ? "tool_calls" : null })));
    expect(frames.at(-1)).toBe("data: [DONE]\n\n");
  });
});

describe("anthropic-message", () => {
  const frame = (data: { type: string } & Record<string, unknown>): string => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
  const usage = (output: number) => ({
    input_tokens: 20,
    cache_creation_input_tokens: 2,
    cache_read_input_tokens: 5,
    cache_creation: { ephemeral_5m_input_tokens: 2, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: "standard",
  });
  const messageStart = {
    type: "message_start",
    message: { id: "msg_mock000001", type: "message", role: "assistant", model: "claude-x", content: [], stop_reason: null, stop_sequence: null, usage: usage(1) },
  };
  const messageEnd = (stopReason: string) => [
    frame({
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { input_tokens: 20, cache_creation_input_tokens: 2, cache_read_input_tokens: 5, output_tokens: 30 },
    }),
    frame({ type: "message_stop" }),
  ];
  const counts = { input: 20, output: 30, cacheRead: 5, cacheCreation: 2 };

  async function send(reply: MockReply, stream: boolean): Promise<Response> {
    mock.script(() => reply);
    return post("/v1/messages", { model: "claude-x", max_tokens: 100, messages: [USER], stream });
  }

  it("returns the exact Message bytes, stop_reason tool_use when a tool is called", async () => {
    const content = [{ type: "text" as const, text: "Let me check." }, { type: "tool_use" as const, id: "toolu_1", name: "f", input: { a: 1 } }];
    const res = await send({ type: "anthropic-message", content, usage: counts }, false);
    const text = await res.text();
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get("request-id")).toBe("req_mock000001");
    expect(text).toBe(
      JSON.stringify({ id: "msg_mock000001", type: "message", role: "assistant", model: "claude-x", content, stop_reason: "tool_use", stop_sequence: null, usage: usage(30) }),
    );
  });

  it("streams text with the exact event bytes", async () => {
    const res = await send({ type: "anthropic-message", content: [{ type: "text", text: "Hello there" }], chunkChars: 6, usage: counts }, true);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(framesOf(await res.text())).toEqual([
      frame(messageStart),
      'event: ping\ndata: {"type": "ping"}\n\n',
      frame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello " } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "there" } }),
      frame({ type: "content_block_stop", index: 0 }),
      ...messageEnd("end_turn"),
    ]);
  });

  it("streams thinking then tool_use: one signature_delta, input JSON starting with an empty fragment", async () => {
    const content = [
      { type: "thinking" as const, thinking: "Need weather", signature: "sig-1" },
      { type: "tool_use" as const, id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
    ];
    const res = await send({ type: "anthropic-message", content, chunkChars: 8, usage: counts }, true);
    expect(framesOf(await res.text())).toEqual([
      frame(messageStart),
      'event: ping\ndata: {"type": "ping"}\n\n',
      frame({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Need wea" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "ther" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig-1" } }),
      frame({ type: "content_block_stop", index: 0 }),
      frame({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"city":' } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '"Paris"}' } }),
      frame({ type: "content_block_stop", index: 1 }),
      ...messageEnd("tool_use"),
    ]);
  });
});

describe("error", () => {
  it.each([
    ["/v1/chat/completions", 429, { error: { message: "mock upstream: 429 Too Many Requests", type: "requests", param: null, code: null } }],
    ["/v1/chat/completions", 500, { error: { message: "mock upstream: 500 Internal Server Error", type: "server_error", param: null, code: null } }],
    ["/v1/chat/completions", 400, { error: { message: "mock upstream: 400 Bad Request", type: "invalid_request_error", param: null, code: null } }],
    ["/v1/messages", 429, { type: "error", error: { type: "rate_limit_error", message: "mock upstream: 429 Too Many Requests" } }],
    ["/v1/messages", 529, { type: "error", error: { type: "overloaded_error", message: "mock upstream: 529 Error" } }],
    ["/v1/messages", 401, { type: "error", error: { type: "authentication_error", message: "mock upstream: 401 Unauthorized" } }],
    ["/v1/messages", 503, { type: "error", error: { type: "api_error", message: "mock upstream: 503 Service Unavailable" } }],
  ])("%s %i gets the dialect's default body", async (path, status, expected) => {
    mock.script(() => ({ type: "error", status, headers: { "retry-after": "20" } }));
    const res = await post(path, {});
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(res.headers.get("retry-after")).toBe("20");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(text).toBe(JSON.stringify(expected));
  });

  it("sends a given body and lets given headers replace the defaults", async () => {
    mock.script(() => ({ type: "error", status: 502, body: "<html>Bad Gateway</html>", headers: { "Content-Type": "text/html" } }));
    const res = await post("/v1/chat/completions", {});
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toBe("<html>Bad Gateway</html>");
  });
});

describe("sse, raw and redirect", () => {
  const events = ['data: {"id":"1","choices":[]}\n\n', "data: {broken\n\n"];

  it("ends a raw stream cleanly without [DONE] (truncation)", async () => {
    mock.script(() => ({ type: "sse", events }));
    const res = await post("/v1/chat/completions", {});
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await res.text()).toBe(events.join(""));
  });

  it("resets the socket after delivering every frame", async () => {
    mock.script(() => ({ type: "sse", events, end: "reset" }));
    const res = await post("/v1/chat/completions", {});
    const reader = res.body!.getReader();
    let received = "";
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        received += Buffer.from(value).toString("utf8");
      }
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(received).toBe(events.join(""));
    expect(await mock.waitForClose(0)).toBe(false);
  });

  it("flushes status and headers before the first frame, then stalls until the client aborts", async () => {
    mock.script(() => ({ type: "sse", events: [], end: "stall", status: 200, headers: { "x-upstream": "1" } }));
    const abort = new AbortController();
    const res = await post("/v1/chat/completions", {}, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("1");
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    abort.abort();
    expect(await mock.waitForClose(5_000)).toBe(true);
    expect(mock.closedSockets()).toBe(1);
  });

  it("writes a raw reply as given, adding content-length", async () => {
    mock.script(() => ({ type: "raw", status: 200, headers: { "content-type": "text/html" }, body: "<h1>é</h1>" }));
    const res = await post("/v1/chat/completions", {});
    expect(res.headers.get("content-length")).toBe("11");
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(await res.text()).toBe("<h1>é</h1>");
  });

  it("redirects with 307 and the location", async () => {
    mock.script(() => ({ type: "redirect", location: "http://evil.example/v1/chat/completions" }));
    const res = await post("/v1/chat/completions", {}, { redirect: "manual" });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("http://evil.example/v1/chat/completions");
  });
});

describe("connection faults and aborts", () => {
  it("resets before headers once the body arrived, and does not count that as a client abort", async () => {
    mock.script(() => ({ type: "reset" }));
    await expect(post("/v1/chat/completions", { model: "m" })).rejects.toThrow(TypeError);
    expect(mock.requests[0]!.json).toEqual({ model: "m" });
    expect(mock.closedSockets()).toBe(1);
    expect(await mock.waitForClose(0)).toBe(false);
  });

  it.each<[string, MockReply]>([
    ["a stalled request", { type: "stall" }],
    ["a delayed error", { type: "error", status: 500, delayMs: 60_000 }],
    ["a delayed stream", { type: "openai-chat", content: "never sent", delayMs: 60_000 }],
  ])("observes the client aborting %s", async (_name, reply) => {
    const arrived = scriptWithArrival(reply);
    const abort = new AbortController();
    const pending = post("/v1/chat/completions", { stream: true }, { signal: abort.signal });
    await arrived;
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect(await mock.waitForClose(5_000)).toBe(true);
    // Not openSockets() === 0: undici may open a fresh idle connection right after an abort.
    expect(mock.closedSockets()).toBe(1);
  });

  it("observes the client aborting between frames, one waitForClose per abort", async () => {
    mock.script(() => ({ type: "openai-chat", content: "abcdefgh", chunkChars: 1, chunkDelayMs: 60_000 }));
    const abort = new AbortController();
    const res = await post("/v1/chat/completions", { stream: true }, { signal: abort.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString("utf8")).toMatch(/^data: .*"role":"assistant"/);
    abort.abort();
    expect(await mock.waitForClose(5_000)).toBe(true);
    expect(await mock.waitForClose(0)).toBe(false);
  });

  it("closes without hanging while a response is stalled", async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const stalled = await startMockUpstream(() => {
      arrived();
      return { type: "stall" };
    });
    const outcome = fetch(stalled.url + "/v1/chat/completions", { method: "POST", body: "{}" }).then(
      () => "answered",
      (err: unknown) => err,
    );
    await arrival;
    await stalled.close();
    expect(await outcome).toBeInstanceOf(TypeError);
    expect(stalled.openSockets()).toBe(0);
  });
});

describe("official SDKs as clients", () => {
  const toolCalls = [
    { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
    { id: "call_b", name: "get_time", arguments: '{"tz":"CET"}' },
  ];
  const expectedToolCalls = toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  const tools = ["get_weather", "get_time"].map((name) => ({
    type: "function" as const,
    function: { name, parameters: { type: "object", properties: {} } },
  }));
  const params = { model: "gpt-x", messages: [{ role: "user" as const, content: "weather and time?" }], tools };

  function openai(): OpenAI {
    mock.script(() => ({ type: "openai-chat", content: "Checking.", toolCalls, interleaveToolArgs: true, chunkChars: 3, usage: { prompt: 12, completion: 9 } }));
    return new OpenAI({ baseURL: mock.url + "/v1", apiKey: "x", maxRetries: 0 });
  }

  it("openai chat.completions.create, non-streaming", async () => {
    const completion = await openai().chat.completions.create(params);
    expect(completion.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { role: "assistant", content: "Checking.", tool_calls: expectedToolCalls } });
    expect(completion.usage?.total_tokens).toBe(21);
    expect(mock.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", headers: { authorization: "Bearer x" } });
  });

  it("openai chat.completions.create, streaming with usage", async () => {
    const stream = await openai().chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let content = "";
    const args = ["", ""];
    let finish: string | null = null;
    let total: number | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      content += choice?.delta.content ?? "";
      for (const call of choice?.delta.tool_calls ?? []) args[call.index] += call.function?.arguments ?? "";
      finish = choice?.finish_reason ?? finish;
      total = chunk.usage?.total_tokens ?? total;
    }
    expect({ content, args, finish, total }).toEqual({ content: "Checking.", args: toolCalls.map((c) => c.arguments), finish: "tool_calls", total: 21 });
  });

  it("openai chat.completions.stream().finalChatCompletion() with interleaved tool calls", async () => {
    const completion = await openai().chat.completions.stream(params).finalChatCompletion();
    expect(completion.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { role: "assistant", content: "Checking.", tool_calls: expectedToolCalls } });
  });

  const content = [
    { type: "thinking" as const, thinking: "The user wants the weather.", signature: "EqQBCgIYAhIM" },
    { type: "text" as const, text: "Let me look." },
    { type: "tool_use" as const, id: "toolu_01", name: "get_weather", input: { city: "Paris", days: [1, 2] } },
  ];
  const messageParams = {
    model: "claude-x",
    max_tokens: 1024,
    messages: [{ role: "user" as const, content: "weather?" }],
    tools: [{ name: "get_weather", input_schema: { type: "object" as const, properties: {} } }],
  };

  function anthropic(): Anthropic {
    mock.script(() => ({ type: "anthropic-message", content, chunkChars: 5, usage: { input: 20, output: 30, cacheRead: 5 } }));
    return new Anthropic({ baseURL: mock.url, apiKey: "x", maxRetries: 0 });
  }

  it("anthropic messages.create, non-streaming", async () => {
    const message = await anthropic().messages.create(messageParams);
    expect(message).toMatchObject({ id: "msg_mock000001", content, stop_reason: "tool_use", usage: { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 5 } });
    expect(mock.requests[0]).toMatchObject({ path: "/v1/messages", headers: { "anthropic-version": expect.any(String) as unknown } });
  });

  it("anthropic messages.create, streaming", async () => {
    const stream = await anthropic().messages.create({ ...messageParams, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe("message_start");
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(types.filter((t) => t === "content_block_start")).toHaveLength(3);
  });

  it("anthropic messages.stream().finalMessage() with thinking and tool_use", async () => {
    const message = await anthropic().messages.stream(messageParams).finalMessage();
    expect(message.content).toEqual(content);
    expect(message).toMatchObject({ stop_reason: "tool_use", usage: { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 5 } });
  });
});
