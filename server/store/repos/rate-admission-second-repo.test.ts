import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { addAdmissionSeconds, loadAdmissionSeconds, pruneAdmissionSeconds } from "./rate-admission-second-repo.js";

const dialects = await testDialects();
/** An epoch second, and its start in epoch ms. */
const S0 = 1_795_000_000;
const T0 = S0 * 1000;
const DAY_S = 24 * 60 * 60;

describe.each(dialects)("rate admission second repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("sums a batch per backend and second, and adds it to what is stored", async () => {
    await addAdmissionSeconds(store.db, [
      { backend: "b1", second: S0, count: 1 },
      { backend: "b1", second: S0 + 1, count: 1 },
      { backend: "b1", second: S0, count: 1 },
      { backend: "b2", second: S0, count: 4 },
    ]);
    await addAdmissionSeconds(store.db, [
      { backend: "b1", second: S0 + 1, count: 1 },
      { backend: "b1", second: S0 + 1, count: 1 },
      { backend: "b1", second: S0 - 1, count: 1 },
    ]);
    expect(await store.db.selectFrom("rate_admission_second").select(["backend", "second", "count"]).orderBy("backend").orderBy("second").execute()).toEqual([
      { backend: "b1", second: S0 - 1, count: 1 },
      { backend: "b1", second: S0, count: 2 },
      { backend: "b1", second: S0 + 1, count: 3 },
      { backend: "b2", second: S0, count: 4 },
    ]);
  });

  it("loads the seconds that end after a time, ascending per backend", async () => {
    await addAdmissionSeconds(store.db, [
      { backend: "b1", second: S0 + 30, count: 2 },
      { backend: "b2", second: S0 + 5, count: 1 },
      { backend: "b1", second: S0 + 10, count: 7 },
      { backend: "b1", second: S0, count: 1 },
      { backend: "b3", second: S0 - DAY_S, count: 1 },
    ]);
    // Second S0 ended at T0: it no longer counts at T0 and after.
    expect(await loadAdmissionSeconds(store.db, T0)).toEqual(
      new Map([
        ["b1", [{ second: S0 + 10, count: 7 }, { second: S0 + 30, count: 2 }]],
        ["b2", [{ second: S0 + 5, count: 1 }]],
      ]),
    );
    expect((await loadAdmissionSeconds(store.db, T0 - 1)).get("b1")).toEqual([
      { second: S0, count: 1 },
      { second: S0 + 10, count: 7 },
      { second: S0 + 30, count: 2 },
    ]);
  });

  it("prunes the seconds that ended at or before a time and says how many went", async () => {
    await addAdmissionSeconds(store.db, [
      { backend: "b1", second: S0 - 1, count: 5 },
      { backend: "b2", second: S0, count: 1 },
      { backend: "b1", second: S0 + 1, count: 1 },
    ]);
    expect(await pruneAdmissionSeconds(store.db, T0 + 999)).toBe(2);
    expect(await pruneAdmissionSeconds(store.db, T0 + 999)).toBe(0);
    expect(await loadAdmissionSeconds(store.db, 0)).toEqual(new Map([["b1", [{ second: S0 + 1, count: 1 }]]]));
  });

  it("does nothing for an empty batch", async () => {
    await addAdmissionSeconds(store.db, []);
    expect(await loadAdmissionSeconds(store.db, 0)).toEqual(new Map());
  });

  it("writes batches of more seconds than one statement can carry", async () => {
    const rows = Array.from({ length: 12_000 }, (_, i) => ({ backend: i % 2 === 0 ? "even" : "odd", second: S0 + i, count: 1 }));
    await addAdmissionSeconds(store.db, [...rows, ...rows]);
    const loaded = await loadAdmissionSeconds(store.db, 0);
    expect([loaded.get("even")?.length, loaded.get("odd")?.length]).toEqual([6000, 6000]);
    expect(loaded.get("odd")?.slice(0, 2)).toEqual([{ second: S0 + 1, count: 2 }, { second: S0 + 3, count: 2 }]);
  });
});
