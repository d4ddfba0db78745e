import { llmuxError, Reason, type LlmuxError } from "../../errors/llmux-error.js";

/** Longest upstream message passed on to a client; longer ones are cut (they sometimes echo the whole prompt). */
export const MAX_UPSTREAM_MESSAGE = 500;

/** What an upstream error body says, from any of the shapes OpenAI-compatible servers use. */
interface UpstreamErrorInfo {
  message: string | undefined;
  type: string | undefined;
  /** OpenAI sends a string (`model_not_found`); vLLM's legacy body sends the HTTP status as a number. */
  code: string | number | undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function codeOf(value: unknown): string | number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : str(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads `{"error":{message,type,code}}` (OpenAI), `{"error":"text"}` (some proxies) and
 * `{"object":"error","message","type","code"}` (vLLM before 0.9). Undefined for anything else.
 */
function readErrorInfo(body: unknown): UpstreamErrorInfo | undefined {
  if (!isRecord(body)) return undefined;
  const error = body.error;
  if (isRecord(error)) return { message: str(error.message), type: str(error.type), code: codeOf(error.code) };
  if (typeof error === "string") return { message: str(error), type: str(body.type), code: codeOf(body.code) };
  if (typeof body.message === "string") return { message: str(body.message), type: str(body.type), code: codeOf(body.code) };
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reasons whose upstream message is the client's business (it describes the client's request) and is kept. */
const CLIENT_FACING = new Set([Reason.INVALID_REQUEST, Reason.MODEL_NOT_FOUND, Reason.REQUEST_TOO_LARGE]);

/** Generic messages for everything else: the upstream's text may name llmux's provider account or internals. */
function genericMessage(reason: Reason, status: number | undefined): string {
  const http = status === undefined ? "" : ` (HTTP ${status})`;
  switch (reason) {
    case Reason.UPSTREAM_AUTH:
      return `the upstream provider rejected llmux's credentials${http}`;
    case Reason.RATE_LIMITED:
      return "the upstream provider's rate limit was exceeded";
    case Reason.UPSTREAM_OVERLOADED:
      return "the upstream provider is overloaded";
    case Reason.UPSTREAM_TIMEOUT:
      return "the upstream provider timed out";
    case Reason.MODEL_NOT_FOUND:
      return `the upstream provider does not know the model${http}`;
    case Reason.REQUEST_TOO_LARGE:
      return `the request is too large for the upstream provider${http}`;
    case Reason.INVALID_REQUEST:
      return `the upstream provider rejected the request${http}`;
    default:
      return `the upstream provider failed${http}`;
  }
}

/**
 * HTTP status → reason (spec/translation.md §11). A 401/403/402 means llmux's provider key or account is wrong,
 * never the client's token, so it is UPSTREAM_AUTH (502), not a 401 that would blame the client. A 404 is only
 * MODEL_NOT_FOUND when the body says so; otherwise the configured URL is wrong, which is llmux's failure.
 */
function reasonForStatus(status: number, info: UpstreamErrorInfo | undefined): Reason {
  switch (status) {
    case 400:
    case 422:
      return Reason.INVALID_REQUEST;
    case 404:
      return info !== undefined && (info.code === "model_not_found" || /model/i.test(info.message ?? ""))
        ? Reason.MODEL_NOT_FOUND
        : Reason.UPSTREAM_FAILED;
    case 413:
      return Reason.REQUEST_TOO_LARGE;
    case 401:
    case 402:
    case 403:
      return Reason.UPSTREAM_AUTH;
    case 429:
      // An exhausted balance (429 insufficient_quota) is a rate limit for the client, and a long cooldown for the
      // backend (the dispatcher reads upstreamType "insufficient_quota").
      return Reason.RATE_LIMITED;
    case 408:
    case 504:
      return Reason.UPSTREAM_TIMEOUT;
    case 503:
    case 529:
      return Reason.UPSTREAM_OVERLOADED;
    default:
      return Reason.UPSTREAM_FAILED;
  }
}

/**
 * Error `type`/`code` strings → reason, for in-band stream errors that carry no HTTP status. Covers OpenAI's
 * values (https://platform.openai.com/docs/guides/error-codes) and the Anthropic-style types some compatible
 * servers use (https://docs.anthropic.com/en/api/errors).
 */
const REASON_BY_TYPE: Readonly<Record<string, Reason>> = {
  invalid_request_error: Reason.INVALID_REQUEST,
  context_length_exceeded: Reason.INVALID_REQUEST,
  model_not_found: Reason.MODEL_NOT_FOUND,
  not_found_error: Reason.MODEL_NOT_FOUND,
  request_too_large: Reason.REQUEST_TOO_LARGE,
  requests: Reason.RATE_LIMITED,
  tokens: Reason.RATE_LIMITED,
  rate_limit_exceeded: Reason.RATE_LIMITED,
  rate_limit_error: Reason.RATE_LIMITED,
  insufficient_quota: Reason.RATE_LIMITED,
  authentication_error: Reason.UPSTREAM_AUTH,
  permission_error: Reason.UPSTREAM_AUTH,
  overloaded_error: Reason.UPSTREAM_OVERLOADED,
  server_overloaded: Reason.UPSTREAM_OVERLOADED,
  service_unavailable: Reason.UPSTREAM_OVERLOADED,
  timeout_error: Reason.UPSTREAM_TIMEOUT,
  timeout: Reason.UPSTREAM_TIMEOUT,
};

function build(reason: Reason, status: number | undefined, info: UpstreamErrorInfo | undefined): LlmuxError {
  const upstreamMessage = info?.message;
  const message =
    CLIENT_FACING.has(reason) && upstreamMessage !== undefined
      ? upstreamMessage.slice(0, MAX_UPSTREAM_MESSAGE)
      : genericMessage(reason, status);
  return llmuxError(reason, message, {
    ...(status !== undefined && { upstreamStatus: status }),
    ...(info?.code === "insufficient_quota" ? { upstreamType: "insufficient_quota" } : info?.type !== undefined && { upstreamType: info.type }),
    // The upstream's own words go to the log only, when they were not passed to the client.
    ...(upstreamMessage !== undefined && message !== upstreamMessage && { cause: upstreamMessage.slice(0, MAX_UPSTREAM_MESSAGE) }),
  });
}

/**
 * Maps an OpenAI-compatible upstream's non-2xx answer to an LlmuxError. The reason comes from the status
 * (reasonForStatus); the upstream's `error.message` is kept (cut to 500 characters) only for errors that describe
 * the client's request (400/404 model/413/422). A body that is not a recognised JSON error (an HTML page from a
 * proxy) is classified by status alone and never echoed. `retry-after` is a header, so the caller adds it.
 */
export function openaiUpstreamError(status: number, bodyText: string): LlmuxError {
  const info = readErrorInfo(parseJson(bodyText));
  return build(reasonForStatus(status, info), status, info);
}

/**
 * Maps an in-band stream error (`data: {"error":{…}}` after a 200) to an LlmuxError. Such a chunk has no HTTP
 * status: a numeric `code` (vLLM puts the status there) is read as one, else the error's `code` or `type`
 * (REASON_BY_TYPE); anything unrecognised is UPSTREAM_FAILED.
 */
export function openaiErrorFromBody(body: unknown): LlmuxError {
  const info = readErrorInfo(body);
  if (typeof info?.code === "number") return build(reasonForStatus(info.code, info), info.code, info);
  const reason =
    (typeof info?.code === "string" ? REASON_BY_TYPE[info.code] : undefined) ??
    (info?.type !== undefined ? REASON_BY_TYPE[info.type] : undefined) ??
    Reason.UPSTREAM_FAILED;
  return build(reason, undefined, info);
}
