import type { Kysely, Selectable } from "kysely";
import type { ApiKeyRow, ApiKeyTable, NewApiKeyRow } from "../tables/api-key-table.js";
import type { Database } from "../tables/database.js";
import type { UserRow } from "../tables/user-table.js";

/** Parses the JSON column; a value that is not an array of strings is a corrupt row, read as "no models". */
function parseModels(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((item) => typeof item === "string") ? value : [];
  } catch {
    return [];
  }
}

function toRow(row: Selectable<ApiKeyTable>): ApiKeyRow {
  return { ...row, allowed_models: parseModels(row.allowed_models) };
}

/** Inserts a key. A duplicate `key_hash` (never expected with 256 random bits) is refused by the unique index. */
export async function insertApiKey(db: Kysely<Database>, row: NewApiKeyRow): Promise<void> {
  await db
    .insertInto("api_key")
    .values({ ...row, allowed_models: JSON.stringify(row.allowed_models) })
    .execute();
}

/** The key with this id, or undefined. */
export async function findApiKeyById(db: Kysely<Database>, id: string): Promise<ApiKeyRow | undefined> {
  const row = await db.selectFrom("api_key").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toRow(row);
}

/** What a key lookup needs to know about the key's owner (no password hash travels with it). */
export type ApiKeyOwner = Pick<UserRow, "id" | "username" | "role" | "disabled">;

/**
 * The key whose secret hashes to `keyHash`, with its owner, in one query through the unique index: the database
 * compares hashes, never secrets, so the lookup reveals nothing through timing. Undefined when no key matches.
 * Revocation, expiry and the owner's state are for the caller to judge (they change with time).
 */
export async function findApiKeyByHash(db: Kysely<Database>, keyHash: string): Promise<{ key: ApiKeyRow; owner: ApiKeyOwner } | undefined> {
  const row = await db
    .selectFrom("api_key")
    .innerJoin("user", "user.id", "api_key.owner_id")
    .selectAll("api_key")
    .select(["user.username as owner_username", "user.role as owner_role", "user.disabled as owner_disabled"])
    .where("api_key.key_hash", "=", keyHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { owner_username, owner_role, owner_disabled, ...key } = row;
  return { key: toRow(key), owner: { id: key.owner_id, username: owner_username, role: owner_role, disabled: owner_disabled } };
}

/** Which keys {@link listApiKeys} returns. */
export interface ApiKeyQuery {
  /** Only this owner's keys; all owners when absent. */
  ownerId?: string;
  /** Only keys active at this time (not revoked, not expired); every key when absent. */
  activeAt?: number;
}

/** Keys, newest first (ties by id, so the order is stable). */
export async function listApiKeys(db: Kysely<Database>, query: ApiKeyQuery): Promise<ApiKeyRow[]> {
  let select = db.selectFrom("api_key").selectAll();
  if (query.ownerId !== undefined) select = select.where("owner_id", "=", query.ownerId);
  if (query.activeAt !== undefined) {
    const at = query.activeAt;
    select = select
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", at)]));
  }
  const rows = await select.orderBy("created_at", "desc").orderBy("id", "desc").execute();
  return rows.map(toRow);
}

/**
 * Revokes a key at `at` unless it is already revoked (the first revocation time is kept). Returns the key as it
 * now is, or undefined when there is no key with this id.
 */
export async function revokeApiKey(db: Kysely<Database>, id: string, at: number): Promise<ApiKeyRow | undefined> {
  await db.updateTable("api_key").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
  return findApiKeyById(db, id);
}

/** Deletes every key of an owner (before the owner is deleted); returns how many went. */
export async function deleteApiKeysOfOwner(db: Kysely<Database>, ownerId: string): Promise<number> {
  const result = await db.deleteFrom("api_key").where("owner_id", "=", ownerId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Records that a key was used at `at` (the caller throttles how often). */
export async function touchApiKey(db: Kysely<Database>, id: string, at: number): Promise<void> {
  await db.updateTable("api_key").set({ last_used_at: at }).where("id", "=", id).execute();
}
