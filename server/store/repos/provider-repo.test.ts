import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import type { Store } from "../database.js";
import type { NewProviderRow } from "../tables/provider-table.js";
import { deleteProvider, findProvider, insertProvider, listProviders, updateProvider } from "./provider-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function provider(name: string, overrides: Partial<NewProviderRow> = {}): NewProviderRow {
  return { name, kind: "openai", base_url: `http://${name}:8000/v1`, api_key_sealed: null, created_at: T0, updated_at: T0, ...overrides };
}

describe.each(dialects)("provider repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column and lists by name", async () => {
    await insertProvider(store.db, provider("zeta", { kind: "anthropic", base_url: "https://api.anthropic.com", api_key_sealed: "v1.sealed" }));
    await insertProvider(store.db, provider("alpha", { kind: "mock", base_url: "" }));
    expect(await listProviders(store.db)).toEqual([
      { name: "alpha", kind: "mock", base_url: "", api_key_sealed: null, created_at: T0, updated_at: T0 },
      { name: "zeta", kind: "anthropic", base_url: "https://api.anthropic.com", api_key_sealed: "v1.sealed", created_at: T0, updated_at: T0 },
    ]);
    expect(await findProvider(store.db, "zeta")).toMatchObject({ kind: "anthropic" });
    expect(await findProvider(store.db, "nope")).toBeUndefined();
  });

  it("refuses a duplicate name and an unknown kind", async () => {
    await insertProvider(store.db, provider("p"));
    await expect(insertProvider(store.db, provider("p"))).rejects.toThrow();
    await expect(insertProvider(store.db, provider("q", { kind: "grpc" as "openai" }))).rejects.toThrow();
    expect((await listProviders(store.db)).map((p) => p.name)).toEqual(["p"]);
  });

  it("updates only the given columns and says whether the provider exists", async () => {
    await insertProvider(store.db, provider("p", { api_key_sealed: "v1.old" }));
    expect(await updateProvider(store.db, "p", { base_url: "http://other:1/v1", updated_at: T0 + 5 })).toBe(true);
    expect(await findProvider(store.db, "p")).toEqual({
      name: "p",
      kind: "openai",
      base_url: "http://other:1/v1",
      api_key_sealed: "v1.old",
      created_at: T0,
      updated_at: T0 + 5,
    });
    expect(await updateProvider(store.db, "p", { api_key_sealed: null, updated_at: T0 + 6 })).toBe(true);
    expect((await findProvider(store.db, "p"))?.api_key_sealed).toBeNull();
    expect(await updateProvider(store.db, "nope", { updated_at: T0 })).toBe(false);
  });

  it("deletes and says whether it did", async () => {
    await insertProvider(store.db, provider("p"));
    expect(await deleteProvider(store.db, "p")).toBe(true);
    expect(await deleteProvider(store.db, "p")).toBe(false);
    expect(await listProviders(store.db)).toEqual([]);
  });
});
