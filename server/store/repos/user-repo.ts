import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import type { NewUserRow, UserRole, UserRow } from "../tables/user-table.js";

// Every function takes `db` or a transaction (a Transaction is a Kysely), so a change and its audit row can be
// written together.

/** Inserts a user. The unique index on `username` refuses a duplicate (the caller checks first for a clean error). */
export async function insertUser(db: Kysely<Database>, row: NewUserRow): Promise<void> {
  await db.insertInto("user").values(row).execute();
}

/** The user with this id, or undefined. */
export async function findUserById(db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("user").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The user with this (lowercase) username, or undefined. */
export async function findUserByUsername(db: Kysely<Database>, username: string): Promise<UserRow | undefined> {
  return db.selectFrom("user").selectAll().where("username", "=", username).executeTakeFirst();
}

/**
 * Up to `limit` users ordered by username, starting strictly after `after` (keyset paging: stable while users are
 * added or removed, and no OFFSET scan). Usernames are lowercase ASCII, so byte order is the same on both dialects.
 */
export async function listUsers(db: Kysely<Database>, query: { after?: string; limit: number }): Promise<UserRow[]> {
  let select = db.selectFrom("user").selectAll();
  if (query.after !== undefined) select = select.where("username", ">", query.after);
  return select.orderBy("username").limit(query.limit).execute();
}

/** What {@link updateUser} may change. */
export interface UserChange {
  role?: UserRole;
  disabled?: 0 | 1;
  password_hash?: string;
  email?: string;
  /** Increment `token_version` in the same statement, revoking every JWT issued so far. */
  bumpTokenVersion?: boolean;
}

/**
 * Applies a change and stamps `updated_at`; returns the updated user, or undefined when there is none with this
 * id. The version bump is an increment in SQL, so two concurrent changes can never both keep an old token valid.
 */
export async function updateUser(db: Kysely<Database>, id: string, change: UserChange, at: number): Promise<UserRow | undefined> {
  const { bumpTokenVersion, ...columns } = change;
  const result = await db
    .updateTable("user")
    .set((eb) => ({
      ...columns,
      updated_at: at,
      ...(bumpTokenVersion ? { token_version: eb("token_version", "+", 1) } : {}),
    }))
    .where("id", "=", id)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return undefined;
  return findUserById(db, id);
}

/** Deletes a user (delete their API keys first: the foreign key refuses orphans). True when a row went. */
export async function deleteUser(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("user").where("id", "=", id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** How many enabled super admins exist: the last one may not be demoted, disabled or deleted. */
export async function countEnabledSuperAdmins(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("user")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("role", "=", "super_admin")
    .where("disabled", "=", 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
