import type { FastifyReply, FastifyRequest } from "fastify";
import { presentedCredential, type ClientTokenAuth, type Principal } from "../auth/client-tokens.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { sendError } from "./error-reply.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request; set by the auth hook. */
    principal: Principal | undefined;
  }
}

/**
 * An onRequest hook (it runs before the body is read, so unauthenticated clients cannot make the gateway parse
 * anything) that accepts `Authorization: Bearer` or `x-api-key` on every endpoint it guards.
 */
export function createAuthHook(auth: ClientTokenAuth) {
  return async function authHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (auth.open) return;
    const secret = presentedCredential(request.headers);
    const principal = secret === undefined ? undefined : auth.authenticate(secret);
    if (!principal) {
      const message = secret === undefined
        ? "missing API key: send 'Authorization: Bearer <token>' or 'x-api-key: <token>'"
        : "invalid API key";
      await sendError(request, reply, llmuxError(Reason.UNAUTHENTICATED, message));
      return reply;
    }
    request.principal = principal;
  };
}
