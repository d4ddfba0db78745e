import { sql, type Kysely } from "kysely";

// Frozen in time: this file must keep describing the schema as it was on 2026-11-22, so it imports nothing of
// ours and takes Kysely<any>. Portable column types only: text keys chosen by the operator, bigint epoch-ms
// timestamps, integer 0/1 booleans, JSON as text. The `setting` table this feature also uses (for a generated
// encryption key) was created by 0002.

/**
 * Creates `provider` and `backend`: the providers and backends managed through the admin API, layered after the
 * configuration file's. No foreign key joins them because a database backend may use a provider of the file.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("provider")
    .addColumn("name", "text", (col) => col.primaryKey())
    .addColumn("kind", "text", (col) => col.notNull().check(sql`kind in ('openai', 'anthropic', 'mock')`))
    .addColumn("base_url", "text", (col) => col.notNull())
    // AES-256-GCM ciphertext of the provider key (never the key itself); null when the provider has none.
    .addColumn("api_key_sealed", "text")
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();

  await db.schema
    .createTable("backend")
    .addColumn("name", "text", (col) => col.primaryKey())
    // Routing order among database backends; ties (never written by llmux) are broken by name.
    .addColumn("position", "integer", (col) => col.notNull())
    .addColumn("provider", "text", (col) => col.notNull())
    .addColumn("model", "text", (col) => col.notNull())
    .addColumn("alias", "text")
    // bigint: a context of up to 2^32 - 1 tokens does not fit PostgreSQL's integer.
    .addColumn("context", "bigint")
    .addColumn("vision", "integer", (col) => col.notNull())
    .addColumn("thinking", "integer", (col) => col.notNull())
    .addColumn("max_per_day", "integer")
    .addColumn("max_per_hour", "integer")
    .addColumn("max_per_5hours", "integer")
    .addColumn("model_match", "text", (col) => col.notNull())
    .addColumn("key_rename", "text", (col) => col.notNull())
    .addColumn("key_delete", "text", (col) => col.notNull())
    .addColumn("key_add", "text", (col) => col.notNull())
    .addColumn("fallbacks", "text", (col) => col.notNull())
    .addColumn("gpt_oss_fix", "integer", (col) => col.notNull())
    .addColumn("created_at", "bigint", (col) => col.notNull())
    .addColumn("updated_at", "bigint", (col) => col.notNull())
    .execute();
  await db.schema.createIndex("backend_provider_idx").on("backend").column("provider").execute();
}

/** Drops both tables (the index goes with its table). */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("backend").execute();
  await db.schema.dropTable("provider").execute();
}
