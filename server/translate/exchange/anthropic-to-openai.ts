import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { canonicalToAnthropicResponse } from "../anthropic/response.js";
import { AnthropicStreamEncoder } from "../anthropic/stream-encoder.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { anthropicRequestToCanonical } from "../anthropic/request.js";
import type { CanonicalRequest, SseEvent } from "../canonical.js";
import { applyKeyEdits } from "../key-edits.js";
import { openaiUpstreamError } from "../openai/error.js";
import { fixGptOssResponse, GptOssStreamFixer } from "../openai/gpt-oss-fix.js";
import { canonicalToOpenaiRequest, type ToolNameMap } from "../openai/request.js";
import { NO_SHORTENED_NAMES } from "../openai/tool-names.js";
import { openaiResponseToCanonical } from "../openai/response.js";
import { OpenAIStreamDecoder } from "../openai/stream-decoder.js";
import { openaiUsageToCanonical } from "../openai/usage.js";
import { responseOutputChars } from "../usage-estimate.js";
import { isObject } from "../../lib/is-object.js";
import { NO_NAMES } from "../no-names.js";
import { declaredToolNames } from "./openai-to-openai.js";
import { translateStream, type Exchange, type ExchangeContext, type RequestSource, type StreamDecoder } from "./exchange.js";

/**
 * Anthropic client → OpenAI-compatible backend, through the canonical hub: each attempt decodes the Anthropic
 * request and encodes it for its backend; responses and stream events come back the other way. The client sees
 * the model name it asked for and an Anthropic message id.
 */
export function createAnthropicToOpenAI(request: RequestSource<AnthropicMessagesRequest>, ctx: ExchangeContext): Exchange {
  const encodeContext = { id: ctx.id, model: request().model, created: ctx.created };
  // What the answer's translation needs of the request, from the attempt's encoding: small, unlike the request.
  let toolNames: ToolNameMap = NO_SHORTENED_NAMES;
  let upstreamTools = NO_NAMES;
  return {
    upstreamBody(backend) {
      const canonical: CanonicalRequest = anthropicRequestToCanonical(request());
      const encoded = canonicalToOpenaiRequest(canonical, { model: backend.model });
      toolNames = encoded.toolNames;
      upstreamTools = declaredToolNames(encoded.body.tools as Array<Record<string, unknown>> | undefined);
      applyKeyEdits(encoded.body, backend);
      return encoded.body;
    },
    response(_text, json, backend) {
      const upstream = backend.gptOssFix && typeof json === "object" && json !== null ? fixGptOssResponse(json as Record<string, unknown>, upstreamTools) : json;
      const response = openaiResponseToCanonical(upstream, toolNames);
      return {
        body: JSON.stringify(canonicalToAnthropicResponse(response, encodeContext)),
        // The canonical response reads a missing or untrusted usage as zeros; accounting must tell them apart.
        usage: openaiUsageToCanonical(isObject(json) ? json.usage : undefined),
        outputChars: responseOutputChars(response.content),
      };
    },
    stream(backend) {
      const decoder = new OpenAIStreamDecoder(toolNames);
      return translateStream(backend.gptOssFix ? withGptOssFix(decoder, new GptOssStreamFixer(upstreamTools)) : decoder, new AnthropicStreamEncoder(encodeContext));
    },
    upstreamError: openaiUpstreamError,
  };
}

/**
 * Runs upstream chunks through the GPT-OSS repair before the decoder sees them. The repaired chunks are serialised
 * again, so a chunk nested deeper than {@link MAX_JSON_DEPTH} is refused as an invalid upstream event first.
 */
export function withGptOssFix(decoder: StreamDecoder, fixer: GptOssStreamFixer): StreamDecoder {
  const feed = (chunks: Record<string, unknown>[]) => chunks.flatMap((chunk) => decoder.push({ event: undefined, data: JSON.stringify(chunk) }));
  return {
    push(event: SseEvent) {
      if (event.data === "[DONE]") return [...feed(fixer.end()), ...decoder.push(event)];
      let chunk: unknown;
      try {
        chunk = JSON.parse(event.data);
      } catch {
        return decoder.push(event);
      }
      if (typeof chunk !== "object" || chunk === null || Array.isArray(chunk)) return decoder.push(event);
      if (exceedsDepth(chunk, MAX_JSON_DEPTH)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event");
      return feed(fixer.push(chunk as Record<string, unknown>));
    },
    end: () => decoder.end(),
    usage: () => decoder.usage(),
    promptUsage: () => decoder.promptUsage?.(),
  };
}
