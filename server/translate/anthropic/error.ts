import { llmuxError, Reason, type LlmuxError, type LlmuxErrorOptions } from "../../errors/llmux-error.js";

/** Longest upstream message passed on to a client. */
export const MAX_UPSTREAM_MESSAGE = 500;

/**
 * Anthropic error `type` → reason (https://docs.anthropic.com/claude/reference/errors). Authentication and
 * permission errors concern llmux's provider key, not the client's token, hence UPSTREAM_AUTH. An exhausted credit
 * balance is OpenAI's `insufficient_quota`: a rate limit for the client, and an hour's cooldown for the backend
 * (the dispatcher reads upstreamType "billing_error"). `api_error` is absent: it is Anthropic's catch-all and names
 * no cause, so the status decides (a 503 is overload, a 504 a timeout).
 */
const TYPE_REASONS: Readonly<Record<string, Reason>> = {
  invalid_request_error: Reason.INVALID_REQUEST,
  authentication_error: Reason.UPSTREAM_AUTH,
  permission_error: Reason.UPSTREAM_AUTH,
  billing_error: Reason.RATE_LIMITED,
  not_found_error: Reason.MODEL_NOT_FOUND,
  request_too_large: Reason.REQUEST_TOO_LARGE,
  rate_limit_error: Reason.RATE_LIMITED,
  overloaded_error: Reason.UPSTREAM_OVERLOADED,
  timeout_error: Reason.UPSTREAM_TIMEOUT,
};

/**
 * Reason for a status whose body carried no recognised error type (or only `api_error`). A bare 404 is not read as
 * "model not found": the Anthropic API always sends a typed body, so an untyped 404 means a wrong base URL or a proxy
 * in between, which another backend may not have.
 */
function reasonForStatus(status: number): Reason {
  if (status === 401 || status === 402 || status === 403) return Reason.UPSTREAM_AUTH;
  if (status === 408 || status === 504) return Reason.UPSTREAM_TIMEOUT;
  if (status === 413) return Reason.REQUEST_TOO_LARGE;
  if (status === 429) return Reason.RATE_LIMITED;
  if (status === 503 || status === 529) return Reason.UPSTREAM_OVERLOADED;
  if (status >= 400 && status < 500 && status !== 404) return Reason.INVALID_REQUEST;
  return Reason.UPSTREAM_FAILED;
}

/**
 * Reasons whose upstream message is about the client's request, and so is passed on (truncated). Not RATE_LIMITED:
 * an upstream limit is on llmux's provider account, and its message names that account.
 */
const CLIENT_FACING = new Set([Reason.INVALID_REQUEST, Reason.MODEL_NOT_FOUND, Reason.REQUEST_TOO_LARGE]);

function genericMessage(reason: Reason, status: number | undefined): string {
  const http = status === undefined ? "" : ` (HTTP ${status})`;
  switch (reason) {
    case Reason.INVALID_REQUEST:
      return `upstream rejected the request${http}`;
    case Reason.REQUEST_TOO_LARGE:
      return "request too large for the upstream";
    case Reason.RATE_LIMITED:
      // The OpenAI side's wording: a client sees the same limit whichever kind of backend hit it.
      return "the upstream provider's rate limit was exceeded";
    case Reason.UPSTREAM_AUTH:
      return "upstream rejected llmux's provider credentials";
    case Reason.UPSTREAM_OVERLOADED:
      return "upstream is overloaded";
    case Reason.UPSTREAM_TIMEOUT:
      return "upstream timed out";
    default:
      return `upstream request failed${http}`;
  }
}

interface UpstreamErrorFields {
  type: string;
  message: string;
}

/** `{type:"error", error:{type, message}}` → its inner fields, or undefined for anything else. */
function errorFields(body: unknown): UpstreamErrorFields | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { type, message } = error as { type?: unknown; message?: unknown };
  if (typeof type !== "string") return undefined;
  return { type, message: typeof message === "string" ? message : "" };
}

function build(fields: UpstreamErrorFields | undefined, status: number | undefined): LlmuxError {
  const typed = fields !== undefined ? TYPE_REASONS[fields.type] : undefined;
  const reason = typed ?? (status === undefined ? Reason.UPSTREAM_FAILED : reasonForStatus(status));
  const upstreamMessage = fields?.message.slice(0, MAX_UPSTREAM_MESSAGE);
  const keep = CLIENT_FACING.has(reason) && upstreamMessage !== undefined && upstreamMessage !== "";
  const options: LlmuxErrorOptions = {};
  if (status !== undefined) options.upstreamStatus = status;
  if (fields !== undefined) options.upstreamType = fields.type;
  // Kept for the log only: rate limit, 5xx and credential messages are not the client's business.
  if (!keep && upstreamMessage) options.cause = { upstreamMessage };
  return llmuxError(reason, keep ? upstreamMessage : genericMessage(reason, status), options);
}

/**
 * An Anthropic upstream's non-2xx answer → LlmuxError. A typed JSON body is classified by `error.type`, anything
 * else (HTML from a proxy, empty bodies) and the catch-all `api_error` by status. The upstream message is kept, cut
 * to {@link MAX_UPSTREAM_MESSAGE} characters, for errors about the request (400/404/413); 401/403 (and a 402 that is
 * not a `billing_error`) become UPSTREAM_AUTH with a message that does not blame the client's own key; 429s and
 * `billing_error` become RATE_LIMITED with a generic message; 5xx get generic messages (503/529 →
 * UPSTREAM_OVERLOADED, 504 → UPSTREAM_TIMEOUT). `upstreamStatus` and `upstreamType` are always set when known;
 * `retry-after` is a header, so the caller adds it.
 */
export function anthropicUpstreamError(status: number, bodyText: string): LlmuxError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  return build(errorFields(parsed), status);
}

/**
 * The data of an in-band `event: error` (sent after the 200, e.g. `overloaded_error` mid-stream) → LlmuxError,
 * classified by `error.type` as {@link anthropicUpstreamError} does; an unrecognisable body is UPSTREAM_FAILED.
 */
export function anthropicErrorFromBody(obj: unknown): LlmuxError {
  return build(errorFields(obj), undefined);
}
