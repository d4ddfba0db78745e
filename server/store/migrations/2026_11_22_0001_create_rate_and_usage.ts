import { sql, type Kysely } from "kysely";

// Frozen in time: this file must keep describing the schema as it was on 2026-11-22, so it imports nothing of
// ours and takes Kysely<any> (today's table types must not shape an old migration). Later changes go in new
// migrations. Column types are the portable subset: text, bigint epoch-ms timestamps, integers (0/1 booleans).

/** Creates `rate_admission` and `usage` with their indexes. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("rate_admission")
    .addColumn("backend", "text", (col) => col.notNull())
    .addColumn("at", "bigint", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("rate_admission_backend_at_idx").on("rate_admission").columns(["backend", "at"]).execute();

  await db.schema
    .createTable("usage")
    // An empty id would make unrelated requests collide on the key and lose rows; the database refuses it.
    .addColumn("request_id", "text", (col) => col.primaryKey().check(sql`request_id <> ''`))
    .addColumn("at", "bigint", (col) => col.notNull())
    .addColumn("principal", "text")
    .addColumn("client_dialect", "text", (col) => col.notNull())
    .addColumn("model", "text", (col) => col.notNull())
    .addColumn("backend", "text")
    .addColumn("provider", "text")
    .addColumn("outcome", "text", (col) => col.notNull())
    .addColumn("status", "integer", (col) => col.notNull())
    .addColumn("input_tokens", "integer", (col) => col.notNull())
    .addColumn("output_tokens", "integer", (col) => col.notNull())
    .addColumn("cache_read_tokens", "integer", (col) => col.notNull())
    .addColumn("cache_creation_tokens", "integer", (col) => col.notNull())
    .addColumn("latency_ms", "integer", (col) => col.notNull())
    .addColumn("ttft_ms", "integer")
    .addColumn("attempts", "integer", (col) => col.notNull())
    .addColumn("stream", "integer", (col) => col.notNull())
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("usage_at_idx").on("usage").column("at").execute();
  await db.schema.createIndex("usage_backend_at_idx").on("usage").columns(["backend", "at"]).execute();
}

/** Drops both tables (their indexes go with them). */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("usage").execute();
  await db.schema.dropTable("rate_admission").execute();
}
