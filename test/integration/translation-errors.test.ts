import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream, type RecordedRequest } from "../helpers/mock-upstream.js";

// Upstream failures as each client sees them, on all four routes, in the client's own dialect. Every fault has its
// own backend per upstream dialect (alias "<dialect>-<fault>", upstream model "<fault>"), and the clock jumps a
// day before each test, so a backend cooled down by one test is available again to the next.

const TOKEN = "client-token-errors";
const DAY = 86_400_000;

type UpstreamDialect = "openai" | "anthropic";
type AnthropicApiError = InstanceType<typeof Anthropic.APIError>;
type OpenAIApiError = InstanceType<typeof OpenAI.APIError>;
type ClientDialect = "openai" | "anthropic";

let oai: MockUpstream;
let ant: MockUpstream;
let gw: TestGateway;
let clockOffset = 0;

/** Jumps past every cooldown (the longest is an auth failure's). */
function advanceClock(): void {
  clockOffset += DAY;
}

/** The body a real upstream of that dialect sends with a 400. */
const BAD_REQUEST: Record<UpstreamDialect, string> = {
  openai: JSON.stringify({ error: { message: "Invalid value for 'temperature': must be at most 2.", type: "invalid_request_error", param: "temperature", code: "invalid_value" } }),
  anthropic: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "messages.0.content.0.text: text content blocks must be non-empty" } }),
};
const BAD_REQUEST_MESSAGE: Record<UpstreamDialect, string> = {
  openai: "Invalid value for 'temperature': must be at most 2.",
  anthropic: "messages.0.content.0.text: text content blocks must be non-empty",
};
const HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

/** Frames an upstream sends before failing mid-stream: enough for the gateway to commit to the stream. */
const STREAM_START: Record<UpstreamDialect, string[]> = {
  openai: [
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}\n\n',
  ],
  anthropic: [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}}\n\n',
  ],
};
const IN_BAND_ERROR: Record<UpstreamDialect, string> = {
  openai: 'data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}\n\n',
  anthropic: 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
};

/** What each upstream model (= fault) answers. */
function fault(dialect: UpstreamDialect, req: RecordedRequest): MockReply {
  const model = (req.json as { model?: string } | undefined)?.model;
  switch (model) {
    case "e400":
      return { type: "error", status: 400, body: BAD_REQUEST[dialect] };
    case "e401":
    case "e500":
    case "e529":
      return { type: "error", status: Number(model.slice(1)) };
    case "e429":
      return { type: "error", status: 429, headers: { "retry-after": "7" } };
    case "html":
      return { type: "error", status: 502, body: HTML_PAGE, headers: { "content-type": "text/html" } };
    // Frames are spaced out so that the gateway has committed to the stream before the fault arrives.
    case "reset":
      return { type: "sse", events: STREAM_START[dialect], end: "reset", chunkDelayMs: 5 };
    case "truncated":
      return { type: "sse", events: STREAM_START[dialect], end: "close", chunkDelayMs: 5 };
    case "inband":
      return { type: "sse", events: [...STREAM_START[dialect], IN_BAND_ERROR[dialect]], end: "close", chunkDelayMs: 5 };
    default:
      return { type: "raw", status: 500, body: `no fault named ${String(model)}` };
  }
}

const FAULTS = ["e400", "e401", "e429", "e529", "e500", "html", "reset", "truncated", "inband"];

beforeAll(async () => {
  oai = await startMockUpstream((req) => fault("openai", req));
  ant = await startMockUpstream((req) => fault("anthropic", req));
  const backends = FAULTS.flatMap((name) => [
    `[[backend]]\nmodel = "oai:${name}"\nalias = "openai-${name}"`,
    `[[backend]]\nmodel = "ant:${name}"\nalias = "anthropic-${name}"`,
  ]);
  gw = await startGateway(
    `
[provider.oai]
kind = "openai"
base_url = "${oai.url}/v1"
api_key = "sk-openai-provider-key-3"
[provider.ant]
kind = "anthropic"
base_url = "${ant.url}"
api_key = "sk-ant-provider-key-3"
${backends.join("\n")}
[tokens]
tests = "${TOKEN}"
`,
    { now: () => Date.now() + clockOffset },
  );
});

afterAll(async () => {
  await gw?.close();
  await oai?.close();
  await ant?.close();
});

beforeEach(() => {
  advanceClock();
  oai.requests.length = 0;
  ant.requests.length = 0;
});

function openai(): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
}

function anthropic(): Anthropic {
  return new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
}

/** Sends one request in the client's dialect with fetch; the raw response is what is asserted. */
function post(client: ClientDialect, model: string, stream: boolean): Promise<Response> {
  const [path, body] =
    client === "openai"
      ? ["/v1/chat/completions", { model, stream, messages: [{ role: "user", content: "hi" }] }]
      : ["/v1/messages", { model, stream, max_tokens: 64, messages: [{ role: "user", content: "hi" }] }];
  return fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The SDK call of that dialect, rejected with whatever the SDK threw. */
async function sdkError(client: ClientDialect, model: string, stream: boolean): Promise<unknown> {
  try {
    if (client === "openai") {
      const params = { model, messages: [{ role: "user" as const, content: "hi" }] };
      if (stream) await openai().chat.completions.stream(params).finalChatCompletion();
      else await openai().chat.completions.create(params);
    } else {
      const params = { model, max_tokens: 64, messages: [{ role: "user" as const, content: "hi" }] };
      if (stream) await anthropic().messages.stream(params).finalMessage();
      else await anthropic().messages.create(params);
    }
  } catch (err) {
    return err;
  }
  throw new Error("the SDK call succeeded");
}

interface Expected {
  status: number;
  retryAfter?: string;
  openai: { message: string; type: string; code: string | null };
  anthropic: { type: string; message: string };
  /** Anthropic clients get 529 for overload; OpenAI has no 529. */
  anthropicStatus?: number;
}

/** How each fault before the first byte reaches each client, by upstream dialect (spec/translation.md §11). */
const BEFORE_FIRST_BYTE: Array<[string, UpstreamDialect, Expected]> = [
  ["e400", "openai", { status: 400, openai: { message: BAD_REQUEST_MESSAGE.openai, type: "invalid_request_error", code: null }, anthropic: { type: "invalid_request_error", message: BAD_REQUEST_MESSAGE.openai } }],
  ["e400", "anthropic", { status: 400, openai: { message: BAD_REQUEST_MESSAGE.anthropic, type: "invalid_request_error", code: null }, anthropic: { type: "invalid_request_error", message: BAD_REQUEST_MESSAGE.anthropic } }],
  [
    "e401",
    "openai",
    {
      status: 502,
      openai: { message: "the upstream provider rejected llmux's credentials (HTTP 401)", type: "server_error", code: "upstream_auth_error" },
      anthropic: { type: "api_error", message: "the upstream provider rejected llmux's credentials (HTTP 401)" },
    },
  ],
  [
    "e401",
    "anthropic",
    {
      status: 502,
      openai: { message: "upstream rejected llmux's provider credentials", type: "server_error", code: "upstream_auth_error" },
      anthropic: { type: "api_error", message: "upstream rejected llmux's provider credentials" },
    },
  ],
  [
    "e429",
    "openai",
    {
      status: 429,
      retryAfter: "7",
      openai: { message: "the upstream provider's rate limit was exceeded", type: "requests", code: "rate_limit_exceeded" },
      anthropic: { type: "rate_limit_error", message: "the upstream provider's rate limit was exceeded" },
    },
  ],
  [
    "e429",
    "anthropic",
    {
      status: 429,
      retryAfter: "7",
      openai: { message: "the upstream provider's rate limit was exceeded", type: "requests", code: "rate_limit_exceeded" },
      anthropic: { type: "rate_limit_error", message: "the upstream provider's rate limit was exceeded" },
    },
  ],
  [
    "e529",
    "openai",
    {
      status: 503,
      anthropicStatus: 529,
      // The backend cools down for the base 5 s, and the client is told when to come back.
      retryAfter: "5",
      openai: { message: "the upstream provider is overloaded", type: "server_error", code: "overloaded" },
      anthropic: { type: "overloaded_error", message: "the upstream provider is overloaded" },
    },
  ],
  [
    "e529",
    "anthropic",
    {
      status: 503,
      anthropicStatus: 529,
      retryAfter: "5",
      openai: { message: "upstream is overloaded", type: "server_error", code: "overloaded" },
      anthropic: { type: "overloaded_error", message: "upstream is overloaded" },
    },
  ],
  [
    "e500",
    "openai",
    {
      status: 502,
      openai: { message: "the upstream provider failed (HTTP 500)", type: "server_error", code: "upstream_error" },
      anthropic: { type: "api_error", message: "the upstream provider failed (HTTP 500)" },
    },
  ],
  [
    "e500",
    "anthropic",
    {
      status: 502,
      openai: { message: "upstream request failed (HTTP 500)", type: "server_error", code: "upstream_error" },
      anthropic: { type: "api_error", message: "upstream request failed (HTTP 500)" },
    },
  ],
  [
    "html",
    "openai",
    {
      status: 502,
      openai: { message: "the upstream provider failed (HTTP 502)", type: "server_error", code: "upstream_error" },
      anthropic: { type: "api_error", message: "the upstream provider failed (HTTP 502)" },
    },
  ],
  [
    "html",
    "anthropic",
    {
      status: 502,
      openai: { message: "upstream request failed (HTTP 502)", type: "server_error", code: "upstream_error" },
      anthropic: { type: "api_error", message: "upstream request failed (HTTP 502)" },
    },
  ],
];

describe("upstream errors before the first byte, in the client's dialect", () => {
  it.each(BEFORE_FIRST_BYTE)("%s from an %s upstream", async (name, upstream, expected) => {
    const model = `${upstream}-${name}`;
    for (const stream of [false, true]) {
      // Raw bytes: status, headers and the exact body, for both clients; an HTML page is never forwarded.
      const o = await post("openai", model, stream);
      expect([o.status, o.headers.get("content-type"), o.headers.get("retry-after") ?? undefined]).toEqual([expected.status, "application/json; charset=utf-8", expected.retryAfter]);
      expect(await o.json()).toEqual({ error: { ...expected.openai, param: null } });
      advanceClock();
      const a = await post("anthropic", model, stream);
      expect([a.status, a.headers.get("content-type"), a.headers.get("retry-after") ?? undefined]).toEqual([
        expected.anthropicStatus ?? expected.status,
        "application/json; charset=utf-8",
        expected.retryAfter,
      ]);
      expect(await a.json()).toEqual({ type: "error", error: expected.anthropic });
      advanceClock();
    }

    // The SDKs classify the same answers.
    const openaiErr = await sdkError("openai", model, false);
    expect(openaiErr).toBeInstanceOf(OpenAI.APIError);
    expect(openaiErr).toBeInstanceOf(
      expected.status === 400 ? OpenAI.BadRequestError : expected.status === 429 ? OpenAI.RateLimitError : OpenAI.InternalServerError,
    );
    expect((openaiErr as OpenAIApiError).status).toBe(expected.status);
    expect((openaiErr as OpenAIApiError).error).toEqual({ ...expected.openai, param: null });
    advanceClock();
    const anthropicErr = await sdkError("anthropic", model, true);
    const anthropicStatus = expected.anthropicStatus ?? expected.status;
    expect(anthropicErr).toBeInstanceOf(
      anthropicStatus === 400
        ? Anthropic.BadRequestError
        : anthropicStatus === 429
          ? Anthropic.RateLimitError
          : anthropicStatus === 529
            ? Anthropic.OverloadedError
            : Anthropic.InternalServerError,
    );
    expect((anthropicErr as AnthropicApiError).status).toBe(anthropicStatus);
    expect((anthropicErr as AnthropicApiError).error).toEqual({ type: "error", error: expected.anthropic });
    if (expected.retryAfter) expect((anthropicErr as AnthropicApiError).headers?.get("retry-after")).toBe(expected.retryAfter);

    expect([(openaiErr as Error).message, (anthropicErr as Error).message].join("\n")).not.toContain("nginx");
    // One upstream attempt per client request: a lone backend is not retried.
    expect((upstream === "openai" ? oai : ant).requests).toHaveLength(6);
  });
});

/** One SSE frame as a client receives it. */
interface Frame {
  event: string | undefined;
  data: unknown;
}

/** Splits a whole SSE body into frames; data is parsed as JSON unless it is `[DONE]`. */
function frames(text: string): Frame[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length);
      const data = lines
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice("data: ".length))
        .join("\n");
      return { event, data: data === "[DONE]" ? data : (JSON.parse(data) as unknown) };
    });
}

/** The message each mid-stream fault ends with, by upstream dialect. */
const MID_STREAM: Array<[string, UpstreamDialect, { reason: "failed" | "overloaded"; message: string }]> = [
  ["reset", "openai", { reason: "failed", message: "connection to HOST failed" }],
  ["reset", "anthropic", { reason: "failed", message: "connection to HOST failed" }],
  ["truncated", "openai", { reason: "failed", message: "upstream stream ended before completion" }],
  ["truncated", "anthropic", { reason: "failed", message: "upstream stream ended before completion" }],
  ["inband", "openai", { reason: "failed", message: "the upstream provider failed" }],
  ["inband", "anthropic", { reason: "overloaded", message: "upstream is overloaded" }],
];

/** The events a client saw before the error frame, with the route's own ids and numbers left open. */
function expectedPrefix(client: ClientDialect, upstream: UpstreamDialect, model: string): Frame[] {
  if (client === upstream) return frames(STREAM_START[upstream].join(""));
  const chunk = (delta: Record<string, unknown>): Frame => ({
    event: undefined,
    data: { id: expect.stringMatching(/^chatcmpl-/), object: "chat.completion.chunk", created: expect.any(Number), model, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] },
  });
  if (client === "openai") return [chunk({ role: "assistant", content: "" }), chunk({ content: "par" })];
  return [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id: expect.stringMatching(/^msg_/),
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
        },
      },
    },
    { event: "ping", data: { type: "ping" } },
    { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
    { event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "par" } } },
  ];
}

describe("upstream failures after the first byte end the stream with an error, never a clean truncated answer", () => {
  const cases = MID_STREAM.flatMap(([name, upstream, outcome]) =>
    (["openai", "anthropic"] as const).map((client) => [name, upstream, client, outcome] as const),
  );

  it.each(cases)("%s from an %s upstream, %s client", async (name, upstream, client, outcome) => {
    const model = `${upstream}-${name}`;
    const mock = upstream === "openai" ? oai : ant;
    const message = outcome.message.replace("HOST", new URL(mock.url).host);
    const res = await post(client, model, true);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const received = frames(await res.text());
    const prefix = expectedPrefix(client, upstream, model);
    const errorFrame: Frame =
      client === "openai"
        ? { event: undefined, data: { error: { message, type: "server_error", param: null, code: outcome.reason === "overloaded" ? "overloaded" : "upstream_error" } } }
        : { event: "error", data: { type: "error", error: { type: outcome.reason === "overloaded" ? "overloaded_error" : "api_error", message } } };
    expect(received).toEqual([...prefix, errorFrame]);

    // The SDK throws rather than returning the partial answer.
    advanceClock();
    const err = await sdkError(client, model, true);
    if (client === "openai") {
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as OpenAIApiError).error).toEqual((errorFrame.data as { error: unknown }).error);
    } else {
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect((err as AnthropicApiError).error).toEqual(errorFrame.data);
      expect((err as AnthropicApiError).type).toBe((errorFrame.data as { error: { type: string } }).error.type);
    }
  });
});

describe("bad input on /v1/messages → 400 invalid_request_error in the Anthropic shape, nothing sent upstream", () => {
  /** An array nested `depth` levels deep, as JSON text (JSON.stringify would recurse). */
  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

  it.each([
    ["missing max_tokens", '{"model":"anthropic-e400","messages":[{"role":"user","content":"x"}]}', "max_tokens: field required"],
    ["stream as a string", '{"model":"anthropic-e400","max_tokens":5,"stream":"true","messages":[{"role":"user","content":"x"}]}', "stream: must be a boolean"],
    ["a bad role", '{"model":"anthropic-e400","max_tokens":5,"messages":[{"role":"wizard","content":"x"}]}', "messages.0.role: must be one of user, assistant, system"],
    [
      "10 000 levels of nesting",
      `{"model":"anthropic-e400","max_tokens":5,"messages":[{"role":"user","content":"x"}],"metadata":{"deep":${nested(10_000)}}}`,
      "metadata.deep.0.0.0: JSON nested deeper than 256 levels",
    ],
  ])("%s", async (_, body, message) => {
    for (const path of ["/v1/messages", "/v1/messages?beta=true"]) {
      const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "x-api-key": TOKEN, "content-type": "application/json" }, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message } });
    }
    expect([...oai.requests, ...ant.requests]).toEqual([]);
  });

  it("surfaces as a BadRequestError in the Anthropic SDK", async () => {
    const err = await anthropic()
      .messages.create({ model: "anthropic-e400", messages: [{ role: "user", content: "x" }] } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as AnthropicApiError).error).toEqual({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: field required" } });
    expect(ant.requests).toEqual([]);
  });
});
