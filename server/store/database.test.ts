import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql, type Migration } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, type Store } from "./database.js";
import { migrateDownAll, migrateToLatest } from "./migrate.js";
import { MIGRATIONS } from "./migrations/index.js";
import { insertUsage, queryUsage } from "./repos/usage-repo.js";
import { StoreError } from "./store-error.js";
import type { NewUsageRow } from "./tables/usage-table.js";
import { testDialects } from "../../test/helpers/store-dialects.js";
import { createWriteBehind } from "./write-behind.js";

const dialects = await testDialects();
const FIRST = "2026_11_22_0001_create_rate_and_usage";
const ALL = Object.keys(MIGRATIONS);
const TABLES = ["api_key", "audit_event", "backend", "login_attempt", "provider", "rate_admission", "rate_admission_second", "setting", "usage", "user"];

function usageRow(id: number): NewUsageRow {
  return {
    request_id: `req-${id}`,
    at: 1_795_000_000_000 + id,
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
    usage_estimated: 0,
    truncated: 0,
  };
}

/** The tables of this store, kysely's bookkeeping left out (on PostgreSQL the store sees only its own schema), sorted. */
async function tableNames(store: Store): Promise<string[]> {
  return (await store.db.introspection.getTables()).map((table) => table.name).sort();
}

describe.each(dialects)("$name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("opens migrated, with every column of every table", async () => {
    expect(store.dialect).toBe(dialect.dialect);
    expect(await tableNames(store)).toEqual(TABLES);
    const tables = await store.db.introspection.getTables();
    const columns = Object.fromEntries(tables.map((table) => [table.name, table.columns.map((column) => column.name)]));
    expect(columns).toEqual({
      api_key: [
        "id", "owner_id", "name", "key_hash", "prefix", "last_four", "allowed_models", "requests_per_minute",
        "tokens_per_minute", "tokens_per_day", "expires_at", "revoked_at", "created_at", "last_used_at",
      ],
      audit_event: ["id", "at", "actor", "action", "target", "allowed", "detail"],
      backend: [
        "name", "position", "provider", "model", "alias", "context", "vision", "thinking", "max_per_day", "max_per_hour",
        "max_per_5hours", "model_match", "key_rename", "key_delete", "key_add", "fallbacks", "gpt_oss_fix", "created_at",
        "updated_at",
      ],
      login_attempt: ["id", "username", "address", "at"],
      provider: ["name", "kind", "base_url", "api_key_sealed", "created_at", "updated_at"],
      rate_admission: ["backend", "at"],
      rate_admission_second: ["backend", "second", "count"],
      setting: ["name", "value", "updated_at"],
      usage: [
        "request_id", "at", "principal", "client_dialect", "model", "backend", "provider", "outcome", "status",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "latency_ms", "ttft_ms",
        "attempts", "stream", "error", "key_id", "user_id", "usage_estimated", "truncated",
      ],
      user: ["id", "username", "email", "role", "password_hash", "disabled", "token_version", "created_at", "updated_at"],
    });
  });

  it("migrates down and up again, and up is a no-op when current", async () => {
    expect(await migrateToLatest(store.db)).toEqual([]);
    expect(await migrateDownAll(store.db)).toEqual([...ALL].reverse());
    expect(await tableNames(store)).toEqual([]);
    expect(await migrateToLatest(store.db)).toEqual(ALL);
    expect(await tableNames(store)).toEqual(TABLES);
    expect(await insertUsage(store.db, store.dialect, [usageRow(1)])).toBe(1);
  });

  it("applies a failing run in one transaction: nothing of it remains", async () => {
    await migrateDownAll(store.db);
    const broken: Migration = {
      up: async (db) => {
        await db.schema.createTable("broken_probe").addColumn("id", "text").execute();
        throw new Error("boom");
      },
    };
    const migrations = { ...MIGRATIONS, "2099_01_01_0001_broken": broken };
    await expect(migrateToLatest(store.db, migrations)).rejects.toThrow(
      new StoreError("database migration failed at 2099_01_01_0001_broken (up); nothing was changed: boom"),
    );
    expect(await tableNames(store)).toEqual([]);
    expect(await migrateToLatest(store.db)).toEqual(ALL);
  });

  it("refuses a database migrated by a newer build", async () => {
    const { [FIRST]: first, ...none } = MIGRATIONS;
    expect(first).toBeDefined();
    await expect(migrateToLatest(store.db, none)).rejects.toThrow(
      new StoreError(
        `database migration failed; nothing was changed: corrupted migrations: previously executed migration ${FIRST} is missing`,
      ),
    );
  });
});

describe.each(dialects.filter((d) => d.dialect === "sqlite"))("$name pragmas", (dialect) => {
  afterAll(() => dialect.cleanup());

  it("reads back the durability settings", async () => {
    const store = await dialect.open();
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(store.db)).rows[0] as object)[0];
      // An in-memory database has no WAL; its journal is kept in memory.
      expect(await pragma("journal_mode")).toBe(dialect.name === "sqlite file" ? "wal" : "memory");
      expect(await pragma("synchronous")).toBe(2); // FULL
      expect(await pragma("busy_timeout")).toBe(5000);
      expect(await pragma("foreign_keys")).toBe(1);
      expect(await pragma("cache_size")).toBe(-2000); // 2 MB, not better-sqlite3's 16 MB
    } finally {
      await store.close();
    }
  });
});

describe("sqlite file crash safety", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "llmux-crash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function check(file: string, expectedRows: number): Promise<void> {
    const store = await createDatabase({ sqlitePath: file });
    try {
      expect((await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db)).rows).toEqual([{ integrity_check: "ok" }]);
      expect((await sql`pragma foreign_key_check`.execute(store.db)).rows).toEqual([]);
      const rows = await queryUsage(store.db, { from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(rows.map((row) => row.request_id)).toEqual(Array.from({ length: expectedRows }, (_, i) => usageRow(i).request_id));
      expect(rows.reduce((sum, row) => sum + row.input_tokens, 0)).toBe((expectedRows * (expectedRows - 1)) / 2);
    } finally {
      await store.close();
    }
  }

  it("keeps every row written through the write-behind queue across close and reopen", async () => {
    const file = path.join(dir, "closed", "llmux.sqlite");
    const store = await createDatabase({ sqlitePath: file });
    const queue = createWriteBehind<NewUsageRow>(async (batch) => void (await insertUsage(store.db, store.dialect, batch)), {
      flushMs: 60_000,
      maxBatch: 50,
      maxQueued: 1000,
      onError: (err) => {
        throw err;
      },
    });
    for (let i = 0; i < 120; i++) queue.push(usageRow(i));
    await queue.close();
    await store.close();
    await check(file, 120);
  });

  it("recovers committed rows from the WAL when the process dies without closing", async () => {
    const file = path.join(dir, "open", "llmux.sqlite");
    const store = await createDatabase({ sqlitePath: file });
    try {
      await insertUsage(store.db, store.dialect, Array.from({ length: 30 }, (_, i) => usageRow(i)));
      // The files as a kill -9 would leave them: the connection is still open and the WAL not checkpointed.
      expect(existsSync(`${file}-wal`)).toBe(true);
      const crashed = path.join(dir, "crashed", "llmux.sqlite");
      mkdirSync(path.dirname(crashed));
      copyFileSync(file, crashed);
      copyFileSync(`${file}-wal`, `${crashed}-wal`);
      await check(crashed, 30);
    } finally {
      await store.close();
    }
  });
});

describe("createDatabase failures", () => {
  it("refuses a url that is not PostgreSQL, without echoing it", async () => {
    await expect(createDatabase({ url: "mysql://root:s3cret@db/llmux" })).rejects.toThrow(
      new StoreError("unsupported database url: expected postgres:// or postgresql://"),
    );
  });

  it("reports an unreachable PostgreSQL as a migration failure, without the password", async () => {
    const failure = await createDatabase({ url: "postgres://llmux:s3cret@127.0.0.1:1/llmux" }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).message).toBe("database migration failed; nothing was changed: connect ECONNREFUSED 127.0.0.1:1");
  });

  it("reports a SQLite path that cannot be opened", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llmux-bad-"));
    try {
      // The path is a directory, which SQLite cannot open as a database file.
      await expect(createDatabase({ sqlitePath: dir })).rejects.toThrow(new StoreError("cannot open the SQLite database: unable to open database file"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(dialects.filter((d) => d.dialect === "postgres"))("$name specifics", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("parses int8 to number and refuses values beyond 2^53", async () => {
    expect((await sql<{ n: unknown }>`select 1795000000000::int8 as n`.execute(store.db)).rows).toEqual([{ n: 1_795_000_000_000 }]);
    await expect(sql`select 9007199254740993::int8 as n`.execute(store.db)).rejects.toThrow(
      new StoreError("int8 value 9007199254740993 exceeds the safe integer range"),
    );
  });

  it("sees only its own schema, so other schemas' tables neither confuse the migrator nor show up", async () => {
    const other = await createDatabase(await dialect.nextOptions());
    try {
      await other.db.schema.createTable("elsewhere").addColumn("id", "text").execute();
      expect(await tableNames(other)).toEqual(["elsewhere", ...TABLES].sort());
      expect(await tableNames(store)).toEqual(TABLES);
      const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
      const [{ schema }] = (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows as [{ schema: string }];
      expect(tables.map((table) => [table.schema, table.name])).toEqual(
        ["kysely_migration", "kysely_migration_lock", ...TABLES].sort().map((name) => [schema, name]),
      );
    } finally {
      await other.close();
    }
  });

  it("refuses a search_path naming no existing schema", async () => {
    const { url } = await dialect.nextOptions();
    const missing = new URL(url!);
    missing.searchParams.set("options", "-c search_path=llmux_test_missing_schema");
    await expect(createDatabase({ url: missing.toString() })).rejects.toThrow(
      new StoreError("database migration failed; nothing was changed: no schema has been selected to create in"),
    );
  });
});
