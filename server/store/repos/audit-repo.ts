import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { AuditEventRow, NewAuditEventRow } from "../tables/audit-event-table.js";
import type { Database } from "../tables/database.js";

/** Events written by this process so far; orders events of the same millisecond. */
let sequence = 0;

/**
 * A new event id that sorts like the events it names: hex time, then a per-process sequence, then randomness
 * (so replicas never collide). Listing orders by (`at`, `id`), so events written by one process in the same
 * millisecond keep their order.
 */
function auditId(at: number): string {
  sequence = (sequence + 1) % 0x1_0000_0000;
  return `aud_${Math.max(0, at).toString(16).padStart(12, "0")}${sequence.toString(16).padStart(8, "0")}${randomBytes(4).toString("hex")}`;
}

/** An audit event to append; the id is generated unless given. */
export type NewAuditEvent = Omit<NewAuditEventRow, "id"> & { id?: string };

/**
 * Appends an audit event. Pass the transaction that makes the change, so the event is committed (or rolled back)
 * with it.
 */
export async function insertAuditEvent(db: Kysely<Database>, event: NewAuditEvent): Promise<void> {
  await db.insertInto("audit_event").values({ ...event, id: event.id ?? auditId(event.at) }).execute();
}

/** Which events {@link listAuditEvents} returns. */
export interface AuditQuery {
  /** At most this many. */
  limit: number;
  /** Only events strictly older than this position (the last event of the previous page). */
  before?: { at: number; id: string };
  /** Only this actor's events. */
  actor?: string;
}

/** Audit events, newest first (ties by id, descending): keyset paging that stays stable while events are added. */
export async function listAuditEvents(db: Kysely<Database>, query: AuditQuery): Promise<AuditEventRow[]> {
  let select = db.selectFrom("audit_event").selectAll();
  if (query.actor !== undefined) select = select.where("actor", "=", query.actor);
  const before = query.before;
  if (before !== undefined) {
    select = select.where((eb) =>
      eb.or([eb("at", "<", before.at), eb.and([eb("at", "=", before.at), eb("id", "<", before.id)])]),
    );
  }
  return select.orderBy("at", "desc").orderBy("id", "desc").limit(query.limit).execute();
}
