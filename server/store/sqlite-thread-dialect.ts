import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from "kysely";
import { SQLITE_PRAGMAS } from "./dialect.js";
import { StoreError } from "./store-error.js";

/**
 * The thread's program, CommonJS evaluated by `new Worker(…, { eval: true })`: it is plain JavaScript so that it
 * runs the same from the TypeScript sources (tests) and from `dist/`, and it only needs better-sqlite3, whose
 * resolved path it receives. It opens its own connection with {@link SQLITE_PRAGMAS}, caches
 * prepared statements by SQL text, and answers every `{ id, sql, parameters }` with rows or changes, or with the
 * error's message and SQLite code.
 */
const THREAD_PROGRAM = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.file);
  for (const pragma of workerData.pragmas) db.pragma(pragma);
} catch (err) {
  parentPort.postMessage({ id: 0, error: { message: String(err && err.message || err), code: err && err.code } });
  process.exit(1);
}
const statements = new Map();
parentPort.postMessage({ id: 0, ready: true });
parentPort.on("message", ({ id, sql, parameters }) => {
  if (id === -1) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      if (statements.size >= 100) statements.delete(statements.keys().next().value);
      statements.set(sql, statement);
    }
    if (statement.reader) parentPort.postMessage({ id, rows: statement.all(parameters) });
    else {
      const { changes, lastInsertRowid } = statement.run(parameters);
      parentPort.postMessage({ id, changes, lastInsertRowid: BigInt(lastInsertRowid) });
    }
  } catch (err) {
    parentPort.postMessage({ id, error: { message: String(err && err.message || err), code: err && err.code } });
  }
});
`;

/** What the thread answers to one statement. */
interface ThreadReply {
  id: number;
  ready?: true;
  rows?: unknown[];
  changes?: number;
  lastInsertRowid?: bigint;
  error?: { message: string; code?: string };
}

/** Options of {@link createSqliteThreadDialect}. */
export interface SqliteThreadOptions {
  /** Called with every thread started (the first, and each one that replaces a thread that stopped). */
  onThreadStart?: (worker: Worker) => void;
}

/**
 * A kysely dialect for a SQLite file whose statements run on a connection of their own, in a worker thread.
 * better-sqlite3 is synchronous: on the main thread a batch of writes holds the event loop for its B-tree work and
 * its fsync (`synchronous=FULL`), ~25 µs a usage row and milliseconds per batch, stalling every request and stream
 * in flight. Here the event loop only posts the compiled statement. WAL lets this connection write while the main
 * one reads; writers take SQLite's lock in turn (`busy_timeout`), so a write on the main connection that meets a
 * batch being committed waits for it, on the event loop. Those writes are rare (an API key's last use, at most
 * once a minute per key; logins; admin changes), where the batches used to stall it five times a second.
 *
 * The thread is started on first use and again if it ever stops; statements in flight when it stops are rejected.
 * It keeps the process alive only while a statement is in flight. No streaming queries; transactions work (one
 * connection, taken in turn, as with kysely's own SQLite driver).
 */
export function createSqliteThreadDialect(file: string, options: SqliteThreadOptions = {}): Dialect {
  return {
    createAdapter: (): DialectAdapter => new SqliteAdapter(),
    createDriver: (): Driver => new SqliteThreadDriver(file, options),
    createQueryCompiler: (): QueryCompiler => new SqliteQueryCompiler(),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => new SqliteIntrospector(db),
  };
}

class SqliteThreadDriver implements Driver {
  readonly #file: string;
  readonly #options: SqliteThreadOptions;
  #thread: SqliteThread | undefined;
  #closed = false;
  /** The one connection, taken in turn: a promise chain of holders. */
  #lock: Promise<void> = Promise.resolve();
  #unlock: (() => void) | undefined;

  constructor(file: string, options: SqliteThreadOptions) {
    this.#file = file;
    this.#options = options;
  }

  async init(): Promise<void> {
    await this.#threadReady();
  }

  /** The running thread, starting one if there is none (or the last one stopped). */
  #threadReady(): Promise<SqliteThread> {
    if (this.#closed) return Promise.reject(new StoreError("the SQLite write thread is closed"));
    if (this.#thread === undefined || this.#thread.stopped) {
      this.#thread = new SqliteThread(this.#file);
      this.#options.onThreadStart?.(this.#thread.worker);
    }
    const thread = this.#thread;
    return thread.ready.then(() => thread);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#lock;
    let release!: () => void;
    this.#lock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.#unlock = release;
    return {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => (await this.#threadReady()).execute<R>(query),
      streamQuery: () => {
        throw new StoreError("the SQLite write thread does not stream query results");
      },
    };
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    await this.#thread?.close();
  }
}

const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");

/** One worker thread and the statements waiting for its answers. */
class SqliteThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  stopped = false;
  readonly #pending = new Map<number, { resolve: (reply: ThreadReply) => void; reject: (err: Error) => void }>();
  #nextId = 1;

  constructor(file: string) {
    // Referenced until it is ready, and afterwards while a statement is in flight, so the process waits for the
    // answers it awaits and never stays up for an idle thread.
    this.worker = new Worker(THREAD_PROGRAM, { eval: true, workerData: { driver: driverPath, file, pragmas: SQLITE_PRAGMAS } });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
    });
    // Nothing awaits `ready` before the first statement; a thread that fails to open reports through it then.
    this.ready.catch(() => {});
    this.worker.on("message", (reply: ThreadReply) => {
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.worker.unref();
      if (reply.error) waiting.reject(Object.assign(new StoreError(reply.error.message), { code: reply.error.code }));
      else waiting.resolve(reply);
    });
    this.worker.on("error", (err) => this.#stop(err));
    this.worker.on("exit", (code) => this.#stop(new StoreError(`the SQLite write thread stopped (exit code ${code})`)));
  }

  #stop(err: Error): void {
    this.stopped = true;
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of waiting) reject(err instanceof StoreError ? err : new StoreError(`the SQLite write thread failed: ${err.message}`, { cause: err }));
  }

  async execute<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.stopped) throw new StoreError("the SQLite write thread stopped");
    const id = this.#nextId++;
    const reply = await new Promise<ThreadReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, sql: query.sql, parameters: query.parameters });
    });
    if (reply.rows !== undefined) return { rows: reply.rows as R[] };
    return { rows: [], numAffectedRows: BigInt(reply.changes ?? 0), insertId: reply.lastInsertRowid };
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.ref();
    this.worker.postMessage({ id: -1 });
    await exited;
  }
}
