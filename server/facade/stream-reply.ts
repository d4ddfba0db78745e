import type { FastifyReply } from "fastify";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { ChatResult } from "../services/gateway/gateway-service.js";
import type { RequestContext } from "./request-tracker.js";

/**
 * Resolves true once the response emits `event` (`drain`: the socket takes more; `finish`: everything was handed
 * to it), false once it is gone. A client that does not read for `idleMs` would hold the stream and its upstream
 * connection open forever (backpressure only keeps the memory bounded): its response is destroyed, and the
 * tracker's `close` listener aborts the upstream as for any client that left.
 */
function flushed(raw: ServerResponse, event: "drain" | "finish", idleMs: number): Promise<boolean> {
  if (raw.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      raw.off(event, onEvent);
      raw.off("close", onClose);
      resolve(ok);
    };
    const onEvent = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(() => {
      settle(false);
      raw.destroy();
    }, idleMs);
    raw.on(event, onEvent);
    raw.on("close", onClose);
  });
}

/**
 * Writes the rest of a stream to the socket as it comes, honouring backpressure, and ends the response; a client
 * that takes nothing for `idleMs` is disconnected.
 */
async function pump(raw: ServerResponse, rest: AsyncIterable<string>, idleMs: number): Promise<void> {
  for await (const frames of rest) {
    // Gone (or disconnected for not reading): stopping the iteration closes the upstream (the tracker has cancelled
    // it already).
    if (raw.destroyed) return;
    if (!raw.write(frames) && !(await flushed(raw, "drain", idleMs))) return;
  }
  raw.end();
  // The last frames may still wait for a client that stopped reading.
  if (!raw.writableFinished) await flushed(raw, "finish", idleMs);
}

/**
 * Sends a dispatch result: a JSON body as is, or an SSE stream that starts with the already-validated first frames.
 * A stream is written straight to the socket (the reply is hijacked): the status line, headers and first frames
 * leave in one write, with no stream object between the translator and the socket, so time to first byte is the
 * translator's own. The dispatcher's stream never throws (failures end it with an error frame in the client's
 * dialect), so the pump has nothing to report; a socket error just ends it. A client that takes nothing of the
 * stream for `idleMs` (the configured `idle_timeout`, the silence allowed to an upstream too) is disconnected, which
 * aborts the upstream; its usage row says `client_closed`.
 */
export function sendResult(reply: FastifyReply, result: ChatResult, ctx: RequestContext, idleMs: number): FastifyReply {
  if (result.kind === "json") {
    return reply.code(200).header("content-type", "application/json").send(result.body);
  }
  reply.hijack();
  // Nothing reads the parsed body once the answer streams; a stream can last minutes, and an agent's body runs to
  // megabytes once parsed.
  reply.request.body = undefined;
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  ctx.firstByteAt = ctx.now();
  // Left to itself, Node corks the socket on a write and uncorks it on the next tick, after the handler's promise
  // chain has run; corked and uncorked here, the status line, headers and first frames leave in this one write,
  // before the pump translates whatever the upstream sent with them (a fast or buffering upstream delivers a whole
  // answer in one read).
  raw.cork();
  raw.write(result.first);
  raw.uncork();
  void pump(raw, result.rest, idleMs).catch(() => raw.destroy());
  return reply;
}
