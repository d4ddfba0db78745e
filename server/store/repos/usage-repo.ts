import { sql, type Kysely, type RawBuilder } from "kysely";
import type { StoreDialect } from "../dialect.js";
import type { Database } from "../tables/database.js";
import type { NewUsageRow, UsageRow, UsageTable } from "../tables/usage-table.js";

/**
 * Rows per INSERT statement: bounds one statement's JSON parameter (about 0.5 MB) and how long it holds SQLite's
 * write lock. The write-behind's batches (at most 500 rows) are one statement each.
 */
const ROWS_PER_STATEMENT = 1000;

/** Every column of `usage`; `satisfies` fails the build until this matches {@link UsageTable}, column for column. */
const USAGE_COLUMNS = Object.keys({
  request_id: true,
  at: true,
  principal: true,
  key_id: true,
  user_id: true,
  client_dialect: true,
  model: true,
  backend: true,
  provider: true,
  outcome: true,
  status: true,
  input_tokens: true,
  output_tokens: true,
  cache_read_tokens: true,
  cache_creation_tokens: true,
  latency_ms: true,
  ttft_ms: true,
  attempts: true,
  stream: true,
  error: true,
  usage_estimated: true,
  truncated: true,
} satisfies Record<keyof UsageTable, true>);

const COLUMN_LIST = sql.join(USAGE_COLUMNS.map((column) => sql.ref(column)));

/** Each column of a `jsonb_each` element, on SQLite. */
const SQLITE_FIELDS = sql.join(USAGE_COLUMNS.map((column) => sql`json_extract(value, ${sql.lit(`$.${column}`)})`));

/**
 * One INSERT per engine that expands a JSON array of rows inside the database, so the main thread builds a small,
 * fixed statement with one parameter whatever the batch size. A key missing or null in the JSON becomes NULL.
 * - SQLite: `jsonb_each` parses the array once and yields each element in binary form (SQLite 3.45+), three times
 *   cheaper to extract from than `json_each`'s text; `json_extract` yields an INTEGER for a JSON integer and TEXT
 *   for a JSON string. The `where true` is required: without it SQLite parses `on conflict` as a join constraint.
 * - PostgreSQL: `json_populate_recordset` converts every field to the type of its column in `usage` itself.
 */
const INSERT_FROM_JSON: Record<StoreDialect, (json: string) => RawBuilder<unknown>> = {
  sqlite: (json) =>
    sql`insert into ${sql.table("usage")} (${COLUMN_LIST})
      select ${SQLITE_FIELDS} from jsonb_each(${json}) where true
      on conflict (request_id) do nothing`,
  postgres: (json) =>
    sql`insert into ${sql.table("usage")} (${COLUMN_LIST})
      select ${COLUMN_LIST} from json_populate_recordset(cast(null as ${sql.table("usage")}), cast(${json} as json))
      on conflict (request_id) do nothing`,
};

/** A surrogate without its other half: UTF-16 that is not text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The rows as one JSON array. A lone surrogate in a string (a client can send one, as `"\ud800"` in its JSON)
 * becomes U+FFFD on both engines: PostgreSQL refuses its escape in JSON, which would fail the whole batch (bound
 * value by value, pg used to send U+FFFD and SQLite stored invalid UTF-8). JSON.stringify writes a lone surrogate
 * as a `\udXXX` escape and a pair as it is, so one search of the JSON finds them; a false alarm (a text holding a
 * literal backslash followed by `ud`) only costs a second stringify.
 */
function rowsJson(rows: readonly NewUsageRow[]): string {
  const json = JSON.stringify(rows);
  if (!json.includes("\\ud")) return json;
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === "string" ? value.replace(LONE_SURROGATE, "\ufffd") : value));
}

/**
 * Records terminal usage rows, one INSERT per call (split only beyond {@link ROWS_PER_STATEMENT} rows), the rows
 * travelling as one JSON parameter: building the statement costs the event loop little more than JSON.stringify
 * (one to two microseconds a row), where a multi-row VALUES list cost several.
 * Idempotent: a row whose `request_id` is already stored, or came earlier in the same call, is skipped
 * (`ON CONFLICT (request_id) DO NOTHING`), so a retried batch or a duplicate callback never duplicates or
 * overwrites a request. Returns how many rows were new. An empty `request_id` is refused by the database, failing
 * the statement. `dialect` is the store's (`Store.dialect`): the SQL differs per engine.
 */
export async function insertUsage(db: Kysely<Database>, dialect: StoreDialect, rows: readonly NewUsageRow[]): Promise<number> {
  const insertFromJson = INSERT_FROM_JSON[dialect];
  let inserted = 0;
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const result = await insertFromJson(rowsJson(rows.slice(start, start + ROWS_PER_STATEMENT))).execute(db);
    inserted += Number(result.numAffectedRows ?? 0n);
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
  /** Requests whose usage is llmux's estimate (`usage_estimated`). */
  estimated: number;
  /** Requests whose client got a partial answer ended by an error (`truncated`). */
  truncated: number;
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
      eb.fn.sum("usage_estimated").as("estimated"),
      eb.fn.sum("truncated").as("truncated"),
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
      estimated: Number(row.estimated),
      truncated: Number(row.truncated),
    }))
    .sort((a, b) => (a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1));
}
