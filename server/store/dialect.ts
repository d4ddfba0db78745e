import { mkdirSync } from "node:fs";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  CompiledQuery,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type SqliteDialectConfig,
} from "kysely";
import pg from "pg";
import { CurrentSchemaIntrospector } from "./current-schema-introspector.js";
import { StoreError } from "./store-error.js";

/** The database engines llmux runs on. */
export type StoreDialect = "sqlite" | "postgres";

/** PostgreSQL's type OID for int8 (`bigint`, and what `count(*)` and `sum(integer)` return). */
const INT8_OID = 20;

/**
 * Parses an int8 column into a number. pg returns int8 as a string because it can exceed 2^53; our int8 values
 * are epoch-ms timestamps, counts and token sums, which never do, so a value that would lose precision is a
 * corrupt row or a bug and is refused rather than silently rounded.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new StoreError(`int8 value ${text} exceeds the safe integer range`);
  return value;
}

/**
 * The pool's type parsers: pg's defaults plus {@link parseInt8}. Set per pool rather than with the global
 * `pg.types.setTypeParser`, so other pg users in the process keep their own parsing.
 */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** True when `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return url.startsWith("postgres://") || url.startsWith("postgresql://");
}

/**
 * SQLite can roll back DDL, but kysely's adapter says it cannot, so its Migrator would run SQLite migrations
 * outside a transaction and a failing migration could leave half a schema. This adapter lets every migration run
 * in one transaction, as it does on PostgreSQL.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Starts every transaction with `BEGIN IMMEDIATE`, taking the write lock up front. The write-behind batches write
 * through a second connection (see `sqlite-worker-dialect.ts`); a deferred transaction that read before that
 * connection committed could then no longer write (SQLITE_BUSY_SNAPSHOT, which `busy_timeout` does not retry).
 * An immediate one waits for the lock instead, and the batches wait for it in turn.
 */
class ImmediateTransactionSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** kysely's SQLite dialect with {@link TransactionalDdlSqliteAdapter} and {@link ImmediateTransactionSqliteDriver}. */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver(this.#config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * The settings every SQLite connection gets, in order: WAL so readers never block the writer, `synchronous=FULL` so
 * a commit survives power loss (WAL+NORMAL may roll back the last commits), `busy_timeout` so a second connection
 * or process waits instead of failing with "database is locked", and foreign keys enforced.
 */
export const SQLITE_PRAGMAS: readonly string[] = ["journal_mode = WAL", "synchronous = FULL", "busy_timeout = 5000", "foreign_keys = ON"];

/** True when `file` names an in-memory SQLite database, which lives in one connection and cannot be shared. */
export function isInMemorySqlite(file: string): boolean {
  return file === ":memory:" || file === "";
}

/**
 * Opens a SQLite file (creating its directory) or an in-memory database, with {@link SQLITE_PRAGMAS}, the settings
 * the data-safety promises rely on.
 */
export function createSqliteDialect(file: string): SqliteDialect {
  if (!isInMemorySqlite(file)) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SqliteDatabase(file);
  try {
    for (const pragma of SQLITE_PRAGMAS) database.pragma(pragma);
  } catch (err) {
    database.close();
    throw err;
  }
  return new TransactionalDdlSqliteDialect({ database });
}

/** kysely's PostgreSQL dialect, introspecting only the current schema (see {@link CurrentSchemaIntrospector}). */
class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

/**
 * A PostgreSQL pool for `url`, with int8 parsed to number. Connections are opened lazily, so a bad URL or an
 * unreachable server surfaces on the first query (the migration run in `createDatabase`).
 */
export function createPostgresDialect(url: string): PostgresDialect {
  const pool = new pg.Pool({ connectionString: url, types: pgTypes });
  // An idle connection dropped by the server (restart, failover) is emitted here; unhandled, that event would
  // crash the process. The pool has already discarded the connection and the next query opens a new one, and a
  // lasting outage shows up as failing queries, so there is nothing to do.
  pool.on("error", () => {});
  return new CurrentSchemaPostgresDialect({ pool });
}
