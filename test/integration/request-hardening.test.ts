import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readJson, startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream, type RecordedRequest } from "../helpers/mock-upstream.js";

// What a security audit found the gateway let through or crashed on, over real HTTP with the official clients (or
// fetch, for bodies no SDK would write): deeply nested JSON inside strings, numbers that overflow to Infinity,
// Anthropic sampling ranges, redirecting fields on /v1/messages, unknown OpenAI content parts and fields that
// multiply the work of one request. Every refusal comes in the client's dialect and
// never reaches an upstream.

const TOKEN = "client-token-hardening";
const DEPTH = 100_000;
/** `{"a":{"a":…1…}}` nested 100,000 deep: JSON.parse reads it, JSON.stringify overflows the stack on it. */
const DEEP = `${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`;

let oai: MockUpstream;
let ant: MockUpstream;
let gw: TestGateway;

/** Answers by upstream model: "deep" answers nest 100,000 deep, anything else is a plain answer. */
function reply(dialect: "openai" | "anthropic", req: RecordedRequest): MockReply {
  const body = req.json as { model?: string; stream?: boolean } | undefined;
  if (body?.model !== "deep") return dialect === "openai" ? { type: "openai-chat", content: "ok" } : { type: "anthropic-message", content: [{ type: "text", text: "ok" }] };
  if (dialect === "openai") {
    const call = { id: "call_1", type: "function", function: { name: "f", arguments: DEEP } };
    const message = JSON.stringify({ role: "assistant", content: null, tool_calls: [call] });
    return {
      type: "raw",
      status: 200,
      headers: { "content-type": "application/json" },
      body: `{"id":"c","object":"chat.completion","created":1,"model":"deep","choices":[{"index":0,"message":${message},"finish_reason":"tool_calls"}]}`,
    };
  }
  return {
    type: "sse",
    headers: { "content-type": "text/event-stream" },
    events: [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"deep","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n',
      `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":${DEEP}}}\n\n`,
    ],
    end: "close",
  };
}

beforeAll(async () => {
  oai = await startMockUpstream((req) => reply("openai", req));
  ant = await startMockUpstream((req) => reply("anthropic", req));
  gw = await startGateway(`
[provider.oai]
kind = "openai"
base_url = "${oai.url}/v1"
api_key = "sk-openai-provider-key-h"
[provider.ant]
kind = "anthropic"
base_url = "${ant.url}"
api_key = "sk-ant-provider-key-h"
[[backend]]
model = "oai:plain"
alias = "gpt-plain"
vision = true
[[backend]]
model = "ant:plain"
alias = "claude-plain"
[[backend]]
model = "oai:deep"
alias = "gpt-deep"
[[backend]]
model = "ant:deep"
alias = "claude-deep"
[tokens]
tests = "${TOKEN}"
`);
});

afterAll(async () => {
  await gw?.close();
  await oai?.close();
  await ant?.close();
});

beforeEach(() => {
  oai.requests.length = 0;
  ant.requests.length = 0;
});

const openai = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
const anthropic = () => new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });

async function post(path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body });
  return { status: res.status, json: await readJson(res) };
}

async function caught(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("the request succeeded");
}

describe("tool-call arguments nested 100,000 deep (OpenAI client → Anthropic backend)", () => {
  it("is refused with a 400 naming the field, instead of a 500 from a stack overflow", async () => {
    const err = await caught(
      openai().chat.completions.create({
        model: "claude-plain",
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: DEEP } }] },
          { role: "tool", tool_call_id: "c1", content: "ok" },
        ],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      }),
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toEqual({
      message: "function.arguments is nested too deeply (more than 256 levels)",
      type: "invalid_request_error",
      param: "messages.1.tool_calls.0.function.arguments",
      code: null,
    });
    expect(ant.requests).toHaveLength(0);
  });
});

describe("numbers that overflow to Infinity", () => {
  const message = (param: string) => `${param}: number out of range (it overflows to Infinity; JSON numbers must be finite)`;

  it.each([
    ["top_k", '"top_k":1e309'],
    ["presence_penalty", '"presence_penalty":-1e309'],
    ["seed", '"seed":1e309'],
    ["thinking.budget_tokens", '"thinking":{"type":"enabled","budget_tokens":1e309}'],
  ])("/v1/chat/completions refuses %s with a 400 in the OpenAI dialect", async (param, field) => {
    for (const model of ["gpt-plain", "claude-plain"]) {
      const res = await post("/v1/chat/completions", `{"model":"${model}","messages":[{"role":"user","content":"hi"}],${field}}`);
      expect(res).toEqual({ status: 400, json: { error: { message: message(param), type: "invalid_request_error", param, code: null } } });
    }
    expect(oai.requests).toHaveLength(0);
    expect(ant.requests).toHaveLength(0);
  });

  it.each([
    ["seed", '"seed":1e309'],
    ["metadata.user_id", '"metadata":{"user_id":1e309}'],
  ])("/v1/messages refuses %s with a 400 in the Anthropic dialect", async (param, field) => {
    for (const model of ["claude-plain", "gpt-plain"]) {
      const res = await post("/v1/messages", `{"model":"${model}","max_tokens":10,"messages":[{"role":"user","content":"hi"}],${field}}`);
      expect(res).toEqual({ status: 400, json: { type: "error", error: { type: "invalid_request_error", message: message(param) } } });
    }
    expect(oai.requests).toHaveLength(0);
    expect(ant.requests).toHaveLength(0);
  });
});

describe("Anthropic sampling ranges", () => {
  it.each([
    ["temperature", -0.5],
    ["temperature", 1.5],
    ["top_p", 1.5],
  ])("/v1/messages refuses %s %s with a 400", async (param, value) => {
    const err = await caught(anthropic().messages.create({ model: "gpt-plain", max_tokens: 10, messages: [{ role: "user", content: "hi" }], [param]: value }));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toEqual({ type: "error", error: { type: "invalid_request_error", message: `${param}: must be a number between 0 and 1` } });
    expect(oai.requests).toHaveLength(0);
  });

  it("accepts the ends of the range", async () => {
    // This SDK version's types do not list the sampling fields; the gateway still validates and forwards them.
    const sampling = { temperature: 1, top_p: 0 } as object;
    const message = await anthropic().messages.create({ model: "claude-plain", max_tokens: 10, messages: [{ role: "user", content: "hi" }], ...sampling });
    expect(message.content).toEqual([{ type: "text", text: "ok" }]);
    expect(ant.requests[0]!.json).toMatchObject({ temperature: 1, top_p: 0 });
  });
});

describe("fields that would redirect the call, on /v1/messages", () => {
  it.each(["api_base", "base_url", "api_key", "extra_headers", "headers", "api_version"])("refuses %s with a 400, never forwarding it", async (field) => {
    const body = { model: "claude-plain", max_tokens: 10, messages: [{ role: "user" as const, content: "hi" }], [field]: "http://attacker.example" };
    const err = await caught(anthropic().messages.create(body));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toEqual({ type: "error", error: { type: "invalid_request_error", message: `${field}: not allowed: llmux decides where requests go` } });
    const counted = await caught(anthropic().messages.countTokens(body));
    expect(counted).toBeInstanceOf(Anthropic.BadRequestError);
    expect(ant.requests).toHaveLength(0);
  });
});

describe("OpenAI content parts on the same-dialect route", () => {
  const error = (message: string, param: string) => ({ status: 400, json: { error: { message, type: "invalid_request_error", param, code: null } } });
  const withContent = (content: unknown) => JSON.stringify({ model: "gpt-plain", messages: [{ role: "user", content: "a" }, { role: "user", content }] });

  it.each([
    [[{ type: "text", text: "a" }, { type: "hologram", hologram: {} }], "unsupported content part type: hologram", "messages.1.content.1.type"],
    [[{ type: "text", text: 7 }], "text must be a string", "messages.1.content.0.text"],
    [[{ type: "image_url", image_url: "https://x/y.png" }], "image_url must be an object", "messages.1.content.0.image_url"],
    [[{ type: "video_url", video_url: {} }], "video_url.url must be a string", "messages.1.content.0.video_url.url"],
    [[{ type: "input_audio" }], "input_audio must be an object", "messages.1.content.0.input_audio"],
  ])("refuses %j with a 400 naming the part, before any backend sees it", async (content, message, param) => {
    expect(await post("/v1/chat/completions", withContent(content))).toEqual(error(message, param));
    expect(oai.requests).toHaveLength(0);
  });

  it("passes OpenAI's part types and vLLM's audio and video URLs through unchanged", async () => {
    const content = [
      { type: "text", text: "describe" },
      { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
      { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
      { type: "file", file: { file_id: "file-1" } },
      { type: "video_url", video_url: { url: "https://example.com/a.mp4" } },
      { type: "audio_url", audio_url: { url: "https://example.com/a.mp3" } },
    ];
    const res = await post("/v1/chat/completions", withContent(content));
    expect(res.status).toBe(200);
    expect((oai.requests[0]!.json as { messages: unknown[] }).messages[1]).toEqual({ role: "user", content });
  });
});

describe("amplifying fields (n, best_of, logit_bias, tools)", () => {
  const base = { model: "gpt-plain", messages: [{ role: "user", content: "hi" }] };
  const tools = (count: number) => Array.from({ length: count }, (_, i) => ({ type: "function", function: { name: `f${i}`, parameters: { type: "object" } } }));
  const bias = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i), 1]));

  it.each([
    ["n", { n: 1000 }, "n must be an integer between 1 and 128", "n"],
    ["best_of", { best_of: 50 }, "best_of must be an integer between 1 and 20", "best_of"],
    ["logit_bias size", { logit_bias: bias(1025) }, "logit_bias must have at most 1024 entries", "logit_bias"],
    ["logit_bias value", { logit_bias: { "50256": -101 } }, "logit_bias values must be numbers between -100 and 100", "logit_bias.50256"],
    ["logit_bias shape", { logit_bias: [1, 2] }, "logit_bias must be an object mapping token ids to numbers", "logit_bias"],
    ["tools", { tools: tools(1025) }, "tools must contain at most 1024 items", "tools"],
  ])("/v1/chat/completions refuses %s with a 400", async (_name, extra, message, param) => {
    for (const model of ["gpt-plain", "claude-plain"]) {
      const res = await post("/v1/chat/completions", JSON.stringify({ ...base, model, ...extra }));
      expect(res).toEqual({ status: 400, json: { error: { message, type: "invalid_request_error", param, code: null } } });
    }
    expect(oai.requests).toHaveLength(0);
    expect(ant.requests).toHaveLength(0);
  });

  it("/v1/chat/completions accepts the largest allowed values", async () => {
    const res = await post("/v1/chat/completions", JSON.stringify({ ...base, n: 128, best_of: 20, logit_bias: bias(1024), tools: tools(1024) }));
    expect(res.status).toBe(200);
    expect(oai.requests[0]!.json).toMatchObject({ n: 128, best_of: 20 });
    expect((oai.requests[0]!.json as { tools: unknown[] }).tools).toHaveLength(1024);
  });

  it("/v1/messages refuses more than 1024 tools in the Anthropic dialect", async () => {
    const many = Array.from({ length: 1025 }, (_, i) => ({ name: `f${i}`, input_schema: { type: "object" as const } }));
    for (const model of ["claude-plain", "gpt-plain"]) {
      const err = await caught(anthropic().messages.create({ model, max_tokens: 10, messages: [{ role: "user", content: "hi" }], tools: many }));
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect(err.error).toEqual({ type: "error", error: { type: "invalid_request_error", message: "tools: must contain at most 1024 items" } });
    }
    expect(oai.requests).toHaveLength(0);
    expect(ant.requests).toHaveLength(0);
  });
});

describe("upstream answers nested 100,000 deep", () => {
  it("a non-streaming OpenAI answer to an Anthropic client is an invalid upstream response (502), not a 500", async () => {
    const err = await caught(anthropic().messages.create({ model: "gpt-deep", max_tokens: 10, messages: [{ role: "user", content: "hi" }], tools: [{ name: "f", input_schema: { type: "object" } }] }));
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.status).toBe(502);
    expect(err.error).toEqual({ type: "error", error: { type: "api_error", message: "oai:deep returned an invalid response" } });
  });

  it("a streamed Anthropic tool input to an OpenAI client fails the attempt as an upstream error (502), not a 500", async () => {
    const res = await post("/v1/chat/completions", JSON.stringify({ model: "claude-deep", stream: true, messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] }));
    expect(res).toEqual({ status: 502, json: { error: { message: "upstream returned an invalid stream event", type: "server_error", param: null, code: "upstream_error" } } });
  });
});
