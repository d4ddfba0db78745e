import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createUnfinishedRequests } from "./lib/unfinished-requests.js";
import { clientAddressKey } from "./services/call-context.js";

/** What connect-node's handler takes: http's or http2's request and response (the package exports no name). */
type NodeHandler = ReturnType<typeof connectNodeAdapter>;
type NodeServerRequest = Parameters<NodeHandler>[0];
type NodeServerResponse = Parameters<NodeHandler>[1];

/**
 * Largest RPC message accepted, after decompression (1 MiB). Control-plane messages are small; a larger one is
 * refused with `resource_exhausted` before it is parsed, so a client cannot make the server buffer megabytes.
 */
export const RPC_READ_MAX_BYTES = 1024 * 1024;

/**
 * Options of every Connect router llmux serves, on the control-plane port and on the facade's: the message size
 * cap, and JSON that refuses unknown fields (Connect ignores them by default), so a misspelt field such as
 * `expiresAt` for `expireTime` is an `invalid_argument` instead of a key that silently never expires.
 */
export const RPC_ROUTER_OPTIONS = {
  readMaxBytes: RPC_READ_MAX_BYTES,
  jsonOptions: { ignoreUnknownFields: false },
} as const;

/** How long close() lets calls in progress finish before it cuts their connections. */
const DEFAULT_DRAIN_MS = 5_000;
/** How long a new cleartext connection may stay silent before it is dropped (it has not said which HTTP yet). */
const PREFACE_TIMEOUT_MS = 10_000;
/** The client connection preface of HTTP/2 (RFC 9113 §3.4); no HTTP/1.x request starts with "PRI ". */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** What {@link startRpcServer} serves, and where. */
export interface RpcServerOptions {
  /** Registers the services (the same function the facade's Connect plugin gets). */
  routes: (router: ConnectRouter) => void;
  /** Run around every call, outermost first (authentication and access checks). */
  interceptors: Interceptor[];
  host: string;
  /** 0 lets the OS pick a free port (tests); the chosen one is in the returned URL. */
  port: number;
  /** PEM key and certificate: serve TLS with ALPN (h2, then http/1.1) instead of cleartext. */
  tls?: { key: Buffer; cert: Buffer };
  /** How long close() waits for calls in progress (default 5 s). */
  drainMs?: number;
}

/** A listening RPC server. */
export interface RpcServer {
  /** `http://host:port` or `https://host:port`, with the port actually bound. */
  url: string;
  /**
   * Stops accepting connections, tells HTTP/2 clients to go away (GOAWAY) and closes idle HTTP/1.1 connections;
   * calls in progress may finish within the drain time, then their connections are destroyed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * The JSON body of a Connect error, or a gRPC trailers-only response: how each protocol says "no such RPC" in a
 * way its clients decode to `unimplemented` with a message, instead of a bare 404.
 */
function unknownMethod(services: readonly string[]) {
  return (req: NodeServerRequest, res: NodeServerResponse): void => {
    const path = (req.url ?? "").split("?")[0];
    const serving = services.length === 0 ? "no services" : services.join(", ");
    const message = `no RPC at ${path}; this server serves ${serving}`;
    const contentType = String(req.headers["content-type"] ?? "");
    // Drain the request so the connection stays usable.
    req.resume();
    if (contentType.startsWith("application/grpc")) {
      // gRPC and gRPC-Web both accept the status in the headers of an empty response ("trailers-only").
      res.writeHead(200, {
        "content-type": contentType.startsWith("application/grpc-web") ? "application/grpc-web+proto" : "application/grpc",
        "grpc-status": "12",
        "grpc-message": encodeURIComponent(message),
      });
      res.end();
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "unimplemented", message }));
  };
}

/**
 * Hands a cleartext connection to `h2` when it opens with the HTTP/2 preface (gRPC clients, and Connect clients
 * in HTTP/2 mode, use "prior knowledge" h2c), otherwise to `h1` (Connect, gRPC-Web, curl, browsers). The bytes
 * read to decide are put back before the chosen server sees the socket.
 */
function routeByPreface(socket: net.Socket, h1: (socket: net.Socket) => void, h2: (socket: net.Socket) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, 4);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && seen.length < 4) return;
    socket.off("data", onData);
    socket.off("error", drop);
    socket.setTimeout(0);
    socket.off("timeout", drop);
    socket.pause();
    socket.unshift(seen);
    (isH2 ? h2 : h1)(socket);
    // http2 reads what is buffered itself; http's parser waits for 'data' events, which a paused socket never emits.
    if (!isH2) socket.resume();
  };
  // A connection that resets or stays silent before saying anything is simply dropped.
  const drop = () => socket.destroy();
  socket.on("data", onData);
  socket.on("error", drop);
  socket.setTimeout(PREFACE_TIMEOUT_MS, drop);
}

/**
 * Serves the control-plane RPCs on their own port in every protocol Connect knows: the Connect protocol (JSON and
 * binary) over HTTP/1.1 and HTTP/2, gRPC over HTTP/2, and gRPC-Web. Cleartext, one port serves both h2c (by the
 * connection preface) and HTTP/1.1; with TLS, ALPN chooses between h2 and http/1.1. Messages over
 * {@link RPC_READ_MAX_BYTES} get `resource_exhausted`, a wrong content type 415, and an unknown path
 * `unimplemented` in the caller's protocol. The client's address reaches handlers as `clientAddressKey`.
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const services: string[] = [];
  const handler = connectNodeAdapter({
    routes: (router) => {
      options.routes(router);
      for (const h of router.handlers) if (!services.includes(h.service.typeName)) services.push(h.service.typeName);
    },
    interceptors: options.interceptors,
    ...RPC_ROUTER_OPTIONS,
    fallback: unknownMethod(services),
    contextValues: (req) => createContextValues().set(clientAddressKey, req.socket.remoteAddress ?? ""),
  });

  // Every socket, whichever server ends up with it, so close() can end the ones that outlive the drain.
  const sockets = new Set<Duplex>();
  // HTTP/1.1 connections and how many calls each is serving: close() ends idle ones now, busy ones when done.
  const h1Sockets = new Map<Duplex, number>();
  const sessions = new Set<http2.Http2Session>();
  const unfinished = createUnfinishedRequests();
  let closing = false;
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      h1Sockets.delete(socket);
    });
  };
  const trackSession = (session: http2.Http2Session) => {
    if (closing) return void session.close();
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  };
  const serve = (req: NodeServerRequest, res: NodeServerResponse) => {
    const socket = req.socket;
    if (req.httpVersionMajor === 1) {
      h1Sockets.set(socket, (h1Sockets.get(socket) ?? 0) + 1);
      unfinished.watchH1(req as http.IncomingMessage, res as http.ServerResponse);
      res.once("close", () => {
        const calls = (h1Sockets.get(socket) ?? 1) - 1;
        h1Sockets.set(socket, calls);
        if (req.complete && closing && calls === 0) socket.end();
      });
    } else {
      unfinished.watchH2((req as http2.Http2ServerRequest).stream, req);
    }
    handler(req, res);
  };

  let listener: net.Server;
  if (options.tls) {
    const secure = http2.createSecureServer({ key: options.tls.key, cert: options.tls.cert, allowHTTP1: true }, serve);
    // The TCP socket, so a connection stuck in its handshake is cut off too.
    secure.on("connection", track);
    secure.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") return;
      h1Sockets.set(socket, 0);
      socket.once("close", () => h1Sockets.delete(socket));
    });
    secure.on("session", trackSession);
    listener = secure;
  } else {
    const h2 = http2.createServer({}, serve);
    h2.on("session", trackSession);
    const h1 = http.createServer(serve);
    listener = net.createServer((socket) => {
      track(socket);
      routeByPreface(
        socket,
        (s) => {
          h1Sockets.set(s, 0);
          h1.emit("connection", s);
        },
        (s) => h2.emit("connection", s),
      );
    });
  }

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address() as net.AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `${options.tls ? "https" : "http"}://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
        for (const session of sessions) session.close();
        unfinished.cutAll();
        for (const [socket, calls] of h1Sockets) if (calls === 0) socket.end();
        const deadline = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, options.drainMs ?? DEFAULT_DRAIN_MS);
        await stopped;
        clearTimeout(deadline);
      })();
      return closed;
    },
  };
}
