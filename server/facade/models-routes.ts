import type { FastifyInstance } from "fastify";
import type { GatewayService } from "../services/gateway/gateway-service.js";

/**
 * `GET /v1/models`: one entry per client-visible model, in the OpenAI list shape, which the OpenAI SDK's and the
 * Anthropic SDK's paginators both read.
 */
export function registerModelRoutes(app: FastifyInstance, deps: { gateway: GatewayService; startedAt: number }): void {
  const created = Math.floor(deps.startedAt / 1000);
  app.get("/v1/models", async () => ({
    object: "list",
    data: deps.gateway.models().map((model) => ({ id: model.id, object: "model", created, owned_by: model.ownedBy })),
  }));
}
