import type { Kysely } from "kysely";

// Frozen in time: this file must keep describing the schema as it was on 2026-12-02, so it imports nothing of
// ours and takes Kysely<any>. Portable column types only: an integer 0/1 boolean.

/**
 * Adds `usage.truncated`: 1 when the client received a partial answer ended by an error event, because the
 * upstream broke, stalled or overran after the answer was committed, or the drain deadline cut it. Rows written
 * before this migration carry 0: the outcome and status (200 with an outcome other than ok) still tell them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("usage")
    .addColumn("truncated", "integer", (col) => col.notNull().defaultTo(0))
    .execute();
}

/** Drops the column. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("usage").dropColumn("truncated").execute();
}
