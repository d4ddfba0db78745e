import { Kysely, type Dialect } from "kysely";
import { createPostgresDialect, createSqliteDialect, isPostgresUrl, type StoreDialect } from "./dialect.js";
import { migrateToLatest } from "./migrate.js";
import { StoreError } from "./store-error.js";
import type { Database } from "./tables/database.js";

/** Where the database lives. */
export interface DatabaseOptions {
  /** A `postgres://` or `postgresql://` URL; when set, PostgreSQL is used and `sqlitePath` is ignored. */
  url?: string;
  /** The SQLite file (its directory is created); defaults to `:memory:`. */
  sqlitePath?: string;
}

/** An open, migrated database. */
export interface Store {
  /** The query builder; pass it (or a transaction from it) to the repositories. */
  readonly db: Kysely<Database>;
  /** Which engine is behind `db`, for the few places where SQL differs. */
  readonly dialect: StoreDialect;
  /** Closes every connection. Flush write-behind queues first: rows pushed after this are lost. */
  close(): Promise<void>;
}

/**
 * Opens the database and migrates it to the latest schema before returning, so no query ever runs against an old
 * schema. SQLite is the default (one file, WAL, `synchronous=FULL`); a PostgreSQL URL selects PostgreSQL. On
 * failure every connection is closed and a StoreError is thrown whose message never contains the URL (it may
 * hold a password).
 */
export async function createDatabase(options: DatabaseOptions): Promise<Store> {
  let dialect: StoreDialect;
  let driver: Dialect;
  if (options.url !== undefined && options.url !== "") {
    if (!isPostgresUrl(options.url)) {
      throw new StoreError("unsupported database url: expected postgres:// or postgresql://");
    }
    dialect = "postgres";
    driver = await createPostgresDialect(options.url);
  } else {
    dialect = "sqlite";
    try {
      driver = createSqliteDialect(options.sqlitePath ?? ":memory:");
    } catch (err) {
      throw new StoreError(`cannot open the SQLite database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const db = new Kysely<Database>({ dialect: driver });
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy();
    throw err instanceof StoreError ? err : new StoreError("database migration failed", { cause: err });
  }
  return { db, dialect, close: () => db.destroy() };
}
