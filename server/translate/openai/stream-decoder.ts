import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { ZERO_USAGE, type ChatEvent, type SseEvent, type StopReason, type Usage } from "../canonical.js";
import { toAnthropicToolId } from "../tool-ids.js";
import { openaiErrorFromBody } from "./error.js";
import { finishReasonToStopReason } from "./finish-reason.js";
import { restoreToolName, type ToolNameMap } from "./tool-names.js";
import { openaiUsageToCanonical } from "./usage.js";

/** Where the decoder is in the upstream stream. */
enum Phase {
  /** No chunk yet; the first one produces `start`. */
  AwaitingFirstChunk,
  /** Chunks are flowing. */
  Streaming,
  /** `data: [DONE]` seen and `finish` emitted; anything later is ignored. */
  Done,
}

/** Where one upstream tool call is in the canonical output. */
enum ToolStatus {
  /** Not a block yet: another block is open, or the name has not arrived. Its arguments collect in `pending`. */
  Waiting,
  /** The open block; its argument fragments are emitted as they come. */
  Open,
  /** Its block was stopped; a further argument fragment is an upstream error. */
  Closed,
}

/** One upstream tool call, keyed by its `tool_calls[].index`. */
interface ToolCallState {
  status: ToolStatus;
  /** Anthropic-safe id, from the first fragment that carries one. */
  id: string | undefined;
  /** The client's name (restored from the shortened one), from the first fragment that carries one. */
  name: string | undefined;
  /** Argument text received while Waiting, flushed as the block's first delta when it opens. */
  pending: string;
}

/** The one canonical block open at a time. */
type OpenBlock = { kind: "text" | "thinking"; index: number } | { kind: "tool_use"; index: number; call: ToolCallState };

/** The whole decoder state, in one place (envoy's `openai_helper.go` style rather than loose flags). */
interface DecoderState {
  phase: Phase;
  /** The open canonical block, or null between blocks. */
  open: OpenBlock | null;
  /** The canonical index the next block gets: 0, 1, 2… in order. */
  nextIndex: number;
  /** Tool calls by upstream index, in order of first appearance (Map iteration order). */
  tools: Map<number, ToolCallState>;
  /** The upstream index of the tool call last seen, for servers that omit `index` on later fragments. */
  lastToolIndex: number | undefined;
  /** `finish_reason` of choice 0 once sent; the usage chunk and `[DONE]` still follow it. */
  finishReason: unknown;
  /** The latest (cumulative) usage the upstream reported, on a `choices: []` chunk or any other. */
  usage: Usage | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function upstreamFailed(message: string): never {
  throw llmuxError(Reason.UPSTREAM_FAILED, message);
}

/**
 * Turns an OpenAI-compatible upstream's SSE stream (`chat.completion.chunk`s, then `data: [DONE]`) into canonical
 * ChatEvents. Per stream; not reusable. Reads choice 0 only.
 *
 * - The first chunk gives `start` (its id and model, zero usage: OpenAI reports usage only at the end).
 * - `reasoning_content` / `reasoning` deltas form thinking blocks (closed without a signature: there is none),
 *   `content` (and `refusal`) deltas text blocks, `tool_calls` fragments tool_use blocks.
 * - Blocks are sequential: a new kind closes the open block. Tool calls that the upstream interleaves (fragments
 *   for index 1 while index 0 is open) wait, their arguments buffered per call, and become blocks one after
 *   another when the open one closes, at `[DONE]` or when text or reasoning follows.
 * - `finish_reason` and usage are remembered; `[DONE]` closes everything and emits `finish`.
 * - An in-band `{"error":…}` chunk, an unparsable chunk, or `end()` before `[DONE]` throw an LlmuxError; a
 *   truncated stream never ends as a clean finish.
 */
export class OpenAIStreamDecoder {
  readonly #toolNames: ToolNameMap;
  readonly #state: DecoderState = {
    phase: Phase.AwaitingFirstChunk,
    open: null,
    nextIndex: 0,
    tools: new Map(),
    lastToolIndex: undefined,
    finishReason: null,
    usage: undefined,
  };

  constructor(toolNames: ToolNameMap) {
    this.#toolNames = toolNames;
  }

  /** Decodes one upstream SSE event. Throws the mapped LlmuxError for an in-band error or a malformed chunk. */
  push(ev: SseEvent): ChatEvent[] {
    const state = this.#state;
    if (state.phase === Phase.Done || ev.data.trim() === "") return [];
    if (ev.data.trim() === "[DONE]") return this.#done();
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      upstreamFailed("upstream sent a stream chunk that is not JSON");
    }
    if (!isRecord(chunk)) upstreamFailed("upstream sent a stream chunk that is not a JSON object");
    if (ev.event === "error" || (chunk.error !== undefined && chunk.error !== null)) throw openaiErrorFromBody(chunk);

    const out: ChatEvent[] = [];
    if (state.phase === Phase.AwaitingFirstChunk) {
      state.phase = Phase.Streaming;
      out.push({ type: "start", id: nonEmpty(chunk.id) ?? "", model: nonEmpty(chunk.model) ?? "", usage: { ...ZERO_USAGE } });
    }
    const usage = openaiUsageToCanonical(chunk.usage);
    if (usage !== undefined) state.usage = usage;
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((c: unknown) => isRecord(c) && (c.index ?? 0) === 0)
      : undefined;
    if (!isRecord(choice)) return out;
    const delta = choice.delta;
    if (isRecord(delta)) {
      const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
      if (reasoning !== undefined) this.#appendText("thinking", reasoning, out);
      const text = nonEmpty(delta.content);
      if (text !== undefined) this.#appendText("text", text, out);
      const refusal = nonEmpty(delta.refusal);
      if (refusal !== undefined) this.#appendText("text", refusal, out);
      if (Array.isArray(delta.tool_calls)) {
        for (const fragment of delta.tool_calls) if (isRecord(fragment)) this.#toolFragment(fragment, out);
      }
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) state.finishReason = choice.finish_reason;
    return out;
  }

  /** Call at the end of the upstream body. Throws UPSTREAM_FAILED unless `[DONE]` was seen. */
  end(): ChatEvent[] {
    if (this.#state.phase !== Phase.Done) upstreamFailed("upstream stream ended before completion");
    return [];
  }

  /** The latest cumulative usage the upstream reported, if any (for accounting when a stream fails late). */
  usage(): Usage | undefined {
    return this.#state.usage;
  }

  /** Text or thinking: continue the open block of that kind, or close what is open and start one. */
  #appendText(kind: "text" | "thinking", text: string, out: ChatEvent[]): void {
    const state = this.#state;
    if (state.open?.kind !== kind) {
      this.#closeAll(out);
      const index = state.nextIndex++;
      state.open = { kind, index };
      out.push({ type: "block_start", index, block: { type: kind } });
    }
    const index = state.open!.index;
    out.push(kind === "text" ? { type: "text_delta", index, text } : { type: "thinking_delta", index, thinking: text });
  }

  #toolFragment(fragment: Record<string, unknown>, out: ChatEvent[]): void {
    const state = this.#state;
    const upstreamIndex = this.#fragmentIndex(fragment);
    let call = state.tools.get(upstreamIndex);
    if (call === undefined) {
      call = { status: ToolStatus.Waiting, id: undefined, name: undefined, pending: "" };
      state.tools.set(upstreamIndex, call);
    }
    state.lastToolIndex = upstreamIndex;
    const fn = isRecord(fragment.function) ? fragment.function : {};
    const id = nonEmpty(fragment.id);
    if (call.id === undefined && id !== undefined) call.id = toAnthropicToolId(id);
    const name = nonEmpty(fn.name);
    if (call.name === undefined && name !== undefined) call.name = restoreToolName(this.#toolNames, name);
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    switch (call.status) {
      case ToolStatus.Open:
        if (args.length > 0) out.push({ type: "tool_input_delta", index: state.open!.index, partialJson: args });
        break;
      case ToolStatus.Closed:
        if (args.length > 0) upstreamFailed("upstream sent arguments for a tool call that had ended");
        break;
      case ToolStatus.Waiting:
        call.pending += args;
        // A tool call becomes the open block at once unless another tool call holds that place.
        if (state.open?.kind !== "tool_use" && call.name !== undefined) {
          this.#closeOpen(out);
          this.#openTool(upstreamIndex, call, out);
        }
        break;
    }
  }

  /** `tool_calls[].index`; some servers (Gemini's compatibility layer) omit it and send one call per fragment. */
  #fragmentIndex(fragment: Record<string, unknown>): number {
    if (typeof fragment.index === "number") return fragment.index;
    const state = this.#state;
    const startsCall = nonEmpty(fragment.id) !== undefined || (isRecord(fragment.function) && nonEmpty(fragment.function.name) !== undefined);
    return startsCall || state.lastToolIndex === undefined ? state.tools.size : state.lastToolIndex;
  }

  #openTool(upstreamIndex: number, call: ToolCallState, out: ChatEvent[]): void {
    const state = this.#state;
    const index = state.nextIndex++;
    call.status = ToolStatus.Open;
    state.open = { kind: "tool_use", index, call };
    // Same fallback as the non-streaming decoder: a server that sends no id still needs a distinct one.
    const id = call.id ?? toAnthropicToolId(`call_${upstreamIndex}`);
    out.push({ type: "block_start", index, block: { type: "tool_use", id, name: call.name! } });
    if (call.pending.length > 0) out.push({ type: "tool_input_delta", index, partialJson: call.pending });
    call.pending = "";
  }

  #closeOpen(out: ChatEvent[]): void {
    const open = this.#state.open;
    if (open === null) return;
    out.push({ type: "block_stop", index: open.index });
    if (open.kind === "tool_use") open.call.status = ToolStatus.Closed;
    this.#state.open = null;
  }

  /** Closes the open block, then emits every waiting tool call as a complete block, in order of appearance. */
  #closeAll(out: ChatEvent[]): void {
    this.#closeOpen(out);
    for (const [upstreamIndex, call] of this.#state.tools) {
      if (call.status !== ToolStatus.Waiting) continue;
      if (call.name === undefined) upstreamFailed("upstream sent a tool call without a name");
      this.#openTool(upstreamIndex, call, out);
      this.#closeOpen(out);
    }
  }

  #done(): ChatEvent[] {
    const state = this.#state;
    if (state.phase === Phase.AwaitingFirstChunk) upstreamFailed("upstream stream ended before completion");
    const out: ChatEvent[] = [];
    this.#closeAll(out);
    let stopReason: StopReason = finishReasonToStopReason(state.finishReason);
    // Some vLLM versions finish a tool-calling turn with "stop"; the client must still run the tools.
    if (stopReason === "end_turn" && state.tools.size > 0) stopReason = "tool_use";
    out.push({ type: "finish", stopReason, stopSequence: null, usage: state.usage ?? { ...ZERO_USAGE } });
    state.phase = Phase.Done;
    return out;
  }
}
