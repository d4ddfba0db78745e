import type { BackendConfig } from "../../config/types.js";
import { anthropicErrorBody } from "../../errors/dialect-body.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type { Usage } from "../canonical.js";
import { anthropicErrorFromBody, anthropicUpstreamError } from "../anthropic/error.js";
import { usageFromAnthropic } from "../anthropic/usage.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { applyKeyEdits } from "../key-edits.js";
import type { Exchange, StreamTranslator } from "./exchange.js";
import { isObject } from "../../lib/is-object.js";
import { jsonTextLength } from "../../lib/json-measure.js";


/**
 * Anthropic client → Anthropic backend: the body passes through untouched except for the backend's model and key
 * edits (`cache_control`, `context_management`, thinking signatures and every unknown field survive); the client's
 * `anthropic-version` and `anthropic-beta` are forwarded by the adapter; responses pass through byte for byte, while
 * usage is read on the side and in-band errors and truncation are detected.
 */
export function createAnthropicPassthrough(body: AnthropicMessagesRequest): Exchange {
  return {
    upstreamBody(backend: BackendConfig) {
      const out: Record<string, unknown> = { ...body, model: backend.model };
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
export function createAnthropicCountTokensPassthrough(body: Record<string, unknown>): Exchange {
  return {
    upstreamBody(backend) {
      const out: Record<string, unknown> = { ...body, model: backend.model };
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

const textLength = (value: unknown): number => (typeof value === "string" ? value.length : 0);

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

/** A non-empty string: an empty text or thinking delta says nothing yet. */
const said = (value: unknown): boolean => typeof value === "string" && value !== "";

/**
 * True for an event that carries content: a non-empty delta (text, thinking, tool input, a signature…); a block that
 * means something by itself starting (a tool call names its tool; text or thinking only when it starts non-empty);
 * the message's stop reason or end. message_start, ping, an empty text block's start (the API sends one before
 * every first text delta) and a block's stop are only framing: a stream that breaks after them still fails over.
 */
function carriesContent(type: unknown, data: Record<string, unknown>): boolean {
  switch (type) {
    case "content_block_delta": {
      const delta = data.delta;
      if (!isObject(delta)) return false;
      switch (delta.type) {
        case "text_delta":
          return said(delta.text);
        case "thinking_delta":
          return said(delta.thinking);
        case "input_json_delta":
          return said(delta.partial_json);
        default:
          // A signature, a citation, and delta types to come: each carries something.
          return true;
      }
    }
    case "content_block_start": {
      const block = data.content_block;
      if (!isObject(block)) return false;
      if (block.type === "text") return said(block.text);
      if (block.type === "thinking") return said(block.thinking);
      return true;
    }
    case "message_delta":
    case "message_stop":
      return true;
    default:
      return false;
  }
}

function createPassthroughStream(): StreamTranslator {
  let started = false;
  let done = false;
  let content = false;
  // Cumulative and trusted so far (message_start's, merged with each message_delta's), final once a message_delta
  // carried usage: message_start's output count is a placeholder.
  let usage: Usage | undefined;
  let usageFinal = false;
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
        usage = usageFromAnthropic(data.message.usage, undefined);
      } else if (!started && type !== "ping") {
        // A stream that is only a terminator (or starts mid-message) is not an answer: fail over while we can.
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream events out of order");
      } else if (type === "message_delta") {
        if (isObject(data.usage)) usageFinal = true;
        usage = usageFromAnthropic(data.usage, usage);
      } else if (type === "message_stop") done = true;
      else chars += deltaChars(type, data);
      if (!content && carriesContent(type, data)) content = true;
      return `event: ${event.event ?? String(type)}\ndata: ${event.data}\n\n`;
    },
    end() {
      if (!done) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
      return "";
    },
    error: (err) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err))}\n\n`,
    usage: () => (usageFinal ? usage : undefined),
    outputChars: () => chars,
    contentSeen: () => content,
  };
}
