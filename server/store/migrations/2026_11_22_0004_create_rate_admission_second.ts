import type { Kysely } from "kysely";

// Frozen in time: this file must keep describing the schema as it was on 2026-11-22, so it imports nothing of
// ours and takes Kysely<any>. Portable column types only: text keys, bigint epoch seconds and counts.

/**
 * Creates `rate_admission_second`: a process's own rate-window admissions aggregated per backend and second (one
 * row a second instead of one a request), from which its windows are rebuilt after a restart.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("rate_admission_second")
    .addColumn("backend", "text", (col) => col.notNull())
    .addColumn("second", "bigint", (col) => col.notNull())
    .addColumn("count", "bigint", (col) => col.notNull())
    .addPrimaryKeyConstraint("rate_admission_second_pk", ["backend", "second"])
    .execute();
  // Pruning deletes by age across every backend.
  await db.schema.createIndex("rate_admission_second_second_idx").on("rate_admission_second").column("second").execute();
}

/** Drops the table (its index goes with it). */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("rate_admission_second").execute();
}
