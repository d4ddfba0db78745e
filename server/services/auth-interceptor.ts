import type { Interceptor } from "@connectrpc/connect";
import { presentedCredential, type ClientTokenAuth } from "../auth/client-tokens.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";

/**
 * Authenticates every Connect, gRPC and gRPC-Web call with the same client tokens as the HTTP facade, so an
 * unauthenticated call fails with the protocol's own `unauthenticated` error (code and message intact) before
 * any handler runs.
 */
export function createAuthInterceptor(auth: ClientTokenAuth): Interceptor {
  return (next) => async (req) => {
    if (!auth.open) {
      const headers: Record<string, string | undefined> = {
        authorization: req.header.get("authorization") ?? undefined,
        "x-api-key": req.header.get("x-api-key") ?? undefined,
      };
      const secret = presentedCredential(headers);
      if (secret === undefined) throw llmuxError(Reason.UNAUTHENTICATED, "missing credentials: send 'Authorization: Bearer <token>'");
      if (!auth.authenticate(secret)) throw llmuxError(Reason.UNAUTHENTICATED, "invalid credentials");
    }
    return next(req);
  };
}
