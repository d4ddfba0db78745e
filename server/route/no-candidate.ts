import { llmuxError, Reason, type LlmuxError } from "../errors/llmux-error.js";
import type { Requirements } from "../translate/requirements.js";
import type { Selection } from "./select.js";

/**
 * Explains an empty selection as the error the client should see:
 * - backends that would serve the request but are cooling down, unhealthy or out of rate window → 429 (all
 *   rate-limited) or 503, with Retry-After set to the earliest moment one is available again (or checked again);
 * - backends that serve the model but whose context is too small for every one → 400 naming the size and the
 *   largest context available;
 * - otherwise → 404: no backend serves this model (the backend list is not disclosed).
 */
export function noCandidateError(selection: Selection, req: Requirements, now: number): LlmuxError {
  const relevant = selection.decisions.filter((d) => d.reason !== "model_name_mismatch");
  const waiting = relevant.filter((d) => d.reason === "cooling_down" || d.reason === "rate_window_full" || d.reason === "unhealthy");
  if (waiting.length > 0) {
    const earliest = Math.min(...waiting.map((d) => d.availableAt ?? now));
    const retryAfterMs = Math.max(1000, earliest - now);
    return waiting.every((d) => d.reason === "rate_window_full")
      ? llmuxError(Reason.RATE_LIMITED, `every backend for ${req.model} has reached its rate limit; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs })
      : llmuxError(Reason.UPSTREAM_OVERLOADED, `every backend for ${req.model} is temporarily unavailable; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
  }
  const tooSmall = relevant.filter((d) => d.reason === "context_too_small");
  if (tooSmall.length > 0 && tooSmall.length === relevant.length) {
    const largest = Math.max(...tooSmall.map((d) => d.backend.context ?? 0));
    const needed = req.promptTokens + req.maxOutputTokens;
    return llmuxError(
      Reason.INVALID_REQUEST,
      `request needs about ${needed} tokens (prompt ${req.promptTokens} + max output ${req.maxOutputTokens}); the largest context available is ${largest}`,
      { param: "messages" },
    );
  }
  return llmuxError(Reason.MODEL_NOT_FOUND, `no backend can serve model '${req.model}' with this request`, { param: "model" });
}
