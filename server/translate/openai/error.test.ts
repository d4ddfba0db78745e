import { describe, expect, it } from "vitest";
import { Reason, type LlmuxError } from "../../errors/llmux-error.js";
import { openaiErrorFromBody, openaiUpstreamError } from "./error.js";

const oai = (message: string, type: string, code: string | null = null) => JSON.stringify({ error: { message, type, param: null, code } });
const HTML = "<html><body><h1>502 Bad Gateway</h1><p>nginx secret-host-7</p></body></html>";

function facts(err: LlmuxError) {
  return { reason: Reason[err.reason], message: err.rawMessage, upstreamStatus: err.upstreamStatus, upstreamType: err.upstreamType };
}

describe("openaiUpstreamError", () => {
  it.each<[number, string, string, string, string | undefined]>([
    [400, oai("Invalid 'messages[1].content': string too long.", "invalid_request_error"), "INVALID_REQUEST", "Invalid 'messages[1].content': string too long.", "invalid_request_error"],
    [400, "Bad Request", "INVALID_REQUEST", "the upstream provider rejected the request (HTTP 400)", undefined],
    [422, JSON.stringify({ object: "error", message: "max_tokens must be at least 1", type: "BadRequestError", code: 422 }), "INVALID_REQUEST", "max_tokens must be at least 1", "BadRequestError"],
    [404, oai("The model `gpt-9` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"), "MODEL_NOT_FOUND", "The model `gpt-9` does not exist or you do not have access to it.", "invalid_request_error"],
    [404, JSON.stringify({ error: "model 'llama9' not found" }), "MODEL_NOT_FOUND", "model 'llama9' not found", undefined],
    [404, "<html>Not Found</html>", "UPSTREAM_FAILED", "the upstream provider failed (HTTP 404)", undefined],
    [413, oai("Request too large", "invalid_request_error"), "REQUEST_TOO_LARGE", "Request too large", "invalid_request_error"],
    [413, "", "REQUEST_TOO_LARGE", "the request is too large for the upstream provider (HTTP 413)", undefined],
    [401, oai("Incorrect API key provided: sk-proj-ab***yz.", "invalid_request_error", "invalid_api_key"), "UPSTREAM_AUTH", "the upstream provider rejected llmux's credentials (HTTP 401)", "invalid_request_error"],
    [403, oai("Country not supported", "permission_denied"), "UPSTREAM_AUTH", "the upstream provider rejected llmux's credentials (HTTP 403)", "permission_denied"],
    [429, oai("Rate limit reached for gpt-4o in organization org-123 on tokens per min.", "tokens", "rate_limit_exceeded"), "RATE_LIMITED", "the upstream provider's rate limit was exceeded", "tokens"],
    // An exhausted quota is a rate limit for the client (never its account details); upstreamType marks it for the
    // dispatcher's hour-long cooldown.
    [429, oai("You exceeded your current quota.", "insufficient_quota", "insufficient_quota"), "RATE_LIMITED", "the upstream provider's rate limit was exceeded", "insufficient_quota"],
    [500, oai("The server had an error while processing your request.", "server_error"), "UPSTREAM_FAILED", "the upstream provider failed (HTTP 500)", "server_error"],
    [502, HTML, "UPSTREAM_FAILED", "the upstream provider failed (HTTP 502)", undefined],
    [503, oai("Service unavailable", "server_error"), "UPSTREAM_OVERLOADED", "the upstream provider is overloaded", "server_error"],
    [529, JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }), "UPSTREAM_OVERLOADED", "the upstream provider is overloaded", "overloaded_error"],
    [504, HTML, "UPSTREAM_TIMEOUT", "the upstream provider timed out", undefined],
    [408, "", "UPSTREAM_TIMEOUT", "the upstream provider timed out", undefined],
    [418, "{}", "UPSTREAM_FAILED", "the upstream provider failed (HTTP 418)", undefined],
  ])("%i %s → %s", (status, body, reason, message, upstreamType) => {
    expect(facts(openaiUpstreamError(status, body))).toEqual({ reason, message, upstreamStatus: status, upstreamType });
  });

  it("keeps at most 500 characters of an upstream message", () => {
    const err = openaiUpstreamError(400, oai("x".repeat(600), "invalid_request_error"));
    expect(err.rawMessage).toBe("x".repeat(500));
  });

  it("keeps an unsent upstream message as the cause, for the log", () => {
    expect(openaiUpstreamError(500, oai("shard 7 exploded", "server_error")).cause).toBe("shard 7 exploded");
    expect(openaiUpstreamError(502, HTML).cause).toBeUndefined();
  });
});

describe("openaiErrorFromBody", () => {
  it.each<[unknown, string, string, number | undefined, string | undefined]>([
    [{ error: { message: "The server had an error", type: "server_error", param: null, code: null } }, "UPSTREAM_FAILED", "the upstream provider failed", undefined, "server_error"],
    [{ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }, "RATE_LIMITED", "the upstream provider's rate limit was exceeded", undefined, "requests"],
    [{ error: { message: "too many tokens", type: "invalid_request_error", code: "context_length_exceeded" } }, "INVALID_REQUEST", "too many tokens", undefined, "invalid_request_error"],
    [{ error: { message: "Overloaded", type: "overloaded_error" } }, "UPSTREAM_OVERLOADED", "the upstream provider is overloaded", undefined, "overloaded_error"],
    [{ error: { message: "bad input", type: "BadRequestError", code: 400 } }, "INVALID_REQUEST", "bad input", 400, "BadRequestError"],
    [{ error: { message: "weird", type: "mystery" } }, "UPSTREAM_FAILED", "the upstream provider failed", undefined, "mystery"],
    [{ something: "else" }, "UPSTREAM_FAILED", "the upstream provider failed", undefined, undefined],
  ])("%j → %s", (body, reason, message, upstreamStatus, upstreamType) => {
    expect(facts(openaiErrorFromBody(body))).toEqual({ reason, message, upstreamStatus, upstreamType });
  });
});
