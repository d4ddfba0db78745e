import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import type { NewAuditEventRow } from "../tables/audit-event-table.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { insertAuditEvent, listAuditEvents } from "./audit-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function event(id: string, at: number, actor = "usr_a"): NewAuditEventRow {
  return { id, at, actor, action: "llmux.admin.v1.AdminService/CreateUser", target: "usr_x", allowed: 1, detail: "created" };
}

describe.each(dialects)("audit repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column", async () => {
    const denied: NewAuditEventRow = { ...event("aud_1", T0), allowed: 0, actor: "", target: "", detail: "role user lacks ADMIN" };
    await insertAuditEvent(store.db, denied);
    expect(await listAuditEvents(store.db, { limit: 10 })).toEqual([denied]);
  });

  it("lists newest first with ties broken by id, pages by position, and filters by actor", async () => {
    await insertAuditEvent(store.db, event("aud_a", T0));
    await insertAuditEvent(store.db, event("aud_c", T0 + 1, "usr_b"));
    await insertAuditEvent(store.db, event("aud_b", T0 + 1));
    await insertAuditEvent(store.db, event("aud_d", T0 + 2));
    const ids = async (query: Parameters<typeof listAuditEvents>[1]) => (await listAuditEvents(store.db, query)).map((e) => e.id);
    expect(await ids({ limit: 10 })).toEqual(["aud_d", "aud_c", "aud_b", "aud_a"]);
    expect(await ids({ limit: 2 })).toEqual(["aud_d", "aud_c"]);
    expect(await ids({ limit: 2, before: { at: T0 + 1, id: "aud_c" } })).toEqual(["aud_b", "aud_a"]);
    expect(await ids({ limit: 2, before: { at: T0, id: "aud_a" } })).toEqual([]);
    expect(await ids({ limit: 10, actor: "usr_b" })).toEqual(["aud_c"]);
  });

  it("rolls back with the transaction it was written in", async () => {
    await expect(
      store.db.transaction().execute(async (trx) => {
        await insertAuditEvent(trx, event("aud_1", T0));
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await listAuditEvents(store.db, { limit: 10 })).toEqual([]);
  });
});
