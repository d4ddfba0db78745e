import type { Insertable, Selectable } from "kysely";

/**
 * One request admitted against a backend that has rate windows, by replicas sharing PostgreSQL: admission is
 * decided on these rows, and a replica rebuilds its local view of the windows from them at startup. Rows older than
 * the longest window (24 h) are pruned. There is no key: two admissions in the same millisecond are two rows.
 * (A single SQLite process counts per second in `rate_admission_second` instead.)
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
