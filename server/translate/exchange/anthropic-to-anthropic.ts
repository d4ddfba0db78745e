import type { BackendConfig } from "../../config/types.js";
import { anthropicErrorBody } from "../../errors/dialect-body.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { ZERO_USAGE, type Usage } from "../canonical.js";
import { anthropicErrorFromBody, anthropicUpstreamError } from "../anthropic/error.js";
import { usageFromAnthropic } from "../anthropic/usage.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { applyKeyEdits } from "../key-edits.js";
import type { Exchange, StreamTranslator } from "./exchange.js";
import { isObject } from "../../lib/is-object.js";


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
      return { body: text, usage: usageFromAnthropic(json.usage, ZERO_USAGE) };
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
      return { body: text, usage: undefined };
    },
    stream() {
      throw llmuxError(Reason.INTERNAL, "count_tokens does not stream");
    },
    upstreamError: anthropicUpstreamError,
  };
}

/** Anthropic events that carry content; message_start and ping are only the preamble. */
const CONTENT_EVENTS = new Set(["content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);

function createPassthroughStream(): StreamTranslator {
  let done = false;
  let content = false;
  let usage: Usage | undefined;
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
      if (type === "message_start" && isObject(data.message)) usage = usageFromAnthropic(data.message.usage, ZERO_USAGE);
      else if (type === "message_delta") usage = usageFromAnthropic(data.usage, usage ?? ZERO_USAGE);
      else if (type === "message_stop") done = true;
      if (!content && typeof type === "string" && CONTENT_EVENTS.has(type)) content = true;
      return `event: ${event.event ?? String(type)}\ndata: ${event.data}\n\n`;
    },
    end() {
      if (!done) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
      return "";
    },
    error: (err) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err))}\n\n`,
    usage: () => usage,
    contentSeen: () => content,
  };
}
