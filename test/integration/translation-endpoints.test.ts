import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestGateway } from "../helpers/gateway.js";
import { startTwoUpstreams, type TwoUpstreams } from "../helpers/two-upstreams.js";
import type { MockUpstream } from "../helpers/mock-upstream.js";

// Client tokens on every endpoint, count_tokens (forwarded to Anthropic, estimated for OpenAI backends) and the
// model list, through both official SDKs.

const TOKEN = "client-token-endpoints";

let oai: MockUpstream;
let ant: MockUpstream;
let gw: TestGateway;

let upstreams: TwoUpstreams;
beforeAll(async () => {
  upstreams = await startTwoUpstreams({ token: TOKEN, openaiKey: "sk-openai-provider-key-5", anthropicKey: "sk-ant-provider-key-5" });
  ({ oai, ant, gw } = upstreams);
});
afterAll(() => upstreams?.close());
beforeEach(() => upstreams.reset());

const chat = { model: "gpt-up", messages: [{ role: "user", content: "hi" }] };
const messages = { max_tokens: 16, messages: [{ role: "user", content: "hi" }] };

/** Every endpoint, with a body valid for it; `dialect` is the shape its errors take. */
const ENDPOINTS: Array<[string, string, "GET" | "POST", unknown, "openai" | "anthropic"]> = [
  ["chat → OpenAI backend", "/v1/chat/completions", "POST", chat, "openai"],
  ["chat → Anthropic backend", "/v1/chat/completions", "POST", { ...chat, model: "claude-up" }, "openai"],
  ["messages → Anthropic backend", "/v1/messages", "POST", { ...messages, model: "claude-up" }, "anthropic"],
  ["messages?beta=true → OpenAI backend", "/v1/messages?beta=true", "POST", { ...messages, model: "gpt-up" }, "anthropic"],
  ["count_tokens → Anthropic backend", "/v1/messages/count_tokens", "POST", { model: "claude-up", messages: messages.messages }, "anthropic"],
  ["count_tokens → OpenAI backend", "/v1/messages/count_tokens", "POST", { model: "gpt-up", messages: messages.messages }, "anthropic"],
  ["models", "/v1/models", "GET", undefined, "openai"],
];

describe("client tokens", () => {
  it.each(ENDPOINTS)("%s accepts the token as x-api-key and as Authorization: Bearer, and nothing else", async (_, path, method, body, dialect) => {
    const send = (headers: Record<string, string>) =>
      fetch(`${gw.url}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    for (const headers of [{ "x-api-key": TOKEN }, { authorization: `Bearer ${TOKEN}` }] as Array<Record<string, string>>) {
      const res = await send(headers);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const upstreamCalls = oai.requests.length + ant.requests.length;
    for (const headers of [{ "x-api-key": "wrong" }, { authorization: "Bearer wrong" }, { authorization: TOKEN }, {}] as Array<Record<string, string>>) {
      const res = await send(headers);
      expect(res.status).toBe(401);
      const json: unknown = await res.json();
      if (dialect === "anthropic") expect(json).toEqual({ type: "error", error: { type: "authentication_error", message: expect.any(String) } });
      else expect(json).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    }
    expect(oai.requests.length + ant.requests.length).toBe(upstreamCalls);
  });

  it("the Anthropic SDK authenticates with x-api-key too (Claude Code's ANTHROPIC_API_KEY style)", async () => {
    const sent: Headers[] = [];
    const client = new Anthropic({
      baseURL: gw.url,
      apiKey: null,
      defaultHeaders: { "x-api-key": TOKEN },
      maxRetries: 0,
      fetch: (url, init) => {
        sent.push(new Headers(init?.headers));
        return fetch(url, init);
      },
    });
    const message = await client.messages.create({ model: "claude-up", max_tokens: 16, messages: [{ role: "user", content: "ping" }] });
    expect(message.content).toEqual([{ type: "text", text: "ping" }]);
    expect(sent.map((h) => [h.get("x-api-key"), h.get("authorization")])).toEqual([[TOKEN, null]]);
  });
});

describe("count_tokens", () => {
  it("is forwarded to an Anthropic backend as sent, apart from model", async () => {
    const params: Anthropic.MessageCountTokensParams = {
      model: "claude-up",
      system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "How many tokens is this?" }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      thinking: { type: "enabled", budget_tokens: 2048 },
    };
    const client = new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
    const counted = await client.messages.countTokens(params);
    const seen = ant.requests[0]!;
    expect(ant.requests).toHaveLength(1);
    expect(seen.path).toBe("/v1/messages/count_tokens");
    expect(seen.json).toEqual({ ...params, model: "claude-upstream" });
    expect([seen.headers["x-api-key"], seen.headers.authorization, seen.headers["anthropic-version"]]).toEqual(["sk-ant-provider-key-5", undefined, "2026-10-21"]);
    expect(JSON.stringify(seen.headers)).not.toContain(TOKEN);
    // The mock counts one token per 4 body characters.
    expect(counted).toEqual({ input_tokens: Math.ceil(seen.body.length / 4) });
    expect(oai.requests).toHaveLength(0);
  });

  // The documented estimate (server/translate/requirements.ts): ceil(characters / 4) + 1600 per image, counting
  // system text, message text, and tool names, descriptions and JSON schemas.
  it.each<[string, Omit<Anthropic.MessageCountTokensParams, "model">, number]>([
    ["text: 9 + 391 characters", { system: "Be terse.", messages: [{ role: "user", content: "x".repeat(391) }] }, 100],
    [
      "text and an image: 5 characters + 1600",
      { messages: [{ role: "user", content: [{ type: "text", text: "What?" }, { type: "image", source: { type: "url", url: "https://example.com/a.png" } }] }] },
      1602,
    ],
    [
      "a tool: 4 + 13 + 17 characters of tool, 366 of text",
      { tools: [{ name: "noop", description: "Does nothing.", input_schema: { type: "object" } }], messages: [{ role: "user", content: "y".repeat(366) }] },
      100,
    ],
  ])("is estimated for an OpenAI backend (%s)", async (_, params, expected) => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
    expect(await client.messages.countTokens({ model: "gpt-up", ...params })).toEqual({ input_tokens: expected });
    // Only the server-tokenizer probe (vLLM's /tokenize; this mock has none, so the estimate answers), never a completion.
    expect([...oai.requests, ...ant.requests].map((r) => [r.method, r.path])).toEqual([["POST", "/tokenize"]]);
  });
});

describe("GET /v1/models", () => {
  const ids = ["gpt-up", "gpt-upstream", "claude-up", "claude-upstream"];

  it("is listed by the OpenAI SDK", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models).toEqual(
      ids.map((id) => ({ id, object: "model", created: expect.any(Number), owned_by: id.startsWith("gpt") ? "oai" : "ant" })),
    );
  });

  it("is listed by the Anthropic SDK, in the Anthropic shape", async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models).toEqual(ids.map((id) => ({ type: "model", id, display_name: id, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })));
    expect([...oai.requests, ...ant.requests]).toEqual([]);
  });
});
