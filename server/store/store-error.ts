/**
 * A failure of the store itself: a database that cannot be opened or migrated, a misconfigured write-behind queue,
 * or write-behind items that had to be dropped. It is a plain Error rather than an LlmuxError because the store
 * sits below the error layer (it may import only server/lib) and because these failures happen at startup or in
 * the background, never as the answer to one request. A caller that needs an LlmuxError wraps it with
 * `toLlmuxError`, which turns it into INTERNAL and keeps this error as the logged cause.
 *
 * Messages never contain connection strings or row contents, so they are safe to log.
 */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
  }
}
