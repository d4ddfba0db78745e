import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import type { NewRateAdmissionSecondRow } from "../tables/rate-admission-second-table.js";

/** Rows per upsert statement: three parameters a row keeps it far below SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_STATEMENT = 5000;

/** Admissions of one backend in one second. */
export interface AdmissionSecondCount {
  second: number;
  count: number;
}

/** Per-second counts, ordered by backend then second, as one ascending list per backend. */
export function groupPerBackend(rows: ReadonlyArray<{ backend: string } & AdmissionSecondCount>): Map<string, AdmissionSecondCount[]> {
  const byBackend = new Map<string, AdmissionSecondCount[]>();
  for (const { backend, second, count } of rows) {
    const list = byBackend.get(backend);
    if (list) list.push({ second, count });
    else byBackend.set(backend, [{ second, count }]);
  }
  return byBackend;
}

/**
 * Adds admission counts: the batch is summed per (backend, second), then each sum is added to its row, created if
 * missing, in one upsert per {@link ROWS_PER_STATEMENT} rows. A retried batch may count its admissions twice; for a
 * rate limiter that errs on the safe side.
 */
export async function addAdmissionSeconds(db: Kysely<Database>, increments: readonly NewRateAdmissionSecondRow[]): Promise<void> {
  const sums = new Map<string, Map<number, number>>();
  for (const { backend, second, count } of increments) {
    let seconds = sums.get(backend);
    if (!seconds) sums.set(backend, (seconds = new Map()));
    seconds.set(second, (seconds.get(second) ?? 0) + count);
  }
  const rows = [...sums].flatMap(([backend, seconds]) => [...seconds].map(([second, count]) => ({ backend, second, count })));
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    await db
      .insertInto("rate_admission_second")
      .values(rows.slice(start, start + ROWS_PER_STATEMENT))
      .onConflict((oc) =>
        oc.columns(["backend", "second"]).doUpdateSet((eb) => ({ count: eb("rate_admission_second.count", "+", eb.ref("excluded.count")) })),
      )
      .execute();
  }
}

/**
 * The admissions of the seconds that end after `since` (epoch ms: second × 1000 > since), ascending per backend:
 * what the rate limiter rebuilds its windows from after a restart. Backends without any are absent from the map.
 */
export async function loadAdmissionSeconds(db: Kysely<Database>, since: number): Promise<Map<string, AdmissionSecondCount[]>> {
  const rows = await db
    .selectFrom("rate_admission_second")
    .select(["backend", "second", "count"])
    .where("second", ">", Math.floor(since / 1000))
    .orderBy("backend")
    .orderBy("second")
    .execute();
  return groupPerBackend(rows);
}

/** Deletes the seconds that ended at or before `before` (epoch ms); returns how many rows were deleted. */
export async function pruneAdmissionSeconds(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom("rate_admission_second").where("second", "<=", Math.floor(before / 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
