import { renameSync } from "node:fs";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, type Store } from "./database.js";
import { insertUsage, queryUsage } from "./repos/usage-repo.js";
import { StoreError } from "./store-error.js";
import type { NewUsageRow } from "./tables/usage-table.js";
import { testDialects } from "../../test/helpers/store-dialects.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;
const ALL_TIME = { from: 0, to: Number.MAX_SAFE_INTEGER };

function usageRow(id: number): NewUsageRow {
  return {
    request_id: `req-${id}`,
    at: T0 + id,
    principal: null,
    client_dialect: "openai",
    model: "gpt-x",
    backend: "b1",
    provider: "openai",
    outcome: "ok",
    status: 200,
    input_tokens: id,
    output_tokens: 2 * id,
    cache_read_tokens: 0,
    cache_creation_tokens: 0,
    latency_ms: 10,
    ttft_ms: null,
    attempts: 1,
    stream: 0,
    error: null,
  };
}

const rows = (from: number, count: number): NewUsageRow[] => Array.from({ length: count }, (_, i) => usageRow(from + i));

async function storedIds(store: Store): Promise<string[]> {
  return (await queryUsage(store.db, ALL_TIME)).map((row) => row.request_id);
}

/** The next worker thread this process starts (Node announces each one on `process`). */
function nextWorker(): Promise<Worker> {
  return new Promise((resolve) => process.once("worker", resolve));
}

describe.each(dialects)("background on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("is a worker-backed query builder on a SQLite file and db itself elsewhere", () => {
    expect(store.background === store.db).toBe(dialect.name !== "sqlite file");
  });

  it("writes rows that db reads, counting only new ones past ON CONFLICT", async () => {
    expect(await insertUsage(store.background, rows(0, 3))).toBe(3);
    expect(await insertUsage(store.background, rows(2, 3))).toBe(2);
    expect(await insertUsage(store.background, rows(0, 5))).toBe(0);
    expect(await storedIds(store)).toEqual(["req-0", "req-1", "req-2", "req-3", "req-4"]);
  });

  it("runs every one of the statements sent at once", async () => {
    const counts = await Promise.all([0, 1, 2].map((batch) => insertUsage(store.background, rows(batch * 500, 500))));
    expect(counts).toEqual([500, 500, 500]);
    expect((await storedIds(store)).length).toBe(1500);
  });
});

describe.each(dialects.filter((d) => d.dialect === "sqlite"))("background errors on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("rejects a failing statement with the error the main connection would throw", async () => {
    const failure = await insertUsage(store.background, [{ ...usageRow(1), request_id: "" }]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(SqliteDatabase.SqliteError);
    expect(failure).toMatchObject({ message: "CHECK constraint failed: request_id <> ''", code: "SQLITE_CONSTRAINT_CHECK" });
    expect(await insertUsage(store.background, [usageRow(2)])).toBe(1);
  });
});

describe("background on a SQLite file", () => {
  const dialect = dialects.find((d) => d.name === "sqlite file")!;
  let file: string;
  let store: Store;
  beforeEach(async () => {
    file = (await dialect.nextOptions()).sqlitePath!;
    store = await createDatabase({ sqlitePath: file });
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("refuses transactions", async () => {
    await expect(store.background.transaction().execute(async () => {})).rejects.toThrow(
      new StoreError("the background database runs single statements only: use a transaction on the store's db"),
    );
  });

  it("close waits for the statement in flight, then the worker is gone and later statements are refused", async () => {
    const started = nextWorker();
    const inFlight = insertUsage(store.background, rows(0, 1000));
    // Node announces a worker after its constructor returned, and the first statement is posted right then.
    const worker = await started;
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    await store.close();
    expect(await exited).toBe(0);
    expect(await inFlight).toBe(1000);
    await expect(insertUsage(store.background, [usageRow(1000)])).rejects.toThrow("driver has already been destroyed");
    store = await createDatabase({ sqlitePath: file });
    expect((await storedIds(store)).length).toBe(1000);
  });

  it("rejects the statements of a worker that dies, and starts a new one for later statements", async () => {
    const started = nextWorker();
    const pending = insertUsage(store.background, [usageRow(1)]);
    // Terminated at once, while the thread is still starting: it cannot have answered.
    const code = await (await started).terminate();
    await expect(pending).rejects.toThrow(new StoreError(`the SQLite background worker exited (code ${code}) before answering`));
    expect(await insertUsage(store.background, [usageRow(2)])).toBe(1);
    expect(await storedIds(store)).toEqual(["req-2"]);
  });

  it("rejects, without hanging, every statement while its worker cannot open the file", async () => {
    const dir = path.dirname(file);
    // The main connection keeps its open file; a new connection finds no directory.
    renameSync(dir, `${dir}-moved`);
    try {
      const refused = new StoreError("the SQLite background worker failed: Cannot open database because the directory does not exist");
      await expect(insertUsage(store.background, [usageRow(1)])).rejects.toThrow(refused);
      await expect(insertUsage(store.background, [usageRow(2)])).rejects.toThrow(refused);
    } finally {
      renameSync(`${dir}-moved`, dir);
    }
    expect(await insertUsage(store.background, [usageRow(3)])).toBe(1);
  });

  it("holds the write lock for a transaction on db from its start, so a background write cannot invalidate its reads", async () => {
    const other = new SqliteDatabase(file, { timeout: 0 });
    const probe = other.prepare("insert into setting (name, value, updated_at) values ('probe', 'x', 1)");
    try {
      await store.db.transaction().execute(async (trx) => {
        expect(await queryUsage(trx, ALL_TIME)).toEqual([]);
        // A second connection cannot commit between this read and the write below.
        expect(() => probe.run()).toThrow("database is locked");
        await insertUsage(trx, [usageRow(1)]);
      });
      expect(probe.run().changes).toBe(1);
    } finally {
      other.close();
    }
    expect(await storedIds(store)).toEqual(["req-1"]);
  });
});
