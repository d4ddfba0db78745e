import { sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import type { Store } from "../database.js";
import { StoreError } from "../store-error.js";
import type { NewBackendRow } from "../tables/backend-table.js";
import {
  appendBackend,
  backendsUsingProvider,
  deleteBackend,
  findBackend,
  listBackends,
  setBackendPositions,
  updateBackend,
} from "./backend-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function backend(name: string, overrides: Partial<NewBackendRow> = {}): NewBackendRow {
  return {
    name,
    provider: "p",
    model: name,
    alias: null,
    context: null,
    vision: 0,
    thinking: 0,
    max_per_day: null,
    max_per_hour: null,
    max_per_5hours: null,
    model_match: [],
    key_rename: {},
    key_delete: [],
    key_add: {},
    fallbacks: [],
    gpt_oss_fix: 0,
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

describe.each(dialects)("backend repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column, JSON ones parsed back, with the same types", async () => {
    const full = backend("full", {
      provider: "vllm",
      model: "Qwen/Qwen3-8B",
      alias: "qwen",
      // Beyond PostgreSQL's integer: the column is bigint.
      context: 4_000_000_000,
      vision: 1,
      thinking: 1,
      max_per_day: 1_000_000_000,
      max_per_hour: 10,
      max_per_5hours: 40,
      model_match: ["claude-*", "gpt-?"],
      key_rename: { max_tokens: "max_completion_tokens" },
      key_delete: ["logprobs"],
      key_add: { temperature: 0.2, extra: { nested: [1, "two", null, true] } },
      fallbacks: ["gpt-4o"],
      gpt_oss_fix: 1,
    });
    expect(await appendBackend(store.db, full)).toBe(0);
    expect(await findBackend(store.db, "full")).toEqual({ ...full, position: 0 });
    expect(await findBackend(store.db, "nope")).toBeUndefined();
  });

  it("appends after the last position and lists in routing order", async () => {
    expect(await appendBackend(store.db, backend("c"))).toBe(0);
    expect(await appendBackend(store.db, backend("a"))).toBe(1);
    expect(await appendBackend(store.db, backend("b"))).toBe(2);
    expect((await listBackends(store.db)).map((b) => [b.name, b.position])).toEqual([["c", 0], ["a", 1], ["b", 2]]);
    await deleteBackend(store.db, "b");
    expect(await appendBackend(store.db, backend("d"))).toBe(2);
  });

  it("refuses a duplicate name", async () => {
    await appendBackend(store.db, backend("x"));
    await expect(appendBackend(store.db, backend("x"))).rejects.toThrow();
    expect((await listBackends(store.db)).length).toBe(1);
  });

  it("replaces settings but keeps position and creation time", async () => {
    await appendBackend(store.db, backend("a"));
    await appendBackend(store.db, backend("b", { context: 8192 }));
    const changed = backend("b", { provider: "q", model: "m2", context: null, model_match: ["x*"], created_at: T0 + 99, updated_at: T0 + 7 });
    expect(await updateBackend(store.db, changed)).toBe(true);
    expect(await findBackend(store.db, "b")).toEqual({ ...changed, created_at: T0, position: 1 });
    expect(await updateBackend(store.db, backend("nope"))).toBe(false);
  });

  it("sets positions from a full ordering", async () => {
    for (const name of ["a", "b", "c"]) await appendBackend(store.db, backend(name));
    await setBackendPositions(store.db, ["c", "a", "b"], T0 + 1);
    const rows = await listBackends(store.db);
    expect(rows.map((b) => [b.name, b.position, b.updated_at])).toEqual([["c", 0, T0 + 1], ["a", 1, T0 + 1], ["b", 2, T0 + 1]]);
  });

  it("lists the backends of a provider and deletes", async () => {
    await appendBackend(store.db, backend("b2", { provider: "p" }));
    await appendBackend(store.db, backend("b1", { provider: "p" }));
    await appendBackend(store.db, backend("other", { provider: "q" }));
    expect(await backendsUsingProvider(store.db, "p")).toEqual(["b1", "b2"]);
    expect(await backendsUsingProvider(store.db, "none")).toEqual([]);
    expect(await deleteBackend(store.db, "b1")).toBe(true);
    expect(await deleteBackend(store.db, "b1")).toBe(false);
    expect(await backendsUsingProvider(store.db, "p")).toEqual(["b2"]);
  });

  it("refuses a corrupt JSON column, naming the backend and column but not the content", async () => {
    await appendBackend(store.db, backend("bad"));
    await sql`update backend set model_match = ${'{"secret-ish": 1}'} where name = 'bad'`.execute(store.db);
    await expect(listBackends(store.db)).rejects.toEqual(new StoreError("backend bad: column model_match is not a JSON array of strings"));
    await sql`update backend set model_match = ${"not json"} where name = 'bad'`.execute(store.db);
    await expect(findBackend(store.db, "bad")).rejects.toEqual(new StoreError("backend bad: column model_match is not valid JSON"));
  });
});
