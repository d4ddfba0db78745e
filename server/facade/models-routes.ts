import type { FastifyInstance } from "fastify";
import type { GatewayService } from "../services/gateway/gateway-service.js";

/**
 * `GET /v1/models`: one entry per client-visible model. OpenAI list shape by default; the Anthropic shape
 * (`type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`) when the client sends
 * `anthropic-version`, as the Anthropic SDK always does. Both SDKs' paginators read either.
 */
export function registerModelRoutes(app: FastifyInstance, deps: { gateway: GatewayService; startedAt: number }): void {
  const created = Math.floor(deps.startedAt / 1000);
  const createdAt = new Date(deps.startedAt).toISOString();
  app.get("/v1/models", async (request) => {
    const models = deps.gateway.models();
    if (request.headers["anthropic-version"] !== undefined) {
      return {
        data: models.map((model) => ({ type: "model", id: model.id, display_name: model.id, created_at: createdAt })),
        has_more: false,
        first_id: models[0]?.id ?? null,
        last_id: models.at(-1)?.id ?? null,
      };
    }
    return { object: "list", data: models.map((model) => ({ id: model.id, object: "model", created, owned_by: model.ownedBy })) };
  });
}
