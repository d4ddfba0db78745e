import type { Kysely } from "kysely";
import type { Database } from "../tables/database.js";
import type { NewUsageRow, UsageRow } from "../tables/usage-table.js";

/** Rows per INSERT statement: 19 parameters a row stays below SQLite's 32766 bound-parameter limit. */
const ROWS_PER_STATEMENT = 1000;

/**
 * Records terminal usage rows, one multi-row INSERT per call (split only beyond {@link ROWS_PER_STATEMENT} rows).
 * Idempotent: a row whose `request_id` is already stored is skipped (`ON CONFLICT (request_id) DO NOTHING`), so a
 * retried batch or a duplicate callback never duplicates or overwrites a request. Returns how many rows were new.
 * An empty `request_id` is refused by the database, failing the statement.
 */
export async function insertUsage(db: Kysely<Database>, rows: readonly NewUsageRow[]): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const result = await db
      .insertInto("usage")
      .values(rows.slice(start, start + ROWS_PER_STATEMENT))
      .onConflict((conflict) => conflict.column("request_id").doNothing())
      .executeTakeFirst();
    inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

/** A time range, epoch ms: `from` inclusive, `to` exclusive, so adjacent ranges never count a row twice. */
export interface UsageRange {
  from: number;
  to: number;
}

/** The usage rows in a range, optionally for one backend, oldest first (ties by `request_id`, so the order is stable). */
export async function queryUsage(db: Kysely<Database>, query: UsageRange & { backend?: string }): Promise<UsageRow[]> {
  let select = db.selectFrom("usage").selectAll().where("at", ">=", query.from).where("at", "<", query.to);
  if (query.backend !== undefined) select = select.where("backend", "=", query.backend);
  return select.orderBy("at").orderBy("request_id").execute();
}

/** What a usage summary is grouped by. */
export type UsageGroupBy = "backend" | "model" | "principal" | "key_id" | "user_id";

/** Restricts a usage summary to some rows; every field present must match. */
export interface UsageFilter {
  backend?: string;
  keyId?: string;
  /** A user id, or null for rows without one (configuration tokens, auth off). */
  userId?: string | null;
  principal?: string;
}

/** One group of a usage summary. */
export interface UsageSummary {
  /** The group's value; null for requests that had none (no backend tried, auth off, not an API key). */
  key: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Requests whose outcome was not `ok`. */
  errors: number;
}

/**
 * Request, token and error totals in a range, one entry per distinct `groupBy` value, optionally filtered.
 * Sorted with the null key first and then by key in code-unit order, the same on both dialects (their
 * collations and NULL ordering differ).
 */
export async function summarizeUsage(
  db: Kysely<Database>,
  query: UsageRange & { groupBy: UsageGroupBy; filter?: UsageFilter },
): Promise<UsageSummary[]> {
  const filter = query.filter ?? {};
  let select = db
    .selectFrom("usage")
    .select((eb) => [
      eb.ref(query.groupBy).as("key"),
      eb.fn.countAll().as("requests"),
      eb.fn.sum("input_tokens").as("input_tokens"),
      eb.fn.sum("output_tokens").as("output_tokens"),
      eb.fn.sum(eb.case().when("outcome", "=", "ok").then(0).else(1).end()).as("errors"),
    ])
    .where("at", ">=", query.from)
    .where("at", "<", query.to);
  if (filter.backend !== undefined) select = select.where("backend", "=", filter.backend);
  if (filter.keyId !== undefined) select = select.where("key_id", "=", filter.keyId);
  if (filter.userId === null) select = select.where("user_id", "is", null);
  else if (filter.userId !== undefined) select = select.where("user_id", "=", filter.userId);
  if (filter.principal !== undefined) select = select.where("principal", "=", filter.principal);
  const rows = await select.groupBy(query.groupBy).execute();
  // count() and sum() are int8 on PostgreSQL, parsed to number by the pool; Number() narrows kysely's wide type.
  return rows
    .map((row) => ({
      key: row.key,
      requests: Number(row.requests),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      errors: Number(row.errors),
    }))
    .sort((a, b) => (a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1));
}
