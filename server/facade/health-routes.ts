import type { FastifyInstance } from "fastify";
import type { RouteServiceImpl } from "../services/route/route-service.js";

/** What the health routes read. */
export interface HealthRoutesDeps {
  /** Every backend's runtime state (the same view GetBackendStatus serves). */
  route: Pick<RouteServiceImpl, "status">;
  /** True once shutdown has begun: the gateway finishes running requests but should receive no new ones. */
  draining: () => boolean;
}

/**
 * Registers the two unauthenticated probes orchestrators use (names and states only; no URLs or keys):
 *
 * - `GET /healthz`, liveness: always 200 while the process serves, with each backend's state and the result of its
 *   last active health check. A dead upstream must not get the gateway restarted.
 * - `GET /readyz`, readiness: 200 `{"status":"ready","available":N}` while at least one backend may be selected
 *   and the gateway is not draining; otherwise 503, so a load balancer sends traffic to another replica.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthRoutesDeps): void {
  app.get("/healthz", async () => ({
    status: "ok",
    backends: deps.route.status().map((b) => ({
      name: b.backend.name,
      provider: b.backend.provider,
      state: b.state,
      ...(b.availableAt === undefined ? {} : { available_at: new Date(b.availableAt).toISOString() }),
      health: b.health,
    })),
  }));

  app.get("/readyz", async (_request, reply) => {
    const available = deps.route.status().filter((b) => b.state === "available").length;
    const draining = deps.draining();
    if (available > 0 && !draining) return { status: "ready", available };
    return reply.code(503).send({ status: "not_ready", available, reason: draining ? "draining" : "no_backend_available" });
  });
}
