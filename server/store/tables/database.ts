import type { RateAdmissionTable } from "./rate-admission-table.js";
import type { UsageTable } from "./usage-table.js";

/** Every table of the llmux database, keyed by table name, for `Kysely<Database>`. */
export interface Database {
  rate_admission: RateAdmissionTable;
  usage: UsageTable;
}
