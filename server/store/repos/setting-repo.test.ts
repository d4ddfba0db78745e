import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { getOrInsertSetting, getSetting } from "./setting-repo.js";

const dialects = await testDialects();

describe.each(dialects)("setting repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("keeps the first value stored under a name", async () => {
    expect(await getSetting(store.db, "jwt_secret")).toBeUndefined();
    expect(await getOrInsertSetting(store.db, "jwt_secret", "first", 1)).toBe("first");
    expect(await getOrInsertSetting(store.db, "jwt_secret", "second", 2)).toBe("first");
    expect(await getSetting(store.db, "jwt_secret")).toBe("first");
  });

  it("gives racing writers the same value", async () => {
    const values = await Promise.all(["a", "b", "c", "d"].map((value, i) => getOrInsertSetting(store.db, "race", value, i)));
    expect(new Set(values).size).toBe(1);
  });
});
