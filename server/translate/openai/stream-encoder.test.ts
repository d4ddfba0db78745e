import { readdirSync, readFileSync } from "node:fs";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { createSseParser } from "../../lib/sse.js";
import type { CanonicalResponse, ChatEvent, EncodeContext } from "../canonical.js";
import { canonicalToOpenaiResponse } from "./response.js";
import { OpenAIStreamDecoder } from "./stream-decoder.js";
import { OpenAIStreamEncoder } from "./stream-encoder.js";

const ENCODER = new URL("./testdata/encoder/", import.meta.url);
const CTX: EncodeContext = { id: "chatcmpl-llmux-1", model: "claude-sonnet-4-6", created: 1764000000 };

const fixtures = readdirSync(ENCODER)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f): [string, { includeUsage: boolean; events: ChatEvent[] }, string] => [
    f.slice(0, -".json".length),
    JSON.parse(readFileSync(new URL(f, ENCODER), "utf8")) as { includeUsage: boolean; events: ChatEvent[] },
    readFileSync(new URL(f.replace(/\.json$/, ".sse"), ENCODER), "utf8"),
  ]);

function encodeAll(events: ChatEvent[], includeUsage: boolean): string {
  const encoder = new OpenAIStreamEncoder(CTX, { includeUsage });
  return events.map((ev) => encoder.encode(ev)).join("");
}

/** An OpenAI SDK client whose every request is answered with `body` (no network). */
function sdkAnswering(body: string, contentType: string): OpenAI {
  return new OpenAI({
    apiKey: "test",
    baseURL: "http://llmux.invalid/v1",
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { "content-type": contentType } }),
  });
}

const fixture = (name: string) => fixtures.find(([n]) => n === name)!;

describe("OpenAIStreamEncoder", () => {
  it.each(fixtures)("%s", (_, input, expected) => {
    expect(encodeAll(input.events, input.includeUsage)).toBe(expected);
  });

  it("writes an error as a data line with all four keys and no [DONE]", () => {
    const encoder = new OpenAIStreamEncoder(CTX, { includeUsage: true });
    expect(encoder.error(llmuxError(Reason.UPSTREAM_OVERLOADED, "the upstream provider is overloaded"))).toBe(
      'data: {"error":{"message":"the upstream provider is overloaded","type":"server_error","param":null,"code":"overloaded"}}\n\n',
    );
  });

  it("sends the role chunk even when the first event is not start", () => {
    const encoder = new OpenAIStreamEncoder(CTX, { includeUsage: false });
    expect(encoder.encode({ type: "text_delta", index: 0, text: "a" })).toBe(
      'data: {"id":"chatcmpl-llmux-1","object":"chat.completion.chunk","created":1764000000,"model":"claude-sonnet-4-6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n' +
        'data: {"id":"chatcmpl-llmux-1","object":"chat.completion.chunk","created":1764000000,"model":"claude-sonnet-4-6","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}\n\n',
    );
  });
});

describe("the openai SDK accepts what llmux sends", () => {
  it("finalizes a stream with text and two parallel tool calls", async () => {
    const [, input] = fixture("parallel-tools");
    const stream = sdkAnswering(encodeAll(input.events, true), "text/event-stream").chat.completions.stream({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "Weather in Paris, and the time?" }],
    });
    const final = await stream.finalChatCompletion();
    expect(final).toEqual({
      id: "chatcmpl-llmux-1",
      object: "chat.completion",
      created: 1764000000,
      model: "claude-sonnet-4-6",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          logprobs: null,
          message: {
            role: "assistant",
            content: "Checking both.",
            refusal: null,
            parsed: null,
            tool_calls: [
              { id: "functions_x002e_get_weather_x003a_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
              { id: "toolu_02", type: "function", function: { name: "get_time", arguments: "{}" } },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
  });

  it("finalizes a stream decoded from an upstream and re-encoded", async () => {
    const streams = new URL("./testdata/stream/", import.meta.url);
    const parser = createSseParser();
    const decoder = new OpenAIStreamDecoder(new Map());
    const encoder = new OpenAIStreamEncoder(CTX, { includeUsage: false });
    const upstream = new Uint8Array(readFileSync(new URL("tool-calls-role-in-first-delta.sse", streams)));
    const sse = [...parser.push(upstream), ...parser.end()]
      .flatMap((ev) => decoder.push(ev))
      .concat(decoder.end())
      .map((ev) => encoder.encode(ev))
      .join("");
    const final = await sdkAnswering(sse, "text/event-stream")
      .chat.completions.stream({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.choices[0]!.message.tool_calls!.map((c) => (c.type === "function" ? [c.id, c.function.name, c.function.arguments] : []))).toEqual([
      ["call_Ab12Cd", "get_weather", '{"city":"Paris"}'],
      ["call_Ef56Gh", "get_time", "{}"],
    ]);
  });

  it("raises an in-stream error as an APIError", async () => {
    const encoder = new OpenAIStreamEncoder(CTX, { includeUsage: false });
    const sse =
      encoder.encode({ type: "start", id: "m", model: "m", usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 } }) +
      encoder.error(llmuxError(Reason.RATE_LIMITED, "the upstream provider's rate limit was exceeded"));
    const stream = sdkAnswering(sse, "text/event-stream").chat.completions.stream({ model: "m", messages: [{ role: "user", content: "hi" }] });
    await expect(stream.finalChatCompletion()).rejects.toMatchObject({
      constructor: OpenAI.APIError,
      message: "the upstream provider's rate limit was exceeded",
      type: "requests",
      code: "rate_limit_exceeded",
    });
  });

  it("parses a non-streaming completion", async () => {
    const resp: CanonicalResponse = {
      id: "msg_1",
      model: "claude-sonnet-4-6",
      content: [{ type: "tool_use", id: "toolu_1", name: "f", input: { a: [1] } }],
      stopReason: "tool_use",
      stopSequence: null,
      usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 5, cacheCreationTokens: 0 },
    };
    const completion = await sdkAnswering(JSON.stringify(canonicalToOpenaiResponse(resp, CTX)), "application/json").chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(completion.choices[0]!.message).toEqual({
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: '{"a":[1]}' } }],
    });
    expect(completion.usage).toEqual({ prompt_tokens: 8, completion_tokens: 4, total_tokens: 12, prompt_tokens_details: { cached_tokens: 5 }, completion_tokens_details: { reasoning_tokens: 0 } });
  });
});
