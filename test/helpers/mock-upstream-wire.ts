/** What varies per response and is not in the reply: the response id and the `created` second (OpenAI). */
export interface ResponseIdentity {
  id: string;
  created: number;
}

/** Piece size for streamed text when a reply gives no `chunkChars`: small, so every stream has several deltas. */
export const DEFAULT_CHUNK_CHARS = 4;

/**
 * Splits text into pieces of at most `size` code points, in order; "" gives no pieces. Splitting by code point
 * (not UTF-16 unit) keeps surrogate pairs whole, so every piece serializes to valid JSON the way a real upstream's
 * deltas do.
 */
export function splitText(text: string, size: number): string[] {
  const step = Math.max(1, Math.floor(size));
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; i += step) pieces.push(points.slice(i, i + step).join(""));
  return pieces;
}

/**
 * A deterministic token count for replies that give no usage: one token per 4 characters, at least 1 (real
 * upstreams never report 0 output tokens). Deterministic so integration tests can assert the usage they record.
 */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The request's `model` when it is a string, else "mock-model": both providers echo the requested model. */
export function requestModel(json: unknown): string {
  const model = isRecord(json) ? json["model"] : undefined;
  return typeof model === "string" ? model : "mock-model";
}

/** True when the request body asks for a stream (`"stream": true`); anything else gets one JSON body. */
export function requestStreams(json: unknown): boolean {
  return isRecord(json) && json["stream"] === true;
}

/** Narrows a parsed JSON value to an object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The text of the last `user` message of an OpenAI Chat or Anthropic Messages request: a string content, or its
 * `text` parts joined. "" when there is none. Both dialects share this shape, so one function serves the default
 * echo replies.
 */
export function lastUserText(json: unknown): string {
  const messages = isRecord(json) ? json["messages"] : undefined;
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (!isRecord(message) || message["role"] !== "user") continue;
    const content = message["content"];
    if (typeof content === "string") return content;
    if (!Array.isArray(content)) return "";
    return content
      .map((part: unknown) => (isRecord(part) && part["type"] === "text" && typeof part["text"] === "string" ? part["text"] : ""))
      .join("");
  }
  return "";
}
