import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import type { NewRateAdmissionRow } from "../tables/rate-admission-table.js";

/**
 * Rows per INSERT statement. Two parameters a row keeps a statement far below SQLite's 32766 and PostgreSQL's
 * 65535 bound-parameter limits; the write-behind batches that call this are smaller still.
 */
const ROWS_PER_STATEMENT = 5000;

/**
 * Records admitted requests, one multi-row INSERT per call (split only beyond {@link ROWS_PER_STATEMENT} rows).
 * Admissions have no key, so a retried batch may count a request twice; for a rate limiter that errs on the
 * safe side.
 */
export async function insertAdmissions(db: Kysely<Database>, rows: readonly NewRateAdmissionRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    await db.insertInto("rate_admission").values(rows.slice(start, start + ROWS_PER_STATEMENT)).execute();
  }
}

/**
 * The admissions at or after `since` (epoch ms), as ascending timestamps per backend: what the rate limiter needs
 * to rebuild its sliding windows after a restart. Backends without admissions are absent from the map.
 */
export async function loadRecentAdmissions(db: Kysely<Database>, since: number): Promise<Map<string, number[]>> {
  const rows = await db
    .selectFrom("rate_admission")
    .select(["backend", "at"])
    .where("at", ">=", since)
    .orderBy("backend")
    .orderBy("at")
    .execute();
  const byBackend = new Map<string, number[]>();
  for (const { backend, at } of rows) {
    const list = byBackend.get(backend);
    if (list) list.push(at);
    else byBackend.set(backend, [at]);
  }
  return byBackend;
}

/** Deletes admissions strictly before `before` (epoch ms); returns how many were deleted. */
export async function pruneAdmissions(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom("rate_admission").where("at", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
