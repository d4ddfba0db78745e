import type { FastifyInstance } from "fastify";
import type { GatewayService } from "../services/gateway/gateway-service.js";

/**
 * `GET /healthz`: liveness plus each backend's state (names and states only; no URLs or keys), unauthenticated so
 * orchestrators can probe it.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: { gateway: GatewayService }): void {
  app.get("/healthz", async () => {
    const backends = deps.gateway.health();
    return {
      status: "ok",
      backends: backends.map((b) => ({
        name: b.name,
        provider: b.provider,
        state: b.state,
        ...(b.availableAt === undefined ? {} : { available_at: new Date(b.availableAt).toISOString() }),
      })),
    };
  });
}
