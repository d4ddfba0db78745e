import type { FastifyInstance } from "fastify";
import { randomId } from "../lib/ids.js";
import type { GatewayService } from "../services/gateway/gateway-service.js";
import { createOpenAIPassthrough } from "../translate/exchange/openai-to-openai.js";
import { createOpenAIToAnthropic } from "../translate/exchange/openai-to-anthropic.js";
import type { Dialect, Exchange } from "../translate/exchange/exchange.js";
import { openaiPromptText, openaiRequirements } from "../translate/openai/requirements.js";
import type { TokenCounter } from "../lib/token-counter.js";
import { withExactCount } from "./prompt-tokens.js";
import { validateOpenAIRequest, type OpenAIChatBody } from "../translate/openai/validate.js";
import { beginLlmRequest, type LlmRoute } from "./request-tracker.js";
import { sendResult } from "./stream-reply.js";

export interface FacadeDeps {
  gateway: GatewayService;
  now: () => number;
  tokens: TokenCounter;
}

const OPENAI_CHAT: LlmRoute = { dialect: "openai", operation: "chat" };

/** Exchanges of one OpenAI-dialect request, created on first use per backend dialect. */
function openaiExchanges(body: OpenAIChatBody, now: () => number): (dialect: Dialect) => Exchange {
  let passthrough: Exchange | undefined;
  let translated: Exchange | undefined;
  return (dialect) =>
    dialect === "openai"
      ? (passthrough ??= createOpenAIPassthrough(body))
      : (translated ??= createOpenAIToAnthropic(body, { id: randomId("chatcmpl-"), created: Math.floor(now() / 1000) }));
}

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
      exchangeFor: openaiExchanges(body, deps.now),
      headers: {},
      principal: request.principal,
      signal: ctx.cancel,
      trace: ctx.trace,
    });
    return sendResult(reply, result, ctx);
  });
}
