import type { BackendConfig } from "../../config/types.js";
import type { LlmuxError } from "../../errors/llmux-error.js";
import type { ChatEvent, SseEvent, Usage } from "../canonical.js";

/** The two HTTP dialects llmux speaks, to clients and to upstreams. */
export type Dialect = "openai" | "anthropic";

/**
 * Turns one upstream stream into the client's stream, event by event. Created per attempt; holds the state of
 * that one stream.
 */
export interface StreamTranslator {
  /** Client SSE text for one upstream event ("" when nothing is due yet). Throws an LlmuxError on an in-band error. */
  push(event: SseEvent): string;
  /** Client SSE text at a clean end of the upstream body. Throws if the upstream stream was truncated. */
  end(): string;
  /** A terminal error frame in the client's dialect (the stream ends after it). */
  error(err: LlmuxError): string;
  /**
   * The upstream's usage for the whole answer, once it has sent its final counts and they are trustworthy;
   * undefined before that (a stream that breaks early) and when it sent none or an untrusted one.
   */
  usage(): Usage | undefined;
  /**
   * The counts an upstream reports before its answer (Anthropic's message_start: input and cache counters exact,
   * output a placeholder), when it did and they are trusted; absent for dialects that report only at the end. What
   * an estimate for a stream that broke before its final usage keeps exact.
   */
  promptUsage?(): Usage | undefined;
  /**
   * Characters of text, thinking and tool-call arguments sent to the client so far: what llmux estimates output
   * tokens from when `usage()` has nothing to say. A length added per delta, nothing more on the hot path.
   */
  outputChars(): number;
  /**
   * True once the upstream sent content (text, a tool call, thinking, a stop reason), not only a preamble such as
   * OpenAI's role chunk or Anthropic's message_start: the point of no return is the first content, so a stream
   * that breaks before it can still fail over.
   */
  contentSeen(): boolean;
}

/**
 * The client's validated request, as an exchange reads it: on every `upstreamBody` (and once when it is created),
 * never kept. Between attempts the caller may drop the parsed request and parse it again from its bytes when a
 * failover asks (see `DispatchCall.parkRequest`): an agent's request waiting for its upstream then holds no parsed
 * tree, which would otherwise outlive the young generation with it.
 */
export type RequestSource<T> = () => T;

/**
 * Everything that differs between the four (client dialect, backend dialect) routes, as pure functions over one
 * request. Created per request; `upstreamBody` may be called once per attempt (failover re-encodes for the next
 * backend, leaving the client's body untouched). Exchanges keep only small facts about the request (its model,
 * whether it streams, its tool names), and read the rest from their {@link RequestSource}.
 */
export interface Exchange {
  /** The body to send to this backend, in its dialect, with the backend's model and key edits applied. */
  upstreamBody(backend: BackendConfig): Record<string, unknown>;
  /** The client's response body (serialized) for a successful non-streaming upstream answer from `backend`. */
  response(upstreamText: string, upstreamJson: unknown, backend: BackendConfig): ExchangeAnswer;
  /** A stream translator for one attempt against `backend`. */
  stream(backend: BackendConfig): StreamTranslator;
  /** Maps a non-2xx upstream answer to an error (the upstream's own message is kept for 4xx). */
  upstreamError(status: number, bodyText: string): LlmuxError;
}

/** A non-streaming answer as the client gets it, with what accounting needs to know about it. */
export interface ExchangeAnswer {
  body: string;
  /** The upstream's usage; undefined when it sent none or an untrusted one (see `StreamTranslator.usage`). */
  usage: Usage | undefined;
  /** Characters of text, thinking and tool-call arguments in the answer (see `StreamTranslator.outputChars`). */
  outputChars: number;
}

/** Per-request facts a translator cannot make up itself (it has no clock and no randomness). */
export interface ExchangeContext {
  /** Response id in the client's format (`chatcmpl-…`, `msg_…`), used where the upstream's id cannot be passed on. */
  id: string;
  /** Unix seconds. */
  created: number;
}

/** The canonical stream decoder of one upstream dialect. */
export interface StreamDecoder {
  push(event: SseEvent): ChatEvent[];
  end(): ChatEvent[];
  /** The upstream's final, trustworthy usage once it arrived (even if the stream then breaks), else undefined. */
  usage(): Usage | undefined;
  /** See `StreamTranslator.promptUsage`. */
  promptUsage?(): Usage | undefined;
}

/** The canonical stream encoder of one client dialect. */
export interface StreamEncoder {
  encode(event: ChatEvent): string;
  error(err: LlmuxError): string;
}

/**
 * The exchanges of one request, one per backend dialect, each created on first use and reused by later attempts:
 * `same` serves a backend of the client's own dialect, `translated` one of the other.
 */
export function lazyExchanges(client: Dialect, same: () => Exchange, translated: () => Exchange): (dialect: Dialect) => Exchange {
  let sameDialect: Exchange | undefined;
  let otherDialect: Exchange | undefined;
  return (dialect) => (dialect === client ? (sameDialect ??= same()) : (otherDialect ??= translated()));
}

/**
 * True for a canonical event that carries content: text or thinking, tool input, a signature, a block that means
 * something by itself (a tool call, redacted thinking), or the finish. The start, an empty delta and the framing of
 * a text or thinking block are not: a stream that breaks after them can still fail over.
 */
function isContent(event: ChatEvent): boolean {
  switch (event.type) {
    case "start":
    case "block_stop":
      return false;
    case "block_start":
      return event.block.type === "tool_use" || event.block.type === "redacted_thinking";
    case "text_delta":
      return event.text !== "";
    case "thinking_delta":
      return event.thinking !== "";
    case "tool_input_delta":
      return event.partialJson !== "";
    default:
      return true;
  }
}

/**
 * Joins an upstream decoder and a client encoder into one stream translator (the hub path). Usage is the
 * decoder's (its final report, kept even when the stream breaks after it); output is counted from the canonical
 * deltas the encoder is given.
 */
export function translateStream(decoder: StreamDecoder, encoder: StreamEncoder): StreamTranslator {
  let content = false;
  let chars = 0;
  const encode = (events: ChatEvent[]) => {
    let out = "";
    for (const event of events) {
      if (event.type === "text_delta") chars += event.text.length;
      else if (event.type === "thinking_delta") chars += event.thinking.length;
      else if (event.type === "tool_input_delta") chars += event.partialJson.length;
      if (!content && isContent(event)) content = true;
      out += encoder.encode(event);
    }
    return out;
  };
  return {
    push: (event) => encode(decoder.push(event)),
    end: () => encode(decoder.end()),
    error: (err) => encoder.error(err),
    usage: () => decoder.usage(),
    promptUsage: () => decoder.promptUsage?.(),
    outputChars: () => chars,
    contentSeen: () => content,
  };
}
