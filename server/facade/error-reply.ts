import type { FastifyReply, FastifyRequest } from "fastify";
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { openaiErrorBody, renderAnthropicError, renderOpenAIError } from "../errors/dialect-body.js";
import { llmuxError, Reason, toLlmuxError, type LlmuxError } from "../errors/llmux-error.js";
import type { Dialect } from "../translate/exchange/exchange.js";

/**
 * The dialect a request speaks, from the route it matched: `/v1/messages…` is Anthropic; `/v1/models` is Anthropic
 * when the client sends `anthropic-version` (the Anthropic SDK always does); everything else is OpenAI.
 */
export function dialectOf(request: FastifyRequest): Dialect {
  // The route, not the raw target: `/v1/%6d%65ssages` and `http://host/v1/messages` reach the Anthropic route too.
  // Only an unmatched request (a 404) has nothing but its raw target.
  const url = request.routeOptions.url ?? request.url;
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

/** `/package.Service/Method`: the path of a procedure, as Connect, gRPC and gRPC-Web clients call it. */
const PROCEDURE_PATH = /^\/[a-z]\w*(?:\.[a-z]\w*)*\.[A-Z]\w*\/[A-Z]\w*$/;

/**
 * Answers a request no route matched: an error in its dialect, except that a path shaped like a procedure gets a
 * Connect error (`unimplemented`, with the 404 Connect servers answer an unknown procedure with), so an RPC client
 * of the facade port reads the code it expects rather than an OpenAI body.
 */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split("?")[0]!;
  if (PROCEDURE_PATH.test(path)) {
    return reply.code(404).type("application/json").send(JSON.stringify({ code: "unimplemented", message: `no procedure ${path.slice(1)}` }));
  }
  return sendError(request, reply, llmuxError(Reason.NOT_FOUND, `no route for ${request.method} ${path}`));
}

/** The status Node itself answers each parser error with (`socketOnError` in node:_http_server); others are 400. */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; reason: Reason; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: Reason.INVALID_REQUEST, message: "request headers are too large" },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: Reason.REQUEST_TOO_LARGE, message: "chunk extensions are too large" },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: Reason.INVALID_REQUEST, message: "the request was not received in time" },
};
const MALFORMED = { status: 400, reason: Reason.INVALID_REQUEST, message: "malformed HTTP request" };

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses (a NUL byte in a header, oversized
 * headers, a request not received in time) with a JSON error, then closes the connection. The dialect cannot be
 * known: the request was not parsed (or, for a timeout, not received) far enough to be routed, so the body has the
 * OpenAI shape, the default for every path but Anthropic's. The status is the one Node would send; the message is
 * fixed, never the parser's detail or a stack.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // Reset or already closed: there is no one to answer.
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const { status, reason, message } = CLIENT_ERRORS[err.code ?? ""] ?? MALFORMED;
  // Node's own guard: a response already under way on this socket must not get a status line in its middle.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(openaiErrorBody(llmuxError(reason, message)));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
