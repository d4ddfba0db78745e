import type { Insertable, Selectable } from "kysely";

/**
 * One change made (or refused) on the control plane. Written in the same transaction as the change it
 * describes, so the log can neither miss a change nor record one that was rolled back. Never holds secrets.
 */
export interface AuditEventTable {
  /** Application-generated id (`aud_…`); breaks ties between events of the same millisecond. */
  id: string;
  /** Epoch milliseconds. */
  at: number;
  /** Who acted: a user id, `key:<id>`, `token:<name>`; empty for anonymous calls. */
  actor: string;
  /** The RPC, e.g. `llmux.admin.v1.AdminService/CreateApiKey`. */
  action: string;
  /** What was acted on (an id or name); may be empty. */
  target: string;
  /** 1 when the action was allowed and succeeded, 0 when refused. */
  allowed: 0 | 1;
  /** A short, secret-free description. */
  detail: string;
}

/** An audit event as read from the database. */
export type AuditEventRow = Selectable<AuditEventTable>;

/** An audit event to insert. */
export type NewAuditEventRow = Insertable<AuditEventTable>;
