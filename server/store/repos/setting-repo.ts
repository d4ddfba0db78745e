import type { Kysely } from "kysely";
import { StoreError } from "../store-error.js";
import type { Database } from "../tables/database.js";

/** The value of a setting, or undefined when it was never stored. */
export async function getSetting(db: Kysely<Database>, name: string): Promise<string | undefined> {
  const row = await db.selectFrom("setting").select("value").where("name", "=", name).executeTakeFirst();
  return row?.value;
}

/**
 * Stores a setting unless one with this name exists, and returns the stored value: the first writer wins, so
 * replicas starting together on one database all end up with the same value.
 */
export async function getOrInsertSetting(db: Kysely<Database>, name: string, value: string, at: number): Promise<string> {
  await db
    .insertInto("setting")
    .values({ name, value, updated_at: at })
    .onConflict((conflict) => conflict.column("name").doNothing())
    .execute();
  const stored = await getSetting(db, name);
  if (stored === undefined) throw new StoreError(`setting ${name} was not stored`);
  return stored;
}
