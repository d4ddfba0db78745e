/**
 * Exact token counts for models whose tokenizer is public: the tiktoken encodings of OpenAI models, through
 * gpt-tokenizer (pure TypeScript, the encodings ship in the package, nothing is downloaded). Loading an encoding
 * costs about a second and 100 MB, so only the encodings the configured backends need are loaded, once, at
 * startup; counting is synchronous after that.
 */

export type EncodingName = "o200k_base" | "cl100k_base";

/** Tokens OpenAI's chat format adds per message, and once to prime the reply (OpenAI cookbook). */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING = 3;

/** The tiktoken encoding of an OpenAI model name, or undefined for models with no public tokenizer. */
export function encodingForModel(model: string): EncodingName | undefined {
  const name = model.toLowerCase().replace(/^.*\//, "");
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/.test(name)) return "o200k_base";
  if (/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)/.test(name)) return "cl100k_base";
  return undefined;
}

/** Counts tokens with the encodings loaded at startup. */
export interface TokenCounter {
  /** Tokens of `text` for `model`, or undefined when no encoding for that model is loaded. */
  countText(text: string, model: string): number | undefined;
  /** Tokens of a chat prompt: its text plus the per-message framing; undefined when no encoding is loaded. */
  countPrompt(prompt: { text: string; messages: number }, model: string): number | undefined;
}

/** Loads the encodings the given models need and returns a counter over them. */
export async function loadTokenCounter(models: readonly string[]): Promise<TokenCounter> {
  const needed = new Set(models.map(encodingForModel).filter((e): e is EncodingName => e !== undefined));
  const encoders = new Map<EncodingName, (text: string) => number>();
  for (const name of needed) {
    const module = name === "o200k_base" ? await import("gpt-tokenizer/encoding/o200k_base") : await import("gpt-tokenizer/encoding/cl100k_base");
    encoders.set(name, (text) => module.countTokens(text));
  }
  const countText = (text: string, model: string) => {
    const encoding = encodingForModel(model);
    const count = encoding === undefined ? undefined : encoders.get(encoding);
    return count?.(text);
  };
  return {
    countText,
    countPrompt(prompt, model) {
      const tokens = countText(prompt.text, model);
      return tokens === undefined ? undefined : tokens + prompt.messages * TOKENS_PER_MESSAGE + REPLY_PRIMING;
    },
  };
}
