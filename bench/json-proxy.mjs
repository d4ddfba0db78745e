#!/usr/bin/env node
// A reference point between the bare proxy and llmux: a pass-through proxy that does the JSON work any gateway
// must do and nothing else. It parses the client's body (to read the model) and serialises it for the upstream,
// forwards it over a keep-alive undici Pool with `request()`, and parses the upstream's answer (to validate it and
// read its usage) before sending the upstream's bytes back. No auth, routing, rate windows, usage rows, metrics,
// log line or failover. `--fastify` serves it through Fastify (one route, a buffer body parser) instead of
// node:http, to price the framework. Not part of `npm run bench`: run it beside the targets by hand (see
// bench/README, "Measured at 7e1b750"). JSON answers only.
//
//   node bench/json-proxy.mjs --upstream http://127.0.0.1:PORT [--port 0] [--host 127.0.0.1] [--fastify]
//
// Prints one JSON line `{"port":N}` on stdout once listening.
import { createServer } from "node:http";
import Fastify from "fastify";
import { Pool } from "undici";

const argv = process.argv.slice(2);
const args = { port: 0, host: "127.0.0.1", upstream: "", fastify: false };
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, "");
  if (key === "fastify") args.fastify = true;
  else if (key in args) args[key] = key === "port" ? Number(argv[++i]) : argv[++i];
  else throw new Error(`unknown flag ${argv[i]}`);
}
if (!args.upstream) throw new Error("--upstream URL is required");

const pool = new Pool(args.upstream, { pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: 0, bodyTimeout: 0 });

/** The gateway's minimum: parse the request, serialise it again, send it, parse the answer. */
async function forward(path, bytes) {
  const body = JSON.stringify(JSON.parse(bytes.toString("utf8")));
  const res = await pool.request({ method: "POST", path, headers: { "content-type": "application/json" }, body });
  const text = await res.body.text();
  JSON.parse(text);
  return { status: res.statusCode, text };
}

const announce = (port) => process.stdout.write(`${JSON.stringify({ port })}\n`);

if (args.fastify) {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 32 << 20 }, (_req, body, done) => done(null, body));
  const route = async (request, reply) => {
    const { status, text } = await forward(request.url, request.body);
    return reply.code(status).header("content-type", "application/json").send(text);
  };
  app.post("/v1/chat/completions", route);
  app.post("/v1/messages", route);
  await app.listen({ port: args.port, host: args.host });
  announce(app.server.address().port);
} else {
  const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => {
      forward(req.url, parts.length === 1 ? parts[0] : Buffer.concat(parts)).then(
        ({ status, text }) => {
          res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
        (err) => {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: `upstream failed: ${err.code ?? err.message}`, type: "bad_gateway" } }));
        },
      );
    });
  });
  server.listen({ port: args.port, host: args.host, backlog: 4096 }, () => announce(server.address().port));
}
