import type { FastifyInstance, FastifyRequest } from "fastify";
import { randomId } from "../lib/ids.js";
import type { ChatCall, GatewayService } from "../services/gateway/gateway-service.js";
import { createOpenAIPassthrough } from "../translate/exchange/openai-to-openai.js";
import { createOpenAIToAnthropic } from "../translate/exchange/openai-to-anthropic.js";
import { lazyExchanges } from "../translate/exchange/exchange.js";
import { openaiPromptText, openaiRequirements } from "../translate/openai/requirements.js";
import type { TokenCounter } from "../lib/token-counter.js";
import { withExactCount } from "./prompt-tokens.js";
import { validateOpenAIRequest } from "../translate/openai/validate.js";
import { beginLlmRequest, type LlmRoute, type RequestContext } from "./request-tracker.js";
import { takeRequestSource } from "./request-source.js";
import { sendResult } from "./stream-reply.js";

export interface FacadeDeps {
  gateway: GatewayService;
  now: () => number;
  tokens: TokenCounter;
  /** How long a streaming client may take nothing before it is disconnected (`idle_timeout`, see sendResult). */
  idleMs: number;
}

const OPENAI_CHAT: LlmRoute = { dialect: "openai", operation: "chat" };

/**
 * The gateway call of an OpenAI chat request. A function of its own so that the parsed body lives in its frame and
 * the closures reach only its source, which the dispatcher parks while the request waits for its upstream.
 */
function chatCall(request: FastifyRequest, ctx: RequestContext, deps: FacadeDeps): ChatCall {
  const source = takeRequestSource(request, validateOpenAIRequest);
  const body = source.get();
  ctx.stream = body.stream === true;
  return {
    requirements: withExactCount(openaiRequirements(body), () => openaiPromptText(source.get()), deps.tokens),
    stream: ctx.stream,
    operation: "chat",
    exchangeFor: lazyExchanges(
      "openai",
      () => createOpenAIPassthrough(source.get),
      () => createOpenAIToAnthropic(source.get, { id: randomId("chatcmpl-"), created: Math.floor(deps.now() / 1000) }),
    ),
    parkRequest: source.park,
    headers: {},
    principal: request.principal,
    signal: ctx.cancel,
    trace: ctx.trace,
  };
}

/** `POST /v1/chat/completions`: OpenAI Chat Completions, streaming and not, to any backend. */
export function registerOpenAIRoutes(app: FastifyInstance, deps: FacadeDeps): void {
  app.post("/v1/chat/completions", { config: { llm: OPENAI_CHAT } }, async (request, reply) => {
    const ctx = beginLlmRequest(request, reply, OPENAI_CHAT, deps.now);
    const result = await deps.gateway.chat(chatCall(request, ctx, deps));
    return sendResult(reply, result, ctx, deps.idleMs);
  });
}
