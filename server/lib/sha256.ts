import { hash } from "node:crypto";

/**
 * SHA-256 of a string's UTF-8 bytes. One-shot `crypto.hash` costs half of `createHash().update().digest()`, and
 * credentials are hashed on every request.
 */
export function sha256(text: string): Buffer {
  return hash("sha256", text, "buffer");
}
