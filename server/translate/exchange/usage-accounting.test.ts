import { describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/helpers/backend-config.js";
import type { SseEvent, Usage } from "../canonical.js";
import { validateAnthropicRequest } from "../anthropic/validate.js";
import { validateOpenAIRequest } from "../openai/validate.js";
import { createAnthropicPassthrough } from "./anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "./anthropic-to-openai.js";
import type { Exchange, StreamTranslator } from "./exchange.js";
import { createOpenAIToAnthropic } from "./openai-to-anthropic.js";
import { createOpenAIPassthrough } from "./openai-to-openai.js";

// What each route reports for accounting (reliability.md F19, F21, F24): the upstream's usage only once it is final
// and trusted, and the characters of output it passed to the client, so the gateway can estimate the rest.

const CONTEXT = { id: "id-1", created: 1 };
const BACKEND = backendConfig();
const hi = [{ role: "user", content: "hi" }];

type Upstream = "openai" | "anthropic";
const ROUTES: Array<[string, Upstream, (stream: boolean) => Exchange]> = [
  ["openai → openai", "openai", (stream) => createOpenAIPassthrough(() => validateOpenAIRequest({ model: "m", stream, messages: hi }))],
  ["openai → anthropic", "anthropic", (stream) => createOpenAIToAnthropic(() => validateOpenAIRequest({ model: "m", stream, messages: hi }), CONTEXT)],
  ["anthropic → anthropic", "anthropic", (stream) => createAnthropicPassthrough(() => validateAnthropicRequest({ model: "m", max_tokens: 9, stream, messages: hi }))],
  ["anthropic → openai", "openai", (stream) => createAnthropicToOpenAI(() => validateAnthropicRequest({ model: "m", max_tokens: 9, stream, messages: hi }), CONTEXT)],
];

/** Three content deltas: 5 + 5 + 6 = 16 characters. */
const PIECES = ["Once ", "upon ", "a time"];
const PIECE_CHARS = 16;

const openaiChunk = (fields: Record<string, unknown>): SseEvent => ({
  event: undefined,
  data: JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", ...fields }),
});
const anthropicFrame = (data: Record<string, unknown>): SseEvent => ({ event: String(data.type), data: JSON.stringify(data) });

/** The upstream stream in parts: preamble and content, then the final usage, then the terminator. */
function upstreamStream(kind: Upstream, usage: unknown): { content: SseEvent[]; usage: SseEvent[]; terminator: SseEvent[] } {
  if (kind === "openai") {
    return {
      content: [
        openaiChunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }),
        ...PIECES.map((content) => openaiChunk({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
        openaiChunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
      ],
      usage: [openaiChunk({ choices: [], usage })],
      terminator: [{ event: undefined, data: "[DONE]" }],
    };
  }
  const message = { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null };
  return {
    content: [
      anthropicFrame({ type: "message_start", message: { ...message, usage: { input_tokens: 13, output_tokens: 1 } } }),
      anthropicFrame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      ...PIECES.map((text) => anthropicFrame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
      anthropicFrame({ type: "content_block_stop", index: 0 }),
    ],
    usage: [anthropicFrame({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage })],
    terminator: [anthropicFrame({ type: "message_stop" })],
  };
}

/** A usage the upstream reports as it should, in its dialect, and the canonical usage it stands for. */
const GOOD: Record<Upstream, { raw: unknown; usage: Usage }> = {
  openai: { raw: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }, usage: { inputTokens: 11, outputTokens: 7, cacheReadTokens: 0, cacheCreationTokens: 0 } },
  anthropic: { raw: { output_tokens: 7 }, usage: { inputTokens: 13, outputTokens: 7, cacheReadTokens: 0, cacheCreationTokens: 0 } },
};
/** The same usage as a complete answer reports it (an Anthropic Message carries every counter). */
const COMPLETE: Record<Upstream, unknown> = { openai: GOOD.openai.raw, anthropic: { input_tokens: 13, output_tokens: 7 } };
const ABSURD: Record<Upstream, unknown> = {
  openai: { prompt_tokens: 1e15, completion_tokens: 9007199254740992, total_tokens: 1e15 },
  anthropic: { input_tokens: 1e15, output_tokens: 1.5 },
};

function translator(exchange: Exchange): StreamTranslator {
  exchange.upstreamBody(BACKEND);
  return exchange.stream(BACKEND);
}

describe.each(ROUTES)("usage accounting, %s", (_name, upstream, create) => {
  it("a complete stream: the upstream's usage, and every character of content", () => {
    const t = translator(create(true));
    const s = upstreamStream(upstream, GOOD[upstream].raw);
    for (const event of [...s.content, ...s.usage, ...s.terminator]) t.push(event);
    t.end();
    expect(t.usage()).toEqual(GOOD[upstream].usage);
    expect(t.outputChars()).toBe(PIECE_CHARS);
  });

  it("a stream that breaks after three content deltas: no usage, the prompt as counted up front, and the characters sent so far", () => {
    const t = translator(create(true));
    for (const event of upstreamStream(upstream, GOOD[upstream].raw).content) t.push(event);
    expect(t.usage()).toBeUndefined();
    // Anthropic counts the prompt in message_start (its output count there is a placeholder); OpenAI only at the end.
    const early = upstream === "anthropic" ? { inputTokens: 13, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 } : undefined;
    expect(t.promptUsage?.()).toEqual(early);
    expect(t.outputChars()).toBe(PIECE_CHARS);
  });

  it("a stream that ends without its terminator keeps the final usage sent before the end", () => {
    const t = translator(create(true));
    const s = upstreamStream(upstream, GOOD[upstream].raw);
    for (const event of [...s.content, ...s.usage]) t.push(event);
    expect(() => t.end()).toThrow("upstream stream ended before completion");
    expect(t.usage()).toEqual(GOOD[upstream].usage);
    expect(t.outputChars()).toBe(PIECE_CHARS);
  });

  it("a complete stream with absurd usage: no usage", () => {
    const t = translator(create(true));
    const s = upstreamStream(upstream, ABSURD[upstream]);
    for (const event of [...s.content, ...s.usage, ...s.terminator]) t.push(event);
    t.end();
    expect(t.usage()).toBeUndefined();
    expect(t.outputChars()).toBe(PIECE_CHARS);
  });

  it.each(["reported", "missing", "absurd"] as const)("a non-streaming answer with usage %s", (variant) => {
    const exchange = create(false);
    exchange.upstreamBody(BACKEND);
    const usage = { reported: COMPLETE[upstream], missing: undefined, absurd: ABSURD[upstream] }[variant];
    const body =
      upstream === "openai"
        ? { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "four little words", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "tool_calls" }], usage }
        : { id: "msg_1", type: "message", role: "assistant", model: "m", content: [{ type: "text", text: "four little words" }, { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } }], stop_reason: "tool_use", stop_sequence: null, usage };
    const text = JSON.stringify(body);
    const answer = exchange.response(text, JSON.parse(text), BACKEND);
    expect(answer.usage).toEqual(variant === "reported" ? GOOD[upstream].usage : undefined);
    expect(answer.outputChars).toBe("four little words".length + '{"a":1}'.length);
  });
});
