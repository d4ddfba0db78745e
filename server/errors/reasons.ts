import { Code } from "@connectrpc/connect";
import { Reason } from "../../gen/llmux/type/v1/error_pb.js";

/** How one failure reason reads in every protocol llmux speaks. */
export interface ReasonSpec {
  /** Connect / gRPC code. */
  readonly code: Code;
  /** HTTP status for OpenAI-dialect clients and the control plane's HTTP wrappers. */
  readonly status: number;
  /** OpenAI error body `type` and `code` (https://platform.openai.com/docs/guides/error-codes). */
  readonly openaiType: string;
  readonly openaiCode: string | null;
  /** Anthropic error `type` and status (https://docs.anthropic.com/claude/reference/errors). */
  readonly anthropicType: string;
  readonly anthropicStatus: number;
}

const spec = (
  code: Code,
  status: number,
  openaiType: string,
  openaiCode: string | null,
  anthropicType: string,
  anthropicStatus = status,
): ReasonSpec => ({ code, status, openaiType, openaiCode, anthropicType, anthropicStatus });

/**
 * The single table from failure reason to wire representation. Everything that writes an error (facade
 * plugins, Connect handlers, stream encoders) reads it from here.
 */
export const REASONS: Readonly<Record<Reason, ReasonSpec>> = {
  [Reason.UNSPECIFIED]: spec(Code.Internal, 500, "server_error", null, "api_error"),
  [Reason.INVALID_REQUEST]: spec(Code.InvalidArgument, 400, "invalid_request_error", null, "invalid_request_error"),
  [Reason.UNAUTHENTICATED]: spec(Code.Unauthenticated, 401, "invalid_request_error", "invalid_api_key", "authentication_error"),
  [Reason.PERMISSION_DENIED]: spec(Code.PermissionDenied, 403, "invalid_request_error", "permission_denied", "permission_error"),
  [Reason.MODEL_NOT_FOUND]: spec(Code.NotFound, 404, "invalid_request_error", "model_not_found", "not_found_error"),
  [Reason.REQUEST_TOO_LARGE]: spec(Code.ResourceExhausted, 413, "invalid_request_error", "request_too_large", "request_too_large"),
  [Reason.RATE_LIMITED]: spec(Code.ResourceExhausted, 429, "requests", "rate_limit_exceeded", "rate_limit_error"),
  // OpenAI has no 529; Anthropic clients (and Claude Code's retry logic) expect it for overload.
  [Reason.UPSTREAM_OVERLOADED]: spec(Code.Unavailable, 503, "server_error", "overloaded", "overloaded_error", 529),
  [Reason.UPSTREAM_FAILED]: spec(Code.Unavailable, 502, "server_error", "upstream_error", "api_error"),
  [Reason.UPSTREAM_TIMEOUT]: spec(Code.DeadlineExceeded, 504, "server_error", "upstream_timeout", "timeout_error", 504),
  [Reason.UPSTREAM_AUTH]: spec(Code.Unavailable, 502, "server_error", "upstream_auth_error", "api_error"),
  [Reason.CANCELED]: spec(Code.Canceled, 499, "server_error", "canceled", "api_error"),
  [Reason.INTERNAL]: spec(Code.Internal, 500, "server_error", null, "api_error"),
  [Reason.UNSUPPORTED_MEDIA_TYPE]: spec(Code.InvalidArgument, 415, "invalid_request_error", "unsupported_media_type", "invalid_request_error", 415),
  [Reason.NOT_FOUND]: spec(Code.NotFound, 404, "invalid_request_error", "not_found", "not_found_error"),
  [Reason.UPSTREAM_INVALID_RESPONSE]: spec(Code.Unavailable, 502, "server_error", "upstream_invalid_response", "api_error"),
};

/** The reason a Connect code stands for, for errors that did not start as an LlmuxError. */
export function reasonForCode(code: Code): Reason {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return Reason.INVALID_REQUEST;
    case Code.Unauthenticated:
      return Reason.UNAUTHENTICATED;
    case Code.PermissionDenied:
      return Reason.PERMISSION_DENIED;
    case Code.NotFound:
      return Reason.NOT_FOUND;
    case Code.ResourceExhausted:
      return Reason.RATE_LIMITED;
    case Code.Unavailable:
      return Reason.UPSTREAM_FAILED;
    case Code.DeadlineExceeded:
      return Reason.UPSTREAM_TIMEOUT;
    case Code.Canceled:
      return Reason.CANCELED;
    default:
      return Reason.INTERNAL;
  }
}
