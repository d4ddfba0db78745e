import { globMatch } from "../../lib/glob.js";
import type { KeyGrants } from "./authenticator.js";

/** `*` or `?`: the characters that make a model pattern match more than one name. */
const WILDCARD = /[*?]/;

/**
 * Why a key with `requested` grants would hold more than `held`, or undefined when requested ⊆ held. Used when
 * an API key creates another key: a key restricted to some models, limits or an expiry cannot mint a key with
 * fewer restrictions (the escalation of LiteLLM CVE-2026-47101).
 *
 * Models: `held` empty allows anything. Otherwise every requested pattern must be one of the held patterns
 * (compared case-insensitively, as matching is) or a plain model name a held pattern matches; an empty request
 * (every model) is refused. Globs are not compared for containment, which is sound and simple: the new key's
 * set of models is a union of subsets of the held set. Limits: a held limit of 0 is unlimited; otherwise the
 * requested one must be set and no larger. Expiry: a held expiry requires one no later.
 */
export function grantExcess(held: KeyGrants, requested: KeyGrants): string | undefined {
  if (held.allowedModels.length > 0) {
    if (requested.allowedModels.length === 0) return "every model requested, but the creating key is limited to some";
    const heldLower = held.allowedModels.map((pattern) => pattern.toLowerCase());
    for (const pattern of requested.allowedModels) {
      const covered = heldLower.includes(pattern.toLowerCase()) || (!WILDCARD.test(pattern) && held.allowedModels.some((glob) => globMatch(glob, pattern)));
      if (!covered) return `model pattern "${pattern}" is not within the creating key's models`;
    }
  }
  const limits = [
    ["requests per minute", held.requestsPerMinute, requested.requestsPerMinute],
    ["tokens per minute", held.tokensPerMinute, requested.tokensPerMinute],
    ["tokens per day", held.tokensPerDay, requested.tokensPerDay],
  ] as const;
  for (const [name, heldLimit, requestedLimit] of limits) {
    if (heldLimit > 0 && (requestedLimit === 0 || requestedLimit > heldLimit)) return `${name} must be between 1 and ${heldLimit}`;
  }
  if (held.expiresAt !== undefined && (requested.expiresAt === undefined || requested.expiresAt > held.expiresAt)) {
    return "the key must expire no later than the creating key";
  }
  return undefined;
}
