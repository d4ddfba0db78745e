import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../store/database.js";
import { getSetting } from "../../store/repos/setting-repo.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { JWT_SECRET_SETTING, loadJwtSecret } from "./jwt-secret.js";

const dialects = await testDialects();

describe.each(dialects)("JWT secret on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("uses JWT_SECRET when set, storing nothing", async () => {
    const bytes = randomBytes(32);
    expect(Buffer.from(await loadJwtSecret(store.db, bytes.toString("hex")))).toEqual(bytes);
    expect(await getSetting(store.db, JWT_SECRET_SETTING)).toBeUndefined();
  });

  it("refuses a short JWT_SECRET instead of falling back", async () => {
    await expect(loadJwtSecret(store.db, "change-me")).rejects.toThrow(/JWT_SECRET must be at least 32 random bytes/);
  });

  it("otherwise generates 32 bytes once and reuses them (restarts and replicas agree)", async () => {
    const first = await loadJwtSecret(store.db, undefined);
    expect(first).toHaveLength(32);
    expect(await loadJwtSecret(store.db, "")).toEqual(first);
    const racing = await Promise.all([loadJwtSecret(store.db, undefined), loadJwtSecret(store.db, undefined)]);
    expect(racing).toEqual([first, first]);
  });
});
