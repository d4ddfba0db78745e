import type { Migration } from "kysely";
import * as createRateAndUsage from "./2026_11_22_0001_create_rate_and_usage.js";
import * as createUsersKeysAudit from "./2026_11_22_0002_create_users_keys_audit.js";
import * as createProviderBackend from "./2026_11_22_0003_create_provider_backend.js";
import * as createRateAdmissionSecond from "./2026_11_22_0004_create_rate_admission_second.js";
import * as addUsageEstimated from "./2026_12_01_0005_add_usage_estimated.js";
import * as addUsageTruncated from "./2026_12_02_0006_add_usage_truncated.js";

/**
 * Every migration, by name, in the order they apply. Listed statically (not discovered from the file system) so
 * the store works the same from source, from `dist/` and from a bundle. Names are `YYYY_MM_DD_NNNN_verb_noun` and
 * sort in application order; a new migration is appended, an applied one is never renamed or edited.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "2026_11_22_0001_create_rate_and_usage": createRateAndUsage,
  "2026_11_22_0002_create_users_keys_audit": createUsersKeysAudit,
  "2026_11_22_0003_create_provider_backend": createProviderBackend,
  "2026_11_22_0004_create_rate_admission_second": createRateAdmissionSecond,
  "2026_12_01_0005_add_usage_estimated": addUsageEstimated,
  "2026_12_02_0006_add_usage_truncated": addUsageTruncated,
};
