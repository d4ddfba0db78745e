import { sql, type Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import { groupPerBackend, type AdmissionSecondCount } from "./rate-admission-second-repo.js";

/**
 * The admissions after `since` (epoch ms) counted per second (their epoch ms rounded up, as the rate limiter counts
 * them), ascending per backend: what a replica sharing PostgreSQL rebuilds its local view of the windows from at
 * startup, without loading a row per request. Backends without admissions are absent from the map.
 */
export async function loadRecentAdmissions(db: Kysely<Database>, since: number): Promise<Map<string, AdmissionSecondCount[]>> {
  const second = sql<number>`(at + 999) / 1000`;
  const rows = await db
    .selectFrom("rate_admission")
    .select((eb) => ["backend", second.as("second"), eb.fn.countAll<number>().as("count")])
    .where("at", ">", since)
    .groupBy(["backend", second])
    .orderBy("backend")
    .orderBy("second")
    .execute();
  return groupPerBackend(rows);
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
