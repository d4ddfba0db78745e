#!/usr/bin/env node
// The Node ceiling: the least a reverse proxy on node:http + undici can do per request. It reads the whole request
// body (as llmux must, to route), forwards it with the client's headers to one upstream over a keep-alive undici
// Pool, and streams the answer back as it arrives. No auth, no parsing, no routing, no translation: whatever llmux
// costs above this is the price of being a gateway.
//
//   node bench/bare-proxy.mjs --upstream http://127.0.0.1:PORT [--port 0] [--host 127.0.0.1] [--exit-with-parent]
//
// Prints one JSON line `{"port":N}` on stdout once listening.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { Pool } from "undici";

/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded in either direction. */
const HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"];
/** Request headers undici sets itself for the upstream (the body is passed unchanged, so its length is kept on answers). */
const REQUEST_SKIP = new Set([...HOP, "host", "content-length"]);
const RESPONSE_SKIP = new Set(HOP);

function forwardable(headers, skip) {
  const out = {};
  for (const key in headers) if (!skip.has(key)) out[key] = headers[key];
  return out;
}

/**
 * Creates the proxy server (not listening) in front of `upstream` (an origin URL). The Pool has no connection cap,
 * so the ceiling is never limited by queueing.
 * @param {string} upstream
 */
export function createBareProxy(upstream) {
  const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 0, bodyTimeout: 0 });

  const fail = (res, err) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `upstream failed: ${err.code ?? err.message}`, type: "bad_gateway" } }));
    } else res.destroy(err);
  };

  const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => {
      const body = parts.length === 0 ? null : parts.length === 1 ? parts[0] : Buffer.concat(parts);
      pool.stream(
        { method: req.method, path: req.url, headers: forwardable(req.headers, REQUEST_SKIP), body, opaque: res },
        ({ statusCode, headers, opaque }) => {
          opaque.writeHead(statusCode, forwardable(headers, RESPONSE_SKIP));
          return opaque;
        },
        (err) => err && fail(res, err),
      );
    });
  });
  server.on("close", () => void pool.close());
  return server;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = { port: 0, host: "127.0.0.1", upstream: "" };
  const argv = process.argv.slice(2);
  const exitWithParent = argv.includes("--exit-with-parent");
  if (exitWithParent) argv.splice(argv.indexOf("--exit-with-parent"), 1);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, "");
    if (!(key in args)) throw new Error(`unknown flag ${argv[i]}`);
    args[key] = key === "port" ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!args.upstream) throw new Error("--upstream URL is required");
  const server = createBareProxy(args.upstream);
  // A deep accept queue: 1,000 streams arrive within a second (the default backlog is 511).
  server.listen({ port: args.port, host: args.host, backlog: 4096 }, () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Started by the runner: go when it goes, even if it was killed too hard to clean up (SIGKILL).
  if (exitWithParent) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && process.exit(0), 500).unref();
  }
}
