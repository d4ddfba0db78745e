import { hasControlChars } from "../lib/control-chars.js";

/**
 * Longest model name a request may ask for, in either dialect and in the Route service: selection matches it
 * against every backend's `model_match` globs, whose cost grows with the name's length, and it ends up in logs and
 * headers. Real names are far shorter.
 */
const MAX_MODEL_LENGTH = 256;

/**
 * What is wrong with a requested model name that is a non-empty string, or undefined: longer than
 * {@link MAX_MODEL_LENGTH}, or holding control characters (it ends up in log lines and headers). One check for both
 * dialects' validators and the Route service; each words the missing or empty name its own way.
 */
export function modelNameProblem(model: string): string | undefined {
  if (model.length > MAX_MODEL_LENGTH) return `must be at most ${MAX_MODEL_LENGTH} characters`;
  if (hasControlChars(model)) return "must not contain control characters";
  return undefined;
}

/**
 * Most tools a request may declare, in either dialect. Every tool is translated, counted and sent on each call, so
 * without a bound one request could make the gateway and the backend do thousands of times the work of another;
 * agents with many MCP servers declare a few hundred.
 */
export const MAX_TOOLS = 1024;

/**
 * What backend selection needs to know about a request, extracted by each dialect's `*Requirements()` function.
 * Kept as a plain type so translators do not depend on generated protobuf code; the Route service maps it to
 * `llmux.route.v1.RouteRequirements`.
 */
export interface Requirements {
  /** The model the client asked for. */
  model: string;
  /** Estimated prompt tokens (see estimateTextTokens). */
  promptTokens: number;
  /** Output tokens asked for; 0 when the client gave no limit. */
  maxOutputTokens: number;
  hasImages: boolean;
  wantsThinking: boolean;
  /**
   * The exact prompt size for a backend's model, when a tokenizer for that model is loaded (undefined otherwise).
   * Selection calls it only near a context limit, where the estimate's error could change the decision.
   */
  exactPromptTokens?: (model: string) => number | undefined;
}

/** What a request puts before the model, for a tokenizer: the text in order, and what the text leaves out. */
export interface PromptText {
  text: string;
  /** Messages (and system prompt), each costing a few framing tokens. */
  messages: number;
  images: number;
}

/**
 * Estimated tokens for text: one token per 4 UTF-16 units, rounded up. It is the documented fallback where no
 * tokenizer for the model is known; it over-counts code and under-counts CJK, which is why context checks keep
 * a margin rather than trusting it to the token.
 */
export function estimateTextTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Tokens charged per image when estimating (a 1024×1024 image is ~1,600 tokens on the major providers). */
export const IMAGE_TOKEN_ESTIMATE = 1600;
