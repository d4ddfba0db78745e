import type { BackendConfig } from "../../config/types.js";
import { openaiErrorBody } from "../../errors/dialect-body.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type { Usage } from "../canonical.js";
import { applyKeyEdits } from "../key-edits.js";
import { openaiErrorFromBody, openaiUpstreamError } from "../openai/error.js";
import type { OpenAIChatBody } from "../openai/validate.js";
import type { Exchange, StreamTranslator } from "./exchange.js";

interface OpenAIUsageWire {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

/** OpenAI usage → canonical usage (input excludes cached tokens). Missing or negative counters read as 0. */
export function usageFromOpenAI(wire: OpenAIUsageWire): Usage {
  const prompt = nonNegative(wire.prompt_tokens);
  const cached = Math.min(prompt, nonNegative(wire.prompt_tokens_details?.cached_tokens));
  const usage: Usage = { inputTokens: prompt - cached, outputTokens: nonNegative(wire.completion_tokens), cacheReadTokens: cached, cacheCreationTokens: 0 };
  const reasoning = wire.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === "number" && reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}

function nonNegative(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * OpenAI client → OpenAI-compatible backend: the body passes through untouched except for the documented edits
 * (the backend's model, its key edits, and `stream_options.include_usage` so usage is always known); responses
 * pass through byte for byte, except that a usage chunk the client did not ask for is withheld.
 */
export function createOpenAIPassthrough(body: OpenAIChatBody): Exchange {
  const stream = body.stream === true;
  const clientWantsUsage = body.stream_options?.include_usage === true;
  return {
    upstreamBody(backend: BackendConfig) {
      const out: Record<string, unknown> = { ...body, model: backend.model };
      if (stream) out.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
      applyKeyEdits(out, backend);
      return out;
    },
    response(text, json) {
      if (!isObject(json) || !Array.isArray(json.choices)) {
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
      }
      return { body: text, usage: isObject(json.usage) ? usageFromOpenAI(json.usage) : undefined };
    },
    stream: () => createPassthroughStream(clientWantsUsage),
    upstreamError: openaiUpstreamError,
  };
}

function createPassthroughStream(clientWantsUsage: boolean): StreamTranslator {
  let done = false;
  let usage: Usage | undefined;
  return {
    push(event) {
      const data = event.data;
      if (data === "[DONE]") {
        done = true;
        return "data: [DONE]\n\n";
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch (cause) {
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event", { cause });
      }
      if (!isObject(chunk)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event");
      if (chunk.error !== undefined) throw openaiErrorFromBody(chunk);
      if (isObject(chunk.usage)) {
        usage = usageFromOpenAI(chunk.usage);
        if (!clientWantsUsage) {
          const choices = chunk.choices;
          if (!Array.isArray(choices) || choices.length === 0) return "";
          delete chunk.usage;
          return `data: ${JSON.stringify(chunk)}\n\n`;
        }
      }
      return `data: ${data}\n\n`;
    },
    end() {
      if (!done) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
      return "";
    },
    error: (err) => `data: ${JSON.stringify(openaiErrorBody(err))}\n\n`,
    usage: () => usage,
  };
}
