import type { FastifyInstance } from "fastify";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import type { GatewayService, RouteTrace } from "../services/gateway/gateway-service.js";
import { createOpenAIPassthrough } from "../translate/exchange/openai-to-openai.js";
import type { Dialect, Exchange } from "../translate/exchange/exchange.js";
import { openaiRequirements } from "../translate/openai/requirements.js";
import { validateOpenAIRequest } from "../translate/openai/validate.js";
import { clientGone, sendResult } from "./stream-reply.js";

declare module "fastify" {
  interface FastifyRequest {
    /** How the request was routed, for the completion log line. */
    routeTrace: RouteTrace | undefined;
  }
}

export interface OpenAIFacadeDeps {
  gateway: GatewayService;
}

/** `POST /v1/chat/completions`: OpenAI Chat Completions, streaming and not, routed through the gateway. */
export function registerOpenAIRoutes(app: FastifyInstance, deps: OpenAIFacadeDeps): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = validateOpenAIRequest(request.body);
    const trace: RouteTrace = { selection: undefined, attempts: [] };
    request.routeTrace = trace;
    const exchanges = new Map<Dialect, Exchange>();
    const result = await deps.gateway.chat({
      requirements: openaiRequirements(body),
      stream: body.stream === true,
      operation: "chat",
      exchangeFor(dialect) {
        let exchange = exchanges.get(dialect);
        if (!exchange) {
          if (dialect !== "openai") throw llmuxError(Reason.UPSTREAM_FAILED, "this backend needs protocol translation, which is not available yet");
          exchange = createOpenAIPassthrough(body);
          exchanges.set(dialect, exchange);
        }
        return exchange;
      },
      headers: {},
      signal: clientGone(reply),
      trace,
    });
    return sendResult(reply, result);
  });
}
