import { DummyDriver, Kysely, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { testDialects } from "../../test/helpers/store-dialects.js";
import { dialectOf } from "./dialect-of.js";
import { StoreError } from "./store-error.js";

const dialects = await testDialects();

describe.each(dialects)("dialectOf on $name", (dialect) => {
  afterAll(() => dialect.cleanup());

  it("names the store's engine for db and a transaction", async () => {
    const store = await dialect.open();
    try {
      expect(dialectOf(store.db)).toBe(dialect.dialect);
      expect(await store.db.transaction().execute(async (trx) => dialectOf(trx))).toBe(dialect.dialect);
    } finally {
      await store.close();
    }
  });
});

describe("dialectOf", () => {
  it("refuses an engine the store does not support", () => {
    const db = new Kysely({
      dialect: {
        createAdapter: () => new MysqlAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new MysqlIntrospector(db),
        createQueryCompiler: () => new MysqlQueryCompiler(),
      },
    });
    expect(() => dialectOf(db)).toThrow(new StoreError("unsupported database adapter MysqlAdapter"));
  });
});
