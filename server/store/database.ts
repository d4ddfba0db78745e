import path from "node:path";
import { Kysely, type Dialect } from "kysely";
import { createPostgresDialect, createSqliteDialect, isInMemorySqlite, isPostgresUrl, type StoreDialect } from "./dialect.js";
import { migrateToLatest } from "./migrate.js";
import { createSqliteWorkerDialect } from "./sqlite-worker-dialect.js";
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
  /**
   * For write-behind batches: single statements, no transactions. On a SQLite file its statements run on a worker
   * thread with its own connection, so a large batch never blocks the event loop; elsewhere it is `db` itself
   * (PostgreSQL's driver does not block, and an in-memory database cannot be shared with another thread). Never
   * await it inside a transaction on `db`: that transaction holds SQLite's write lock until it ends.
   */
  readonly background: Kysely<Database>;
  /** Which engine is behind `db`, for the few places where SQL differs. */
  readonly dialect: StoreDialect;
  /**
   * Closes every connection, after the statements already sent to `background` have finished. Flush write-behind
   * queues first: rows pushed after this are lost.
   */
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
  let sqliteFile: string | undefined;
  if (options.url !== undefined && options.url !== "") {
    if (!isPostgresUrl(options.url)) {
      throw new StoreError("unsupported database url: expected postgres:// or postgresql://");
    }
    dialect = "postgres";
    driver = createPostgresDialect(options.url);
  } else {
    dialect = "sqlite";
    const file = options.sqlitePath ?? ":memory:";
    if (!isInMemorySqlite(file)) sqliteFile = path.resolve(file);
    try {
      driver = createSqliteDialect(file);
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
  // Created after the migration, so the worker's connection never sees an older schema.
  const background = sqliteFile === undefined ? db : new Kysely<Database>({ dialect: createSqliteWorkerDialect(sqliteFile) });
  return {
    db,
    background,
    dialect,
    close: async () => {
      try {
        if (background !== db) await background.destroy();
      } finally {
        await db.destroy();
      }
    },
  };
}
