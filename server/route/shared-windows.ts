import type { BackendConfig } from "../config/types.js";
import type { Store } from "../store/database.js";
import { admitIfUnder, type WindowLimit } from "../store/repos/rate-admission-repo.js";

const HOUR = 3_600_000;

/** The rolling windows a backend configures. */
export function windowLimits(backend: BackendConfig): WindowLimit[] {
  const limits: WindowLimit[] = [];
  if (backend.maxPerHour !== undefined) limits.push({ spanMs: HOUR, limit: backend.maxPerHour });
  if (backend.maxPer5Hours !== undefined) limits.push({ spanMs: 5 * HOUR, limit: backend.maxPer5Hours });
  if (backend.maxPerDay !== undefined) limits.push({ spanMs: 24 * HOUR, limit: backend.maxPerDay });
  return limits;
}

/**
 * Rate windows shared by every gateway on one PostgreSQL: admission is decided in the database, atomically, so
 * replicas together never exceed a backend's limits. (With SQLite, one process owns the file and the in-memory
 * windows are authoritative; admissions are persisted behind.)
 */
export interface SharedWindows {
  /** Admits a request, or returns the epoch ms when the backend's windows have room again. */
  tryAdmit(backend: BackendConfig, at: number): Promise<number | undefined>;
}

export function createSharedWindows(store: Store): SharedWindows {
  return {
    tryAdmit(backend, at) {
      const limits = windowLimits(backend);
      return limits.length === 0 ? Promise.resolve(undefined) : admitIfUnder(store.db, store.dialect, backend.name, at, limits);
    },
  };
}
