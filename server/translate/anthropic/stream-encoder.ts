import { anthropicErrorBody } from "../../errors/dialect-body.js";
import type { LlmuxError } from "../../errors/llmux-error.js";
import type { ChatEvent, EncodeContext } from "../canonical.js";
import { ensureAnthropicToolId } from "../tool-ids.js";
import type { AnthropicMessage, AnthropicStreamBlockStart, AnthropicStreamEvent } from "./wire.js";

/** One SSE frame; the `event:` name always equals `data.type`, as the SDK and Claude Code expect. */
function frame(data: AnthropicStreamEvent): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Canonical ChatEvents → Anthropic SSE text for an Anthropic client, one instance per response. Relies on the
 * canonical stream contract (blocks sequential, indexes 0, 1, 2…), which every decoder guarantees.
 *
 * - start → `message_start` (id and model from `ctx`, empty content, null stop fields, usage) then `ping`.
 * - block events → content_block_start (text `""`, thinking `""` with `signature:""`, tool_use with `input:{}`),
 *   text/thinking/signature/input_json deltas and content_block_stop. A thinking block that got no signature
 *   (thinking synthesised from an OpenAI upstream) gets `signature_delta ""` before its stop: the real API always
 *   sends one, and clients rely on it.
 * - finish → `message_delta` whose usage carries input and cache counters too (an OpenAI upstream reports input
 *   usage only at the end, and the SDK overwrites them when present) then `message_stop`.
 */
export class AnthropicStreamEncoder {
  readonly #ctx: EncodeContext;
  /** Index of the open thinking block while it has had no signature_delta, else -1. */
  #unsignedThinking = -1;

  constructor(ctx: EncodeContext) {
    this.#ctx = ctx;
  }

  /** The SSE text for one canonical event (possibly several frames, possibly none). */
  encode(ev: ChatEvent): string {
    switch (ev.type) {
      case "start": {
        const u = ev.usage;
        const message: AnthropicMessage = {
          id: this.#ctx.id,
          type: "message",
          role: "assistant",
          model: this.#ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: u.inputTokens,
            cache_creation_input_tokens: u.cacheCreationTokens,
            cache_read_input_tokens: u.cacheReadTokens,
            output_tokens: u.outputTokens,
          },
        };
        return frame({ type: "message_start", message }) + frame({ type: "ping" });
      }
      case "block_start": {
        const b = ev.block;
        let block: AnthropicStreamBlockStart;
        switch (b.type) {
          case "text":
            block = { type: "text", text: "" };
            break;
          case "thinking":
            this.#unsignedThinking = ev.index;
            block = { type: "thinking", thinking: "", signature: "" };
            break;
          case "redacted_thinking":
            block = { type: "redacted_thinking", data: b.data };
            break;
          case "tool_use":
            block = { type: "tool_use", id: ensureAnthropicToolId(b.id), name: b.name, input: {} };
            break;
        }
        return frame({ type: "content_block_start", index: ev.index, content_block: block });
      }
      case "text_delta":
        return frame({ type: "content_block_delta", index: ev.index, delta: { type: "text_delta", text: ev.text } });
      case "thinking_delta":
        return frame({ type: "content_block_delta", index: ev.index, delta: { type: "thinking_delta", thinking: ev.thinking } });
      case "signature_delta":
        if (this.#unsignedThinking === ev.index) this.#unsignedThinking = -1;
        return frame({ type: "content_block_delta", index: ev.index, delta: { type: "signature_delta", signature: ev.signature } });
      case "tool_input_delta":
        return frame({ type: "content_block_delta", index: ev.index, delta: { type: "input_json_delta", partial_json: ev.partialJson } });
      case "block_stop": {
        let out = "";
        if (this.#unsignedThinking === ev.index) {
          this.#unsignedThinking = -1;
          out += frame({ type: "content_block_delta", index: ev.index, delta: { type: "signature_delta", signature: "" } });
        }
        return out + frame({ type: "content_block_stop", index: ev.index });
      }
      case "finish": {
        const u = ev.usage;
        return (
          frame({
            type: "message_delta",
            delta: { stop_reason: ev.stopReason, stop_sequence: ev.stopSequence },
            usage: {
              output_tokens: u.outputTokens,
              input_tokens: u.inputTokens,
              cache_creation_input_tokens: u.cacheCreationTokens,
              cache_read_input_tokens: u.cacheReadTokens,
            },
          }) + frame({ type: "message_stop" })
        );
      }
    }
  }

  /** The in-band error frame for a failure after the stream started (the SDK raises it as an APIError). */
  error(err: LlmuxError): string {
    return frame(anthropicErrorBody(err));
  }
}
