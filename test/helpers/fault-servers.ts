import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { createSelfSignedCert } from "./tls.js";

/**
 * Upstreams the scriptable mock (mock-upstream.ts) cannot play because the fault sits below HTTP or in the body's
 * size: an untrusted TLS endpoint (F3), a listener that never completes a handshake (F2 connect timeout) and a body
 * too large to hold in memory (F22). Each one destroys its sockets on `close()`, so no test leaks a connection.
 */

/** An HTTPS upstream whose certificate llmux must refuse; it counts what got through the handshake. */
export interface UntrustedTlsUpstream {
  /** `https://127.0.0.1:PORT`, without a path. */
  url: string;
  /** TLS sessions that completed (a client that accepted the certificate). */
  handshakes(): number;
  /** HTTP requests received (a request here means the key went to an unverified host). */
  requests(): number;
  close(): Promise<void>;
}

/**
 * Serves HTTPS with a fresh self-signed certificate for 127.0.0.1. A client that verifies certificates fails the
 * handshake, so `handshakes()` and `requests()` stay 0; anything else means verification was relaxed.
 */
export async function startUntrustedTlsUpstream(): Promise<UntrustedTlsUpstream> {
  const cert = await createSelfSignedCert();
  const key = await readFile(cert.keyFile);
  let handshakes = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ key, cert: cert.cert }, (_req, res) => {
    requests++;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", () => handshakes++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    handshakes: () => handshakes,
    requests: () => requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cert.cleanup();
    },
  };
}

/** A TCP listener that accepts connections and never sends a byte. */
export interface SilentListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Accepts TCP connections and stays silent. An `https://` base URL pointing here never completes its TLS
 * handshake, which is how a test reaches the connect timeout without a black-holed network address.
 */
export async function startSilentListener(): Promise<SilentListener> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An upstream that answers every request with an endless 200 JSON body. */
export interface EndlessBodyUpstream {
  /** `http://127.0.0.1:PORT`, without a path. */
  url: string;
  /** Requests received so far. */
  requests(): number;
  /** Body bytes handed to the kernel so far, over all requests. */
  bytesSent(): number;
  /** Resolves true once a client closed the connection in the middle of a body, false after `timeoutMs`. */
  waitForClose(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Size of each generated body piece: small enough that the upstream holds almost nothing in memory. */
const PIECE = Buffer.alloc(64 * 1024, "a");

/**
 * Answers `200 application/json` with a chunked body that starts like a JSON object and never ends, generated
 * piece by piece as the client reads (backpressure honoured), until the client hangs up. Memory stays at one piece
 * on this side, so only the gateway's own limit decides how much it buffers (F22).
 */
export async function startEndlessBodyUpstream(): Promise<EndlessBodyUpstream> {
  let requests = 0;
  let bytes = 0;
  let aborted = 0;
  let consumed = 0;
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();

  const pump = async (res: ServerResponse): Promise<void> => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"choices":[{"message":{"content":"');
    while (!res.destroyed) {
      const more = res.write(PIECE, (err) => {
        if (!err) bytes += PIECE.length;
      });
      if (!more) {
        // Both listeners go once either fires: the loser must not pile up on a response that drains many times.
        const drained = await new Promise<boolean>((resolve) => {
          const settle = (value: boolean) => () => {
            res.off("drain", onDrain);
            res.off("close", onClose);
            resolve(value);
          };
          const onDrain = settle(true);
          const onClose = settle(false);
          res.on("drain", onDrain);
          res.on("close", onClose);
        });
        if (!drained) return;
      }
    }
  };

  const server = createHttpServer((req, res) => {
    requests++;
    req.resume();
    res.on("close", () => {
      if (res.writableFinished) return;
      aborted++;
      for (const waiter of waiters) waiter();
    });
    req.on("end", () => void pump(res));
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    bytesSent: () => bytes,
    waitForClose(timeoutMs) {
      if (aborted > consumed) {
        consumed++;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          waiters.delete(onAbort);
          if (value) consumed++;
          resolve(value);
        };
        const onAbort = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(onAbort);
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
