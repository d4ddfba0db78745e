import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createDatabase, type Store } from "../../server/store/database.js";
import type { StoreDialect } from "../../server/store/dialect.js";

/**
 * Test support (used only by the store's `*.test.ts` files): the databases every store test runs against, each
 * able to open any number of fresh, fully migrated stores and to clean up after itself.
 */
export interface TestDialect {
  /** For test titles: `sqlite :memory:`, `sqlite file`, `postgres`. */
  readonly name: string;
  readonly dialect: StoreDialect;
  /** Opens a new, empty, migrated store that shares nothing with earlier ones. */
  open(): Promise<Store>;
  /** The options `open()` would use next, for tests that drive `createDatabase` themselves. */
  nextOptions(): Promise<{ url?: string; sqlitePath?: string }>;
  /** Removes every file or schema this dialect created. */
  cleanup(): Promise<void>;
}

/** The PostgreSQL server the tests use. */
const PG_URL = process.env.LLMUX_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/test";

/** Where the tests' PostgreSQL is, without credentials, for messages. */
function pgWhere(): string {
  try {
    const url = new URL(PG_URL);
    return `${url.host}${url.pathname}`;
  } catch {
    return "(unparsable LLMUX_TEST_PG_URL)";
  }
}

async function pgReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function sqliteMemory(): TestDialect {
  const options = async () => ({ sqlitePath: ":memory:" });
  return {
    name: "sqlite :memory:",
    dialect: "sqlite",
    nextOptions: options,
    open: async () => createDatabase(await options()),
    cleanup: async () => {},
  };
}

function sqliteFile(): TestDialect {
  const dir = mkdtempSync(path.join(tmpdir(), "llmux-store-"));
  let count = 0;
  // A nested directory that does not exist yet, so every test also checks that parent directories are created.
  const options = async () => ({ sqlitePath: path.join(dir, `db-${++count}`, "llmux.sqlite") });
  return {
    name: "sqlite file",
    dialect: "sqlite",
    nextOptions: options,
    open: async () => createDatabase(await options()),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Every store gets its own `llmux_test_<random>` schema, selected through the connection string's `options`, so
 * parallel test files and tests never see each other's tables; all of them are dropped in `cleanup()`.
 */
function postgres(): TestDialect {
  const schemas: string[] = [];
  async function admin<R>(run: (client: pg.Client) => Promise<R>): Promise<R> {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.end();
    }
  }
  const options = async () => {
    const schema = `llmux_test_${randomBytes(6).toString("hex")}`;
    await admin((client) => client.query(`create schema ${schema}`));
    schemas.push(schema);
    const url = new URL(PG_URL);
    url.searchParams.set("options", `-c search_path=${schema}`);
    return { url: url.toString() };
  };
  return {
    name: "postgres",
    dialect: "postgres",
    nextOptions: options,
    open: async () => createDatabase(await options()),
    cleanup: async () => {
      if (schemas.length === 0) return;
      const dropped = schemas.splice(0);
      await admin((client) => client.query(`drop schema if exists ${dropped.join(", ")} cascade`));
    },
  };
}

/**
 * SQLite in memory and in a temp file always; PostgreSQL at `LLMUX_TEST_PG_URL` (default the local test server).
 * If PostgreSQL cannot be reached it is still returned, so its tests fail, when `CI` or `LLMUX_TEST_PG_URL` is
 * set; only on a developer machine with neither is it left out, with a warning saying so.
 */
export async function testDialects(): Promise<TestDialect[]> {
  const dialects = [sqliteMemory(), sqliteFile()];
  if (process.env.CI || process.env.LLMUX_TEST_PG_URL || (await pgReachable())) dialects.push(postgres());
  else {
    console.warn(
      `PostgreSQL at ${pgWhere()} is unreachable: the store's PostgreSQL tests are NOT run. ` +
        "Start it or set LLMUX_TEST_PG_URL; with CI set they fail instead.",
    );
  }
  return dialects;
}
