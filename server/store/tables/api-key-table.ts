import type { Insertable, Selectable } from "kysely";

/**
 * An API key. Only the SHA-256 of the secret is stored (a fast hash is enough for 256 random bits), with the
 * first and last characters for display. Limits of 0 mean "no limit"; `allowed_models` is a JSON array of globs
 * (empty: every model), parsed by the repository.
 */
export interface ApiKeyTable {
  /** Application-generated id (`key_…`). */
  id: string;
  /** The owning user's id. */
  owner_id: string;
  /** A label chosen by the creator. */
  name: string;
  /** Hex SHA-256 of the whole secret; unique. */
  key_hash: string;
  /** The first 10 characters of the secret (`llmux_ab12`). */
  prefix: string;
  /** The last 4 characters of the secret. */
  last_four: string;
  /** JSON text: an array of model globs. */
  allowed_models: string;
  requests_per_minute: number;
  tokens_per_minute: number;
  tokens_per_day: number;
  /** Epoch ms after which the key no longer works; null for never. */
  expires_at: number | null;
  /** Epoch ms of revocation; null while active. */
  revoked_at: number | null;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch ms of the last use on the gateway (updated at most once a minute); null if never used. */
  last_used_at: number | null;
}

/** An API key as the repository returns it: `allowed_models` parsed. */
export type ApiKeyRow = Omit<Selectable<ApiKeyTable>, "allowed_models"> & { allowed_models: string[] };

/** An API key to insert: `allowed_models` as an array, serialized by the repository. */
export type NewApiKeyRow = Omit<Insertable<ApiKeyTable>, "allowed_models"> & { allowed_models: string[] };
