import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPasswordHasher } from "../../auth/passwords.js";
import type { Store } from "../../store/database.js";
import { listAuditEvents } from "../../store/repos/audit-repo.js";
import { findUserByUsername, updateUser } from "../../store/repos/user-repo.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { bootstrapSuperAdmin, createSuperAdmin } from "./bootstrap.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;
const passwords = createPasswordHasher({ logN: 8, r: 8, p: 1 });

describe.each(dialects)("super admin bootstrap on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("creates the first super admin once, with a generated password that verifies, and audits it", async () => {
    const created = await bootstrapSuperAdmin(store.db, { now: () => T0, passwords });
    expect(created).toEqual({ userId: expect.stringMatching(/^usr_/), username: "admin", password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    const row = await findUserByUsername(store.db, "admin");
    expect(row).toMatchObject({ id: created!.userId, role: "super_admin", disabled: 0, token_version: 0, created_at: T0 });
    expect(await passwords.verify(created!.password, row!.password_hash)).toBe(true);
    expect(row!.password_hash).not.toContain(created!.password);
    expect(await bootstrapSuperAdmin(store.db, { passwords })).toBeUndefined();
    expect((await listAuditEvents(store.db, { limit: 10 })).map((e) => [e.actor, e.target, e.allowed, e.detail])).toEqual([
      ["system:first-start", created!.userId, 1, "created super admin admin with a generated password"],
    ]);
  });

  it("never uses a fixed password", async () => {
    const a = await createSuperAdmin(store.db, { username: "a", passwords });
    const b = await createSuperAdmin(store.db, { username: "b", passwords });
    expect(a.password).not.toBe(b.password);
  });

  it("creates one again when every super admin is disabled, under another name", async () => {
    const first = await bootstrapSuperAdmin(store.db, { passwords });
    await updateUser(store.db, first!.userId, { disabled: 1 }, T0);
    await expect(bootstrapSuperAdmin(store.db, { passwords })).rejects.toThrow("[invalid_argument] username admin is taken; choose another");
    expect((await bootstrapSuperAdmin(store.db, { username: "rescue", passwords }))?.username).toBe("rescue");
  });

  it("creates exactly one when replicas start together", async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => bootstrapSuperAdmin(store.db, { passwords })));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });
});
