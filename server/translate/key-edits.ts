import type { BackendConfig } from "../config/types.js";

/**
 * Applies a backend's `key_rename`, `key_delete` and `key_add` to a top-level request body, in that order, in
 * place. Renaming moves the value (overwriting the new key); a key that is absent is left alone. The config
 * loader refuses edits of `model`, `messages` and `stream`, which the gateway owns.
 */
export function applyKeyEdits(body: Record<string, unknown>, backend: BackendConfig): void {
  for (const from in backend.keyRename) {
    if (from in body) {
      body[backend.keyRename[from]!] = body[from];
      delete body[from];
    }
  }
  for (const key of backend.keyDelete) delete body[key];
  for (const key in backend.keyAdd) body[key] = backend.keyAdd[key];
}
