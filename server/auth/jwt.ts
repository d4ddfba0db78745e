import { randomBytes } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { llmuxError, Reason } from "../errors/llmux-error.js";

/** The `typ` header of an access token; a token of any other type (or none) is refused. */
export const ACCESS_TOKEN_TYP = "llmux+access";
/** Issuer and audience of every token: a JWT minted for another service with the same secret is refused. */
export const TOKEN_ISSUER = "llmux";
/** How long an access token is valid. */
export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Clock skew tolerated between replicas (and on `nbf`/`exp`). */
const CLOCK_TOLERANCE_S = 30;
/** The smallest secret accepted: 256 bits, the size of the HS256 output. */
export const MIN_SECRET_BYTES = 32;

/** What an access token asserts once verified. */
export interface AccessClaims {
  /** The user's id. */
  userId: string;
  /** The user's token version when the token was issued; must still equal the stored one. */
  version: number;
}

/** An issued token. */
export interface IssuedToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Issues and verifies access tokens with one HS256 secret. */
export interface JwtCodec {
  /** Signs a token for a user at their current token version. It carries ids and times only, never a secret. */
  issue(userId: string, version: number): Promise<IssuedToken>;
  /**
   * The claims of a valid access token, or undefined for anything else: another algorithm (including `none`),
   * another key, wrong `typ`/`iss`/`aud`, missing `exp`/`iat`/`sub`/`ver`, expired, not yet valid, or older than
   * the lifetime. The caller must still compare `version` with the database.
   */
  verify(token: string): Promise<AccessClaims | undefined>;
}

/**
 * Creates the codec. The algorithm is pinned to HS256 on verification: jose would otherwise accept any
 * algorithm valid for the key. `exp`, `iat` and `sub` are required (jose requires none by default), and
 * `maxTokenAge` bounds a token even if `exp` was set far ahead.
 */
export function createJwtCodec(secret: Uint8Array, now: () => number = Date.now): JwtCodec {
  if (secret.length < MIN_SECRET_BYTES) {
    throw llmuxError(Reason.INVALID_REQUEST, `the JWT secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const key = Uint8Array.from(secret);
  return {
    async issue(userId, version) {
      const issuedAt = Math.floor(now() / 1000);
      const expiresAtS = issuedAt + TOKEN_LIFETIME_MS / 1000;
      const token = await new SignJWT({ ver: version })
        .setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYP })
        .setSubject(userId)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_ISSUER)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAtS)
        .setJti(randomBytes(12).toString("base64url"))
        .sign(key);
      return { token, expiresAt: expiresAtS * 1000 };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          typ: ACCESS_TOKEN_TYP,
          issuer: TOKEN_ISSUER,
          audience: TOKEN_ISSUER,
          requiredClaims: ["exp", "iat", "sub"],
          maxTokenAge: TOKEN_LIFETIME_MS / 1000,
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(now()),
        });
        const { sub, ver } = payload;
        if (typeof sub !== "string" || sub === "" || typeof ver !== "number" || !Number.isSafeInteger(ver) || ver < 0) return undefined;
        return { userId: sub, version: ver };
      } catch {
        // Every jose failure (malformed, bad signature, claim checks) means the same thing to the caller.
        return undefined;
      }
    },
  };
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Decodes a configured secret (`JWT_SECRET`): hex, or base64 / base64url. Refuses anything shorter than
 * {@link MIN_SECRET_BYTES} once decoded, so a short passphrase cannot silently weaken every token: the server
 * does not start with one.
 */
export function parseJwtSecret(text: string): Uint8Array {
  const value = text.trim();
  let bytes: Buffer | undefined;
  if (HEX.test(value) && value.length % 2 === 0) bytes = Buffer.from(value, "hex");
  else if (BASE64.test(value)) bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw llmuxError(
      Reason.INVALID_REQUEST,
      `JWT_SECRET must be at least ${MIN_SECRET_BYTES} random bytes, hex or base64 encoded (e.g. the output of \`openssl rand -base64 32\`)`,
    );
  }
  return new Uint8Array(bytes);
}

/** A new random secret of {@link MIN_SECRET_BYTES} bytes, base64url-encoded (what the store persists). */
export function generateJwtSecret(): string {
  return randomBytes(MIN_SECRET_BYTES).toString("base64url");
}
