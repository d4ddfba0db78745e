import type { ProviderKind } from "../config/types.js";
import type { CancelSignal } from "../lib/cancellation.js";
import type { ByteBody } from "../lib/read-body.js";

/** The wire protocol an upstream speaks. */
export type Dialect = "openai" | "anthropic";

/** One call to an upstream, already in the upstream's dialect. */
export interface UpstreamCall {
  /** `chat`: OpenAI `POST {base}/chat/completions` or Anthropic `POST {base}/v1/messages`; `count_tokens`: Anthropic only. */
  operation: "chat" | "count_tokens";
  /** The request body in the upstream's dialect; serialized exactly once, by the adapter. */
  body: Record<string, unknown>;
  /** Extra request headers (already allowlisted, e.g. `anthropic-beta`); never client credentials. */
  headers: Record<string, string>;
  /** Aborts the upstream request (client gone, deadline passed). */
  signal: CancelSignal;
}

/** The upstream's answer: status and headers as received, and the body. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Read once: iterated (streams) or whole (`readBodyBytes`). */
  body: ByteBody;
}

/** A configured provider: knows its URL, credential and transport; knows nothing of routing or translation. */
export interface ProviderAdapter {
  readonly name: string;
  readonly kind: ProviderKind;
  readonly dialect: Dialect;
  /**
   * Sends one request. Resolves once response headers arrive; rejects with an LlmuxError (UPSTREAM_FAILED,
   * UPSTREAM_TIMEOUT or CANCELED) when no response arrives. Never retries. The HTTP providers serialise `body`
   * before they return and keep none of it, so the caller may let the parsed request go while the answer is awaited.
   */
  send(call: UpstreamCall): Promise<UpstreamResponse>;
  /**
   * Asks the upstream whether it is up, at no cost: a model-list GET, never a completion. Resolves true only for a
   * 2xx answer read before `signal` aborts; false for any other status (a redirect included: it is never
   * followed), a transport failure or an abort. Never rejects, never retries.
   */
  probe(signal: AbortSignal): Promise<boolean>;
  /**
   * Exact prompt tokens from the server's own tokenizer, where it has one (vLLM's `POST /tokenize`); undefined
   * when the server has none or the call fails. Never a completion: it costs nothing.
   */
  tokenize?(body: Record<string, unknown>, signal: AbortSignal): Promise<number | undefined>;
  /** Replaces this provider's credential wherever it appears in `text` (an upstream may quote the key back). */
  redact(text: string): string;
  /** Releases pooled connections. */
  close(): Promise<void>;
}
