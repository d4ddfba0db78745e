import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ApiKeySchema,
  AuditEventSchema,
  UsageRowSchema,
  UserSchema,
  type ApiKey,
  type AuditEvent,
  type UsageRow,
  type User,
} from "../../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import type { UsageSummary } from "../../store/repos/usage-repo.js";
import type { ApiKeyRow } from "../../store/tables/api-key-table.js";
import type { AuditEventRow } from "../../store/tables/audit-event-table.js";
import type { UserRole, UserRow } from "../../store/tables/user-table.js";

// Rows become protos here and only here. Each mapping names the fields it copies, so a column added to a table
// (a hash, a secret) never reaches a response by accident.

const ROLE_TO_PROTO: Readonly<Record<UserRole, Role>> = {
  user: Role.USER,
  admin: Role.ADMIN,
  super_admin: Role.SUPER_ADMIN,
};

/** The proto role of a stored role. */
export function roleToProto(role: UserRole): Role {
  return ROLE_TO_PROTO[role];
}

/** The stored role of a proto role; undefined for ROLE_UNSPECIFIED and unknown values. */
export function roleFromProto(role: Role): UserRole | undefined {
  switch (role) {
    case Role.USER:
      return "user";
    case Role.ADMIN:
      return "admin";
    case Role.SUPER_ADMIN:
      return "super_admin";
    default:
      return undefined;
  }
}

/** A user as the API shows it: no password hash, no token version. */
export function userToProto(row: UserRow): User {
  return create(UserSchema, {
    id: row.id,
    username: row.username,
    email: row.email,
    role: roleToProto(row.role),
    disabled: row.disabled !== 0,
    createTime: timestampFromMs(row.created_at),
    updateTime: timestampFromMs(row.updated_at),
  });
}

/** A key as the API shows it: prefix and last four only, never the hash. */
export function apiKeyToProto(row: ApiKeyRow): ApiKey {
  return create(ApiKeySchema, {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    prefix: row.prefix,
    lastFour: row.last_four,
    allowedModels: row.allowed_models,
    requestsPerMinute: row.requests_per_minute,
    tokensPerMinute: BigInt(row.tokens_per_minute),
    tokensPerDay: BigInt(row.tokens_per_day),
    expireTime: row.expires_at === null ? undefined : timestampFromMs(row.expires_at),
    revokeTime: row.revoked_at === null ? undefined : timestampFromMs(row.revoked_at),
    createTime: timestampFromMs(row.created_at),
    lastUseTime: row.last_used_at === null ? undefined : timestampFromMs(row.last_used_at),
  });
}

/** An audit event as the API shows it. */
export function auditEventToProto(row: AuditEventRow): AuditEvent {
  return create(AuditEventSchema, {
    id: row.id,
    time: timestampFromMs(row.at),
    actor: row.actor,
    action: row.action,
    target: row.target,
    allowed: row.allowed !== 0,
    detail: row.detail,
  });
}

/** One usage group; a group without a value (no backend, no key) has the empty key. */
export function usageToProto(summary: UsageSummary): UsageRow {
  return create(UsageRowSchema, {
    key: summary.key ?? "",
    requests: BigInt(summary.requests),
    inputTokens: BigInt(summary.inputTokens),
    outputTokens: BigInt(summary.outputTokens),
    errors: BigInt(summary.errors),
    estimated: BigInt(summary.estimated),
    truncated: BigInt(summary.truncated),
  });
}
