import type { TokenCounter } from "../lib/token-counter.js";
import { IMAGE_TOKEN_ESTIMATE, type PromptText, type Requirements } from "../translate/requirements.js";

/**
 * Adds the exact-count hook to a request's requirements: the prompt text is built at most once, and counted at
 * most once per tokenizer, only if selection or count_tokens asks (near a context limit, or for a backend whose
 * model has a public tokenizer).
 */
export function withExactCount(requirements: Requirements, promptText: () => PromptText, counter: TokenCounter): Requirements {
  let text: PromptText | undefined;
  // Created on the first call: most requests are far from any context limit and never ask.
  let counts: Map<string, number | undefined> | undefined;
  // The requirements are the request's own, fresh object: adding the hook in place saves a copy per request.
  requirements.exactPromptTokens = (model) => {
    counts ??= new Map();
    if (!counts.has(model)) {
      text ??= promptText();
      const tokens = counter.countPrompt(text, model);
      counts.set(model, tokens === undefined ? undefined : tokens + text.images * IMAGE_TOKEN_ESTIMATE);
    }
    return counts.get(model);
  };
  return requirements;
}
