import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import type { ChatResult } from "../services/gateway/gateway-service.js";
import type { RequestContext } from "./request-tracker.js";

/**
 * An AbortSignal that fires when the client goes away before the response is complete, in any phase (waiting
 * for the first token, mid-stream, or waiting for a non-streaming answer), so the upstream request is aborted.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort(llmuxError(Reason.CANCELED, "client closed the connection"));
  });
  return controller.signal;
}

/** Sends a dispatch result: a JSON body as is, or an SSE stream that starts with the already-validated first frames. */
export function sendResult(reply: FastifyReply, result: ChatResult, ctx: RequestContext): FastifyReply {
  if (result.kind === "json") {
    return reply.code(200).header("content-type", "application/json").send(result.body);
  }
  const { first, rest } = result;
  async function* frames(): AsyncGenerator<string> {
    ctx.firstByteAt = ctx.now();
    yield first;
    yield* rest;
  }
  return reply
    .code(200)
    .header("content-type", "text/event-stream; charset=utf-8")
    .header("cache-control", "no-cache")
    .header("x-accel-buffering", "no")
    .send(Readable.from(frames(), { objectMode: false }));
}
