import type { ClientToken } from "../config/types.js";
import { constantTimeEqual } from "../lib/constant-time-equal.js";
import { sha256Hex } from "../lib/sha256.js";

/** Who a request is from. */
export interface Principal {
  /** The token's name from `[tokens]` (never the secret). */
  name: string;
}

export interface ClientTokenAuth {
  /** True when no token is configured: the gateway is open to whoever can reach it. */
  readonly open: boolean;
  /** The principal for a presented secret, or undefined. Takes the same time whether or not it matches. */
  authenticate(secret: string): Principal | undefined;
  /** The same from the secret's hex SHA-256 ({@link sha256Hex}), for a caller that needs the digest anyway. */
  authenticateDigest(digest: string): Principal | undefined;
}

/**
 * Checks client tokens in constant time: the presented secret is hashed, and its digest is compared with every
 * configured digest by {@link constantTimeEqual} (64 hex characters each), without stopping early.
 * Hashing first also means secrets of any length or encoding are handled the same way.
 */
export function createClientTokenAuth(tokens: readonly ClientToken[]): ClientTokenAuth {
  const entries = tokens.map((token) => ({ name: token.name, digest: sha256Hex(token.secret) }));
  const authenticateDigest = (presented: string) => {
    let match: Principal | undefined;
    for (const entry of entries) {
      if (constantTimeEqual(presented, entry.digest) && !match) match = { name: entry.name };
    }
    return match;
  };
  return {
    open: entries.length === 0,
    authenticate: (secret) => authenticateDigest(sha256Hex(secret)),
    authenticateDigest,
  };
}

/**
 * The credential a request presents: `Authorization: Bearer …` when present (what the OpenAI and Anthropic SDKs
 * send), otherwise `x-api-key` (Claude Code with ANTHROPIC_API_KEY, the AI SDK). Deterministic when both are sent.
 */
export function presentedCredential(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === "string") {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1]!.trim() : undefined;
  }
  const apiKey = headers["x-api-key"];
  return typeof apiKey === "string" && apiKey.length > 0 ? apiKey : undefined;
}
