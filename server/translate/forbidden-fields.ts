/**
 * Top-level request fields that would redirect the call or smuggle credentials (LiteLLM CVE-2024-6587). Both
 * dialects' validators refuse them: pass-through routes forward unknown fields verbatim, and only llmux decides
 * where a request goes and with which key.
 */
export const FORBIDDEN_FIELDS: readonly string[] = ["api_base", "base_url", "api_key", "extra_headers", "headers", "api_version"];

/** The first of {@link FORBIDDEN_FIELDS} present at the top level of `body`, or undefined. */
export function forbiddenField(body: Record<string, unknown>): string | undefined {
  for (const key of FORBIDDEN_FIELDS) if (key in body) return key;
  return undefined;
}
