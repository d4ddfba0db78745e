import type { FastifyReply, FastifyRequest } from "fastify";
import { renderAnthropicError, renderOpenAIError } from "../errors/dialect-body.js";
import { llmuxError, Reason, toLlmuxError, type LlmuxError } from "../errors/llmux-error.js";
import type { Dialect } from "../translate/exchange/exchange.js";

/**
 * The dialect a request speaks, from its path: `/v1/messages…` is Anthropic; `/v1/models` is Anthropic when the
 * client sends `anthropic-version` (the Anthropic SDK always does); everything else is OpenAI.
 */
export function dialectOf(request: FastifyRequest): Dialect {
  const url = request.url;
  if (url.startsWith("/v1/messages")) return "anthropic";
  if (url.startsWith("/v1/models") && request.headers["anthropic-version"] !== undefined) return "anthropic";
  return "openai";
}

/** Maps Fastify's own errors (body parsing, limits) to llmux reasons; everything else goes through toLlmuxError. */
export function fromFastifyError(err: unknown): LlmuxError {
  const code = typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
  switch (code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return llmuxError(Reason.REQUEST_TOO_LARGE, "request body is too large", { cause: err });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return llmuxError(Reason.UNSUPPORTED_MEDIA_TYPE, "content-type must be application/json", { cause: err });
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return llmuxError(Reason.INVALID_REQUEST, "request body is empty; send a JSON object", { cause: err });
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return llmuxError(Reason.INVALID_REQUEST, "request body is not valid JSON", { cause: err });
  }
  if (err instanceof SyntaxError) return llmuxError(Reason.INVALID_REQUEST, "request body is not valid JSON", { cause: err });
  const status = typeof err === "object" && err !== null && "statusCode" in err ? Number((err as { statusCode: unknown }).statusCode) : 0;
  // Fastify reports prototype poisoning, bad headers and similar client faults as 4xx errors.
  if (status >= 400 && status < 500 && err instanceof Error) {
    return llmuxError(status === 404 ? Reason.NOT_FOUND : Reason.INVALID_REQUEST, err.message, { cause: err });
  }
  return toLlmuxError(err);
}

/** Sends an error in the request's dialect. 5xx causes go to the log, never to the client. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const error = fromFastifyError(err);
  if (error.reason === Reason.INTERNAL) request.log.error({ reqId: request.id, err: error.cause ?? error }, "internal error");
  const rendered = dialectOf(request) === "anthropic" ? renderAnthropicError(error) : renderOpenAIError(error);
  return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
}
