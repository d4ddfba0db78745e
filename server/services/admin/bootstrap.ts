import { randomBytes } from "node:crypto";
import { createPasswordHasher, type PasswordHasher } from "../../auth/passwords.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { randomId } from "../../lib/ids.js";
import { insertAuditEvent } from "../../store/repos/audit-repo.js";
import { countEnabledSuperAdmins, findUserByUsername, insertUser } from "../../store/repos/user-repo.js";
import type { Queryable } from "../../store/tables/database.js";
import { normalizeUsername } from "./admin-input.js";

/** Options of {@link bootstrapSuperAdmin} and {@link createSuperAdmin}. */
export interface SuperAdminOptions {
  /** Login name; default `admin`. */
  username?: string;
  email?: string;
  now?: () => number;
  passwords?: PasswordHasher;
  /** Recorded as the audit actor, e.g. `system:first-start` or `system:cli`. */
  actor?: string;
}

/** A created super admin. `password` exists nowhere else: show it once and drop it. */
export interface CreatedSuperAdmin {
  userId: string;
  username: string;
  password: string;
}

/** A generated password: 24 random bytes, base64url (32 characters). */
function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Creates a super admin with a generated password, whatever users exist (`llmux admin create`, also the way back
 * in when every super admin has been locked out). Refuses a username that is taken.
 */
export async function createSuperAdmin(db: Queryable, options: SuperAdminOptions = {}): Promise<CreatedSuperAdmin> {
  const now = options.now ?? Date.now;
  const passwords = options.passwords ?? createPasswordHasher();
  const username = normalizeUsername(options.username ?? "admin");
  const password = generatePassword();
  const passwordHash = await passwords.hash(password);
  const t = now();
  const id = randomId("usr_");
  await db.transaction().execute(async (trx) => {
    if (await findUserByUsername(trx, username)) {
      throw llmuxError(Reason.INVALID_REQUEST, `username ${username} is taken; choose another`, { param: "username" });
    }
    await insertUser(trx, {
      id,
      username,
      email: options.email ?? "",
      role: "super_admin",
      password_hash: passwordHash,
      disabled: 0,
      token_version: 0,
      created_at: t,
      updated_at: t,
    });
    await insertAuditEvent(trx, {
      at: t,
      actor: options.actor ?? "system",
      action: "llmux.admin.v1.AdminService/CreateUser",
      target: id,
      allowed: 1,
      detail: `created super admin ${username} with a generated password`,
    });
  });
  return { userId: id, username, password };
}

/**
 * Creates the first super admin when no enabled super admin exists, and returns it with its generated password
 * (printed once at first start; there is no default password). Returns undefined when one exists, including when
 * another replica starting at the same moment created it first.
 */
export async function bootstrapSuperAdmin(db: Queryable, options: SuperAdminOptions = {}): Promise<CreatedSuperAdmin | undefined> {
  if ((await countEnabledSuperAdmins(db)) > 0) return undefined;
  try {
    return await createSuperAdmin(db, { actor: "system:first-start", ...options });
  } catch (err) {
    if ((await countEnabledSuperAdmins(db)) > 0) return undefined;
    throw err;
  }
}
