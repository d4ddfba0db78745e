/** Thrown when a body exceeds the size the caller accepts. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads a byte stream to one buffer, stopping with BodyTooLargeError once `limit` bytes have arrived, so a runaway
 * upstream cannot exhaust memory.
 */
export async function readBodyBytes(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  // An answer that came in one chunk (most do) is used as it is, not copied.
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  if (only) return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  return Buffer.concat(chunks, size);
}

/** {@link readBodyBytes}, decoded as UTF-8 once, at the end. */
export async function readBody(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  return (await readBodyBytes(body, limit)).toString("utf8");
}
