import { createContextKey, type ContextValues } from "@connectrpc/connect";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import type { Principal } from "./admin/authenticator.js";

/**
 * The authenticated caller of an RPC, set by the access interceptor before the handler runs (undefined for
 * PUBLIC methods). The HTTP wrappers set it the same way when they call a handler directly.
 */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "llmux principal" });

/**
 * The client's network address, for login throttling. Set by whoever mounts the services (Fastify's
 * `request.ip` through the Connect plugin's `contextValues` option); empty when unknown.
 */
export const clientAddressKey = createContextKey<string>("", { description: "llmux client address" });

/**
 * The caller of a handler that requires authentication. Throws UNAUTHENTICATED when there is none, so a handler
 * mounted without the access interceptor by mistake refuses every call instead of running anonymously.
 */
export function requirePrincipal(values: ContextValues): Principal {
  const principal = values.get(principalKey);
  if (principal === undefined) throw llmuxError(Reason.UNAUTHENTICATED, "missing credentials: send 'Authorization: Bearer <token>'");
  return principal;
}
