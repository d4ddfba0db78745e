import { readFile } from "node:fs/promises";
import { connect as connectH2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { Code, ConnectError, createClient, type ConnectRouter, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCert, type SelfSignedCert } from "../test/helpers/tls.js";
import { DiscoveryService } from "../gen/llmux/discovery/v1/discovery_service_pb.js";
import { RouteService } from "../gen/llmux/route/v1/route_service_pb.js";
import { parseConfig } from "./config/load.js";
import { createBackendState } from "./route/backend-state.js";
import { RPC_READ_MAX_BYTES, startRpcServer, type RpcServer } from "./rpc-server.js";
import { clientAddressKey } from "./services/call-context.js";
import { createRouteService } from "./services/route/route-service.js";

const TOKEN = "rpc-test-token";
const config = parseConfig(
  `[provider.mock]\nkind = "mock"\n[[backend]]\nmodel = "mock:small"\ncontext = 8000\n[[backend]]\nmodel = "mock:vision"\nvision = true\n`,
  { source: "t.toml", baseDir: ".", env: {} },
);
const route = createRouteService({
  backends: () => config.backends,
  providers: () => config.providers,
  state: createBackendState({ now: Date.now, random: Math.random, cooldownMs: 1_000, maxCooldownMs: 10_000 }),
});
/** Stands in for the access interceptor: refuses a call without the token, before the handler runs. */
const requireToken: Interceptor = (next) => async (req) => {
  if (req.header.get("authorization") !== `Bearer ${TOKEN}`) throw new ConnectError("missing credentials", Code.Unauthenticated);
  return next(req);
};
/** The real RouteService behind an interceptor. */
const serve = {
  routes: (router: ConnectRouter) => router.service(RouteService, route.rpc),
  interceptors: [requireToken],
};

const servers: RpcServer[] = [];
async function start(options: Partial<Parameters<typeof startRpcServer>[0]> = {}): Promise<RpcServer> {
  const server = await startRpcServer({ ...serve, host: "127.0.0.1", port: 0, ...options });
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const headers = { authorization: `Bearer ${TOKEN}` };
type Make = (baseUrl: string, ca?: Buffer) => Transport;
/** Every protocol and HTTP version a client may use against the admin port. */
const PROTOCOLS: [string, Make][] = [
  ["Connect JSON over HTTP/1.1", (baseUrl, ca) => createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } })],
  ["Connect binary over HTTP/1.1", (baseUrl, ca) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, nodeOptions: { ca } })],
  ["Connect JSON over HTTP/2", (baseUrl, ca) => createConnectTransport({ baseUrl, httpVersion: "2", nodeOptions: { ca } })],
  ["gRPC over HTTP/2", (baseUrl, ca) => createGrpcTransport({ baseUrl, nodeOptions: { ca } })],
  ["gRPC-Web over HTTP/1.1", (baseUrl, ca) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } })],
  ["gRPC-Web over HTTP/2", (baseUrl, ca) => createGrpcWebTransport({ baseUrl, httpVersion: "2", nodeOptions: { ca } })],
];

/** The error a call fails with, normalised; fails the test when the call succeeds. */
async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: Code[e.code], message: e.rawMessage };
  }
  throw new Error("expected the call to fail");
}

describe("cleartext: one port for h2c and HTTP/1.1", () => {
  it.each(PROTOCOLS)("%s reaches RouteService", async (_name, make) => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = createClient(RouteService, make(server.url));
    const res = await client.selectBackend({ requirements: { model: "gpt-4o", hasImages: true } }, { headers });
    expect(res.candidates.map((c) => c.backend)).toEqual(["mock:vision"]);
  });

  it.each(PROTOCOLS)("%s: interceptors run (no token is unauthenticated)", async (_name, make) => {
    const server = await start();
    const client = createClient(RouteService, make(server.url));
    expect(await failure(client.getBackendStatus({}))).toEqual({
      code: "Unauthenticated",
      message: "missing credentials",
    });
  });

  it.each(PROTOCOLS)("%s: a service this server does not serve is unimplemented, naming what it serves", async (_name, make) => {
    const server = await start();
    const client = createClient(DiscoveryService, make(server.url));
    expect(await failure(client.listDiscovered({}, { headers }))).toEqual({
      code: "Unimplemented",
      message: "no RPC at /llmux.discovery.v1.DiscoveryService/ListDiscovered; this server serves llmux.route.v1.RouteService",
    });
  });

  it.each(PROTOCOLS)("%s: a message over 1 MiB is resource_exhausted, and the client's next call works", async (_name, make) => {
    const server = await start();
    const client = createClient(RouteService, make(server.url));
    const { code } = await failure(client.selectBackend({ requirements: { model: "m".repeat(RPC_READ_MAX_BYTES + 1) } }, { headers }));
    expect(code).toBe("ResourceExhausted");
    expect((await client.getBackendStatus({}, { headers })).backends).toHaveLength(2);
  });

  it("a message just under 1 MiB is read and reaches the handler", async () => {
    const server = await start();
    const client = createClient(RouteService, createGrpcTransport({ baseUrl: server.url }));
    // Tag, length varint and the requirements wrapper take 10 bytes. The handler, not the size cap, refuses it.
    expect(await failure(client.selectBackend({ requirements: { model: "m".repeat(RPC_READ_MAX_BYTES - 10) } }, { headers }))).toEqual({
      code: "InvalidArgument",
      message: "requirements.model must be at most 256 characters",
    });
  });

  it("a JSON field the message does not have is invalid_argument, not silently ignored", async () => {
    const server = await start();
    const res = await fetch(`${server.url}/llmux.route.v1.RouteService/SelectBackend`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ requirements: { model: "gpt-4o", hasImage: true } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "invalid_argument",
      message: 'cannot decode message llmux.route.v1.RouteRequirements from JSON: key "hasImage" is unknown',
    });
  });

  it.each([
    ["text/plain", "{}"],
    ["application/x-www-form-urlencoded", "a=b"],
  ])("a POST with content-type %s gets 415", async (contentType, body) => {
    const server = await start();
    const res = await fetch(`${server.url}/llmux.route.v1.RouteService/GetBackendStatus`, {
      method: "POST",
      headers: { ...headers, "content-type": contentType },
      body,
    });
    expect(res.status).toBe(415);
  });

  it("an unknown path over plain HTTP/1.1 is a Connect unimplemented error in JSON", async () => {
    const server = await start();
    const res = await fetch(`${server.url}/nope`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: "unimplemented", message: "no RPC at /nope; this server serves llmux.route.v1.RouteService" });
  });

  it("passes the client's address to handlers", async () => {
    const server = await start({
      routes: (router) =>
        router.service(RouteService, {
          selectBackend: (_req, ctx) => ({ candidates: [{ backend: ctx.values.get(clientAddressKey) }] }),
        }),
      interceptors: [],
    });
    const res = await createClient(RouteService, createGrpcTransport({ baseUrl: server.url })).selectBackend({});
    expect(res.candidates[0]?.backend).toBe("127.0.0.1");
  });

  it("drops a connection that sends bytes no HTTP version starts with, and keeps serving", async () => {
    const server = await start();
    const socket = connectTcp(Number(new URL(server.url).port), "127.0.0.1");
    socket.end("\x16\x03\x01garbage\r\n\r\n");
    const reply = await new Promise<string>((resolve) => {
      let text = "";
      socket.setEncoding("latin1").on("data", (chunk: string) => (text += chunk));
      socket.on("close", () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const client = createClient(RouteService, createGrpcTransport({ baseUrl: server.url }));
    expect((await client.getBackendStatus({}, { headers })).backends).toHaveLength(2);
  });
});

describe("start", () => {
  it("rejects with EADDRINUSE when the port is taken, so the caller can say which setting to change", async () => {
    const first = await start();
    await expect(start({ port: Number(new URL(first.url).port) })).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});

describe("close()", () => {
  it("ends an open HTTP/2 session and idle HTTP/1.1 connections instead of waiting for the clients", async () => {
    // A drain longer than the test timeout: close() must not rely on the deadline.
    const server = await startRpcServer({ ...serve, host: "127.0.0.1", port: 0, drainMs: 600_000 });
    const session = connectH2(server.url);
    const connected = new Promise<void>((resolve) => session.once("connect", () => resolve()));
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    await createClient(RouteService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })).getBackendStatus({}, { headers });
    await createClient(RouteService, createGrpcTransport({ baseUrl: server.url })).getBackendStatus({}, { headers });
    await connected;
    await server.close();
    await goaway;
    session.destroy();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("lets a call in progress on HTTP/1.1 finish", async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (arrived = resolve));
    const server = await startRpcServer({
      host: "127.0.0.1",
      port: 0,
      drainMs: 600_000,
      interceptors: [],
      routes: (router) =>
        router.service(RouteService, {
          async getBackendStatus() {
            arrived();
            await new Promise<void>((resolve) => (release = resolve));
            return { backends: [{ name: "late" }] };
          },
        }),
    });
    const call = createClient(RouteService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })).getBackendStatus({});
    await inside;
    const closed = server.close();
    release();
    expect((await call).backends.map((b) => b.name)).toEqual(["late"]);
    await closed;
  });
});

describe("TLS: ALPN picks h2 or http/1.1", () => {
  let cert: SelfSignedCert;
  beforeAll(async () => {
    cert = await createSelfSignedCert();
  });
  afterAll(async () => {
    await cert?.cleanup();
  });

  it.each(PROTOCOLS)("%s, trusting the certificate", async (_name, make) => {
    const server = await start({ tls: { key: await readFile(cert.keyFile), cert: cert.cert } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = createClient(RouteService, make(server.url, cert.cert));
    const res = await client.selectBackend({ requirements: { model: "small" } }, { headers });
    expect(res.candidates.map((c) => c.backend)).toEqual(["mock:small"]);
  });

  it("refuses a client that does not trust the certificate", async () => {
    const server = await start({ tls: { key: await readFile(cert.keyFile), cert: cert.cert } });
    const client = createClient(RouteService, createGrpcTransport({ baseUrl: server.url }));
    const err = ConnectError.from(await client.getBackendStatus({}, { headers }).then(() => undefined, (e: unknown) => e));
    expect(err.cause).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
  });
});
