import type { FastifyReply, FastifyRequest } from "fastify";
import { presentedCredential } from "../auth/client-tokens.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import type { Authenticator, Principal } from "../services/admin/authenticator.js";
import { sendError } from "./error-reply.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request; set by the auth hook. */
    principal: Principal | undefined;
  }
}

/**
 * An onRequest hook (it runs before the body is read, so unauthenticated clients cannot make the gateway parse
 * anything) that accepts `Authorization: Bearer` or `x-api-key` on every endpoint it guards: a client token from
 * the configuration, an API key, or a user's JWT. On an open gateway (no client token configured) a request
 * without a credential passes; a credential that is presented must still be valid.
 */
export function createAuthHook(authenticator: Authenticator, open: boolean) {
  return async function authHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const secret = presentedCredential(request.headers);
    if (secret === undefined && open) return;
    const principal = secret === undefined ? undefined : await authenticator.authenticate(secret);
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
