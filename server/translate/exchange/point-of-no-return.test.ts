import { describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/helpers/backend-config.js";
import type { SseEvent } from "../canonical.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import type { OpenAIChatBody } from "../openai/validate.js";
import { createAnthropicPassthrough } from "./anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "./anthropic-to-openai.js";
import type { Exchange } from "./exchange.js";
import { createOpenAIToAnthropic } from "./openai-to-anthropic.js";
import { createOpenAIPassthrough } from "./openai-to-openai.js";

// The dispatcher commits a stream to its backend (no failover after that) once the translator says content was
// seen. These tests pin what counts, per route, upstream event by upstream event.

const CTX = { id: "id_1", created: 1_700_000_000 };
const OPENAI_BODY: OpenAIChatBody = { model: "m", messages: [{ role: "user", content: "hi" }], stream: true };
const ANTHROPIC_BODY: AnthropicMessagesRequest = { model: "m", max_tokens: 16, messages: [{ role: "user", content: "hi" }], stream: true };

const openai = (chunk: unknown): SseEvent => ({ event: undefined, data: JSON.stringify(chunk) });
const anthropic = (data: { type: string } & Record<string, unknown>): SseEvent => ({ event: data.type, data: JSON.stringify(data) });

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openai({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
const OPENAI_ROLE = chunk({ role: "assistant", content: "" });
const OPENAI_TEXT = chunk({ content: "Hi" });
const OPENAI_FINISH = chunk({}, "stop");

const MESSAGE_START = anthropic({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } } });
const TEXT_START = anthropic({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
const PING = anthropic({ type: "ping" });
const EMPTY_DELTA = anthropic({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "" } });
const TEXT_DELTA = anthropic({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } });
const TOOL_START = anthropic({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "lookup", input: {} } });
const MESSAGE_DELTA = anthropic({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } });
const MESSAGE_STOP = anthropic({ type: "message_stop" });

/** contentSeen() after each event, in order. */
function committedAfter(exchange: Exchange, events: SseEvent[]): boolean[] {
  const translator = exchange.stream(backendConfig());
  return events.map((event) => {
    translator.push(event);
    return translator.contentSeen();
  });
}

describe("the point of no return: the first content, not the preamble", () => {
  it("OpenAI → OpenAI: the role chunk is preamble; text, a stop reason or usage is content", () => {
    expect(committedAfter(createOpenAIPassthrough(() => OPENAI_BODY), [OPENAI_ROLE, OPENAI_TEXT])).toEqual([false, true]);
    expect(committedAfter(createOpenAIPassthrough(() => OPENAI_BODY), [OPENAI_ROLE, OPENAI_FINISH])).toEqual([false, true]);
  });

  it("Anthropic → Anthropic: message_start, an empty text block's start, ping and an empty delta are preamble", () => {
    const exchange = () => createAnthropicPassthrough(() => ANTHROPIC_BODY);
    expect(committedAfter(exchange(), [MESSAGE_START, TEXT_START, PING, EMPTY_DELTA, TEXT_DELTA])).toEqual([false, false, false, false, true]);
    // A tool call names its tool as it starts; an empty answer commits with its stop reason.
    expect(committedAfter(exchange(), [MESSAGE_START, TOOL_START])).toEqual([false, true]);
    expect(committedAfter(exchange(), [MESSAGE_START, MESSAGE_DELTA])).toEqual([false, true]);
  });

  it("OpenAI client → Anthropic backend: the same events are preamble through the translator", () => {
    const exchange = () => createOpenAIToAnthropic(() => OPENAI_BODY, CTX);
    expect(committedAfter(exchange(), [MESSAGE_START, TEXT_START, PING, EMPTY_DELTA, TEXT_DELTA])).toEqual([false, false, false, false, true]);
    expect(committedAfter(exchange(), [MESSAGE_START, TOOL_START])).toEqual([false, true]);
  });

  it("Anthropic client → OpenAI backend: the role chunk is preamble, text is content", () => {
    expect(committedAfter(createAnthropicToOpenAI(() => ANTHROPIC_BODY, CTX), [OPENAI_ROLE, OPENAI_TEXT])).toEqual([false, true]);
  });
});

describe("a stream that is only its terminator is not an answer", () => {
  it("OpenAI → OpenAI: [DONE] before any content fails, so the dispatcher can still fail over", () => {
    const translator = createOpenAIPassthrough(() => OPENAI_BODY).stream(backendConfig());
    expect(() => translator.push({ event: undefined, data: "[DONE]" })).toThrow("upstream stream ended without an answer");
    const afterRole = createOpenAIPassthrough(() => OPENAI_BODY).stream(backendConfig());
    afterRole.push(OPENAI_ROLE);
    expect(() => afterRole.push({ event: undefined, data: "[DONE]" })).toThrow("upstream stream ended without an answer");
  });

  it("Anthropic → Anthropic: an event before message_start (a lone message_stop) fails", () => {
    for (const first of [MESSAGE_STOP, MESSAGE_DELTA, TEXT_DELTA]) {
      const translator = createAnthropicPassthrough(() => ANTHROPIC_BODY).stream(backendConfig());
      translator.push(PING);
      expect(() => translator.push(first)).toThrow("upstream stream events out of order");
    }
  });

  it("a complete stream still passes through byte for byte", () => {
    const translator = createAnthropicPassthrough(() => ANTHROPIC_BODY).stream(backendConfig());
    const events = [MESSAGE_START, TEXT_START, PING, TEXT_DELTA, MESSAGE_DELTA, MESSAGE_STOP];
    const out = events.map((e) => translator.push(e)).join("") + translator.end();
    expect(out).toBe(events.map((e) => `event: ${e.event}\ndata: ${e.data}\n\n`).join(""));
  });
});
