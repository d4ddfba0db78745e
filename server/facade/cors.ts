import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * CORS for browser clients (`enable_cors` / `ENABLE_CORS`). `origin` is "*" or a comma-separated list of allowed
 * origins. Credentials are never allowed: clients authenticate with a header, so a page cannot borrow a cookie.
 * Preflight requests are answered here, before authentication (browsers send them without credentials).
 */
export function createCorsHook(origin: string) {
  const any = origin.trim() === "*";
  const allowed = new Set(origin.split(",").map((o) => o.trim()).filter(Boolean));
  return async function corsHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const requestOrigin = request.headers.origin;
    if (requestOrigin === undefined) return;
    if (any) reply.header("access-control-allow-origin", "*");
    else if (allowed.has(requestOrigin)) reply.header("access-control-allow-origin", requestOrigin).header("vary", "Origin");
    else return;
    reply.header("access-control-expose-headers", "x-request-id, retry-after");
    if (request.method === "OPTIONS") {
      const headers = request.headers["access-control-request-headers"];
      await reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST, OPTIONS")
        .header("access-control-allow-headers", typeof headers === "string" ? headers : "authorization, content-type, x-api-key")
        .header("access-control-max-age", "600")
        .send();
      return reply;
    }
  };
}
