import type { FastifyInstance } from "fastify";
import type { AuthHttpHandlers } from "../services/admin/http-wrappers.js";
import type { Authenticator } from "../services/admin/authenticator.js";
import { createAuthHook } from "./auth-hook.js";

/**
 * The `/auth/*` routes of the original LLMMux, as thin wrappers over the AdminService implementation:
 * `POST /auth/login` (public), `POST /auth/register` and `GET /auth/users` (admins; JWT or API key).
 */
export function registerAuthRoutes(app: FastifyInstance, deps: { authHttp: AuthHttpHandlers; authenticator: Authenticator }): void {
  app.post("/auth/login", async (request, reply) => {
    const result = await deps.authHttp.login(request.body, undefined, { address: request.ip });
    return reply.code(result.status).send(result.body);
  });
  void app.register(async (guarded) => {
    guarded.addHook("onRequest", createAuthHook(deps.authenticator, false));
    guarded.post("/auth/register", async (request, reply) => {
      const result = await deps.authHttp.register(request.body, request.principal, { address: request.ip });
      return reply.code(result.status).send(result.body);
    });
    guarded.get("/auth/users", async (request, reply) => {
      const result = await deps.authHttp.listUsers(request.query, request.principal, { address: request.ip });
      return reply.code(result.status).send(result.body);
    });
  });
}
