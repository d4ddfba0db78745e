import type { Insertable, Selectable } from "kysely";

/**
 * One request admitted against a backend that has rate windows. The rate limiter rebuilds its sliding windows
 * from these rows at startup, so limits hold across a restart; rows older than the longest window (24 h) are
 * pruned. There is no key: two admissions in the same millisecond are two rows.
 */
export interface RateAdmissionTable {
  /** The backend name from the configuration. */
  backend: string;
  /** When the request was admitted, epoch milliseconds. */
  at: number;
}

/** A rate admission as read from the database. */
export type RateAdmissionRow = Selectable<RateAdmissionTable>;

/** A rate admission to insert. */
export type NewRateAdmissionRow = Insertable<RateAdmissionTable>;
