/**
 * Anthropic requires tool_use ids to match /^[a-zA-Z0-9_-]+$/; OpenAI-compatible servers issue ids such as
 * "functions.get_weather:0". An id is made valid for Anthropic reversibly, so that the id an upstream issued goes
 * back to that upstream unchanged in the tool-result turn: every character outside the allowed set, and every
 * "_" followed by "x" (which could read as an escape), is written as "_xHHHH_" (UTF-16 code unit in hex).
 */

const VALID = /^[a-zA-Z0-9_-]+$/;
const NEEDS_ESCAPE = /[^a-zA-Z0-9-]|_x[0-9a-f]{4}_/;

/** Makes an upstream tool-call id valid for Anthropic clients and upstreams; identity for ids that already are. */
export function toAnthropicToolId(id: string): string {
  if (id.length > 0 && VALID.test(id) && !id.includes("_x")) return id;
  if (id.length === 0) return "toolu_empty";
  let out = "";
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ch = id[i]!;
    const plain = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || ch === "-" || (ch === "_" && id[i + 1] !== "x");
    out += plain ? ch : `_x${c.toString(16).padStart(4, "0")}_`;
  }
  return out;
}

/** Reverses toAnthropicToolId; ids that contain no escape come back unchanged. */
export function fromAnthropicToolId(id: string): string {
  if (id === "toolu_empty") return "";
  if (!NEEDS_ESCAPE.test(id) || !id.includes("_x")) return id;
  return id.replace(/_x([0-9a-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * An id as Anthropic accepts it: unchanged when it already matches the pattern, escaped otherwise. Canonical ids
 * are kept in this safe form (OpenAI decoders escape upstream ids on the way in), so encoders towards Anthropic
 * use this rather than escaping again.
 */
export function ensureAnthropicToolId(id: string): string {
  return id.length > 0 && VALID.test(id) ? id : toAnthropicToolId(id);
}
