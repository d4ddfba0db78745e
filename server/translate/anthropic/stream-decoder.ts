import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { ZERO_USAGE, type ChatEvent, type SseEvent, type StopReason, type Usage } from "../canonical.js";
import { anthropicErrorFromBody } from "./error.js";
import { AnthropicStreamUsage, stopReasonFromAnthropic } from "./usage.js";
import { isObject } from "../../lib/is-object.js";

type Json = Record<string, unknown>;

/** Kind of an open upstream content block; `skipped` for blocks the hub does not carry (server tools). */
type BlockKind = "text" | "thinking" | "redacted_thinking" | "tool_use" | "skipped";

/** Everything the decoder knows about the upstream stream so far. One instance per upstream response. */
interface DecoderState {
  /** awaiting_start: before message_start; in_message: between message_start and message_stop; done: after. */
  phase: "awaiting_start" | "in_message" | "done";
  /** Upstream `index` of the open content block, or -1 when none is open (Anthropic opens one at a time). */
  openUpstreamIndex: number;
  /** Kind of the open block; meaningful only while openUpstreamIndex >= 0. */
  openKind: BlockKind;
  /** Canonical index of the open block (not for skipped blocks). */
  openIndex: number;
  /** Canonical index of the next carried block: skipped blocks consume none, so indexes stay 0, 1, 2… */
  nextIndex: number;
  /** From message_delta; undefined until one arrives. */
  stopReason: StopReason | undefined;
  stopSequence: string | null;
  usage: AnthropicStreamUsage;
}


function invalidEvent(): never {
  throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event");
}

function outOfOrder(): never {
  throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream events out of order");
}

function str(v: unknown): string {
  if (typeof v !== "string") invalidEvent();
  return v;
}

/**
 * Anthropic upstream SSE events → canonical ChatEvents, as an explicit state machine (see {@link DecoderState}).
 * Feed every parsed SSE event to `push` and call `end` when the body ends.
 *
 * - message_start → `start` (id, model, usage); ping and unknown event types are ignored.
 * - content_block_start/delta/stop → block events for text, thinking (incl. signature_delta), redacted_thinking
 *   and tool_use (input_json_delta → tool_input_delta). Server-tool blocks (server_tool_use,
 *   web_search_tool_result, …) are skipped with their deltas, and canonical indexes are renumbered 0, 1, 2…
 * - message_delta → stop reason, stop sequence and usage remembered; message_stop → `finish`.
 * - `event: error` → throws the mapped LlmuxError (overloaded_error → UPSTREAM_OVERLOADED, …); unparsable JSON,
 *   malformed or out-of-order events → UPSTREAM_FAILED; a stream that ends before message_stop → UPSTREAM_FAILED
 *   "upstream stream ended before completion" (never a silent, truncated success).
 */
export class AnthropicStreamDecoder {
  readonly #s: DecoderState = {
    phase: "awaiting_start",
    openUpstreamIndex: -1,
    openKind: "skipped",
    openIndex: -1,
    nextIndex: 0,
    stopReason: undefined,
    stopSequence: null,
    usage: new AnthropicStreamUsage(),
  };

  /** Decodes one upstream SSE event into zero or more canonical events. */
  push(ev: SseEvent): ChatEvent[] {
    if (ev.data === "") return [];
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch (cause) {
      throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid stream event", { cause });
    }
    if (ev.event === "error" || (isObject(data) && data["type"] === "error")) throw anthropicErrorFromBody(data);
    if (!isObject(data)) invalidEvent();
    if (this.#s.phase === "done") return [];
    switch (data["type"]) {
      case "message_start":
        return this.#messageStart(data);
      case "content_block_start":
        return this.#blockStart(data);
      case "content_block_delta":
        return this.#blockDelta(data);
      case "content_block_stop":
        return this.#blockStop(data);
      case "message_delta":
        return this.#messageDelta(data);
      case "message_stop":
        return this.#messageStop();
      default:
        // ping, and event types newer than llmux (the API documents that new ones may appear).
        return [];
    }
  }

  /** Call when the upstream body has ended; throws unless message_stop was seen. */
  end(): ChatEvent[] {
    if (this.#s.phase !== "done") throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
    return [];
  }

  /** The upstream's final usage once a message_delta reported it and it is trusted, else undefined. */
  usage(): Usage | undefined {
    return this.#s.usage.final();
  }

  /** message_start's counts (merged with any message_delta's), trusted, else undefined. */
  promptUsage(): Usage | undefined {
    return this.#s.usage.current();
  }

  #messageStart(data: Json): ChatEvent[] {
    const s = this.#s;
    if (s.phase !== "awaiting_start") outOfOrder();
    const message = data["message"];
    if (!isObject(message)) invalidEvent();
    s.phase = "in_message";
    s.usage.start(message["usage"]);
    return [{ type: "start", id: str(message["id"]), model: typeof message["model"] === "string" ? message["model"] : "", usage: { ...(s.usage.current() ?? ZERO_USAGE) } }];
  }

  #blockStart(data: Json): ChatEvent[] {
    const s = this.#s;
    if (s.phase !== "in_message" || s.openUpstreamIndex >= 0) outOfOrder();
    const index = data["index"];
    const block = data["content_block"];
    if (typeof index !== "number" || index < 0 || !isObject(block)) invalidEvent();
    s.openUpstreamIndex = index;
    const i = s.nextIndex;
    const out: ChatEvent[] = [];
    switch (block["type"]) {
      case "text": {
        out.push({ type: "block_start", index: i, block: { type: "text" } });
        const text = block["text"];
        if (typeof text === "string" && text !== "") out.push({ type: "text_delta", index: i, text });
        break;
      }
      case "thinking": {
        out.push({ type: "block_start", index: i, block: { type: "thinking" } });
        const thinking = block["thinking"];
        const signature = block["signature"];
        if (typeof thinking === "string" && thinking !== "") out.push({ type: "thinking_delta", index: i, thinking });
        if (typeof signature === "string" && signature !== "") out.push({ type: "signature_delta", index: i, signature });
        break;
      }
      case "redacted_thinking":
        out.push({ type: "block_start", index: i, block: { type: "redacted_thinking", data: str(block["data"]) } });
        break;
      case "tool_use": {
        out.push({ type: "block_start", index: i, block: { type: "tool_use", id: str(block["id"]), name: str(block["name"]) } });
        // The API opens tool_use with `input: {}` and streams the JSON; a non-empty initial input is sent whole
        // (unless nested so deep that serialising it would overflow the stack).
        const input = block["input"];
        if (isObject(input) && Object.keys(input).length > 0) {
          if (exceedsDepth(input, MAX_JSON_DEPTH)) invalidEvent();
          out.push({ type: "tool_input_delta", index: i, partialJson: JSON.stringify(input) });
        }
        break;
      }
      default:
        s.openKind = "skipped";
        return [];
    }
    s.openKind = block["type"];
    s.openIndex = i;
    s.nextIndex = i + 1;
    return out;
  }

  #blockDelta(data: Json): ChatEvent[] {
    const s = this.#s;
    if (s.openUpstreamIndex < 0 || data["index"] !== s.openUpstreamIndex) outOfOrder();
    const delta = data["delta"];
    if (!isObject(delta)) invalidEvent();
    if (s.openKind === "skipped") return [];
    const index = s.openIndex;
    const expect = (kind: BlockKind): void => {
      if (s.openKind !== kind) outOfOrder();
    };
    switch (delta["type"]) {
      case "text_delta": {
        expect("text");
        const text = str(delta["text"]);
        return text === "" ? [] : [{ type: "text_delta", index, text }];
      }
      case "thinking_delta": {
        expect("thinking");
        const thinking = str(delta["thinking"]);
        return thinking === "" ? [] : [{ type: "thinking_delta", index, thinking }];
      }
      case "signature_delta":
        expect("thinking");
        return [{ type: "signature_delta", index, signature: str(delta["signature"]) }];
      case "input_json_delta": {
        expect("tool_use");
        const partialJson = str(delta["partial_json"]);
        return partialJson === "" ? [] : [{ type: "tool_input_delta", index, partialJson }];
      }
      default:
        // citations_delta (citations are not carried) and delta types newer than llmux.
        return [];
    }
  }

  #blockStop(data: Json): ChatEvent[] {
    const s = this.#s;
    if (s.openUpstreamIndex < 0 || data["index"] !== s.openUpstreamIndex) outOfOrder();
    s.openUpstreamIndex = -1;
    return s.openKind === "skipped" ? [] : [{ type: "block_stop", index: s.openIndex }];
  }

  #messageDelta(data: Json): ChatEvent[] {
    const s = this.#s;
    if (s.phase !== "in_message") outOfOrder();
    const delta = data["delta"];
    if (isObject(delta)) {
      if (delta["stop_reason"] !== undefined && delta["stop_reason"] !== null) s.stopReason = stopReasonFromAnthropic(delta["stop_reason"]);
      if (typeof delta["stop_sequence"] === "string") s.stopSequence = delta["stop_sequence"];
    }
    s.usage.delta(data["usage"]);
    return [];
  }

  #messageStop(): ChatEvent[] {
    const s = this.#s;
    if (s.phase !== "in_message" || s.openUpstreamIndex >= 0) outOfOrder();
    s.phase = "done";
    return [{ type: "finish", stopReason: s.stopReason ?? "end_turn", stopSequence: s.stopSequence, usage: { ...(s.usage.current() ?? ZERO_USAGE) } }];
  }
}
