import { randomFillSync } from "node:crypto";

/** Random bytes are drawn from the system in blocks and handed out in slices: one syscall per many ids. */
const BLOCK = 4096;
const ID_BYTES = 12;
const pool = Buffer.alloc(BLOCK);
let offset = BLOCK;

/** A random id with a prefix, e.g. `chatcmpl-4f9c…` or `msg_01…`: 96 bits from the CSPRNG, URL-safe. */
export function randomId(prefix: string): string {
  if (offset + ID_BYTES > BLOCK) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return prefix + id;
}
