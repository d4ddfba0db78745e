import type { Insertable, Selectable } from "kysely";

/**
 * One login attempt that failed (or is being checked), per username and client address. Kept in the database (not in memory) so the throttle holds
 * across restarts and across every replica sharing the database.
 */
export interface LoginAttemptTable {
  /** Application-generated id, so one attempt can be withdrawn. */
  id: string;
  /** The username tried, lowercase (it need not exist). */
  username: string;
  /** The client address the attempt came from. */
  address: string;
  /** Epoch milliseconds. */
  at: number;
}

/** A failed login as read from the database. */
export type LoginAttemptRow = Selectable<LoginAttemptTable>;

/** A failed login to insert. */
export type NewLoginAttemptRow = Insertable<LoginAttemptTable>;
