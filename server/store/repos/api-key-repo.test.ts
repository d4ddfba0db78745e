import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import type { NewApiKeyRow } from "../tables/api-key-table.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { deleteApiKeysOfOwner, findApiKeyByHash, findApiKeyById, insertApiKey, listApiKeys, revokeApiKey, touchApiKey } from "./api-key-repo.js";
import { deleteUser, insertUser } from "./user-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function key(id: string, ownerId: string, overrides: Partial<NewApiKeyRow> = {}): NewApiKeyRow {
  return {
    id,
    owner_id: ownerId,
    name: `key ${id}`,
    key_hash: `hash-${id}`,
    prefix: "llmux_abcd",
    last_four: "wxyz",
    allowed_models: [],
    requests_per_minute: 0,
    tokens_per_minute: 0,
    tokens_per_day: 0,
    expires_at: null,
    revoked_at: null,
    created_at: T0,
    last_used_at: null,
    ...overrides,
  };
}

describe.each(dialects)("api key repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
    for (const [id, username, role] of [["usr_a", "alice", "admin"], ["usr_b", "bob", "user"]] as const) {
      await insertUser(store.db, { id, username, email: "", role, password_hash: "h", disabled: 0, token_version: 0, created_at: T0, updated_at: T0 });
    }
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column, models as a JSON array, and reads them back typed", async () => {
    const full = key("key_1", "usr_a", {
      allowed_models: ["gpt-*", "claude-?-opus"],
      requests_per_minute: 60,
      tokens_per_minute: 100_000,
      tokens_per_day: 9_000_000_000_000,
      expires_at: T0 + 1000,
      revoked_at: T0 + 500,
      last_used_at: T0 + 1,
    });
    await insertApiKey(store.db, full);
    expect(await findApiKeyById(store.db, "key_1")).toEqual(full);
    expect(await findApiKeyById(store.db, "key_missing")).toBeUndefined();
  });

  it("finds a key by hash with its owner (no password hash), through a unique index", async () => {
    await insertApiKey(store.db, key("key_1", "usr_a"));
    expect(await findApiKeyByHash(store.db, "hash-key_1")).toEqual({
      key: key("key_1", "usr_a"),
      owner: { id: "usr_a", username: "alice", role: "admin", disabled: 0 },
    });
    expect(await findApiKeyByHash(store.db, "hash-other")).toBeUndefined();
    expect(await findApiKeyByHash(store.db, "' OR 1=1 --")).toBeUndefined();
    await expect(insertApiKey(store.db, key("key_2", "usr_b", { key_hash: "hash-key_1" }))).rejects.toThrow(/unique|duplicate/i);
  });

  it("refuses a key whose owner does not exist", async () => {
    await expect(insertApiKey(store.db, key("key_1", "usr_missing"))).rejects.toThrow(/foreign key/i);
  });

  it("lists newest first, per owner, and only active keys when asked", async () => {
    await insertApiKey(store.db, key("key_1", "usr_a", { created_at: T0 }));
    await insertApiKey(store.db, key("key_2", "usr_b", { created_at: T0 + 1 }));
    await insertApiKey(store.db, key("key_3", "usr_a", { created_at: T0 + 2, revoked_at: T0 + 3 }));
    await insertApiKey(store.db, key("key_4", "usr_a", { created_at: T0 + 3, expires_at: T0 + 10 }));
    await insertApiKey(store.db, key("key_5", "usr_a", { created_at: T0 + 3, expires_at: T0 + 11 }));
    const ids = async (query: Parameters<typeof listApiKeys>[1]) => (await listApiKeys(store.db, query)).map((k) => k.id);
    expect(await ids({})).toEqual(["key_5", "key_4", "key_3", "key_2", "key_1"]);
    expect(await ids({ ownerId: "usr_b" })).toEqual(["key_2"]);
    expect(await ids({ ownerId: "usr_a", activeAt: T0 + 10 })).toEqual(["key_5", "key_1"]);
    expect(await ids({ activeAt: T0 + 5 })).toEqual(["key_5", "key_4", "key_2", "key_1"]);
  });

  it("revokes once, keeping the first revocation time", async () => {
    await insertApiKey(store.db, key("key_1", "usr_a"));
    expect((await revokeApiKey(store.db, "key_1", T0 + 5))?.revoked_at).toBe(T0 + 5);
    expect((await revokeApiKey(store.db, "key_1", T0 + 9))?.revoked_at).toBe(T0 + 5);
    expect(await revokeApiKey(store.db, "key_missing", T0)).toBeUndefined();
  });

  it("records the last use", async () => {
    await insertApiKey(store.db, key("key_1", "usr_a"));
    await touchApiKey(store.db, "key_1", T0 + 42);
    expect((await findApiKeyById(store.db, "key_1"))?.last_used_at).toBe(T0 + 42);
  });

  it("deletes an owner's keys, after which the owner can be deleted", async () => {
    await insertApiKey(store.db, key("key_1", "usr_a"));
    await insertApiKey(store.db, key("key_2", "usr_a"));
    await insertApiKey(store.db, key("key_3", "usr_b"));
    await expect(deleteUser(store.db, "usr_a")).rejects.toThrow(/foreign key/i);
    expect(await deleteApiKeysOfOwner(store.db, "usr_a")).toBe(2);
    expect(await deleteUser(store.db, "usr_a")).toBe(true);
    expect((await listApiKeys(store.db, {})).map((k) => k.id)).toEqual(["key_3"]);
  });
});
