import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { getOrInsertSetting } from "../store/repos/setting-repo.js";
import type { Queryable } from "../store/tables/database.js";

/** The setting that holds the generated key when `LLMUX_SECRET_KEY` is not set (base64 of 32 bytes). */
export const SECRET_KEY_SETTING = "provider_key_encryption_key";

/** Bytes of an AES-256 key, of a GCM nonce and of a GCM tag. */
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/**
 * Seals provider keys for storage: AES-256-GCM with a random 96-bit nonce per value, the provider's name as
 * additional authenticated data (a sealed key copied onto another provider's row does not open), and the key's
 * fingerprint in the sealed text (so a value sealed under another key is recognised as such, not as tampering).
 */
export interface SecretBox {
  /** A short fingerprint of the key (8 hex digits of a SHA-256), stored with every sealed value; not secret. */
  readonly keyId: string;
  /** `v1.<keyId>.<nonce>.<ciphertext>.<tag>`, base64url parts. */
  seal(plaintext: string, context: string): string;
  /**
   * The plaintext, or undefined when the value was sealed under another key, for another context, was altered,
   * or is not a sealed value at all. Never throws: a bad row must not take the catalog down.
   */
  open(sealed: string, context: string): string | undefined;
}

function aad(context: string): Buffer {
  return Buffer.from(`llmux provider key\0${context}`, "utf8");
}

/** Creates a box over a 32-byte key. Throws INTERNAL for a key of any other length (a programming error). */
export function createSecretBox(key: Uint8Array): SecretBox {
  if (key.length !== KEY_BYTES) throw llmuxError(Reason.INTERNAL, `the secret key must be ${KEY_BYTES} bytes`);
  const secret = Buffer.from(key);
  const keyId = createHash("sha256").update("llmux key id\0").update(secret).digest("hex").slice(0, 8);
  return {
    keyId,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", secret, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const parts = [iv, body, cipher.getAuthTag()].map((part) => part.toString("base64url"));
      return [VERSION, keyId, ...parts].join(".");
    },
    open(sealed, context) {
      const [version, id, ivText, bodyText, tagText, ...rest] = sealed.split(".");
      if (version !== VERSION || id !== keyId || tagText === undefined || rest.length > 0) return undefined;
      const iv = Buffer.from(ivText!, "base64url");
      const tag = Buffer.from(tagText, "base64url");
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv("aes-256-gcm", secret, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(context));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(bodyText!, "base64url")), decipher.final()]).toString("utf8");
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The key that seals provider keys: `configured` (from `LLMUX_SECRET_KEY`) when given, else a random key
 * generated once and kept in the `setting` table (the first replica to start writes it; the others read it).
 *
 * Trade-off of the generated key: it lives in the same database as the values it seals, so it protects keys from
 * anything that sees provider rows without the setting (a leaked table export, a log of a row, a support dump of
 * one table) but not from a full copy of the database. Setting `LLMUX_SECRET_KEY` (kept outside the database)
 * protects against that too; values sealed under the generated key must then be entered again (they no longer
 * open and the catalog reports them).
 */
export async function loadSecretKey(db: Queryable, configured: Uint8Array | undefined, now: number): Promise<Uint8Array> {
  if (configured !== undefined) return configured;
  const stored = await getOrInsertSetting(db, SECRET_KEY_SETTING, randomBytes(KEY_BYTES).toString("base64"), now);
  const key = Buffer.from(stored, "base64");
  if (key.length !== KEY_BYTES) throw llmuxError(Reason.INTERNAL, `setting ${SECRET_KEY_SETTING} does not hold a ${KEY_BYTES}-byte key`);
  return key;
}
