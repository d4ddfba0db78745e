import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";

/** The throttle key of a login: who was tried, from where. */
export interface LoginKey {
  username: string;
  address: string;
}

/**
 * Records a login attempt at `at` under `id`. Login records the attempt before checking the password and counts
 * afterwards, so concurrent guesses all see each other and no burst gets more than the allowed number of tries.
 */
export async function recordLoginAttempt(db: Kysely<Database>, id: string, key: LoginKey, at: number): Promise<void> {
  await db.insertInto("login_attempt").values({ id, ...key, at }).execute();
}

/** Withdraws one attempt (a refused attempt does not extend the lock-out). */
export async function deleteLoginAttempt(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom("login_attempt").where("id", "=", id).execute();
}

/** The times (ascending, epoch ms) of this key's recorded attempts at or after `since`. */
export async function recentLoginAttempts(db: Kysely<Database>, key: LoginKey, since: number): Promise<number[]> {
  const rows = await db
    .selectFrom("login_attempt")
    .select("at")
    .where("username", "=", key.username)
    .where("address", "=", key.address)
    .where("at", ">=", since)
    .orderBy("at")
    .execute();
  return rows.map((row) => row.at);
}

/** Forgets this key's attempts (after a successful login). */
export async function clearLoginAttempts(db: Kysely<Database>, key: LoginKey): Promise<void> {
  await db.deleteFrom("login_attempt").where("username", "=", key.username).where("address", "=", key.address).execute();
}

/** Deletes attempts strictly before `before` (they no longer count); returns how many went. */
export async function pruneLoginAttempts(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom("login_attempt").where("at", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
