import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { clearLoginAttempts, deleteLoginAttempt, pruneLoginAttempts, recentLoginAttempts, recordLoginAttempt } from "./login-attempt-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;
const alice = { username: "alice", address: "10.0.0.1" };

describe.each(dialects)("login attempt repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("counts attempts per username and address since a time, ascending", async () => {
    await recordLoginAttempt(store.db, "att_1", alice, T0 + 2);
    await recordLoginAttempt(store.db, "att_2", alice, T0);
    await recordLoginAttempt(store.db, "att_3", alice, T0 - 1);
    await recordLoginAttempt(store.db, "att_4", { ...alice, address: "10.0.0.2" }, T0);
    await recordLoginAttempt(store.db, "att_5", { ...alice, username: "bob" }, T0);
    expect(await recentLoginAttempts(store.db, alice, T0)).toEqual([T0, T0 + 2]);
  });

  it("withdraws one attempt, clears a key, prunes old ones", async () => {
    await recordLoginAttempt(store.db, "att_1", alice, T0);
    await recordLoginAttempt(store.db, "att_2", alice, T0);
    await recordLoginAttempt(store.db, "att_3", { ...alice, username: "bob" }, T0 - 10);
    await deleteLoginAttempt(store.db, "att_1");
    expect(await recentLoginAttempts(store.db, alice, 0)).toEqual([T0]);
    await clearLoginAttempts(store.db, alice);
    expect(await recentLoginAttempts(store.db, alice, 0)).toEqual([]);
    expect(await pruneLoginAttempts(store.db, T0)).toBe(1);
    expect(await recentLoginAttempts(store.db, { ...alice, username: "bob" }, 0)).toEqual([]);
  });
});
