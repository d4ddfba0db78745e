import { Migrator, NO_MIGRATIONS, type Kysely, type Migration, type MigrationResultSet } from "kysely";
import { MIGRATIONS } from "./migrations/index.js";
import { StoreError } from "./store-error.js";

/** A Migrator over a static list (no file-system discovery, so it works from source, dist and bundles). */
function createMigrator<DB>(db: Kysely<DB>, migrations: Readonly<Record<string, Migration>>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/**
 * What went wrong, in one line. Driver messages name hosts and SQL but never passwords; a connection refused on
 * every address of a host name is an AggregateError with an empty message, so its first error speaks for it.
 */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.message === "" && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Turns a failed result set into a StoreError naming the migration at fault. */
function throwIfFailed(set: MigrationResultSet): string[] {
  if (set.error !== undefined) {
    const failed = set.results?.find((result) => result.status === "Error");
    const detail = describe(set.error);
    const where = failed ? ` at ${failed.migrationName} (${failed.direction.toLowerCase()})` : "";
    throw new StoreError(`database migration failed${where}; nothing was changed: ${detail}`, { cause: set.error });
  }
  return (set.results ?? []).map((result) => result.migrationName);
}

/**
 * Applies every pending migration, in name order, in one transaction: either the schema reaches the latest
 * version or it stays as it was. Returns the names applied (empty when already current), for the startup log.
 * Throws a StoreError naming the failing migration; an applied migration missing from `migrations` (a database
 * newer than this build) is also an error.
 *
 * @param migrations the list to apply; tests pass their own, everything else uses {@link MIGRATIONS}
 */
export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<string[]> {
  const migrator = createMigrator(db, migrations);
  return throwIfFailed(await migrator.migrateToLatest());
}

/**
 * Reverts every applied migration, newest first, in one transaction, leaving only kysely's bookkeeping tables.
 * Every migration's `down` must work; this is how tests prove it, and how an operator downgrades by hand.
 */
export async function migrateDownAll<DB>(
  db: Kysely<DB>,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<string[]> {
  const migrator = createMigrator(db, migrations);
  return throwIfFailed(await migrator.migrateTo(NO_MIGRATIONS));
}
