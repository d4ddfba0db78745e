import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/llmux/type/v1/error_pb.js";
import { renderAnthropicError, renderOpenAIError } from "./dialect-body.js";
import { LlmuxError, llmuxError, Reason, toLlmuxError } from "./llmux-error.js";

describe("LlmuxError", () => {
  it("is a ConnectError carrying one ErrorInfo detail", () => {
    const err = llmuxError(Reason.RATE_LIMITED, "slow down", { retryAfterMs: 1500, param: "model" });
    expect(err).toBeInstanceOf(LlmuxError);
    expect(err).toBeInstanceOf(ConnectError);
    expect(ConnectError.from(err)).toBe(err);
    expect(err.code).toBe(Code.ResourceExhausted);
    const [info] = err.findDetails(ErrorInfoSchema);
    expect(info).toMatchObject({ reason: Reason.RATE_LIMITED, retryAfterMs: 1500, param: "model" });
  });

  it("does not mistake a plain ConnectError for an LlmuxError", () => {
    const plain = new ConnectError("nope", Code.NotFound);
    expect(plain instanceof LlmuxError).toBe(false);
    expect(toLlmuxError(plain).reason).toBe(Reason.NOT_FOUND);
  });

  it("hides unknown errors behind a generic message", () => {
    const err = toLlmuxError(new TypeError("secret detail"));
    expect(err.reason).toBe(Reason.INTERNAL);
    expect(err.rawMessage).toBe("internal error");
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it.each([
    [Reason.INVALID_REQUEST, 400, "invalid_request_error", null, 400, "invalid_request_error"],
    [Reason.UNAUTHENTICATED, 401, "invalid_request_error", "invalid_api_key", 401, "authentication_error"],
    [Reason.PERMISSION_DENIED, 403, "invalid_request_error", "permission_denied", 403, "permission_error"],
    [Reason.MODEL_NOT_FOUND, 404, "invalid_request_error", "model_not_found", 404, "not_found_error"],
    [Reason.REQUEST_TOO_LARGE, 413, "invalid_request_error", "request_too_large", 413, "request_too_large"],
    [Reason.RATE_LIMITED, 429, "requests", "rate_limit_exceeded", 429, "rate_limit_error"],
    [Reason.UPSTREAM_OVERLOADED, 503, "server_error", "overloaded", 529, "overloaded_error"],
    [Reason.UPSTREAM_FAILED, 502, "server_error", "upstream_error", 502, "api_error"],
    [Reason.UPSTREAM_TIMEOUT, 504, "server_error", "upstream_timeout", 504, "timeout_error"],
    [Reason.UPSTREAM_AUTH, 502, "server_error", "upstream_auth_error", 502, "api_error"],
    [Reason.INTERNAL, 500, "server_error", null, 500, "api_error"],
  ])("reason %i renders as OpenAI %i %s/%s and Anthropic %i %s", (reason, status, type, code, aStatus, aType) => {
    const err = llmuxError(reason, "m", { param: "p" });
    expect(renderOpenAIError(err)).toEqual({ status, body: { error: { message: "m", type, param: "p", code } }, headers: {} });
    expect(renderAnthropicError(err)).toEqual({ status: aStatus, body: { type: "error", error: { type: aType, message: "m" } }, headers: {} });
  });

  it("sends Retry-After in whole seconds, rounded up", () => {
    expect(renderOpenAIError(llmuxError(Reason.RATE_LIMITED, "x", { retryAfterMs: 1001 })).headers).toEqual({ "retry-after": "2" });
  });
});
