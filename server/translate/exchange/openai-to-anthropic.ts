import { canonicalToAnthropicRequest } from "../anthropic/request.js";
import { anthropicUpstreamError } from "../anthropic/error.js";
import { anthropicResponseToCanonical } from "../anthropic/response.js";
import { usageFromAnthropic } from "../anthropic/usage.js";
import { isObject } from "../../lib/is-object.js";
import { responseOutputChars } from "../usage-estimate.js";
import { AnthropicStreamDecoder } from "../anthropic/stream-decoder.js";
import type { CanonicalRequest } from "../canonical.js";
import { applyKeyEdits } from "../key-edits.js";
import { openaiRequestToCanonical } from "../openai/request.js";
import { canonicalToOpenaiResponse } from "../openai/response.js";
import { OpenAIStreamEncoder } from "../openai/stream-encoder.js";
import type { OpenAIChatBody } from "../openai/validate.js";
import { translateStream, type Exchange, type ExchangeContext, type RequestSource } from "./exchange.js";

/**
 * Output limit sent to Anthropic when an OpenAI client gave none: Anthropic requires `max_tokens`, OpenAI does not.
 * 4096 is what most OpenAI chat models default to.
 */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/**
 * OpenAI client → Anthropic backend, through the canonical hub. The client sees the model name it asked for and a
 * `chatcmpl-` id; the usage chunk is sent only when the client asked for it.
 */
export function createOpenAIToAnthropic(request: RequestSource<OpenAIChatBody>, ctx: ExchangeContext): Exchange {
  const encodeContext = { id: ctx.id, model: request().model, created: ctx.created };
  let includeUsage = false;
  return {
    upstreamBody(backend) {
      const canonical: CanonicalRequest = openaiRequestToCanonical(request());
      includeUsage = canonical.includeUsage;
      const out = canonicalToAnthropicRequest(canonical, { model: backend.model, defaultMaxTokens: DEFAULT_ANTHROPIC_MAX_TOKENS });
      applyKeyEdits(out, backend);
      return out;
    },
    response(_text, json) {
      const response = anthropicResponseToCanonical(json);
      return {
        body: JSON.stringify(canonicalToOpenaiResponse(response, encodeContext)),
        // The canonical response reads a missing or untrusted usage as zeros; accounting must tell them apart.
        usage: usageFromAnthropic(isObject(json) ? json.usage : undefined, undefined),
        outputChars: responseOutputChars(response.content),
      };
    },
    stream: () => translateStream(new AnthropicStreamDecoder(), new OpenAIStreamEncoder(encodeContext, { includeUsage })),
    upstreamError: anthropicUpstreamError,
  };
}
