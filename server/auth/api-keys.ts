import { randomBytes } from "node:crypto";
import { sha256Hex } from "../lib/sha256.js";

/** Every API key starts with this, so secret scanners and humans recognise one. */
export const API_KEY_PREFIX = "llmux_";
/** Random bytes per key: 256 bits, so a fast hash is enough to store it. */
const KEY_BYTES = 32;
/** Characters of the secret shown as its prefix (`llmux_` plus four). */
const DISPLAY_PREFIX_CHARS = 10;
/** The length of every key: the prefix plus 43 base64url characters. */
const KEY_LENGTH = API_KEY_PREFIX.length + Math.ceil((KEY_BYTES * 8) / 6);
const KEY_FORMAT = /^llmux_[A-Za-z0-9_-]{43}$/;

/** A newly generated key: the secret (shown once) and what is stored about it. */
export interface GeneratedApiKey {
  /** `llmux_` + base64url of 32 random bytes. */
  secret: string;
  /** Hex SHA-256 of the secret: the only form that is stored. */
  hash: string;
  /** The first 10 characters, for display. */
  prefix: string;
  /** The last 4 characters, for display. */
  lastFour: string;
}

/** Generates a key from the CSPRNG. */
export function generateApiKey(): GeneratedApiKey {
  const secret = API_KEY_PREFIX + randomBytes(KEY_BYTES).toString("base64url");
  return { secret, hash: hashApiKey(secret), prefix: secret.slice(0, DISPLAY_PREFIX_CHARS), lastFour: secret.slice(-4) };
}

/**
 * The stored form of a key: hex SHA-256 of the whole secret. Keys are found by this value through a unique
 * index, so no secret is ever compared in JavaScript. It is {@link sha256Hex} itself, so the authenticator looks a
 * key up by the digest it computed for the client tokens.
 */
export function hashApiKey(secret: string): string {
  return sha256Hex(secret);
}

/** True when `text` has the exact shape of an API key; anything else need not reach the database. */
export function looksLikeApiKey(text: string): boolean {
  return text.length === KEY_LENGTH && KEY_FORMAT.test(text);
}
