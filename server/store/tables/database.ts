import type { Kysely } from "kysely";
import type { ApiKeyTable } from "./api-key-table.js";
import type { AuditEventTable } from "./audit-event-table.js";
import type { BackendTable } from "./backend-table.js";
import type { LoginAttemptTable } from "./login-attempt-table.js";
import type { ProviderTable } from "./provider-table.js";
import type { RateAdmissionSecondTable } from "./rate-admission-second-table.js";
import type { RateAdmissionTable } from "./rate-admission-table.js";
import type { SettingTable } from "./setting-table.js";
import type { UsageTable } from "./usage-table.js";
import type { UserTable } from "./user-table.js";

/** Every table of the llmux database, keyed by table name, for `Kysely<Database>`. */
export interface Database {
  api_key: ApiKeyTable;
  audit_event: AuditEventTable;
  backend: BackendTable;
  login_attempt: LoginAttemptTable;
  provider: ProviderTable;
  rate_admission: RateAdmissionTable;
  rate_admission_second: RateAdmissionSecondTable;
  setting: SettingTable;
  usage: UsageTable;
  user: UserTable;
}

/**
 * The query builder or one of its transactions (a Transaction is a Kysely): what every repository takes, so a
 * change and its audit event can share a transaction. Services name it through this alias, not through kysely.
 */
export type Queryable = Kysely<Database>;
