import { randomBytes } from "node:crypto";

/** A random id with a prefix, e.g. `chatcmpl-4f9c…` or `msg_01…`: 96 bits, URL-safe. */
export function randomId(prefix: string): string {
  return prefix + randomBytes(12).toString("base64url");
}
