import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  AdminService,
  ChangePasswordResponseSchema,
  CreateApiKeyResponseSchema,
  CreateUserResponseSchema,
  DeleteUserResponseSchema,
  DisableUserResponseSchema,
  GetCurrentUserResponseSchema,
  GetUsageResponseSchema,
  GetUserResponseSchema,
  ListApiKeysResponseSchema,
  ListAuditEventsResponseSchema,
  ListUsersResponseSchema,
  LoginResponseSchema,
  RevokeApiKeyResponseSchema,
  UpdateUserRoleResponseSchema,
} from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import { UsageGroupBy } from "../../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import { generateApiKey } from "../../auth/api-keys.js";
import type { JwtCodec } from "../../auth/jwt.js";
import { createPasswordHasher, type PasswordHasher } from "../../auth/passwords.js";
import { LlmuxError, llmuxError, Reason } from "../../errors/llmux-error.js";
import { randomId } from "../../lib/ids.js";
import { deleteApiKeysOfOwner, findApiKeyById, insertApiKey, listApiKeys, revokeApiKey } from "../../store/repos/api-key-repo.js";
import { insertAuditEvent, listAuditEvents } from "../../store/repos/audit-repo.js";
import { clearLoginAttempts, deleteLoginAttempt, recentLoginAttempts, recordLoginAttempt } from "../../store/repos/login-attempt-repo.js";
import { summarizeUsage, type UsageFilter, type UsageGroupBy as StoreGroupBy } from "../../store/repos/usage-repo.js";
import { deleteUser, findUserById, findUserByUsername, insertUser, listUsers, updateUser } from "../../store/repos/user-repo.js";
import type { Queryable } from "../../store/tables/database.js";
import type { UserRow } from "../../store/tables/user-table.js";
import { actionOf, roleAtLeast } from "../access-interceptor.js";
import { clientAddressKey, requirePrincipal } from "../call-context.js";
import {
  checkEmail,
  checkKeyName,
  checkLimit,
  checkModelPatterns,
  checkNewPassword,
  checkPresentedPassword,
  decodePageToken,
  encodePageToken,
  normalizeUsername,
  optionalTime,
  pageSize,
} from "./admin-input.js";
import { apiKeyToProto, auditEventToProto, roleFromProto, roleToProto, usageToProto, userToProto } from "./admin-resources.js";
import { actorOf, type Authenticator, type KeyGrants, type Principal } from "./authenticator.js";
import { grantExcess } from "./key-grants.js";

/** Failed logins per username and address within {@link LOGIN_WINDOW_MS} before further attempts are refused. */
export const MAX_LOGIN_FAILURES = 5;
/** The window failed logins are counted in. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

/** The RPCs of AdminService this module implements; providers and backends are implemented elsewhere. */
export type IdentityMethods =
  | "login"
  | "getCurrentUser"
  | "createUser"
  | "listUsers"
  | "getUser"
  | "updateUserRole"
  | "disableUser"
  | "deleteUser"
  | "changePassword"
  | "createApiKey"
  | "listApiKeys"
  | "revokeApiKey"
  | "getUsage"
  | "listAuditEvents";

/** The users, keys, usage and audit half of AdminService, to be merged with the providers/backends half. */
export type AdminIdentityService = Pick<ServiceImpl<typeof AdminService>, IdentityMethods>;

/** Dependencies of {@link createAdminService}. */
export interface AdminServiceDeps {
  db: Queryable;
  jwt: JwtCodec;
  /** Told to drop cached key lookups after any change that can revoke a key. */
  authenticator: Authenticator;
  now: () => number;
  /** Defaults to scrypt at the default cost; tests inject a cheaper or observed one. */
  passwords?: PasswordHasher;
}

/** An audit event about to be written: the handler's context supplies time, actor and action. */
interface AuditNote {
  target: string;
  allowed: boolean;
  detail: string;
}

function notFound(what: string): never {
  throw llmuxError(Reason.NOT_FOUND, `${what} not found`);
}

const isString = (value: unknown): value is string => typeof value === "string";
const isAuditPosition = (value: unknown): value is [number, string] =>
  Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === "string";

const GROUP_BY: Readonly<Record<UsageGroupBy, StoreGroupBy>> = {
  [UsageGroupBy.UNSPECIFIED]: "backend",
  [UsageGroupBy.BACKEND]: "backend",
  [UsageGroupBy.MODEL]: "model",
  [UsageGroupBy.KEY]: "key_id",
  [UsageGroupBy.USER]: "user_id",
};

/**
 * Creates the identity half of AdminService: login, users, API keys, usage and the audit log. Handlers expect
 * the access interceptor (or the HTTP wrappers) to have authenticated the caller and checked the RPC's declared
 * role; the rules finer than a role live here:
 *
 * - only super admins create admins or touch admins' accounts; nobody disables, deletes or re-roles themselves;
 * - a user never sees or touches another user's keys or usage: asking answers NOT_FOUND, as for a missing id;
 * - a key's grants never exceed its creator's, and a key's owner never outranks its creator;
 * - no response carries a password hash, key hash or secret, except CreateApiKey's one-time `secret`;
 * - login is throttled per username and address, and takes as long for unknown users as for known ones;
 * - every change writes its audit event in the same transaction; refusals are audited too.
 */
export function createAdminService(deps: AdminServiceDeps): AdminIdentityService {
  const { db, now } = deps;
  const passwords = deps.passwords ?? createPasswordHasher();

  async function audit(target: Queryable, ctx: HandlerContext, principal: Principal | undefined, note: AuditNote): Promise<void> {
    await insertAuditEvent(target, {
      at: now(),
      actor: actorOf(principal),
      action: actionOf(ctx.method),
      target: note.target,
      allowed: note.allowed ? 1 : 0,
      detail: note.detail,
    });
  }

  /** Audits a refusal, then throws PERMISSION_DENIED. */
  async function deny(ctx: HandlerContext, principal: Principal, target: string, message: string): Promise<never> {
    await audit(db, ctx, principal, { target, allowed: false, detail: message });
    throw llmuxError(Reason.PERMISSION_DENIED, message);
  }

  /**
   * Refuses an action on another user's record exactly as if the record did not exist, so the caller learns
   * nothing about the id, and audits the attempt like any other refusal.
   */
  async function denyAsNotFound(ctx: HandlerContext, principal: Principal, target: string, what: string, detail: string): Promise<never> {
    await audit(db, ctx, principal, { target, allowed: false, detail });
    notFound(what);
  }

  const isAdmin = (principal: Principal) => roleAtLeast(principal.role, "admin");

  /** The user acting (JWT or API key); configuration tokens have none. */
  async function actingUser(principal: Principal): Promise<UserRow | undefined> {
    return principal.userId === undefined ? undefined : findUserById(db, principal.userId);
  }

  /**
   * May `principal` manage `target`'s account (disable it, set its password)? Super admins may manage anyone;
   * admins only plain users, so an admin can never take over an account that outranks or equals theirs.
   */
  const mayManage = (principal: Principal, target: UserRow) => principal.role === "super_admin" || (principal.role === "admin" && target.role === "user");

  function loginThrottled(attempts: number[], t: number): number | undefined {
    if (attempts.length <= MAX_LOGIN_FAILURES) return undefined;
    // Our own attempt is the newest; the lock lifts when the oldest of the last MAX_LOGIN_FAILURES others ages out.
    const others = attempts.slice(0, -1);
    return others[others.length - MAX_LOGIN_FAILURES]! + LOGIN_WINDOW_MS - t;
  }

  return {
    async login(req, ctx) {
      const username = normalizeUsername(req.username);
      checkPresentedPassword(req.password, "password");
      const key = { username, address: ctx.values.get(clientAddressKey) };
      const attemptId = randomId("att_");
      const t = now();
      // Record first, count second: concurrent guesses see each other, so a burst cannot exceed the limit.
      await recordLoginAttempt(db, attemptId, key, t);
      // An attempt exactly LOGIN_WINDOW_MS old no longer counts, matching the Retry-After computed below.
      const retryAfterMs = loginThrottled(await recentLoginAttempts(db, key, t - LOGIN_WINDOW_MS + 1), t);
      if (retryAfterMs !== undefined) {
        await db.transaction().execute(async (trx) => {
          await deleteLoginAttempt(trx, attemptId);
          await audit(trx, ctx, undefined, { target: username, allowed: false, detail: "login throttled after repeated failures" });
        });
        throw llmuxError(Reason.RATE_LIMITED, "too many failed logins; try again later", { retryAfterMs });
      }
      const user = await findUserByUsername(db, username);
      // Unknown users cost a full scrypt verification too, so timing does not reveal which usernames exist.
      const verified = user ? await passwords.verify(req.password, user.password_hash) : await passwords.dummyVerify(req.password);
      if (!user || !verified || user.disabled !== 0) {
        await audit(db, ctx, undefined, { target: username, allowed: false, detail: "invalid username or password" });
        throw llmuxError(Reason.UNAUTHENTICATED, "invalid username or password");
      }
      await db.transaction().execute(async (trx) => {
        await clearLoginAttempts(trx, key);
        await audit(trx, ctx, { kind: "user", id: user.id, name: user.username, role: user.role, userId: user.id }, {
          target: user.id,
          allowed: true,
          detail: "logged in",
        });
      });
      const issued = await deps.jwt.issue(user.id, user.token_version);
      return create(LoginResponseSchema, { token: issued.token, expireTime: timestampFromMs(issued.expiresAt), user: userToProto(user) });
    },

    async getCurrentUser(_req, ctx) {
      const principal = requirePrincipal(ctx.values);
      const user = await actingUser(principal);
      const credential = principal.kind === "user" ? "jwt" : principal.kind;
      return create(GetCurrentUserResponseSchema, { user: user && userToProto(user), credential });
    },

    async createUser(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      const username = normalizeUsername(req.username);
      const email = checkEmail(req.email);
      checkNewPassword(req.password, "password");
      const role = req.role === Role.UNSPECIFIED ? "user" : roleFromProto(req.role);
      if (role === undefined) throw llmuxError(Reason.INVALID_REQUEST, "role is not a known role", { param: "role" });
      if (role !== "user" && principal.role !== "super_admin") {
        return deny(ctx, principal, username, `only a super admin may create a user with role ${role}`);
      }
      const passwordHash = await passwords.hash(req.password);
      const t = now();
      const row: UserRow = {
        id: randomId("usr_"),
        username,
        email,
        role,
        password_hash: passwordHash,
        disabled: 0,
        token_version: 0,
        created_at: t,
        updated_at: t,
      };
      const taken = () => llmuxError(Reason.INVALID_REQUEST, `username ${username} is taken`, { param: "username" });
      try {
        await db.transaction().execute(async (trx) => {
          if (await findUserByUsername(trx, username)) throw taken();
          await insertUser(trx, row);
          await audit(trx, ctx, principal, { target: row.id, allowed: true, detail: `created user ${username} with role ${role}` });
        });
      } catch (err) {
        // A concurrent create of the same name loses on the unique index; it gets the same answer as above.
        if (!(err instanceof LlmuxError) && (await findUserByUsername(db, username))) throw taken();
        throw err;
      }
      return create(CreateUserResponseSchema, { user: userToProto(row) });
    },

    async listUsers(req, ctx) {
      requirePrincipal(ctx.values);
      const limit = pageSize(req.pageSize);
      const after = req.pageToken === "" ? undefined : decodePageToken(req.pageToken, isString);
      // One extra row says whether another page exists, without a count query.
      const rows = await listUsers(db, { after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const nextPageToken = rows.length > limit ? encodePageToken(page[page.length - 1]!.username) : "";
      return create(ListUsersResponseSchema, { users: page.map(userToProto), nextPageToken });
    },

    async getUser(req, ctx) {
      requirePrincipal(ctx.values);
      const user = await findUserById(db, req.id);
      if (!user) notFound("user");
      return create(GetUserResponseSchema, { user: userToProto(user) });
    },

    async updateUserRole(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      const role = roleFromProto(req.role);
      if (role === undefined) throw llmuxError(Reason.INVALID_REQUEST, "role must be USER, ADMIN or SUPER_ADMIN", { param: "role" });
      if (req.id === principal.userId) {
        return deny(ctx, principal, req.id, "you cannot change your own role; ask another super admin");
      }
      const updated = await db.transaction().execute(async (trx) => {
        const user = await findUserById(trx, req.id);
        if (!user) notFound("user");
        const changed = await updateUser(trx, user.id, { role, bumpTokenVersion: true }, now());
        await audit(trx, ctx, principal, { target: user.id, allowed: true, detail: `role ${user.role} -> ${role}` });
        return changed!;
      });
      deps.authenticator.forgetKeys();
      return create(UpdateUserRoleResponseSchema, { user: userToProto(updated) });
    },

    async disableUser(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      if (req.id === principal.userId) return deny(ctx, principal, req.id, "you cannot disable or enable yourself");
      const target = await findUserById(db, req.id);
      if (!target) notFound("user");
      if (!mayManage(principal, target)) return deny(ctx, principal, target.id, `only a super admin may disable or enable a user with role ${target.role}`);
      const updated = await db.transaction().execute(async (trx) => {
        // Disabling bumps the token version: tokens issued before stay dead even after the user is enabled again.
        const changed = await updateUser(trx, target.id, { disabled: req.disabled ? 1 : 0, bumpTokenVersion: req.disabled }, now());
        if (!changed) notFound("user");
        await audit(trx, ctx, principal, { target: target.id, allowed: true, detail: req.disabled ? "disabled" : "enabled" });
        return changed;
      });
      deps.authenticator.forgetKeys();
      return create(DisableUserResponseSchema, { user: userToProto(updated) });
    },

    async deleteUser(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      if (req.id === principal.userId) return deny(ctx, principal, req.id, "you cannot delete yourself; ask another super admin");
      await db.transaction().execute(async (trx) => {
        const user = await findUserById(trx, req.id);
        if (!user) notFound("user");
        const keys = await deleteApiKeysOfOwner(trx, user.id);
        await deleteUser(trx, user.id);
        await audit(trx, ctx, principal, { target: user.id, allowed: true, detail: `deleted user ${user.username} and ${keys} API key(s)` });
      });
      deps.authenticator.forgetKeys();
      return create(DeleteUserResponseSchema, {});
    },

    async changePassword(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      if (principal.userId === undefined) return deny(ctx, principal, "", "configuration tokens have no password");
      checkNewPassword(req.newPassword, "new_password");
      const own = req.id === "" || req.id === principal.userId;
      // Someone else's id: users get not_found without a lookup, so the answer says nothing about the id.
      if (!own && !isAdmin(principal)) return denyAsNotFound(ctx, principal, req.id, "user", "users may change only their own password");
      const target = await findUserById(db, own ? principal.userId : req.id);
      if (!target) notFound("user");
      if (own) {
        checkPresentedPassword(req.currentPassword, "current_password");
        if (!(await passwords.verify(req.currentPassword, target.password_hash))) {
          return deny(ctx, principal, target.id, "the current password is incorrect");
        }
      } else if (!mayManage(principal, target)) {
        return deny(ctx, principal, target.id, `only a super admin may set the password of a user with role ${target.role}`);
      }
      const passwordHash = await passwords.hash(req.newPassword);
      await db.transaction().execute(async (trx) => {
        // The version bump logs out every session of the user, the caller's included when it is their own.
        await updateUser(trx, target.id, { password_hash: passwordHash, bumpTokenVersion: true }, now());
        await audit(trx, ctx, principal, { target: target.id, allowed: true, detail: own ? "changed own password" : "set password" });
      });
      return create(ChangePasswordResponseSchema, {});
    },

    async createApiKey(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      if (principal.userId === undefined) return deny(ctx, principal, "", "configuration tokens cannot own API keys; log in as a user");
      const name = checkKeyName(req.name);
      const grants: KeyGrants = {
        allowedModels: checkModelPatterns(req.allowedModels),
        requestsPerMinute: req.requestsPerMinute,
        tokensPerMinute: checkLimit(req.tokensPerMinute, "tokens_per_minute"),
        tokensPerDay: checkLimit(req.tokensPerDay, "tokens_per_day"),
        expiresAt: optionalTime(req.expireTime, "expire_time"),
      };
      const t = now();
      if (grants.expiresAt !== undefined && grants.expiresAt <= t) {
        throw llmuxError(Reason.INVALID_REQUEST, "expire_time must be in the future", { param: "expire_time" });
      }
      const ownerId = req.ownerId === "" ? principal.userId : req.ownerId;
      if (ownerId !== principal.userId) {
        if (!isAdmin(principal)) return deny(ctx, principal, ownerId, "only admins may create keys for another user");
        const owner = await findUserById(db, ownerId);
        if (!owner) notFound("user");
        // A key acts with its owner's role: a key for another admin would let one admin act as another, so admins
        // create keys for plain users only, as they manage only them.
        if (!mayManage(principal, owner)) return deny(ctx, principal, ownerId, `only a super admin may create keys for a user with role ${owner.role}`);
      }
      if (principal.key) {
        const excess = grantExcess(principal.key, grants);
        if (excess !== undefined) return deny(ctx, principal, ownerId, `the new key would exceed the creating key: ${excess}`);
      }
      const generated = generateApiKey();
      const row = {
        id: randomId("key_"),
        owner_id: ownerId,
        name,
        key_hash: generated.hash,
        prefix: generated.prefix,
        last_four: generated.lastFour,
        allowed_models: grants.allowedModels.slice(),
        requests_per_minute: grants.requestsPerMinute,
        tokens_per_minute: grants.tokensPerMinute,
        tokens_per_day: grants.tokensPerDay,
        expires_at: grants.expiresAt ?? null,
        revoked_at: null,
        created_at: t,
        last_used_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await insertApiKey(trx, row);
        await audit(trx, ctx, principal, { target: row.id, allowed: true, detail: `created API key ${row.prefix}… for ${ownerId}` });
      });
      return create(CreateApiKeyResponseSchema, { key: apiKeyToProto(row), secret: generated.secret });
    },

    async listApiKeys(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      // Configuration tokens own no keys; users see only their own, whatever owner_id they send.
      if (principal.userId === undefined) return create(ListApiKeysResponseSchema, { keys: [] });
      const ownerId = isAdmin(principal) ? (req.ownerId === "" ? undefined : req.ownerId) : principal.userId;
      const rows = await listApiKeys(db, { ownerId, activeAt: req.includeInactive ? undefined : now() });
      return create(ListApiKeysResponseSchema, { keys: rows.map(apiKeyToProto) });
    },

    async revokeApiKey(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      const revoked = await db.transaction().execute(async (trx) => {
        const key = await findApiKeyById(trx, req.id);
        if (!key) notFound("API key");
        if (!isAdmin(principal) && key.owner_id !== principal.userId) return undefined;
        const updated = await revokeApiKey(trx, key.id, now());
        await audit(trx, ctx, principal, { target: key.id, allowed: true, detail: `revoked API key ${key.prefix}…` });
        return updated!;
      });
      // Another user's key answers exactly like a missing one.
      if (!revoked) return denyAsNotFound(ctx, principal, req.id, "API key", "users may revoke only their own API keys");
      deps.authenticator.forgetKeys();
      return create(RevokeApiKeyResponseSchema, { key: apiKeyToProto(revoked) });
    },

    async getUsage(req, ctx) {
      const principal = requirePrincipal(ctx.values);
      const from = optionalTime(req.startTime, "start_time") ?? 0;
      const to = optionalTime(req.endTime, "end_time") ?? now();
      if (to <= from) throw llmuxError(Reason.INVALID_REQUEST, "end_time must be after start_time", { param: "end_time" });
      const groupBy = GROUP_BY[req.groupBy];
      if (groupBy === undefined) throw llmuxError(Reason.INVALID_REQUEST, "group_by is not a known grouping", { param: "group_by" });
      const filter: UsageFilter = {};
      if (req.backend !== "") filter.backend = req.backend;
      if (isAdmin(principal)) {
        if (req.userId !== "") filter.userId = req.userId;
        if (req.keyId !== "") filter.keyId = req.keyId;
      } else if (principal.userId === undefined) {
        // A configuration token sees the requests it made itself, and nobody's keys or users.
        if (req.userId !== "") notFound("user");
        if (req.keyId !== "") notFound("API key");
        filter.userId = null;
        filter.principal = principal.name;
      } else {
        if (req.userId !== "" && req.userId !== principal.userId) notFound("user");
        if (req.keyId !== "") {
          const key = await findApiKeyById(db, req.keyId);
          if (!key || key.owner_id !== principal.userId) notFound("API key");
          filter.keyId = key.id;
        }
        filter.userId = principal.userId;
      }
      const rows = await summarizeUsage(db, { from, to, groupBy, filter });
      return create(GetUsageResponseSchema, { rows: rows.map(usageToProto) });
    },

    async listAuditEvents(req, ctx) {
      requirePrincipal(ctx.values);
      const limit = pageSize(req.pageSize);
      const position = req.pageToken === "" ? undefined : decodePageToken(req.pageToken, isAuditPosition);
      const rows = await listAuditEvents(db, {
        limit: limit + 1,
        before: position && { at: position[0], id: position[1] },
        actor: req.actor === "" ? undefined : req.actor,
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextPageToken = rows.length > limit && last ? encodePageToken([last.at, last.id]) : "";
      return create(ListAuditEventsResponseSchema, { events: page.map(auditEventToProto), nextPageToken });
    },
  };
}

