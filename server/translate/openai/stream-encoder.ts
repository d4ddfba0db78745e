import { openaiErrorBody } from "../../errors/dialect-body.js";
import type { LlmuxError } from "../../errors/llmux-error.js";
import { formatSse } from "../../lib/sse.js";
import type { ChatEvent, EncodeContext } from "../canonical.js";
import { stopReasonToFinishReason } from "./finish-reason.js";
import { canonicalUsageToOpenai } from "./usage.js";
import type { OpenAIChatCompletionChunk, OpenAIChunkDelta, OpenAIFinishReason } from "./wire.js";

/** What the encoder has sent so far. */
interface EncoderState {
  /** The first chunk (`role: "assistant"`) went out; the SDK refuses a completion without a role. */
  started: boolean;
  /** OpenAI `tool_calls[].index` of the open tool_use block: tool calls are counted apart from other blocks. */
  toolIndex: number;
  /** Tool calls started so far; the next one gets this index. */
  toolCount: number;
}

/**
 * Canonical ChatEvents → the SSE an OpenAI client expects (spec/translation.md §10, and what the `openai` SDK's
 * `ChatCompletionStream.finalizeChatCompletion` requires: a role, a finish_reason, and for every tool call an id,
 * `type`, name and arguments in its first fragment). One id, `created` and model for all chunks. Thinking goes out
 * as the non-standard `reasoning_content` delta; signatures, block starts of text/thinking and block stops produce
 * nothing. `finish` sends the finish_reason chunk, the usage chunk when the client asked for it, then `[DONE]`.
 * Tool ids are the canonical ones; the client sends them back unchanged.
 */
export class OpenAIStreamEncoder {
  readonly #ctx: EncodeContext;
  readonly #includeUsage: boolean;
  readonly #state: EncoderState = { started: false, toolIndex: -1, toolCount: 0 };

  constructor(ctx: EncodeContext, opts: { includeUsage: boolean }) {
    this.#ctx = ctx;
    this.#includeUsage = opts.includeUsage;
  }

  /** SSE text for one event; "" when the event has no OpenAI counterpart. */
  encode(ev: ChatEvent): string {
    const state = this.#state;
    // `start` makes the role chunk; any other first event gets it too, so the client never lacks a role.
    let out = state.started ? "" : this.#chunk({ role: "assistant", content: "" }, null);
    state.started = true;
    switch (ev.type) {
      case "start":
      case "signature_delta":
      case "block_stop":
        break;
      case "block_start":
        if (ev.block.type === "tool_use") {
          state.toolIndex = state.toolCount++;
          const call = { index: state.toolIndex, id: ev.block.id, type: "function" as const, function: { name: ev.block.name, arguments: "" } };
          out += this.#chunk({ tool_calls: [call] }, null);
        }
        break;
      case "text_delta":
        if (ev.text.length > 0) out += this.#chunk({ content: ev.text }, null);
        break;
      case "thinking_delta":
        if (ev.thinking.length > 0) out += this.#chunk({ reasoning_content: ev.thinking }, null);
        break;
      case "tool_input_delta":
        if (ev.partialJson.length > 0) out += this.#chunk({ tool_calls: [{ index: state.toolIndex, function: { arguments: ev.partialJson } }] }, null);
        break;
      case "finish":
        out += this.#chunk({}, stopReasonToFinishReason(ev.stopReason));
        if (this.#includeUsage) out += this.#sse({ ...this.#envelope(), choices: [], usage: canonicalUsageToOpenai(ev.usage) });
        out += "data: [DONE]\n\n";
        break;
    }
    return out;
  }

  /** The in-stream error frame (`data: {"error":{message,type,param,code}}`); the stream ends after it, without `[DONE]`. */
  error(err: LlmuxError): string {
    return formatSse(JSON.stringify(openaiErrorBody(err)));
  }

  #envelope(): Pick<OpenAIChatCompletionChunk, "id" | "object" | "created" | "model"> {
    return { id: this.#ctx.id, object: "chat.completion.chunk", created: this.#ctx.created, model: this.#ctx.model };
  }

  #chunk(delta: OpenAIChunkDelta, finishReason: OpenAIFinishReason | null): string {
    return this.#sse({ ...this.#envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  }

  #sse(chunk: OpenAIChatCompletionChunk): string {
    return formatSse(JSON.stringify(chunk));
  }
}
