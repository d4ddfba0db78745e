/** Thrown when a body exceeds the size the caller accepts. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** A body read once: a byte stream, which may also offer itself whole without a promise per chunk. */
export interface ByteBody extends AsyncIterable<Uint8Array> {
  /**
   * The rest of the body as one buffer. Past `limit` bytes the source is dropped and the promise rejects with
   * BodyTooLargeError. Optional: {@link readBodyBytes} iterates a body without it.
   */
  readAll?(limit: number): Promise<Buffer>;
}

/** Chunks as one buffer; a body that came in one chunk (most answers do) is used as it is, not copied. */
export function joinChunks(chunks: readonly Uint8Array[], size: number): Buffer {
  if (chunks.length !== 1) return Buffer.concat(chunks, size);
  const only = chunks[0]!;
  return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
}

/**
 * Reads a body to one buffer, stopping with BodyTooLargeError once `limit` bytes have arrived, so a runaway upstream
 * cannot exhaust memory. Whole, where the body offers it; otherwise chunk by chunk.
 */
export async function readBodyBytes(body: ByteBody, limit: number): Promise<Buffer> {
  if (body.readAll) return body.readAll(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return joinChunks(chunks, size);
}

/** {@link readBodyBytes}, decoded as UTF-8 once, at the end. */
export async function readBody(body: ByteBody, limit: number): Promise<string> {
  return (await readBodyBytes(body, limit)).toString("utf8");
}
