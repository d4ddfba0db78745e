import type { Kysely } from "kysely";

// Frozen in time: this file must keep describing the schema as it was on 2026-12-01, so it imports nothing of
// ours and takes Kysely<any>. Portable column types only: an integer 0/1 boolean.

/**
 * Adds `usage.usage_estimated`: 1 when the row's token counts are llmux's estimate because the upstream reported
 * no usage, or one it could not trust (missing, negative, fractional or absurd counts; a stream broken before its
 * final usage). Rows written before this migration were never estimated, hence the default 0.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("usage")
    .addColumn("usage_estimated", "integer", (col) => col.notNull().defaultTo(0))
    .execute();
}

/** Drops the column. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("usage").dropColumn("usage_estimated").execute();
}
