import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { RouteMode, RouteService, SkipReason } from "../../gen/llmux/route/v1/route_service_pb.js";
import { closedPort, readJson, startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";
import { openSocket, receivedUntilClose } from "../helpers/raw-socket.js";

const TOKEN = "client-token-for-tests";
const PROVIDER_KEY = "sk-provider-secret-1234";
const POISONED = 'request body has a "__proto__" key or a "constructor" with a "prototype", which llmux refuses';

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function upstream(...args: Parameters<typeof startMockUpstream>): Promise<MockUpstream> {
  const mock = await startMockUpstream(...args);
  cleanups.push(() => mock.close());
  return mock;
}

async function gateway(toml: string, options?: Parameters<typeof startGateway>[1]): Promise<TestGateway> {
  const gw = await startGateway(toml, options);
  cleanups.push(() => gw.close());
  return gw;
}

function client(gw: TestGateway, apiKey = TOKEN): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });
}

function oneBackend(mock: MockUpstream, extra = ""): string {
  return `
max_retries = 2
[provider.up]
base_url = "${mock.url}/v1"
api_key = "${PROVIDER_KEY}"
[[backend]]
model = "up:upstream-model"
alias = "gpt-test"
context = 100000
${extra}
[tokens]
tests = "${TOKEN}"
`;
}

describe("OpenAI facade → OpenAI-compatible upstream", () => {
  it("answers a chat completion and sends the upstream the body with only the documented edits", async () => {
    const mock = await upstream(() => ({ type: "openai-chat", content: "Hello from upstream" }));
    const gw = await gateway(
      oneBackend(mock, `key_rename = { max_tokens = "max_completion_tokens" }\nkey_delete = "user"\nkey_add = { custom_flag = true }`),
    );
    const completion = await client(gw).chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 50,
      user: "someone",
      temperature: 0.3,
      // An unknown field survives the pass-through.
      ...({ vendor_extension: { a: 1 } } as object),
    });
    expect(completion.choices[0]?.message.content).toBe("Hello from upstream");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(mock.requests).toHaveLength(1);
    const seen = mock.requests[0]!;
    expect(seen.path).toBe("/v1/chat/completions");
    expect(seen.json).toEqual({
      model: "upstream-model",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 50,
      temperature: 0.3,
      vendor_extension: { a: 1 },
      custom_flag: true,
    });
    // The provider key goes upstream; the client's token never does.
    expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(seen.body).not.toContain(TOKEN);
    expect(JSON.stringify(seen.headers)).not.toContain(TOKEN);
    // Neither secret reaches the log.
    expect(gw.logs.join("\n")).not.toContain(TOKEN);
    expect(gw.logs.join("\n")).not.toContain(PROVIDER_KEY);
  });

  it("streams, requests usage upstream, and withholds the usage chunk the client did not ask for", async () => {
    const mock = await upstream(() => ({ type: "openai-chat", content: "streamed answer text", chunkChars: 5 }));
    const gw = await gateway(oneBackend(mock));
    const stream = await client(gw).chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "go" }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("streamed answer text");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(mock.requests[0]!.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("passes the usage chunk on when the client asked for it", async () => {
    const mock = await upstream(() => ({ type: "openai-chat", content: "abc", usage: { prompt: 11, completion: 3 } }));
    const gw = await gateway(oneBackend(mock));
    const stream = await client(gw).chat.completions.create({
      model: "gpt-test",
      messages: [{ role: "user", content: "go" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 });
  });

  it("passes tool calls through, streaming (finalChatCompletion) and not", async () => {
    const toolCalls = [
      { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_b", name: "get_time", arguments: '{"tz":"CET"}' },
    ];
    const mock = await upstream(() => ({ type: "openai-chat", toolCalls, interleaveToolArgs: true, chunkChars: 3 }));
    const gw = await gateway(oneBackend(mock));
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
      { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } } },
    ];
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: "user", content: "weather and time?" }];
    const final = await client(gw).chat.completions.stream({ model: "gpt-test", messages, tools }).finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(final.choices[0]?.message.tool_calls?.map((c) => (c.type === "function" ? [c.id, c.function.name, c.function.arguments] : []))).toEqual([
      ["call_a", "get_weather", '{"city":"Paris"}'],
      ["call_b", "get_time", '{"tz":"CET"}'],
    ]);
    const plain = await client(gw).chat.completions.create({ model: "gpt-test", messages, tools });
    expect(plain.choices[0]?.message.tool_calls).toHaveLength(2);
    // The tool-result turn goes upstream as the client sent it.
    await client(gw).chat.completions.create({
      model: "gpt-test",
      tools,
      messages: [
        ...messages,
        { role: "assistant", content: null, tool_calls: plain.choices[0]!.message.tool_calls! },
        { role: "tool", tool_call_id: "call_a", content: "18C" },
        { role: "tool", tool_call_id: "call_b", content: "10:00" },
      ],
    });
    expect((mock.requests[2]!.json as { messages: unknown[] }).messages).toHaveLength(4);
  });

  it("fails over to the next backend when the first refuses connections", async () => {
    const port = await closedPort();
    const mock = await upstream(() => ({ type: "openai-chat", content: "from the second" }));
    const gw = await gateway(
      `
[provider.dead]
base_url = "http://127.0.0.1:${port}/v1"
[provider.live]
base_url = "${mock.url}/v1"
[[backend]]
model = "dead:m"
[[backend]]
model = "live:m"
[tokens]
t = "${TOKEN}"
`,
      { verbose: true },
    );
    const completion = await client(gw).chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(completion.choices[0]?.message.content).toBe("from the second");
    const decision = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "route decision");
    expect(decision.attempts).toEqual([
      { backend: "dead:m", outcome: "failed", error: `127.0.0.1:${port} refused the connection` },
      { backend: "live:m", outcome: "ok" },
    ]);
    // The failed backend cools down: the next request goes straight to the live one.
    const health = await readJson(await fetch(`${gw.url}/healthz`));
    expect(health.backends.map((b: { state: string }) => b.state)).toEqual(["cooling_down", "available"]);
  });

  it("fails over on a 5xx, but returns a 400 from the upstream as is, without trying another backend", async () => {
    const bad = await upstream(() => ({ type: "error", status: 500 }));
    const strict = await upstream(() => ({
      type: "error",
      status: 400,
      body: JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens", type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } }),
    }));
    const good = await upstream(() => ({ type: "openai-chat", content: "ok" }));
    const toml = (first: MockUpstream) => `
[provider.one]
base_url = "${first.url}/v1"
[provider.two]
base_url = "${good.url}/v1"
[[backend]]
model = "one:m"
[[backend]]
model = "two:m"
[tokens]
t = "${TOKEN}"
`;
    const gw1 = await gateway(toml(bad));
    const ok = await client(gw1).chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    expect(ok.choices[0]?.message.content).toBe("ok");

    const gw2 = await gateway(toml(strict));
    const before = good.requests.length;
    const err = await client(gw2).chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toEqual({
      message: "This model's maximum context length is 8192 tokens",
      type: "invalid_request_error",
      param: null,
      code: null,
    });
    expect(good.requests.length).toBe(before);
  });

  it("answers 502 in the OpenAI shape when every attempt fails, and never hangs", async () => {
    const bad = await upstream(() => ({ type: "error", status: 503, body: "<html>Service Unavailable</html>", headers: { "content-type": "text/html" } }));
    const gw = await gateway(oneBackend(bad));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(503);
    const body = await readJson(res);
    expect(body.error.type).toBe("server_error");
    expect(JSON.stringify(body)).not.toContain("<html>");
  });

  it("ends a stream that fails after the first byte with an error event and no [DONE]", async () => {
    const mock = await upstream(() => ({
      type: "sse",
      events: [
        `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"par"},"finish_reason":null}]}\n\n`,
      ],
      end: "reset",
    }));
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-test", stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"content":"par"');
    expect(text).not.toContain("[DONE]");
    const frames = text.trim().split("\n\n");
    expect(JSON.parse(frames.at(-1)!.slice("data: ".length))).toEqual({
      error: { message: `connection to ${new URL(mock.url).host} failed`, type: "server_error", param: null, code: "upstream_error" },
    });
    // The failure counts against the backend: it cools down, and the next request is told when to retry.
    const cooling = await client(gw).chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(cooling).toBeInstanceOf(OpenAI.InternalServerError);
    expect((cooling as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((cooling as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("5");
    // The SDK surfaces a broken stream as an error, not as a clean truncated answer.
    const fresh = await gateway(oneBackend(mock));
    const stream = await client(fresh).chat.completions.create({ model: "gpt-test", stream: true, messages: [{ role: "user", content: "x" }] });
    await expect((async () => { for await (const _ of stream) void _; })()).rejects.toThrow(/failed/);
  });
});

describe("OpenAI facade: client errors", () => {
  it.each([
    ["no token", {}, 401, "invalid_api_key"],
    ["wrong token", { authorization: "Bearer nope" }, 401, "invalid_api_key"],
    ["SQL in the token", { authorization: "Bearer ' OR 1=1--" }, 401, "invalid_api_key"],
    ["a 10 KB token", { "x-api-key": "k".repeat(10_000) }, 401, "invalid_api_key"],
  ])("%s → $2", async (_, headers, status, code) => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(status);
    expect((await readJson(res)).error.code).toBe(code);
    expect(mock.requests).toHaveLength(0);
  });

  it("accepts the token as x-api-key too", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/models`, { headers: { "x-api-key": TOKEN } });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ object: "list", data: [{ id: "gpt-test", object: "model", owned_by: "up" }, { id: "upstream-model", object: "model", owned_by: "up" }] });
  });

  it.each([
    ["malformed JSON", "application/json", '{"model":', 400, "request body is not valid JSON", null],
    ["a JSON array", "application/json", "[]", 400, "request body must be a JSON object", ""],
    ["text/plain", "text/plain", "hello", 415, "content-type must be application/json", null],
    ["no messages", "application/json", '{"model":"gpt-test"}', 400, "messages must be an array", "messages"],
    ["stream as a string", "application/json", '{"model":"gpt-test","stream":"true","messages":[{"role":"user","content":"x"}]}', 400, "stream must be a boolean", "stream"],
    ["a bad role", "application/json", '{"model":"gpt-test","messages":[{"role":"wizard","content":"x"}]}', 400, "role must be one of system, developer, user, assistant, tool", "messages.0.role"],
    ["api_base smuggling", "application/json", '{"model":"gpt-test","api_base":"http://evil","messages":[{"role":"user","content":"x"}]}', 400, "api_base is not allowed: llmux decides where requests go", "api_base"],
    ["__proto__", "application/json", '{"model":"gpt-test","__proto__":{"x":1},"messages":[{"role":"user","content":"x"}]}', 400, POISONED, null],
    ["__proto__ written with escapes", "application/json", '{"model":"gpt-test","messages":[{"role":"user","content":"x","\\u005f_proto__":{"x":1}}]}', 400, POISONED, null],
    ["constructor.prototype", "application/json", '{"model":"gpt-test","metadata":{"constructor":{"prototype":{"x":1}}},"messages":[{"role":"user","content":"x"}]}', 400, POISONED, null],
    ["an empty JSON body", "application/json", "", 400, "request body is empty; send a JSON object", null],
  ])("%s → $3", async (_, contentType, body, status, message, param) => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": contentType }, body });
    expect(res.status).toBe(status);
    const json = await readJson(res);
    expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
    if (message !== undefined) expect(json.error.message).toBe(message);
    if (param !== undefined) expect(json.error.param).toBe(param);
    expect(mock.requests).toHaveLength(0);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("ignores a byte-order mark before a JSON body, as Fastify's own parser did", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const body = `\ufeff${JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "with a BOM" }] })}`;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json; charset=utf-8" }, body });
    expect(res.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]!.json).toMatchObject({ messages: [{ role: "user", content: "with a BOM" }] });
  });

  it("answers 413 for a body over the limit", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "x".repeat(33 * 1024 * 1024) }] }),
    });
    expect(res.status).toBe(413);
    expect((await readJson(res)).error.code).toBe("request_too_large");
  });

  it("answers 404 model_not_found when no backend serves the model, without listing backends", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock, `model_match = ["gpt-*"]`));
    const err = await client(gw).chat.completions.create({ model: "claude-3", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      message: "no backend can serve model 'claude-3' with this request",
      type: "invalid_request_error",
      param: "model",
      code: "model_not_found",
    });
  });

  it("answers 400 naming the sizes when the request fits no backend's context", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const err = await client(gw).chat.completions.create({ model: "gpt-test", max_tokens: 100_000, messages: [{ role: "user", content: "x".repeat(4000) }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("request needs about 101000 tokens (prompt 1000 + max output 100000); the largest context available is 100000");
    expect(mock.requests).toHaveLength(0);
  });

  it("answers unknown routes with a 404 in the OpenAI shape, auth still enforced on known ones", async () => {
    const mock = await upstream();
    const gw = await gateway(oneBackend(mock));
    const res = await fetch(`${gw.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect((await readJson(res)).error.type).toBe("invalid_request_error");
    expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401);
  });
});

describe("Route service over Connect", () => {
  /** A gateway with the built-in mock provider only: the control-plane tests need no upstream. */
  const MOCK_ONLY = `
[provider.mock]
kind = "mock"
[[backend]]
model = "mock:small"
[tokens]
t = "${TOKEN}"
`;

  it("explains a routing decision for every backend", async () => {
    const mock = await upstream();
    const gw = await gateway(`
[provider.p]
base_url = "${mock.url}/v1"
[[backend]]
model = "p:small"
context = 8000
[[backend]]
model = "p:eyes"
context = 128000
vision = true
[[backend]]
model = "p:thinker"
thinking = true
model_match = ["*opus*"]
[tokens]
t = "${TOKEN}"
`);
    const transport = createConnectTransport({
      baseUrl: gw.url,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => { req.header.set("authorization", `Bearer ${TOKEN}`); return next(req); }],
    });
    const route = createClient(RouteService, transport);
    const explained = await route.explainRoute({ requirements: { model: "claude-opus-4", promptTokens: 10_000, hasImages: true } });
    expect(explained.mode).toBe(RouteMode.CAPABILITY);
    expect(explained.candidates.map((c) => c.backend)).toEqual(["p:eyes"]);
    expect(explained.decisions.map((d) => [d.backend, d.kept, d.reason, d.detail])).toEqual([
      ["p:small", false, SkipReason.CONTEXT_TOO_SMALL, "needs about 10000 tokens, context is 8000"],
      ["p:eyes", true, SkipReason.UNSPECIFIED, ""],
      ["p:thinker", false, SkipReason.NO_VISION, "request has images, backend has no vision"],
    ]);
    const selected = await route.selectBackend({ requirements: { model: "p:thinker" } });
    expect(selected.mode).toBe(RouteMode.MODEL_NAME);
    expect(selected.candidates.map((c) => [c.backend, c.model, c.providerKind])).toEqual([["p:thinker", "thinker", "openai"]]);
    await expect(route.selectBackend({})).rejects.toThrow("requirements are required");
    const anonymous = createClient(RouteService, createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" }));
    await expect(anonymous.selectBackend({ requirements: { model: "x" } })).rejects.toThrow(/unauthenticated|missing API key/);
  });

  it("applies the control-plane port's limits: 1 MiB messages, unknown JSON fields refused", async () => {
    const gw = await gateway(MOCK_ONLY);
    const call = (body: string) =>
      fetch(`${gw.url}/llmux.admin.v1.AdminService/Login`, { method: "POST", headers: { "content-type": "application/json" }, body });
    // Refused once 1 MiB has arrived, without credentials, instead of read to the end of the facade's body limit.
    const big = await call(JSON.stringify({ username: "x", password: "p".repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(429);
    expect(await big.json()).toMatchObject({ code: "resource_exhausted" });
    const misspelt = await call(JSON.stringify({ username: "x", password: "y", passwrd: "z" }));
    expect(misspelt.status).toBe(400);
    expect(await misspelt.json()).toEqual({
      code: "invalid_argument",
      message: 'cannot decode message llmux.admin.v1.LoginRequest from JSON: key "passwrd" is unknown',
    });
  });

  it("closes the connection of a message refused over 1 MiB whose client never finishes sending it", async () => {
    const gw = await gateway(MOCK_ONLY);
    const socket = await openSocket(Number(new URL(gw.url).port));
    cleanups.push(async () => void socket.destroy());
    const answer = receivedUntilClose(socket);
    // 1.5 of the 2 MiB announced, then silence: the rest is never read, so the connection cannot carry another call.
    socket.write(
      `POST /llmux.admin.v1.AdminService/Login HTTP/1.1\r\nhost: llmux\r\ncontent-type: application/json\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n`,
    );
    socket.write(`{"username":"x","password":"${"p".repeat(1.5 * 1024 * 1024)}`);
    const start = Date.now();
    const text = await answer;
    const closedAt = Date.now();
    expect(text.split("\r\n")[0]).toBe("HTTP/1.1 429 Too Many Requests");
    expect(text.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toMatchObject({ code: "resource_exhausted" });
    // Cut off a second after the answer, well before the 30 s drain or Node's receive bound.
    expect(closedAt - start).toBeLessThan(5_000);
  });
});
