import type { BackendConfig } from "../../config/types.js";
import { anthropicErrorBody } from "../../errors/dialect-body.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { anthropicErrorFromBody, anthropicUpstreamError } from "../anthropic/error.js";
import { AnthropicStreamUsage, usageFromAnthropic } from "../anthropic/usage.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { applyKeyEdits } from "../key-edits.js";
import { textLength } from "../usage-estimate.js";
import type { Exchange, RequestSource, StreamTranslator } from "./exchange.js";
import { isObject } from "../../lib/is-object.js";
import { jsonTextLength } from "../../lib/json-measure.js";


/**
 * Anthropic client → Anthropic backend: the body passes through untouched except for the backend's model and key
 * edits (`cache_control`, `context_management`, thinking signatures and every unknown field survive); the client's
 * `anthropic-version` and `anthropic-beta` are forwarded by the adapter; responses pass through byte for byte, while
 * usage is read on the side and in-band errors and truncation are detected.
 */
export function createAnthropicPassthrough(request: RequestSource<AnthropicMessagesRequest>): Exchange {
  return {
    upstreamBody(backend: BackendConfig) {
      const out: Record<string, unknown> = { ...request(), model: backend.model };
      applyKeyEdits(out, backend);
      return out;
    },
    response(text, json) {
      if (!isObject(json) || json.type !== "message") throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
      return { body: text, usage: usageFromAnthropic(json.usage, undefined), outputChars: messageChars(json.content) };
    },
    stream: () => createPassthroughStream(),
    upstreamError: anthropicUpstreamError,
  };
}

/** `POST /v1/messages/count_tokens` forwarded to an Anthropic backend. */
export function createAnthropicCountTokensPassthrough(request: RequestSource<Record<string, unknown>>): Exchange {
  return {
    upstreamBody(backend) {
      const out: Record<string, unknown> = { ...request(), model: backend.model };
      applyKeyEdits(out, backend);
      return out;
    },
    response(text, json) {
      if (!isObject(json) || typeof json.input_tokens !== "number") throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
      return { body: text, usage: undefined, outputChars: 0 };
    },
    stream() {
      throw llmuxError(Reason.INTERNAL, "count_tokens does not stream");
    },
    upstreamError: anthropicUpstreamError,
  };
}

/** Characters of text, thinking and tool input (as JSON) in a Message's content, for estimating output tokens. */
function messageChars(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const block of content) {
    if (!isObject(block)) continue;
    chars += textLength(block.text) + textLength(block.thinking);
    if (block.type === "tool_use" && isObject(block.input)) chars += jsonTextLength(block.input);
  }
  return chars;
}

/**
 * Characters a `content_block_delta` adds (text, thinking or tool input JSON), or a `content_block_start` that
 * opens non-empty: one length read per event, for estimating output tokens.
 */
function deltaChars(type: unknown, data: Record<string, unknown>): number {
  if (type === "content_block_delta") {
    const delta = data.delta;
    return isObject(delta) ? textLength(delta.text) + textLength(delta.thinking) + textLength(delta.partial_json) : 0;
  }
  if (type !== "content_block_start") return 0;
  const block = data.content_block;
  if (!isObject(block)) return 0;
  const input = block.input;
  // The API opens tool_use with `input: {}` and streams the JSON; a non-empty initial input is sent whole.
  const inputChars = isObject(input) && Object.keys(input).length > 0 ? jsonTextLength(input) : 0;
  return textLength(block.text) + textLength(block.thinking) + inputChars;
}

/** Delta and block types whose content is text, thinking or tool input: they carry something once non-empty. */
const MEASURED_TYPES = new Set(["text_delta", "thinking_delta", "input_json_delta", "text", "thinking"]);

/**
 * True for an event that carries content, given the characters it adds ({@link deltaChars}): non-empty text,
 * thinking or tool input; a delta or block of any other kind (a signature, a citation, a tool call naming its
 * tool, and types to come); the message's stop reason or end. message_start, ping, an empty text block's start
 * (the API sends one before every first text delta) and a block's stop are only framing: a stream that breaks
 * after them still fails over.
 */
function carriesContent(type: unknown, data: Record<string, unknown>, chars: number): boolean {
  if (chars > 0 || type === "message_delta" || type === "message_stop") return true;
  const part = type === "content_block_delta" ? data.delta : type === "content_block_start" ? data.content_block : undefined;
  return isObject(part) && !MEASURED_TYPES.has(part.type as string);
}

function createPassthroughStream(): StreamTranslator {
  let started = false;
  let done = false;
  let content = false;
  const usage = new AnthropicStreamUsage();
  let chars = 0;
  return {
    push(event) {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch (cause) {
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event", { cause });
      }
      if (!isObject(data)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event");
      const type = data.type;
      if (type === "error" || event.event === "error") throw anthropicErrorFromBody(data);
      if (type === "message_start" && isObject(data.message)) {
        started = true;
        usage.start(data.message.usage);
      } else if (!started && type !== "ping") {
        // A stream that is only a terminator (or starts mid-message) is not an answer: fail over while we can.
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream events out of order");
      } else if (type === "message_delta") usage.delta(data.usage);
      else if (type === "message_stop") done = true;
      const added = deltaChars(type, data);
      chars += added;
      if (!content && carriesContent(type, data, added)) content = true;
      return `event: ${event.event ?? String(type)}\ndata: ${event.data}\n\n`;
    },
    end() {
      if (!done) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
      return "";
    },
    error: (err) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err))}\n\n`,
    usage: () => usage.final(),
    promptUsage: () => usage.current(),
    outputChars: () => chars,
    contentSeen: () => content,
  };
}
