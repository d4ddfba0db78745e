import type { FastifyReply } from "fastify";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { ChatResult } from "../services/gateway/gateway-service.js";
import type { RequestContext } from "./request-tracker.js";

/** Resolves when the socket can take more (or is gone: then the upstream is being aborted already). */
function writable(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      raw.off("drain", go);
      raw.off("close", go);
      resolve();
    };
    raw.on("drain", go);
    raw.on("close", go);
  });
}

/** Writes the rest of a stream to the socket as it comes, honouring backpressure, and ends the response. */
async function pump(raw: ServerResponse, rest: AsyncIterable<string>): Promise<void> {
  for await (const frames of rest) {
    // Gone: stopping the iteration closes the upstream (the tracker has cancelled it already).
    if (raw.destroyed) return;
    if (!raw.write(frames)) await writable(raw);
  }
  raw.end();
}

/**
 * Sends a dispatch result: a JSON body as is, or an SSE stream that starts with the already-validated first frames.
 * A stream is written straight to the socket (the reply is hijacked): the status line, headers and first frames
 * leave in one write, with no stream object between the translator and the socket, so time to first byte is the
 * translator's own. The dispatcher's stream never throws (failures end it with an error frame in the client's
 * dialect), so the pump has nothing to report; a socket error just ends it.
 */
export function sendResult(reply: FastifyReply, result: ChatResult, ctx: RequestContext): FastifyReply {
  if (result.kind === "json") {
    return reply.code(200).header("content-type", "application/json").send(result.body);
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  ctx.firstByteAt = ctx.now();
  raw.write(result.first);
  pump(raw, result.rest).catch(() => raw.destroy());
  return reply;
}
