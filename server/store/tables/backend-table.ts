import type { Selectable } from "kysely";

/**
 * A backend created through the admin API: one model at one provider, with the same settings as a `[[backend]]`
 * of the file. Lists and maps are JSON text, parsed by the repository; booleans are 0/1.
 */
export interface BackendTable {
  /** Unique across every backend (the API checks the file and discovery). */
  name: string;
  /** Routing order among database backends, from 0. */
  position: number;
  provider: string;
  model: string;
  alias: string | null;
  /** Context window in tokens; null when unknown. */
  context: number | null;
  vision: 0 | 1;
  thinking: 0 | 1;
  max_per_day: number | null;
  max_per_hour: number | null;
  max_per_5hours: number | null;
  /** JSON array of globs. */
  model_match: string;
  /** JSON object, old key → new key. */
  key_rename: string;
  /** JSON array of keys. */
  key_delete: string;
  /** JSON object of keys to add. */
  key_add: string;
  /** JSON array of model names. */
  fallbacks: string;
  gpt_oss_fix: 0 | 1;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch milliseconds. */
  updated_at: number;
}

/** The JSON columns, as the repository hands them out and takes them in. */
interface ParsedColumns {
  model_match: string[];
  key_rename: Record<string, string>;
  key_delete: string[];
  key_add: Record<string, unknown>;
  fallbacks: string[];
}

/** A backend as the repository returns it: JSON columns parsed. */
export type BackendRow = Omit<Selectable<BackendTable>, keyof ParsedColumns> & ParsedColumns;

/** A backend to store; `position` is assigned by the repository (appended last). */
export type NewBackendRow = Omit<BackendRow, "position">;
