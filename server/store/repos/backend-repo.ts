import type { Kysely, Selectable } from "kysely";
import { StoreError } from "../store-error.js";
import type { BackendRow, BackendTable, NewBackendRow } from "../tables/backend-table.js";
import type { Database } from "../tables/database.js";

// The JSON columns are written only by this repository, so a value of the wrong shape is a corrupt row: it is
// refused with a StoreError naming the backend and column (never the content) rather than handed on half-typed.

function parseJson(text: string, name: string, column: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StoreError(`backend ${name}: column ${column} is not valid JSON`, { cause: err });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(text: string, name: string, column: string): string[] {
  const value = parseJson(text, name, column);
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw new StoreError(`backend ${name}: column ${column} is not a JSON array of strings`);
}

function stringMap(text: string, name: string, column: string): Record<string, string> {
  const value = parseJson(text, name, column);
  if (isPlainObject(value) && Object.values(value).every((item) => typeof item === "string")) return value as Record<string, string>;
  throw new StoreError(`backend ${name}: column ${column} is not a JSON object of strings`);
}

function jsonObject(text: string, name: string, column: string): Record<string, unknown> {
  const value = parseJson(text, name, column);
  if (isPlainObject(value)) return value;
  throw new StoreError(`backend ${name}: column ${column} is not a JSON object`);
}

function fromTable(row: Selectable<BackendTable>): BackendRow {
  return {
    ...row,
    model_match: stringList(row.model_match, row.name, "model_match"),
    key_rename: stringMap(row.key_rename, row.name, "key_rename"),
    key_delete: stringList(row.key_delete, row.name, "key_delete"),
    key_add: jsonObject(row.key_add, row.name, "key_add"),
    fallbacks: stringList(row.fallbacks, row.name, "fallbacks"),
  };
}

/** The stored columns of a backend's settings (everything but name, position and creation time). */
function settingsColumns(row: Omit<NewBackendRow, "name" | "created_at">) {
  return {
    provider: row.provider,
    model: row.model,
    alias: row.alias,
    context: row.context,
    vision: row.vision,
    thinking: row.thinking,
    max_per_day: row.max_per_day,
    max_per_hour: row.max_per_hour,
    max_per_5hours: row.max_per_5hours,
    model_match: JSON.stringify(row.model_match),
    key_rename: JSON.stringify(row.key_rename),
    key_delete: JSON.stringify(row.key_delete),
    key_add: JSON.stringify(row.key_add),
    fallbacks: JSON.stringify(row.fallbacks),
    gpt_oss_fix: row.gpt_oss_fix,
    updated_at: row.updated_at,
  };
}

/** Every database backend in routing order (position, then name). */
export async function listBackends(db: Kysely<Database>): Promise<BackendRow[]> {
  const rows = await db.selectFrom("backend").selectAll().orderBy("position").orderBy("name").execute();
  return rows.map(fromTable);
}

/** One backend, or undefined. */
export async function findBackend(db: Kysely<Database>, name: string): Promise<BackendRow | undefined> {
  const row = await db.selectFrom("backend").selectAll().where("name", "=", name).executeTakeFirst();
  return row === undefined ? undefined : fromTable(row);
}

/**
 * Inserts a backend after every existing one and returns the position it got. Run it in the transaction that
 * checked the name: the primary key still refuses a duplicate that a concurrent writer inserted first.
 */
export async function appendBackend(db: Kysely<Database>, row: NewBackendRow): Promise<number> {
  const last = await db.selectFrom("backend").select((eb) => eb.fn.max("position").as("last")).executeTakeFirst();
  const position = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
  await db
    .insertInto("backend")
    .values({ name: row.name, position, created_at: row.created_at, ...settingsColumns(row) })
    .execute();
  return position;
}

/** Replaces a backend's settings (its name, position and creation time stay); false when there is none. */
export async function updateBackend(db: Kysely<Database>, row: Omit<NewBackendRow, "created_at">): Promise<boolean> {
  const result = await db.updateTable("backend").set(settingsColumns(row)).where("name", "=", row.name).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Gives each named backend its index in `names` as position. The caller passes every database backend (checked
 * in the same transaction), so positions stay 0..n-1 without gaps.
 */
export async function setBackendPositions(db: Kysely<Database>, names: readonly string[], at: number): Promise<void> {
  for (const [position, name] of names.entries()) {
    await db.updateTable("backend").set({ position, updated_at: at }).where("name", "=", name).execute();
  }
}

/** Deletes a backend; false when there was none by that name. */
export async function deleteBackend(db: Kysely<Database>, name: string): Promise<boolean> {
  const result = await db.deleteFrom("backend").where("name", "=", name).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The names of the backends that use a provider, by name (a provider in use cannot be deleted). */
export async function backendsUsingProvider(db: Kysely<Database>, provider: string): Promise<string[]> {
  const rows = await db.selectFrom("backend").select("name").where("provider", "=", provider).orderBy("name").execute();
  return rows.map((row) => row.name);
}
