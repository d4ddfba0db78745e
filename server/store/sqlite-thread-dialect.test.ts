import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { Kysely, sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, type Store } from "./database.js";
import { insertUsage, queryUsage } from "./repos/usage-repo.js";
import { createSqliteThreadDialect } from "./sqlite-thread-dialect.js";
import { StoreError } from "./store-error.js";
import type { Database } from "./tables/database.js";
import type { NewUsageRow } from "./tables/usage-table.js";

const T0 = 1_795_000_000_000;

function row(id: string, at: number): NewUsageRow {
  return {
    request_id: id,
    at,
    principal: "alice",
    key_id: "key_1",
    user_id: null,
    client_dialect: "anthropic",
    model: "claude-x",
    backend: "b1",
    provider: "anthropic",
    outcome: "ok",
    status: 200,
    input_tokens: 12,
    output_tokens: 34,
    cache_read_tokens: 5,
    cache_creation_tokens: 0,
    latency_ms: 250,
    ttft_ms: 40,
    attempts: 1,
    stream: 1,
    error: null,
    usage_estimated: 0,
    truncated: 0,
  };
}

describe("SQLite write thread", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmux-thread-"));
  let n = 0;
  let store: Store;
  const extra: Kysely<Database>[] = [];
  const file = () => path.join(dir, `db-${n}.sqlite`);

  beforeEach(async () => {
    n++;
    store = await createDatabase({ sqlitePath: file(), writeBehindThread: true });
  });
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((db) => db.destroy()));
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Another Kysely on the thread dialect for the current file, reporting each thread it starts. */
  function threadDb(workers: Worker[]): Kysely<Database> {
    const db = new Kysely<Database>({ dialect: createSqliteThreadDialect(file(), { onThreadStart: (w) => workers.push(w) }) });
    extra.push(db);
    return db;
  }

  it("is what a file-backed store writes behind with, and the main connection reads what it wrote", async () => {
    expect(store.writeBehindDb).not.toBe(store.db);
    expect(await insertUsage(store.writeBehindDb, "sqlite", [row("r1", T0), row("r2", T0 + 1), row("r1", T0 + 2)])).toBe(2);
    // A retried batch is idempotent across the two connections.
    expect(await insertUsage(store.writeBehindDb, "sqlite", [row("r2", T0 + 1), row("r3", T0 + 3)])).toBe(1);
    const rows = await queryUsage(store.db, { from: T0, to: T0 + 10 });
    expect(rows.map((r) => r.request_id)).toEqual(["r1", "r2", "r3"]);
    expect(rows[0]).toEqual({ ...row("r1", T0) });
  });

  it("answers reads with the same values as the main connection", async () => {
    await insertUsage(store.db, "sqlite", [row("r1", T0)]);
    const viaThread = await store.writeBehindDb.selectFrom("usage").selectAll().execute();
    const viaMain = await store.db.selectFrom("usage").selectAll().execute();
    expect(viaThread).toEqual(viaMain);
    expect(typeof viaThread[0]!.at).toBe("number");
  });

  it("opens its connection with the same pragmas as the main one", async () => {
    const pragma = async (db: Kysely<Database>, name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
    for (const name of ["journal_mode", "synchronous", "busy_timeout", "foreign_keys", "cache_size"]) {
      expect([name, await pragma(store.writeBehindDb, name)]).toEqual([name, await pragma(store.db, name)]);
    }
    expect(await pragma(store.writeBehindDb, "synchronous")).toBe(2); // FULL
  });

  it("rejects a failing statement with SQLite's message and code, and keeps serving", async () => {
    const err = await insertUsage(store.writeBehindDb, "sqlite", [row("", T0)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toBe("CHECK constraint failed: request_id <> ''");
    expect((err as StoreError & { code: string }).code).toBe("SQLITE_CONSTRAINT_CHECK");
    expect(await insertUsage(store.writeBehindDb, "sqlite", [row("ok", T0)])).toBe(1);
  });

  it("runs a transaction on its one connection: a rolled-back one leaves nothing", async () => {
    const failed = await store.writeBehindDb
      .transaction()
      .execute(async (trx) => {
        await insertUsage(trx, "sqlite", [row("in-trx", T0)]);
        expect(await trx.selectFrom("usage").select("request_id").execute()).toEqual([{ request_id: "in-trx" }]);
        throw new Error("roll back");
      })
      .catch((e: unknown) => e);
    expect((failed as Error).message).toBe("roll back");
    expect(await store.db.selectFrom("usage").select("request_id").execute()).toEqual([]);
    await store.writeBehindDb.transaction().execute((trx) => insertUsage(trx, "sqlite", [row("committed", T0)]));
    expect(await store.db.selectFrom("usage").select("request_id").execute()).toEqual([{ request_id: "committed" }]);
  });

  it("replaces a thread that stopped, rejecting what was in flight", async () => {
    const workers: Worker[] = [];
    const db = threadDb(workers);
    expect(await insertUsage(db, "sqlite", [row("before", T0)])).toBe(1);
    expect(workers).toHaveLength(1);
    const inFlight = insertUsage(db, "sqlite", [row("lost-or-kept", T0 + 1)]).then(
      () => "written",
      (e: unknown) => e,
    );
    await workers[0]!.terminate();
    const outcome = await inFlight;
    // The statement either finished before the thread stopped or was rejected; it never hangs.
    if (outcome !== "written") {
      expect(outcome).toBeInstanceOf(StoreError);
      expect((outcome as StoreError).message).toMatch(/^the SQLite write thread stopped/);
    }
    expect(await insertUsage(db, "sqlite", [row("after", T0 + 2)])).toBe(1);
    expect(workers).toHaveLength(2);
    const ids = (await store.db.selectFrom("usage").select("request_id").orderBy("at").execute()).map((r) => r.request_id);
    if (outcome === "written") expect(ids).toEqual(["before", "lost-or-kept", "after"]);
    // A rejected statement may still have committed just before the thread stopped, as with any lost reply: the
    // caller cannot tell, which is why the usage insert is idempotent and the write-behind retries.
    else expect(ids.filter((id) => id !== "lost-or-kept")).toEqual(["before", "after"]);
  });

  it("stops its thread when destroyed, and refuses statements afterwards", async () => {
    const workers: Worker[] = [];
    const db = threadDb(workers);
    await sql`select 1`.execute(db);
    const exited = new Promise<number>((resolve) => workers[0]!.once("exit", resolve));
    await db.destroy();
    expect(await exited).toBe(0);
    const err = await sql`select 1`.execute(db).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });

  it("fails with a StoreError naming the cause when the file cannot be opened", async () => {
    const db = new Kysely<Database>({ dialect: createSqliteThreadDialect(path.join(dir, "missing-dir", "sub", "x.sqlite")) });
    const err = await sql`select 1`.execute(db).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toBe("Cannot open database because the directory does not exist");
    await db.destroy();
  });

  it("is only started for a SQLite file that asks for it", async () => {
    const memory = await createDatabase({ sqlitePath: ":memory:", writeBehindThread: true });
    expect(memory.writeBehindDb).toBe(memory.db);
    await memory.close();
    n++;
    const plain = await createDatabase({ sqlitePath: file() });
    expect(plain.writeBehindDb).toBe(plain.db);
    await plain.close();
  });
});
