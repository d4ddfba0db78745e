import { once } from "node:events";
import http2 from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";

/** How long a call answered before its request was read may wait for the client to finish sending. */
const DEFAULT_CUT_OFF_MS = 1_000;

/**
 * Calls answered before their request was read to the end: a message over the size limit, refused after its
 * first megabyte. The rest of the request stays unread, so the exchange never completes until the client ends its
 * upload, which some clients never do, and a server's close() would wait for it to the drain deadline.
 */
export interface UnfinishedRequests {
  /**
   * Watches an HTTP/1.1 exchange. If it is answered before its request is complete, the answer says
   * `connection: close` (the unread rest must not carry another request, and the client must know before it
   * queues one there: RFC 9112 §9.6), and the connection is cut off a little later unless it closes first.
   */
  watchH1(req: IncomingMessage, res: ServerResponse): void;
  /** Watches an HTTP/2 stream: answered before its request is complete, it is reset (RST_STREAM NO_ERROR) a little later. */
  watchH2(stream: http2.ServerHttp2Stream, req: { readonly complete: boolean }): void;
  /** Cuts off every call still waiting, now (at shutdown). */
  cutAll(): void;
}

/**
 * Creates the tracker. Cutting off at once would race the answer, and the client could report a reset instead of
 * the refusal it was sent; `cutOffMs` (default 1 s) gives the answer time to arrive.
 */
export function createUnfinishedRequests(cutOffMs = DEFAULT_CUT_OFF_MS): UnfinishedRequests {
  const waiting = new Map<object, () => void>();
  const cutOffLater = (key: object, cut: () => void, finished: Promise<unknown>) => {
    const timer = setTimeout(() => settle(true), cutOffMs).unref();
    const settle = (cutOff: boolean) => {
      if (!waiting.delete(key)) return;
      clearTimeout(timer);
      if (cutOff) cut();
    };
    waiting.set(key, () => settle(true));
    void finished.then(() => settle(false), () => settle(false));
  };
  return {
    watchH1(req, res) {
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = ((...args: unknown[]) => {
        if (!req.complete) res.setHeader("connection", "close");
        return writeHead(...args);
      }) as typeof res.writeHead;
      res.once("close", () => {
        if (req.complete) return;
        const socket = req.socket;
        cutOffLater(socket, () => socket.destroy(), once(socket, "close"));
      });
    },
    watchH2(stream, req) {
      stream.once("finish", () => {
        if (!req.complete) cutOffLater(stream, () => reset(stream), once(stream, "close"));
      });
    },
    cutAll() {
      for (const cut of [...waiting.values()]) cut();
    },
  };
}

/**
 * Ends an HTTP/2 stream whose response is complete while its request is not: RST_STREAM(NO_ERROR), as RFC 9113
 * §8.1 allows, then destroy, because a stream with unread request data would otherwise never close.
 */
function reset(stream: http2.ServerHttp2Stream): void {
  if (stream.destroyed) return;
  stream.close(http2.constants.NGHTTP2_NO_ERROR);
  stream.destroy();
}
