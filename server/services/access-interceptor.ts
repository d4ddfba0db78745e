import { getOption, type DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { Access, access } from "../../gen/llmux/type/v1/options_pb.js";
import { presentedCredential } from "../auth/client-tokens.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { insertAuditEvent } from "../store/repos/audit-repo.js";
import type { Queryable } from "../store/tables/database.js";
import type { UserRole } from "../store/tables/user-table.js";
import { actorOf, type Authenticator, type Principal } from "./admin/authenticator.js";
import { principalKey } from "./call-context.js";

/** Rank of each role; a role satisfies every access level up to its rank. */
const ROLE_RANK: Readonly<Record<UserRole, number>> = { user: 1, admin: 2, super_admin: 3 };

/** The rank an access level requires (PUBLIC and UNSPECIFIED are handled before ranks matter). */
const ACCESS_RANK: Readonly<Record<Access, number>> = {
  [Access.UNSPECIFIED]: Number.POSITIVE_INFINITY,
  [Access.PUBLIC]: 0,
  [Access.USER]: 1,
  [Access.ADMIN]: 2,
  [Access.SUPER_ADMIN]: 3,
};

/** True when `role` is at least `required` (roles are ordered: super_admin ⊇ admin ⊇ user). */
export function roleAtLeast(role: UserRole, required: UserRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[required];
}

/** The access rule an RPC declares with the `llmux.type.v1.access` option; UNSPECIFIED when it declares none. */
export function accessOf(method: DescMethod): Access {
  return getOption(method, access);
}

/** The audit action of an RPC, e.g. `llmux.admin.v1.AdminService/CreateApiKey`. */
export function actionOf(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** Dependencies of the access checks. */
export interface AccessDeps {
  authenticator: Authenticator;
  /** Where denials are audited. */
  db: Queryable;
  now: () => number;
}

/**
 * Checks an already-authenticated caller against the access `method` declares, throwing the error the caller
 * gets: UNSPECIFIED is refused to everyone (an RPC that forgot its rule is closed, not open); PUBLIC needs
 * nothing; every other level needs a principal (UNAUTHENTICATED otherwise) whose role reaches the level
 * (PERMISSION_DENIED otherwise, with an audit event). The HTTP wrappers call this with the facade's principal.
 */
export async function checkAccess(deps: Pick<AccessDeps, "db" | "now">, method: DescMethod, principal: Principal | undefined): Promise<void> {
  const rule = accessOf(method);
  if (rule === Access.PUBLIC) return;
  if (rule === Access.UNSPECIFIED) {
    throw llmuxError(Reason.PERMISSION_DENIED, `${actionOf(method)} declares no access rule and is refused`);
  }
  if (principal === undefined) throw llmuxError(Reason.UNAUTHENTICATED, "missing credentials: send 'Authorization: Bearer <token>'");
  if (ROLE_RANK[principal.role] < ACCESS_RANK[rule]) {
    await insertAuditEvent(deps.db, {
      at: deps.now(),
      actor: actorOf(principal),
      action: actionOf(method),
      target: "",
      allowed: 0,
      detail: `role ${principal.role} lacks ${Access[rule]}`,
    });
    throw llmuxError(Reason.PERMISSION_DENIED, `${method.name} needs the ${Access[rule].toLowerCase()} role`);
  }
}

/**
 * Authenticates the presented credential (when the method needs one) and runs {@link checkAccess}. Returns the
 * principal, or undefined for PUBLIC methods (whose credentials, if any, are ignored).
 *
 * @param secret the presented credential, or undefined when none was sent
 */
export async function authorize(deps: AccessDeps, method: DescMethod, secret: string | undefined): Promise<Principal | undefined> {
  const rule = accessOf(method);
  if (rule === Access.PUBLIC || rule === Access.UNSPECIFIED || secret === undefined) {
    await checkAccess(deps, method, undefined);
    return undefined;
  }
  const principal = await deps.authenticator.authenticate(secret);
  if (!principal) throw llmuxError(Reason.UNAUTHENTICATED, "invalid or expired credentials");
  await checkAccess(deps, method, principal);
  return principal;
}

/**
 * The one interceptor that enforces every RPC's declared access, for every service (Admin, Discovery, Route):
 * it runs before any handler, and puts the principal in the call's context values ({@link principalKey}).
 */
export function createAccessInterceptor(deps: AccessDeps): Interceptor {
  return (next) => async (req) => {
    const secret = presentedCredential({
      authorization: req.header.get("authorization") ?? undefined,
      "x-api-key": req.header.get("x-api-key") ?? undefined,
    });
    const principal = await authorize(deps, req.method, secret);
    if (principal) req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
