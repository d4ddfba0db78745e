import { hash } from "node:crypto";

/**
 * SHA-256 of a string's UTF-8 bytes, as lowercase hex. Credentials are hashed on every request: one-shot
 * `crypto.hash` to a string costs a third of its Buffer output (~0.3 against ~0.8 µs) and a quarter of
 * `createHash().update().digest()`.
 */
export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}
