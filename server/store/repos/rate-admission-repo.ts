import { sql, type Kysely } from "kysely";
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

/** One rolling window: at most `limit` admissions in any `spanMs`. */
export interface WindowLimit {
  spanMs: number;
  limit: number;
}

/**
 * Admits one request against a backend's rolling windows atomically, for gateways that share one PostgreSQL: the
 * check and the insert run in one transaction holding a per-backend advisory lock, so N replicas together never
 * admit more than the limit. Returns undefined when admitted, else the epoch ms when a slot frees up. On SQLite
 * (one process) the transaction alone serializes writers.
 */
export async function admitIfUnder(
  db: Kysely<Database>,
  dialect: "sqlite" | "postgres",
  backend: string,
  at: number,
  windows: readonly WindowLimit[],
): Promise<number | undefined> {
  return db.transaction().execute(async (trx) => {
    if (dialect === "postgres") await sql`select pg_advisory_xact_lock(hashtext(${`llmux:rate:${backend}`}))`.execute(trx);
    let until: number | undefined;
    for (const { spanMs, limit } of windows) {
      // The limit-th newest admission inside the span: if there is one, the window is full until it ages out.
      const row = await trx
        .selectFrom("rate_admission")
        .select("at")
        .where("backend", "=", backend)
        .where("at", ">", at - spanMs)
        .orderBy("at", "desc")
        .limit(1)
        .offset(limit - 1)
        .executeTakeFirst();
      if (row !== undefined) until = Math.max(until ?? 0, row.at + spanMs);
    }
    if (until === undefined) await trx.insertInto("rate_admission").values({ backend, at }).execute();
    return until;
  });
}
