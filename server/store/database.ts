import { Kysely, sql, type Dialect } from "kysely";
import { createPostgresDialect, createSqliteDialect, isInMemorySqlite, isPostgresUrl, type StoreDialect } from "./dialect.js";
import { migrateToLatest } from "./migrate.js";
import { createSqliteThreadDialect } from "./sqlite-thread-dialect.js";
import { StoreError } from "./store-error.js";
import type { Database } from "./tables/database.js";

/** Where the database lives. */
export interface DatabaseOptions {
  /** A `postgres://` or `postgresql://` URL; when set, PostgreSQL is used and `sqlitePath` is ignored. */
  url?: string;
  /** The SQLite file (its directory is created); defaults to `:memory:`. */
  sqlitePath?: string;
  /**
   * Give write-behind batches their own connection on a worker thread (see {@link Store.writeBehindDb}) when the
   * database is a SQLite file. For the gateway; a short command has no batches to keep off its event loop.
   */
  writeBehindThread?: boolean;
}

/** An open, migrated database. */
export interface Store {
  /** The query builder; pass it (or a transaction from it) to the repositories. */
  readonly db: Kysely<Database>;
  /**
   * Where write-behind batches go (usage rows, rate admissions). On a SQLite file opened with `writeBehindThread`
   * it is a second connection on its own thread, so a batch's inserts and fsync never hold the event loop;
   * otherwise (PostgreSQL, whose driver is asynchronous; an in-memory SQLite database, which a second connection
   * cannot see; a store without the option) it is `db` itself.
   */
  readonly writeBehindDb: Kysely<Database>;
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
  const file = options.sqlitePath ?? ":memory:";
  if (dialect === "postgres" || isInMemorySqlite(file) || options.writeBehindThread !== true) return { db, dialect, writeBehindDb: db, close: () => db.destroy() };
  const writeBehindDb = new Kysely<Database>({ dialect: createSqliteThreadDialect(file) });
  try {
    // Opens the thread's connection now, so a file it cannot open fails the start rather than the first batch.
    await sql`select 1`.execute(writeBehindDb);
  } catch (err) {
    await Promise.allSettled([writeBehindDb.destroy(), db.destroy()]);
    throw new StoreError(`cannot open the SQLite database on the write thread: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    db,
    dialect,
    writeBehindDb,
    close: async () => {
      await writeBehindDb.destroy();
      await db.destroy();
    },
  };
}
