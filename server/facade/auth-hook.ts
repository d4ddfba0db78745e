import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
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
 * Lets an authenticated request on to its body, unless the body is compressed: llmux inflates nothing (a few kB of
 * gzip can inflate past any limit), and its JSON parser would only call the compressed bytes invalid JSON. Refused
 * here, before a byte of the body is read.
 */
function admitBody(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const encoding = request.headers["content-encoding"];
  if (encoding === undefined || encoding.trim().toLowerCase() === "identity") return done();
  sendError(request, reply, llmuxError(Reason.UNSUPPORTED_MEDIA_TYPE, "compressed request bodies are not supported; send identity-encoded JSON"));
}

/**
 * An onRequest hook (it runs before the body is read, so unauthenticated clients cannot make the gateway parse
 * anything) that accepts `Authorization: Bearer` or `x-api-key` on every endpoint it guards: a client token from
 * the configuration, an API key, or a user's JWT. On an open gateway (no client token configured) a request
 * without a credential passes; a credential that is presented must still be valid. An authenticated request with a
 * `content-encoding` other than `identity` gets 415 before its body is read.
 */
export function createAuthHook(authenticator: Authenticator, open: boolean) {
  const settle = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, secret: string | undefined, principal: Principal | undefined) => {
    if (principal) {
      request.principal = principal;
      admitBody(request, reply, done);
      return;
    }
    const message = secret === undefined
      ? "missing API key: send 'Authorization: Bearer <token>' or 'x-api-key: <token>'"
      : "invalid API key";
    sendError(request, reply, llmuxError(Reason.UNAUTHENTICATED, message));
  };
  // A callback hook: most credentials are answered synchronously (client tokens, recently seen API keys), and an
  // async hook would cost a promise and a turn per request for nothing.
  return function authHook(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const secret = presentedCredential(request.headers);
    if (secret === undefined && open) return admitBody(request, reply, done);
    const principal = secret === undefined ? undefined : authenticator.authenticate(secret);
    if (principal instanceof Promise) {
      principal.then(
        (resolved) => settle(request, reply, done, secret, resolved),
        (err: unknown) => sendError(request, reply, err),
      );
    } else settle(request, reply, done, secret, principal);
  };
}
