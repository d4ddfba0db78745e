import { PostgresAdapter, SqliteAdapter, type Kysely } from "kysely";
import type { StoreDialect } from "./dialect.js";
import { StoreError } from "./store-error.js";

/**
 * The engine behind a kysely instance (a store's `db` or a transaction on it), for a
 * repository whose SQL differs per engine while its callers hold only the instance. kysely has no public way to
 * ask, so this reads the executor's adapter (`getExecutor()` is marked internal); it is the one place that does,
 * and its test fails on every dialect if kysely ever changes it.
 */
export function dialectOf(db: Pick<Kysely<unknown>, "getExecutor">): StoreDialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return "postgres";
  if (adapter instanceof SqliteAdapter) return "sqlite";
  throw new StoreError(`unsupported database adapter ${adapter.constructor.name}`);
}
