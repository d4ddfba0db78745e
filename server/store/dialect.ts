import { mkdirSync } from "node:fs";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import { PostgresDialect, SqliteAdapter, SqliteDialect, type DatabaseIntrospector, type DialectAdapter, type Kysely } from "kysely";
import type pg from "pg";
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
function pgTypes(types: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID && format !== "binary" ? parseInt8 : types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
}

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

/** kysely's SQLite dialect with {@link TransactionalDdlSqliteAdapter}. */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * The settings every SQLite connection of llmux opens with, which the data-safety promises rely on: WAL so readers
 * never block the writer, `synchronous=FULL` so a commit survives power loss (WAL+NORMAL may roll back the last
 * commits), `busy_timeout` so another connection or process waits instead of failing with "database is locked",
 * foreign keys enforced, and SQLite's own 2 MB page cache a connection: better-sqlite3 builds SQLite with 16 MB,
 * which the write thread's usage inserts fill (measured: peak RSS 10-20 MB higher, no faster), while every page the
 * gateway touches per request is a recent one of an appended index.
 */
export const SQLITE_PRAGMAS: readonly string[] = ["journal_mode = WAL", "synchronous = FULL", "busy_timeout = 5000", "foreign_keys = ON", "cache_size = -2000"];

/** True when `file` names an in-memory SQLite database, which no second connection can see. */
export function isInMemorySqlite(file: string): boolean {
  return file === ":memory:" || file === "";
}

/** Opens a SQLite file (creating its directory) or an in-memory database, with {@link SQLITE_PRAGMAS}. */
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
 * unreachable server surfaces on the first query (the migration run in `createDatabase`). The driver is loaded
 * here, not at start-up: a gateway on SQLite (the default) does not carry it in memory.
 */
export async function createPostgresDialect(url: string): Promise<PostgresDialect> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, types: pgTypes(pg.types) });
  // An idle connection dropped by the server (restart, failover) is emitted here; unhandled, that event would
  // crash the process. The pool has already discarded the connection and the next query opens a new one, and a
  // lasting outage shows up as failing queries, so there is nothing to do.
  pool.on("error", () => {});
  return new CurrentSchemaPostgresDialect({ pool });
}
