/** True for a JSON object (not null, not an array): the check every reader of untrusted JSON starts with. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
