import type { Selectable } from "kysely";

/** A named value the server generates once and shares through the database (e.g. the JWT signing secret). */
export interface SettingTable {
  name: string;
  value: string;
  /** Epoch milliseconds. */
  updated_at: number;
}

/** A setting as read from the database. */
export type SettingRow = Selectable<SettingTable>;
