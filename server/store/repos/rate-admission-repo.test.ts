import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { admitIfUnder, loadRecentAdmissions, pruneAdmissions } from "./rate-admission-repo.js";

const dialects = await testDialects();
/** A whole second. */
const T0 = 1_795_000_000_000;
const S0 = T0 / 1000;
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

describe.each(dialects)("rate admission repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  const insert = (rows: Array<{ backend: string; at: number }>) => store.db.insertInto("rate_admission").values(rows).execute();

  it("loads admissions after a time counted per second (rounded up), ascending per backend", async () => {
    await insert([
      { backend: "b1", at: T0 + 1500 },
      { backend: "b2", at: T0 + 5 },
      { backend: "b1", at: T0 + 10 },
      { backend: "b1", at: T0 + 1000 },
      { backend: "b1", at: T0 + 1000 },
      { backend: "b1", at: T0 },
      { backend: "b3", at: T0 - DAY },
    ]);
    expect(await loadRecentAdmissions(store.db, T0)).toEqual(
      new Map([
        ["b1", [{ second: S0 + 1, count: 3 }, { second: S0 + 2, count: 1 }]],
        ["b2", [{ second: S0 + 1, count: 1 }]],
      ]),
    );
    expect(await loadRecentAdmissions(store.db, T0 + 2000)).toEqual(new Map());
  });

  it("prunes strictly before a time and says how many went", async () => {
    await insert([
      { backend: "b1", at: T0 - DAY - 1 },
      { backend: "b2", at: T0 - DAY - 1 },
      { backend: "b1", at: T0 - DAY },
      { backend: "b1", at: T0 },
    ]);
    expect(await pruneAdmissions(store.db, T0 - DAY)).toBe(2);
    expect(await pruneAdmissions(store.db, T0 - DAY)).toBe(0);
    expect(await loadRecentAdmissions(store.db, 0)).toEqual(new Map([["b1", [{ second: S0 - DAY / 1000, count: 1 }, { second: S0, count: 1 }]]]));
  });

  it("admits up to each window's limit, then says when the oldest counted admission leaves", async () => {
    const windows = [
      { spanMs: HOUR, limit: 2 },
      { spanMs: DAY, limit: 3 },
    ];
    const admit = (at: number) => admitIfUnder(store.db, store.dialect, "b1", at, windows);
    expect(await admit(T0)).toBeUndefined();
    expect(await admit(T0 + 10)).toBeUndefined();
    expect(await admit(T0 + 20)).toBe(T0 + HOUR);
    expect(await admit(T0 + HOUR)).toBeUndefined();
    expect(await admit(T0 + HOUR + 1)).toBe(T0 + DAY);
    // Another backend has windows of its own.
    expect(await admitIfUnder(store.db, store.dialect, "b2", T0 + HOUR + 1, windows)).toBeUndefined();
    expect(await loadRecentAdmissions(store.db, 0)).toEqual(
      new Map([
        ["b1", [{ second: S0, count: 1 }, { second: S0 + 1, count: 1 }, { second: S0 + 3600, count: 1 }]],
        ["b2", [{ second: S0 + 3601, count: 1 }]],
      ]),
    );
  });
});
