import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import type { NewProviderRow, ProviderRow } from "../tables/provider-table.js";

/** Every database provider, by name. */
export async function listProviders(db: Kysely<Database>): Promise<ProviderRow[]> {
  return db.selectFrom("provider").selectAll().orderBy("name").execute();
}

/** One provider, or undefined. */
export async function findProvider(db: Kysely<Database>, name: string): Promise<ProviderRow | undefined> {
  return db.selectFrom("provider").selectAll().where("name", "=", name).executeTakeFirst();
}

/** Inserts a provider. The primary key refuses a duplicate name (the caller checks first for a clean error). */
export async function insertProvider(db: Kysely<Database>, row: NewProviderRow): Promise<void> {
  await db.insertInto("provider").values(row).execute();
}

/** What an update may change: the kind and name are fixed for a provider's life. */
export type ProviderChanges = Partial<Pick<ProviderRow, "base_url" | "api_key_sealed">> & { updated_at: number };

/** Changes a provider; false when there is none by that name. */
export async function updateProvider(db: Kysely<Database>, name: string, changes: ProviderChanges): Promise<boolean> {
  const result = await db.updateTable("provider").set(changes).where("name", "=", name).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a provider; false when there was none by that name. */
export async function deleteProvider(db: Kysely<Database>, name: string): Promise<boolean> {
  const result = await db.deleteFrom("provider").where("name", "=", name).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
