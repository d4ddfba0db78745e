import type { FastifyInstance, FastifyRequest } from "fastify";
import { randomId } from "../lib/ids.js";
import { anthropicPromptText, anthropicRequirements } from "../translate/anthropic/requirements.js";
import { withExactCount } from "./prompt-tokens.js";
import { validateAnthropicRequest } from "../translate/anthropic/validate.js";
import type { AnthropicMessagesRequest } from "../translate/anthropic/wire.js";
import { createAnthropicCountTokensPassthrough, createAnthropicPassthrough } from "../translate/exchange/anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "../translate/exchange/anthropic-to-openai.js";
import { lazyExchanges, type Exchange, type RequestSource } from "../translate/exchange/exchange.js";
import type { ChatCall } from "../services/gateway/gateway-service.js";
import type { FacadeDeps } from "./openai-plugin.js";
import { beginLlmRequest, type LlmRoute, type RequestContext } from "./request-tracker.js";
import { takeRequestSource } from "./request-source.js";
import { sendResult } from "./stream-reply.js";

const ANTHROPIC_CHAT: LlmRoute = { dialect: "anthropic", operation: "chat" };
const ANTHROPIC_COUNT_TOKENS: LlmRoute = { dialect: "anthropic", operation: "count_tokens" };

/** The Anthropic headers forwarded to Anthropic backends byte for byte (and to no one else). */
function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  const version = request.headers["anthropic-version"];
  const beta = request.headers["anthropic-beta"];
  if (typeof version === "string") headers["anthropic-version"] = version;
  if (typeof beta === "string") headers["anthropic-beta"] = beta;
  return headers;
}

/** Creates the exchange of an Anthropic request with an OpenAI-dialect backend. */
function toOpenAI(request: RequestSource<AnthropicMessagesRequest>, now: () => number): () => Exchange {
  return () => createAnthropicToOpenAI(request, { id: randomId("msg_"), created: Math.floor(now() / 1000) });
}

/**
 * The gateway call of an Anthropic chat request. A function of its own so that the parsed body lives in its frame and
 * the closures reach only its source, which the dispatcher parks while the request waits for its upstream.
 */
function chatCall(request: FastifyRequest, ctx: RequestContext, deps: FacadeDeps): ChatCall {
  const source = takeRequestSource(request, validateAnthropicRequest);
  const body = source.get();
  ctx.stream = body.stream === true;
  return {
    requirements: withExactCount(anthropicRequirements(body), () => anthropicPromptText(source.get()), deps.tokens),
    stream: ctx.stream,
    operation: "chat",
    exchangeFor: lazyExchanges("anthropic", () => createAnthropicPassthrough(source.get), toOpenAI(source.get, deps.now)),
    parkRequest: source.park,
    headers: forwardedHeaders(request),
    principal: request.principal,
    signal: ctx.cancel,
    trace: ctx.trace,
  };
}

/**
 * `POST /v1/messages` (any query string, e.g. Claude Code's `?beta=true`) and `POST /v1/messages/count_tokens`:
 * Anthropic Messages, streaming and not, to any backend.
 */
export function registerAnthropicRoutes(app: FastifyInstance, deps: FacadeDeps): void {
  app.post("/v1/messages", { config: { llm: ANTHROPIC_CHAT } }, async (request, reply) => {
    const ctx = beginLlmRequest(request, reply, ANTHROPIC_CHAT, deps.now);
    const result = await deps.gateway.chat(chatCall(request, ctx, deps));
    return sendResult(reply, result, ctx, deps.idleMs);
  });

  app.post("/v1/messages/count_tokens", { config: { llm: ANTHROPIC_COUNT_TOKENS } }, async (request, reply) => {
    const ctx = beginLlmRequest(request, reply, ANTHROPIC_COUNT_TOKENS, deps.now);
    // count_tokens bodies carry no max_tokens; everything else is validated as for /v1/messages.
    const raw = request.body;
    const body = validateAnthropicRequest(typeof raw === "object" && raw !== null && !Array.isArray(raw) ? { max_tokens: 1, ...raw } : raw);
    const requirements = withExactCount({ ...anthropicRequirements(body), maxOutputTokens: 0 }, () => anthropicPromptText(body), deps.tokens);
    const result = await deps.gateway.countTokens({
      requirements,
      stream: false,
      operation: "count_tokens",
      // Anthropic backends count it themselves; for others the request is translated so a server tokenizer
      // (vLLM's /tokenize) can count the messages it would really see.
      exchangeFor: lazyExchanges("anthropic", () => createAnthropicCountTokensPassthrough(() => raw as Record<string, unknown>), toOpenAI(() => body, deps.now)),
      headers: forwardedHeaders(request),
      principal: request.principal,
      signal: ctx.cancel,
      trace: ctx.trace,
    });
    return sendResult(reply, result, ctx, deps.idleMs);
  });
}
