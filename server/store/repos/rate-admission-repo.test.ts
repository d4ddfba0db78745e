import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { insertAdmissions, loadRecentAdmissions, pruneAdmissions } from "./rate-admission-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;
const DAY = 24 * 60 * 60 * 1000;

describe.each(dialects)("rate admission repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("loads admissions since a time as ascending timestamps per backend, duplicates kept", async () => {
    await insertAdmissions(store.db, [
      { backend: "b1", at: T0 + 30 },
      { backend: "b2", at: T0 + 5 },
      { backend: "b1", at: T0 + 10 },
      { backend: "b1", at: T0 + 10 },
      { backend: "b1", at: T0 - 1 },
      { backend: "b3", at: T0 - DAY },
    ]);
    expect(await loadRecentAdmissions(store.db, T0)).toEqual(
      new Map([
        ["b1", [T0 + 10, T0 + 10, T0 + 30]],
        ["b2", [T0 + 5]],
      ]),
    );
  });

  it("prunes strictly before a time and says how many went", async () => {
    await insertAdmissions(store.db, [
      { backend: "b1", at: T0 - DAY - 1 },
      { backend: "b2", at: T0 - DAY - 1 },
      { backend: "b1", at: T0 - DAY },
      { backend: "b1", at: T0 },
    ]);
    expect(await pruneAdmissions(store.db, T0 - DAY)).toBe(2);
    expect(await pruneAdmissions(store.db, T0 - DAY)).toBe(0);
    expect(await loadRecentAdmissions(store.db, 0)).toEqual(new Map([["b1", [T0 - DAY, T0]]]));
  });

  it("does nothing for an empty batch", async () => {
    await insertAdmissions(store.db, []);
    expect(await loadRecentAdmissions(store.db, 0)).toEqual(new Map());
  });

  it("writes batches larger than one statement can carry", async () => {
    const rows = Array.from({ length: 12_000 }, (_, i) => ({ backend: i % 2 === 0 ? "even" : "odd", at: T0 + i }));
    await insertAdmissions(store.db, rows);
    const loaded = await loadRecentAdmissions(store.db, T0);
    expect([loaded.get("even")?.length, loaded.get("odd")?.length]).toEqual([6000, 6000]);
    expect(loaded.get("odd")?.slice(0, 3)).toEqual([T0 + 1, T0 + 3, T0 + 5]);
  });
});
