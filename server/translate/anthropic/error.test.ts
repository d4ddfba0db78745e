import { describe, expect, it } from "vitest";
import { Reason } from "../../errors/llmux-error.js";
import { anthropicErrorFromBody, anthropicUpstreamError, MAX_UPSTREAM_MESSAGE } from "./error.js";

const body = (type: string, message: string): string => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_011" });
const HTML = "<html><body><h1>502 Bad Gateway</h1><p>upstream: 10.0.3.7:8443 key=sk-ant-secret</p></body></html>";
/** An upstream rate limit names llmux's provider account: never the client's business. */
const RATE_LIMITED = "the upstream provider's rate limit was exceeded";
const ORG_LIMIT = "Number of requests has exceeded your rate limit for org SECRETORG123";
const ORG_BILLING = "Your credit balance is too low to access the Anthropic API for org SECRETORG123";

describe("anthropicUpstreamError", () => {
  it.each<[string, number, string, Reason, string, string | undefined]>([
    ["400 typed: message kept", 400, body("invalid_request_error", "messages: text content blocks must be non-empty"), Reason.INVALID_REQUEST, "messages: text content blocks must be non-empty", "invalid_request_error"],
    ["401 typed: does not blame the client", 401, body("authentication_error", "invalid x-api-key"), Reason.UPSTREAM_AUTH, "upstream rejected llmux's provider credentials", "authentication_error"],
    ["402 billing_error: an exhausted balance is a rate limit, as OpenAI's insufficient_quota", 402, body("billing_error", ORG_BILLING), Reason.RATE_LIMITED, RATE_LIMITED, "billing_error"],
    ["429 billing_error", 429, body("billing_error", ORG_BILLING), Reason.RATE_LIMITED, RATE_LIMITED, "billing_error"],
    ["402 untyped: the provider account, not the client", 402, "<html>402</html>", Reason.UPSTREAM_AUTH, "upstream rejected llmux's provider credentials", undefined],
    ["403 typed", 403, body("permission_error", "Your API key does not have permission"), Reason.UPSTREAM_AUTH, "upstream rejected llmux's provider credentials", "permission_error"],
    ["404 typed: model not found", 404, body("not_found_error", "model: claude-opus-9"), Reason.MODEL_NOT_FOUND, "model: claude-opus-9", "not_found_error"],
    ["413 typed", 413, body("request_too_large", "Request exceeds the maximum allowed number of bytes."), Reason.REQUEST_TOO_LARGE, "Request exceeds the maximum allowed number of bytes.", "request_too_large"],
    ["429 typed: the account's limit is not passed on", 429, body("rate_limit_error", ORG_LIMIT), Reason.RATE_LIMITED, RATE_LIMITED, "rate_limit_error"],
    ["429 api_error: by status", 429, body("api_error", "Internal server error"), Reason.RATE_LIMITED, RATE_LIMITED, "api_error"],
    ["500 typed: generic", 500, body("api_error", "Internal server error"), Reason.UPSTREAM_FAILED, "upstream request failed (HTTP 500)", "api_error"],
    ["502 api_error", 502, body("api_error", "Bad gateway"), Reason.UPSTREAM_FAILED, "upstream request failed (HTTP 502)", "api_error"],
    ["503 api_error: by status, overloaded", 503, body("api_error", "Service unavailable"), Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", "api_error"],
    ["504 api_error: by status, timed out", 504, body("api_error", "Gateway timeout"), Reason.UPSTREAM_TIMEOUT, "upstream timed out", "api_error"],
    ["503 with a specific type: the type wins", 503, body("rate_limit_error", ORG_LIMIT), Reason.RATE_LIMITED, RATE_LIMITED, "rate_limit_error"],
    ["504 with a specific type: the type wins", 504, body("overloaded_error", "Overloaded"), Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", "overloaded_error"],
    ["529 typed", 529, body("overloaded_error", "Overloaded"), Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", "overloaded_error"],
    ["504 typed", 504, body("timeout_error", "Request timed out"), Reason.UPSTREAM_TIMEOUT, "upstream timed out", "timeout_error"],
    ["type wins over status", 500, body("overloaded_error", "Overloaded"), Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", "overloaded_error"],
    ["unknown type: by status, message kept for a 4xx", 422, body("brand_new_error", "nope"), Reason.INVALID_REQUEST, "nope", "brand_new_error"],
    ["400 HTML", 400, "<html>Bad Request</html>", Reason.INVALID_REQUEST, "upstream rejected the request (HTTP 400)", undefined],
    ["401 HTML", 401, "<html>401</html>", Reason.UPSTREAM_AUTH, "upstream rejected llmux's provider credentials", undefined],
    ["404 HTML: a wrong base URL, not a missing model", 404, "<html>Not Found</html>", Reason.UPSTREAM_FAILED, "upstream request failed (HTTP 404)", undefined],
    ["408 empty", 408, "", Reason.UPSTREAM_TIMEOUT, "upstream timed out", undefined],
    ["413 HTML from a proxy", 413, "<html>413 Request Entity Too Large</html>", Reason.REQUEST_TOO_LARGE, "request too large for the upstream", undefined],
    ["429 empty", 429, "", Reason.RATE_LIMITED, RATE_LIMITED, undefined],
    ["502 HTML: never echoed", 502, HTML, Reason.UPSTREAM_FAILED, "upstream request failed (HTTP 502)", undefined],
    ["503 HTML", 503, HTML, Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", undefined],
    ["504 HTML", 504, HTML, Reason.UPSTREAM_TIMEOUT, "upstream timed out", undefined],
    ["529 HTML", 529, HTML, Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", undefined],
    ["JSON that is not an error body", 500, '{"message":"boom"}', Reason.UPSTREAM_FAILED, "upstream request failed (HTTP 500)", undefined],
  ])("%s", (_name, status, text, reason, message, upstreamType) => {
    const err = anthropicUpstreamError(status, text);
    expect({ reason: err.reason, message: err.rawMessage, upstreamStatus: err.upstreamStatus, upstreamType: err.upstreamType }).toEqual({
      reason,
      message,
      upstreamStatus: status,
      upstreamType,
    });
  });

  it(`cuts a kept message to ${MAX_UPSTREAM_MESSAGE} characters`, () => {
    const long = "é".repeat(800);
    expect(anthropicUpstreamError(400, body("invalid_request_error", long)).rawMessage).toBe("é".repeat(MAX_UPSTREAM_MESSAGE));
  });

  it("keeps a generic error's upstream message for the log only", () => {
    const err = anthropicUpstreamError(500, body("api_error", "shard 7 failed"));
    expect(err.rawMessage).not.toContain("shard");
    expect(err.cause).toEqual({ upstreamMessage: "shard 7 failed" });
    expect(anthropicUpstreamError(502, HTML).cause).toBeUndefined();
  });

  it.each([
    ["rate_limit_error", ORG_LIMIT],
    ["billing_error", ORG_BILLING],
  ])("keeps a %s's account details for the log only", (type, message) => {
    const err = anthropicUpstreamError(429, body(type, message));
    expect([err.rawMessage, err.cause]).toEqual([RATE_LIMITED, { upstreamMessage: message }]);
  });
});

describe("anthropicErrorFromBody", () => {
  it.each<[string, unknown, Reason, string, string | undefined]>([
    ["overloaded_error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, Reason.UPSTREAM_OVERLOADED, "upstream is overloaded", "overloaded_error"],
    ["api_error", { type: "error", error: { type: "api_error", message: "Internal server error" } }, Reason.UPSTREAM_FAILED, "upstream request failed", "api_error"],
    ["rate_limit_error is not passed on", { type: "error", error: { type: "rate_limit_error", message: ORG_LIMIT } }, Reason.RATE_LIMITED, RATE_LIMITED, "rate_limit_error"],
    ["billing_error", { type: "error", error: { type: "billing_error", message: ORG_BILLING } }, Reason.RATE_LIMITED, RATE_LIMITED, "billing_error"],
    ["invalid_request_error keeps its message", { type: "error", error: { type: "invalid_request_error", message: "bad input" } }, Reason.INVALID_REQUEST, "bad input", "invalid_request_error"],
    ["an unrecognisable body", { hello: "world" }, Reason.UPSTREAM_FAILED, "upstream request failed", undefined],
    ["null", null, Reason.UPSTREAM_FAILED, "upstream request failed", undefined],
  ])("%s", (_name, obj, reason, message, upstreamType) => {
    const err = anthropicErrorFromBody(obj);
    expect({ reason: err.reason, message: err.rawMessage, upstreamStatus: err.upstreamStatus, upstreamType: err.upstreamType }).toEqual({
      reason,
      message,
      upstreamStatus: undefined,
      upstreamType,
    });
  });
});
