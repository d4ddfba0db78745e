import type { FastifyInstance } from "fastify";
import { randomId } from "../lib/ids.js";
import type { GatewayService } from "../services/gateway/gateway-service.js";
import { createOpenAIPassthrough } from "../translate/exchange/openai-to-openai.js";
import { createOpenAIToAnthropic } from "../translate/exchange/openai-to-anthropic.js";
import { lazyExchanges } from "../translate/exchange/exchange.js";
import { openaiPromptText, openaiRequirements } from "../translate/openai/requirements.js";
import type { TokenCounter } from "../lib/token-counter.js";
import { withExactCount } from "./prompt-tokens.js";
import { validateOpenAIRequest } from "../translate/openai/validate.js";
import { beginLlmRequest, type LlmRoute } from "./request-tracker.js";
import { sendResult } from "./stream-reply.js";

export interface FacadeDeps {
  gateway: GatewayService;
  now: () => number;
  tokens: TokenCounter;
  /** How long a streaming client may take nothing before it is disconnected (`idle_timeout`, see sendResult). */
  idleMs: number;
}

const OPENAI_CHAT: LlmRoute = { dialect: "openai", operation: "chat" };

/** `POST /v1/chat/completions`: OpenAI Chat Completions, streaming and not, to any backend. */
export function registerOpenAIRoutes(app: FastifyInstance, deps: FacadeDeps): void {
  app.post("/v1/chat/completions", { config: { llm: OPENAI_CHAT } }, async (request, reply) => {
    const ctx = beginLlmRequest(request, reply, OPENAI_CHAT, deps.now);
    const body = validateOpenAIRequest(request.body);
    ctx.stream = body.stream === true;
    const result = await deps.gateway.chat({
      requirements: withExactCount(openaiRequirements(body), () => openaiPromptText(body), deps.tokens),
      stream: body.stream === true,
      operation: "chat",
      exchangeFor: lazyExchanges(
        "openai",
        () => createOpenAIPassthrough(body),
        () => createOpenAIToAnthropic(body, { id: randomId("chatcmpl-"), created: Math.floor(deps.now() / 1000) }),
      ),
      headers: {},
      principal: request.principal,
      signal: ctx.cancel,
      trace: ctx.trace,
    });
    return sendResult(reply, result, ctx, deps.idleMs);
  });
}
