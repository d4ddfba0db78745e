import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import type { NewUserRow } from "../tables/user-table.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { countEnabledSuperAdmins, deleteUser, findUserById, findUserByUsername, insertUser, listUsers, updateUser } from "./user-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function user(id: string, username: string, overrides: Partial<NewUserRow> = {}): NewUserRow {
  return {
    id,
    username,
    email: `${username}@example.com`,
    role: "user",
    password_hash: `$scrypt$hash-of-${username}`,
    disabled: 0,
    token_version: 0,
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

describe.each(dialects)("user repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column and finds a user by id and by username", async () => {
    const alice = user("usr_a", "alice", { role: "super_admin", disabled: 1, token_version: 4 });
    await insertUser(store.db, alice);
    expect(await findUserById(store.db, "usr_a")).toEqual(alice);
    expect(await findUserByUsername(store.db, "alice")).toEqual(alice);
    expect(await findUserById(store.db, "usr_missing")).toBeUndefined();
    expect(await findUserByUsername(store.db, "ALICE")).toBeUndefined();
  });

  it("refuses a second user with the same username", async () => {
    await insertUser(store.db, user("usr_a", "alice"));
    await expect(insertUser(store.db, user("usr_b", "alice"))).rejects.toThrow(/unique|duplicate/i);
  });

  it("refuses a role that is not one of the three", async () => {
    await expect(insertUser(store.db, user("usr_a", "alice", { role: "root" as "user" }))).rejects.toThrow(/check constraint/i);
  });

  it("pages through users by username", async () => {
    for (const name of ["dave", "alice", "carol", "bob", "erin"]) await insertUser(store.db, user(`usr_${name}`, name));
    const names = async (query: { after?: string; limit: number }) => (await listUsers(store.db, query)).map((u) => u.username);
    expect(await names({ limit: 2 })).toEqual(["alice", "bob"]);
    expect(await names({ after: "bob", limit: 2 })).toEqual(["carol", "dave"]);
    expect(await names({ after: "dave", limit: 2 })).toEqual(["erin"]);
    expect(await names({ after: "erin", limit: 2 })).toEqual([]);
  });

  it("updates columns, stamps updated_at and bumps the token version in SQL", async () => {
    await insertUser(store.db, user("usr_a", "alice", { token_version: 2 }));
    expect(await updateUser(store.db, "usr_a", { role: "admin", bumpTokenVersion: true }, T0 + 5)).toEqual(
      user("usr_a", "alice", { role: "admin", token_version: 3, updated_at: T0 + 5 }),
    );
    expect(await updateUser(store.db, "usr_a", { disabled: 1, password_hash: "$scrypt$new" }, T0 + 6)).toEqual(
      user("usr_a", "alice", { role: "admin", token_version: 3, disabled: 1, password_hash: "$scrypt$new", updated_at: T0 + 6 }),
    );
    expect(await updateUser(store.db, "usr_missing", { disabled: 1 }, T0)).toBeUndefined();
  });

  it("two concurrent bumps both count", async () => {
    await insertUser(store.db, user("usr_a", "alice"));
    await Promise.all([
      updateUser(store.db, "usr_a", { bumpTokenVersion: true }, T0 + 1),
      updateUser(store.db, "usr_a", { bumpTokenVersion: true }, T0 + 2),
    ]);
    expect((await findUserById(store.db, "usr_a"))?.token_version).toBe(2);
  });

  it("deletes a user", async () => {
    await insertUser(store.db, user("usr_a", "alice"));
    expect(await deleteUser(store.db, "usr_a")).toBe(true);
    expect(await deleteUser(store.db, "usr_a")).toBe(false);
    expect(await findUserById(store.db, "usr_a")).toBeUndefined();
  });

  it("counts enabled super admins only", async () => {
    expect(await countEnabledSuperAdmins(store.db)).toBe(0);
    await insertUser(store.db, user("usr_a", "alice", { role: "super_admin" }));
    await insertUser(store.db, user("usr_b", "bob", { role: "super_admin", disabled: 1 }));
    await insertUser(store.db, user("usr_c", "carol", { role: "admin" }));
    expect(await countEnabledSuperAdmins(store.db)).toBe(1);
  });
});
