import type { Insertable, Selectable } from "kysely";

/** A provider's wire protocol, as stored. */
export type StoredProviderKind = "openai" | "anthropic" | "mock";

/**
 * A provider created through the admin API. Its key is stored only sealed (AES-256-GCM, see
 * server/catalog/secret-box.ts); the store never sees it in clear.
 */
export interface ProviderTable {
  /** Unique across the file's and the database's providers (the API checks the file). */
  name: string;
  kind: StoredProviderKind;
  /** Normalised base URL; empty for the mock. */
  base_url: string;
  /** The sealed provider key; null when the provider has none. */
  api_key_sealed: string | null;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch milliseconds. */
  updated_at: number;
}

/** A provider as read from the database. */
export type ProviderRow = Selectable<ProviderTable>;

/** A provider to insert. */
export type NewProviderRow = Insertable<ProviderTable>;
