import { looksLikeApiKey } from "../../auth/api-keys.js";
import type { ClientTokenAuth } from "../../auth/client-tokens.js";
import type { JwtCodec } from "../../auth/jwt.js";
import { sha256Hex } from "../../lib/sha256.js";
import { findApiKeyByHash, touchApiKey, type ApiKeyOwner } from "../../store/repos/api-key-repo.js";
import { findUserById } from "../../store/repos/user-repo.js";
import type { ApiKeyRow } from "../../store/tables/api-key-table.js";
import type { Queryable } from "../../store/tables/database.js";
import type { UserRole } from "../../store/tables/user-table.js";

/** How a caller authenticated: a user's JWT, an API key, or a client token from the configuration. */
export type PrincipalKind = "user" | "api_key" | "token";

/** What an API key may do on the gateway; 0 means "no limit". */
export interface KeyGrants {
  /** Model globs; empty means every model. */
  allowedModels: readonly string[];
  requestsPerMinute: number;
  tokensPerMinute: number;
  tokensPerDay: number;
  /** Epoch ms when the key stops working; undefined for never. */
  expiresAt: number | undefined;
}

/**
 * Who is calling, resolved from a credential. The same value serves the RPC interceptor, the HTTP facade (for
 * limits and usage rows) and the admin handlers.
 */
export interface Principal {
  kind: PrincipalKind;
  /** The user's id (`user`), the key's id (`api_key`) or the token's name (`token`). */
  id: string;
  /** For logs and usage rows: the username (`user`, and the owner's for `api_key`) or the token's name. */
  name: string;
  /** The user's role; an API key has its owner's role; configuration tokens are `user`. */
  role: UserRole;
  /** The user the credential belongs to; absent for configuration tokens. */
  userId?: string;
  /** Present for API keys. */
  keyId?: string;
  /** Present for API keys: the limits the facade enforces. */
  key?: KeyGrants;
}

/** Resolves credentials to principals. */
export interface Authenticator {
  /**
   * The principal for a presented secret (the bearer token or `x-api-key` value), or undefined when it is not
   * valid now. A JWT must verify, carry the user's current token version, and the user must be enabled; an API
   * key must exist, be neither revoked nor expired, and its owner must be enabled; otherwise the secret is
   * compared with the configuration's client tokens. Never throws for bad input. Answers synchronously when it
   * can (a client token, an API key looked up in the last few seconds), so the request path does not wait a turn;
   * a promise otherwise (a key not in the cache, a JWT).
   */
  authenticate(secret: string): Principal | undefined | Promise<Principal | undefined>;
  /**
   * Drops every cached key lookup. The admin service calls it after revoking keys or changing users, so this
   * process sees the change at once; other replicas see it when their cache entries expire.
   */
  forgetKeys(): void;
}

/** Dependencies of {@link createAuthenticator}. */
export interface AuthenticatorDeps {
  db: Queryable;
  jwt: JwtCodec;
  /** The `[tokens]` / `API_KEYS` client tokens. */
  clientTokens: ClientTokenAuth;
  now?: () => number;
  /** How long a key lookup is reused, in ms; at most (and by default) {@link MAX_KEY_CACHE_MS}. */
  keyCacheMs?: number;
  /** Called when recording a key's last use fails (best effort, never fails a request). */
  onError?: (err: unknown) => void;
}

/** The longest a key lookup is cached: revocation reaches every replica within this time. */
export const MAX_KEY_CACHE_MS = 5_000;
/** Cached lookups kept at most; the oldest are dropped first. Bounds memory under a flood of random keys. */
const MAX_CACHED_KEYS = 10_000;
/** A key's `last_used_at` is written at most this often per process. */
const TOUCH_INTERVAL_MS = 60_000;
/** No credential is longer; longer input is refused before any hashing. */
const MAX_SECRET_LENGTH = 4096;
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type KeyLookup = { key: ApiKeyRow; owner: ApiKeyOwner } | undefined;

/** The principal of an API key (its owner's name and role, the key's grants). */
function principalOf({ key, owner }: NonNullable<KeyLookup>): Principal {
  return {
    kind: "api_key",
    id: key.id,
    name: owner.username,
    role: owner.role,
    userId: owner.id,
    keyId: key.id,
    key: {
      allowedModels: key.allowed_models,
      requestsPerMinute: key.requests_per_minute,
      tokensPerMinute: key.tokens_per_minute,
      tokensPerDay: key.tokens_per_day,
      expiresAt: key.expires_at ?? undefined,
    },
  };
}

/** The audit actor of a principal: a user id, `key:<id>` or `token:<name>` (see AuditEvent.actor). */
export function actorOf(principal: Principal | undefined): string {
  if (principal === undefined) return "";
  if (principal.kind === "api_key") return `key:${principal.id}`;
  if (principal.kind === "token") return `token:${principal.name}`;
  return principal.id;
}

/**
 * Creates the one authenticator used by the RPC access interceptor and the HTTP facade. JWTs are checked against
 * the database on every call (so disabling a user or changing a role bites on the next call); API key lookups
 * are cached for at most {@link MAX_KEY_CACHE_MS}, with expiry and the owner's state judged on every call.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const now = deps.now ?? Date.now;
  const cacheMs = Math.min(deps.keyCacheMs ?? MAX_KEY_CACHE_MS, MAX_KEY_CACHE_MS);
  const touched = new Map<string, number>();

  /** A key lookup and the principal it makes (built once per lookup, shared by the requests it serves). */
  interface CachedKey {
    at: number;
    lookup: KeyLookup;
    principal: Principal | undefined;
  }
  const cache = new Map<string, CachedKey>();

  async function loadKey(hash: string, t: number): Promise<CachedKey> {
    const lookup = await findApiKeyByHash(deps.db, hash);
    const entry: CachedKey = { at: t, lookup, principal: lookup && principalOf(lookup) };
    cache.delete(hash);
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
    cache.set(hash, entry);
    return entry;
  }

  function touch(keyId: string, t: number): void {
    const last = touched.get(keyId);
    if (last !== undefined && t - last < TOUCH_INTERVAL_MS) return;
    touched.delete(keyId);
    if (touched.size >= MAX_CACHED_KEYS) touched.delete(touched.keys().next().value!);
    touched.set(keyId, t);
    touchApiKey(deps.db, keyId, t).catch((err: unknown) => deps.onError?.(err));
  }

  /** The key's principal if the key works at `t`: neither revoked nor expired, its owner enabled. */
  function admitKey(entry: CachedKey, t: number): Principal | undefined {
    if (!entry.lookup) return undefined;
    const { key, owner } = entry.lookup;
    if (key.revoked_at !== null || (key.expires_at !== null && key.expires_at <= t) || owner.disabled !== 0) return undefined;
    touch(key.id, t);
    return entry.principal;
  }

  /** Answers from the cache without waiting when it can; otherwise after one database lookup. */
  function fromApiKey(hash: string): Principal | undefined | Promise<Principal | undefined> {
    const t = now();
    const cached = cache.get(hash);
    if (cached && t - cached.at < cacheMs) return admitKey(cached, t);
    return loadKey(hash, t).then((entry) => admitKey(entry, now()));
  }

  async function fromJwt(token: string): Promise<Principal | undefined> {
    const claims = await deps.jwt.verify(token);
    if (!claims) return undefined;
    const user = await findUserById(deps.db, claims.userId);
    if (!user || user.disabled !== 0 || user.token_version !== claims.version) return undefined;
    return { kind: "user", id: user.id, name: user.username, role: user.role, userId: user.id };
  }

  return {
    authenticate(secret) {
      if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return undefined;
      // One hash serves both: client tokens compare SHA-256 digests, API keys are stored by theirs (hex).
      const digest = sha256Hex(secret);
      const token = deps.clientTokens.authenticateDigest(digest);
      if (token) return { kind: "token", id: token.name, name: token.name, role: "user" };
      if (looksLikeApiKey(secret)) return fromApiKey(digest);
      if (JWT_SHAPE.test(secret)) return fromJwt(secret);
      return undefined;
    },
    forgetKeys() {
      cache.clear();
    },
  };
}
