import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from "kysely";
import { SQLITE_PRAGMAS } from "./dialect.js";
import { StoreError } from "./store-error.js";

/**
 * The worker's whole program. It is CommonJS evaluated from this string, so it runs the same from `dist/` and from
 * the TypeScript sources under vitest. It opens its own connection with the main connection's pragmas, runs the
 * statements it is sent one at a time in order, and answers each with kysely's SqliteDriver result fields; a
 * message without an id closes the connection and lets the thread end.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file);
for (const pragma of workerData.pragmas) db.pragma(pragma);
parentPort.on("message", ({ id, sql, parameters }) => {
  if (id === undefined) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const statement = db.prepare(sql);
    if (statement.reader) {
      parentPort.postMessage({ id, rows: statement.all(parameters) });
    } else {
      const { changes, lastInsertRowid } = statement.run(parameters);
      parentPort.postMessage({ id, rows: [], changes, lastInsertRowid });
    }
  } catch (err) {
    parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
  }
});
`;

/** A worker's answer to one statement. */
interface Reply {
  id: number;
  rows?: unknown[];
  changes?: number | bigint;
  lastInsertRowid?: number | bigint;
  error?: { message: string; code?: string };
}

interface Pending {
  resolve: (result: QueryResult<unknown>) => void;
  reject: (err: Error) => void;
}

/**
 * Runs statements on a worker thread that holds its own connection to the file. The thread starts with the first
 * statement and again after it died; it is ref'd only while statements are in flight, so an idle one never keeps
 * the process alive and a pending one is always answered or rejected.
 */
class SqliteWorkerDriver implements Driver {
  readonly #file: string;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 0;
  #closed = false;
  readonly #connection: DatabaseConnection = {
    executeQuery: <R>(compiled: CompiledQuery) => this.#execute(compiled) as Promise<QueryResult<R>>,
    streamQuery: () => {
      throw new StoreError("the background database does not stream results");
    },
  };

  constructor(file: string) {
    this.#file = file;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    // One stateless connection serves every caller at once: the worker runs their statements in arrival order.
    return this.#connection;
  }

  async beginTransaction(): Promise<void> {
    throw new StoreError("the background database runs single statements only: use a transaction on the store's db");
  }

  async commitTransaction(): Promise<void> {}

  async rollbackTransaction(): Promise<void> {}

  async releaseConnection(): Promise<void> {}

  /** Refuses new statements, lets the worker finish those already sent (they are ahead of the close message), then ends it. */
  async destroy(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    worker.ref();
    worker.postMessage({});
    await exited;
  }

  #execute(compiled: CompiledQuery): Promise<QueryResult<unknown>> {
    if (this.#closed) return Promise.reject(new StoreError("the background database is closed"));
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      worker.postMessage({ id, sql: compiled.sql, parameters: compiled.parameters });
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
    });
  }

  #start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.#file, pragmas: SQLITE_PRAGMAS, betterSqlite3: createRequire(import.meta.url).resolve("better-sqlite3") },
    });
    worker.unref();
    let failure: Error | undefined;
    worker.on("message", (reply: Reply) => this.#answer(reply));
    worker.on("error", (err) => {
      failure = err;
    });
    worker.on("exit", (code) => {
      this.#worker = undefined;
      const err = new StoreError(
        failure === undefined
          ? `the SQLite background worker exited (code ${code}) before answering`
          : `the SQLite background worker failed: ${failure.message}`,
        { cause: failure },
      );
      for (const { reject } of this.#pending.values()) reject(err);
      this.#pending.clear();
    });
    this.#worker = worker;
    return worker;
  }

  #answer(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if (reply.error !== undefined) {
      // The same error class and code a statement on the main connection would throw.
      pending.reject(new SqliteDatabase.SqliteError(reply.error.message, reply.error.code ?? "SQLITE_ERROR"));
    } else if (reply.changes === undefined) {
      pending.resolve({ rows: reply.rows ?? [] });
    } else {
      pending.resolve({
        rows: [],
        numAffectedRows: BigInt(reply.changes),
        insertId: reply.lastInsertRowid === undefined ? undefined : BigInt(reply.lastInsertRowid),
      });
    }
  }
}

/**
 * kysely's SQLite dialect (compiler, adapter, introspector) over {@link SqliteWorkerDriver}: statements run on a
 * worker thread with its own connection to `file`, so a large write never blocks the event loop. For single
 * statements only: transactions and streaming are refused. `file` must be an already migrated file, not `:memory:`.
 */
export function createSqliteWorkerDialect(file: string): Dialect {
  return {
    createDriver: () => new SqliteWorkerDriver(file),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}
