import type { Insertable, Selectable } from "kysely";

/**
 * The requests a single process (SQLite) admitted against a backend's rate windows, counted per second. The rate
 * limiter rebuilds its windows from these rows at startup; rows older than the longest window (24 h) are pruned.
 * Replicas sharing PostgreSQL decide admission on `rate_admission` instead.
 */
export interface RateAdmissionSecondTable {
  /** The backend name from the configuration. */
  backend: string;
  /** The epoch second the admissions are counted in: their epoch ms rounded up to a whole second. */
  second: number;
  /** Requests admitted in that second. */
  count: number;
}

/** One backend's admissions in one second, as read from the database. */
export type RateAdmissionSecondRow = Selectable<RateAdmissionSecondTable>;

/** Admissions to add to a backend's second. */
export type NewRateAdmissionSecondRow = Insertable<RateAdmissionSecondTable>;
