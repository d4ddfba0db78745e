import type { FastifyInstance } from "fastify";

/**
 * What `GET /metrics` needs: the exposition text and its content type. `Metrics` from `server/telemetry/metrics.ts`
 * satisfies it; the facade names only this shape so it does not depend on the telemetry layer.
 */
export interface MetricsExposition {
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * `GET /metrics`: the Prometheus text exposition. Unauthenticated like `/healthz` so Prometheus can scrape it; the
 * series carry only configured backend names, routes, statuses and outcomes (no secrets, tokens or prompt text).
 */
export function registerMetricsRoutes(app: FastifyInstance, deps: { metrics: MetricsExposition }): void {
  app.get("/metrics", async (_request, reply) => {
    const body = await deps.metrics.render();
    return reply.type(deps.metrics.contentType).send(body);
  });
}
