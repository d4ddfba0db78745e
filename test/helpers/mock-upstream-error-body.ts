import { STATUS_CODES } from "node:http";

/** True for Messages API paths (`/v1/messages`, `/v1/messages/count_tokens`), whose errors use Anthropic's shape. */
function isAnthropicPath(path: string): boolean {
  return path.split("?", 1)[0]!.includes("/v1/messages");
}

/** Anthropic error `type` by status (https://docs.anthropic.com/en/api/errors); other 4xx/5xx fall back by class. */
const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/**
 * OpenAI error `type` by status (https://platform.openai.com/docs/guides/error-codes): 429 is "requests" as for a
 * requests-per-minute limit, 5xx "server_error", every other status "invalid_request_error".
 */
function openaiType(status: number): string {
  if (status === 429) return "requests";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

/**
 * The default error body for a status, in the dialect the request path implies: Anthropic
 * `{"type":"error","error":{"type","message"}}` for `/v1/messages…`, else OpenAI
 * `{"error":{"message","type","param":null,"code":null}}`. Real upstreams pick the shape by API, so a gateway
 * test can check it maps each one.
 */
export function defaultErrorBody(status: number, path: string): string {
  const message = `mock upstream: ${status} ${STATUS_CODES[status] ?? "Error"}`;
  if (isAnthropicPath(path)) {
    const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
    return JSON.stringify({ type: "error", error: { type, message } });
  }
  return JSON.stringify({ error: { message, type: openaiType(status), param: null, code: null } });
}
