/**
 * The empty set of names (tools declared, tools dropped) that most requests have: shared by the translators so that
 * a request without tools allocates none. Read-only by type; nothing may add to it.
 */
export const NO_NAMES: ReadonlySet<string> = new Set();
