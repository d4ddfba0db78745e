import { readFileSync } from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { createSseParser } from "../../lib/sse.js";
import { ZERO_USAGE, type ChatEvent, type Usage } from "../canonical.js";
import { AnthropicStreamDecoder } from "./stream-decoder.js";
import { AnthropicStreamEncoder } from "./stream-encoder.js";

const CTX = { id: "msg_llmux_01", model: "claude-sonnet-4-6", created: 1767225600 };
const USAGE: Usage = { inputTokens: 120, outputTokens: 45, cacheReadTokens: 3000, cacheCreationTokens: 16 };

function encode(events: ChatEvent[]): string {
  const encoder = new AnthropicStreamEncoder(CTX);
  return events.map((e) => encoder.encode(e)).join("");
}

/** Feeds SSE text to the installed SDK exactly as an HTTP response and returns `finalMessage()`. */
async function sdkFinalMessage(sse: string): Promise<Anthropic.Message> {
  const client = new Anthropic({
    apiKey: "llmux-test",
    baseURL: "http://llmux.test",
    maxRetries: 0,
    fetch: async () => new Response(sse, { status: 200, headers: { "content-type": "text/event-stream" } }),
  });
  return client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }).finalMessage();
}

describe("AnthropicStreamEncoder", () => {
  it("writes the exact SSE text, with an empty signature_delta for an unsigned thinking block", () => {
    const encoder = new AnthropicStreamEncoder(CTX);
    const frames = [
      encoder.encode({ type: "start", id: "chatcmpl-upstream", model: "gpt-5", usage: { ...ZERO_USAGE, inputTokens: 7 } }),
      encoder.encode({ type: "block_start", index: 0, block: { type: "thinking" } }),
      encoder.encode({ type: "thinking_delta", index: 0, thinking: "Hm… 🤔" }),
      encoder.encode({ type: "block_stop", index: 0 }),
      encoder.encode({ type: "block_start", index: 1, block: { type: "text" } }),
      encoder.encode({ type: "text_delta", index: 1, text: 'Say "hi"\n' }),
      encoder.encode({ type: "block_stop", index: 1 }),
      encoder.encode({ type: "block_start", index: 2, block: { type: "tool_use", id: "functions.greet:0", name: "greet" } }),
      encoder.encode({ type: "tool_input_delta", index: 2, partialJson: '{"who":' }),
      encoder.encode({ type: "tool_input_delta", index: 2, partialJson: '"you"}' }),
      encoder.encode({ type: "block_stop", index: 2 }),
      encoder.encode({ type: "finish", stopReason: "tool_use", stopSequence: null, usage: USAGE }),
    ];
    expect(frames).toEqual([
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_llmux_01","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}\n\n' +
        'event: ping\ndata: {"type":"ping"}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hm… 🤔"}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":""}}\n\n' +
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Say \\"hi\\"\\n"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"functions_x002e_greet_x003a_0","name":"greet","input":{}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"who\\":"}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\\"you\\"}"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":2}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":45,"input_tokens":120,"cache_creation_input_tokens":16,"cache_read_input_tokens":3000}}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]);
  });

  it("does not add a signature_delta when the thinking block got one", () => {
    const sse = encode([
      { type: "block_start", index: 0, block: { type: "thinking" } },
      { type: "signature_delta", index: 0, signature: "EqQB" },
      { type: "block_stop", index: 0 },
    ]);
    expect(sse.match(/signature_delta/g)).toHaveLength(1);
  });

  it("writes redacted_thinking and errors", () => {
    const encoder = new AnthropicStreamEncoder(CTX);
    expect(encoder.encode({ type: "block_start", index: 0, block: { type: "redacted_thinking", data: "EmwK" } })).toBe(
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwK"}}\n\n',
    );
    expect(encoder.error(llmuxError(Reason.UPSTREAM_OVERLOADED, "upstream is overloaded"))).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"upstream is overloaded"}}\n\n',
    );
  });

  it("every frame's event name equals data.type", () => {
    const sse = encode([
      { type: "start", id: "x", model: "y", usage: ZERO_USAGE },
      { type: "block_start", index: 0, block: { type: "thinking" } },
      { type: "block_stop", index: 0 },
      { type: "finish", stopReason: "end_turn", stopSequence: null, usage: ZERO_USAGE },
    ]);
    const frames = sse.split("\n\n").filter((f) => f !== "");
    expect(frames).toHaveLength(7);
    for (const f of frames) {
      const [eventLine, dataLine] = f.split("\n");
      expect(eventLine!.slice("event: ".length)).toBe((JSON.parse(dataLine!.slice("data: ".length)) as { type: string }).type);
    }
  });
});

describe("AnthropicStreamEncoder → @anthropic-ai/sdk MessageStream", () => {
  it("text", async () => {
    const message = await sdkFinalMessage(
      encode([
        { type: "start", id: "up", model: "up", usage: { ...ZERO_USAGE, inputTokens: 120, outputTokens: 1 } },
        { type: "block_start", index: 0, block: { type: "text" } },
        { type: "text_delta", index: 0, text: "Hello, " },
        { type: "text_delta", index: 0, text: "wörld 👋" },
        { type: "block_stop", index: 0 },
        { type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE },
      ]),
    );
    expect(message).toEqual({
      id: "msg_llmux_01",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-6",
      content: [{ type: "text", text: "Hello, wörld 👋" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 120, output_tokens: 45, cache_creation_input_tokens: 16, cache_read_input_tokens: 3000 },
      // Added by the SDK itself (no output_format was requested).
      parsed_output: null,
    });
  });

  it("tool_use (OpenAI-style id made valid, input assembled from fragments)", async () => {
    const message = await sdkFinalMessage(
      encode([
        { type: "start", id: "up", model: "up", usage: ZERO_USAGE },
        { type: "block_start", index: 0, block: { type: "tool_use", id: "functions.get_weather:0", name: "get_weather" } },
        { type: "tool_input_delta", index: 0, partialJson: '{"city": "Kö' },
        { type: "tool_input_delta", index: 0, partialJson: 'ln", "days": [1, 2]}' },
        { type: "block_stop", index: 0 },
        { type: "block_start", index: 1, block: { type: "tool_use", id: "call_2", name: "get_time" } },
        { type: "block_stop", index: 1 },
        { type: "finish", stopReason: "tool_use", stopSequence: null, usage: USAGE },
      ]),
    );
    expect(message.content).toEqual([
      { type: "tool_use", id: "functions_x002e_get_weather_x003a_0", name: "get_weather", input: { city: "Köln", days: [1, 2] } },
      { type: "tool_use", id: "call_2", name: "get_time", input: {} },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    // Input usage learned only at the end (as from an OpenAI upstream) reaches the client.
    expect(message.usage).toEqual({ input_tokens: 120, output_tokens: 45, cache_creation_input_tokens: 16, cache_read_input_tokens: 3000 });
  });

  it("thinking (signed and unsigned) followed by text", async () => {
    const message = await sdkFinalMessage(
      encode([
        { type: "start", id: "up", model: "up", usage: ZERO_USAGE },
        { type: "block_start", index: 0, block: { type: "thinking" } },
        { type: "thinking_delta", index: 0, thinking: "First, " },
        { type: "thinking_delta", index: 0, thinking: "think." },
        { type: "signature_delta", index: 0, signature: "EqQBCkYIBxgC" },
        { type: "block_stop", index: 0 },
        { type: "block_start", index: 1, block: { type: "thinking" } },
        { type: "thinking_delta", index: 1, thinking: "from reasoning_content" },
        { type: "block_stop", index: 1 },
        { type: "block_start", index: 2, block: { type: "text" } },
        { type: "text_delta", index: 2, text: "42" },
        { type: "block_stop", index: 2 },
        { type: "finish", stopReason: "max_tokens", stopSequence: null, usage: USAGE },
      ]),
    );
    expect(message.content).toEqual([
      { type: "thinking", thinking: "First, think.", signature: "EqQBCkYIBxgC" },
      { type: "thinking", thinking: "from reasoning_content", signature: "" },
      { type: "text", text: "42" },
    ]);
    expect(message.stop_reason).toBe("max_tokens");
  });

  it("an upstream Anthropic stream decoded and re-encoded reads like the original", async () => {
    const raw = readFileSync(new URL("./testdata/stream-decoder/text-thinking-tool.sse", import.meta.url), "utf8");
    const parser = createSseParser();
    const decoder = new AnthropicStreamDecoder();
    const encoder = new AnthropicStreamEncoder(CTX);
    let sse = "";
    for (const ev of [...parser.push(new TextEncoder().encode(raw)), ...parser.end()]) for (const e of decoder.push(ev)) sse += encoder.encode(e);
    for (const e of decoder.end()) sse += encoder.encode(e);

    const [original, translated] = await Promise.all([sdkFinalMessage(raw), sdkFinalMessage(sse)]);
    const { caller: _caller, ...originalTool } = original.content[2] as Anthropic.ToolUseBlock & { caller?: unknown };
    expect(translated.content).toEqual([original.content[0], original.content[1], originalTool]);
    expect(translated.usage).toEqual({ input_tokens: 14, output_tokens: 96, cache_creation_input_tokens: 512, cache_read_input_tokens: 20480 });
    expect([translated.stop_reason, translated.stop_sequence]).toEqual([original.stop_reason, original.stop_sequence]);
  });

  it("an in-stream error becomes the SDK's APIError with the Anthropic error type", async () => {
    const encoder = new AnthropicStreamEncoder(CTX);
    const sse =
      encoder.encode({ type: "start", id: "up", model: "up", usage: ZERO_USAGE }) +
      encoder.encode({ type: "block_start", index: 0, block: { type: "text" } }) +
      encoder.encode({ type: "text_delta", index: 0, text: "partial" }) +
      encoder.error(llmuxError(Reason.UPSTREAM_OVERLOADED, "upstream is overloaded"));
    const err = await sdkFinalMessage(sse).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: "error", error: { type: "overloaded_error", message: "upstream is overloaded" } });
  });
});
