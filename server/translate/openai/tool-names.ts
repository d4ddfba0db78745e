/**
 * OpenAI limits function names to 64 characters; Anthropic allows 128 and MCP tool names in Claude Code often
 * exceed 64. A long name is shortened reversibly for the upstream (the 55-character prefix, "_", then 8 hex digits
 * of a hash of the whole name, as LiteLLM's `truncate_tool_name` does) and restored in the upstream's answer
 * through the per-request map.
 */

/** OpenAI's maximum function name length (https://platform.openai.com/docs/api-reference/chat/create#chat-create-tools). */
export const MAX_OPENAI_TOOL_NAME = 64;
const PREFIX_LENGTH = 55;

/** Shortened name → the name the client declared, for one request. Empty when no name needed shortening. */
export type ToolNameMap = ReadonlyMap<string, string>;

/** The map of a request that shortened no name: shared, since most requests have no long tool name (or no tools). */
export const NO_SHORTENED_NAMES: ToolNameMap = new Map();

/**
 * FNV-1a, 32 bits, over the UTF-16 code units of `text`, as 8 lowercase hex digits. Pure JS so translators need
 * no `node:crypto`; it only has to spread names, not resist an adversary (a collision is detected and refused).
 */
export function fnv1a32Hex(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** The name to send upstream: unchanged when it fits, else prefix + "_" + hash (exactly 64 characters). */
export function shortenToolName(name: string): string {
  if (name.length <= MAX_OPENAI_TOOL_NAME) return name;
  return `${name.slice(0, PREFIX_LENGTH)}_${fnv1a32Hex(name)}`;
}

/** The name the client declared for a name the upstream used; names that were never shortened pass unchanged. */
export function restoreToolName(map: ToolNameMap, name: string): string {
  return map.get(name) ?? name;
}
