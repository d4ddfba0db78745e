import { mkdtemp, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { buildApp, createLogger } from "../../server/app.js";
import { parseConfig } from "../../server/config/load.js";
import { startMockUpstream, type MockReply, type MockUpstream } from "../helpers/mock-upstream.js";
import { openSocket, receivedUntilClose } from "../helpers/raw-socket.js";

// Findings of the HTTP facade's security audit: a request body that never arrives, a client that stops reading a
// stream, the error dialect of encoded and absolute-form targets and of unknown procedures, Node's parser errors,
// and compressed bodies.
// Everything runs over real sockets against the real gateway (buildApp), with timeouts short enough for a test.

const TOKEN = "hardening-token";
/** How long the gateway waits for a whole request here (REQUEST_RECEIVE_TIMEOUT_MS in production). */
const RECEIVE_MS = 300;

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

interface Gateway {
  port: number;
  url: string;
  mock: MockUpstream;
  /** Closes the gateway (flushing its usage queue) and returns each usage row's outcome and status. */
  usage(): Promise<Array<{ outcome: string; status: number }>>;
}

/** A gateway with one OpenAI backend on a mock answering `reply`, its own SQLite file and a short receive bound. */
async function start(reply: MockReply, idleTimeoutS = 20): Promise<Gateway> {
  const dir = await mkdtemp(path.join(tmpdir(), "llmux-hardening-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const mock = await startMockUpstream(() => reply);
  cleanups.push(() => mock.close());
  const config = parseConfig(
    `
max_retries = 0
request_timeout = 30
first_byte_timeout = 20
idle_timeout = ${idleTimeoutS}
health_check_interval = 0
[provider.up]
kind = "openai"
base_url = "${mock.url}/v1"
api_key = "sk-provider-hardening"
[[backend]]
model = "up:m"
[tokens]
tests = "${TOKEN}"
`,
    { source: "test.toml", baseDir: ".", env: { HEALTH_CHECK_INTERVAL: "0" }, overrides: { port: 0, host: "127.0.0.1" } },
  );
  const database = path.join(dir, "llmux.db");
  const logger = createLogger("info", new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  const app = await buildApp(config, { logger, database, requestReceiveTimeoutMs: RECEIVE_MS });
  cleanups.push(() => app.close());
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  const address = app.fastify.server.address();
  if (typeof address !== "object" || address === null) throw new Error("gateway did not bind");
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    mock,
    async usage() {
      await app.close();
      const db = new Sqlite(database, { readonly: true });
      try {
        return db.prepare("SELECT outcome, status FROM usage ORDER BY at").all() as Array<{ outcome: string; status: number }>;
      } finally {
        db.close();
      }
    },
  };
}

/** A raw connection to the gateway, destroyed after the test. */
async function open(port: number): Promise<Socket> {
  const socket = await openSocket(port);
  cleanups.push(async () => void socket.destroy());
  return socket;
}

/** Sends raw bytes on a new connection; resolves with the whole answer once the gateway has closed it. */
async function exchange(port: number, bytes: string): Promise<string> {
  const socket = await open(port);
  const answer = receivedUntilClose(socket);
  socket.write(bytes, "latin1");
  return answer;
}

/** One HTTP/1.1 response: status, lower-cased headers and the body parsed as JSON. */
function parseResponse(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = text.slice(end + 4, end + 4 + Number(headers["content-length"]));
  return { status: Number(statusLine!.split(" ")[1]), headers, body: JSON.parse(body) };
}

const CHAT_BODY = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello" }], stream: true });
const MESSAGES_BODY = JSON.stringify({ model: "m", max_tokens: 64, messages: [{ role: "user", content: "hello" }] });

/** OpenAI's shape, as every parser-level error is written (no route, so no dialect, is known). */
function openaiError(message: string, code: string | null = null) {
  return { error: { message, type: "invalid_request_error", param: null, code } };
}

describe("receiving a request is bounded (Node's requestTimeout), answering it is not", () => {
  const head = (length: number) =>
    `POST /v1/chat/completions HTTP/1.1\r\nhost: llmux\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

  it.each([
    ["headers are withheld (slowloris)", "POST /v1/chat/completions HTTP/1.1\r\nhost: llmux\r\n"],
    ["the body is withheld after complete headers", `${head(100)}{"model":`],
  ])("%s: 408 in OpenAI's shape, connection: close, and the socket is closed", async (_name, bytes) => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const answer = parseResponse(await exchange(gw.port, bytes));
    expect(answer).toEqual({
      status: 408,
      headers: { "content-type": "application/json", "content-length": expect.any(String), connection: "close" },
      body: openaiError("the request was not received in time"),
    });
    expect(gw.mock.requests).toHaveLength(0);
  });

  it("a body dribbled a byte at a time gets 408 too, and the socket is closed", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const socket = await open(gw.port);
    const answer = receivedUntilClose(socket);
    socket.write(head(1_000_000));
    // JSON whitespace, one byte every 20 ms: never a whole body, never silent long.
    const dribble = setInterval(() => socket.writable && socket.write(" "), 20);
    cleanups.push(async () => clearInterval(dribble));
    const text = await answer;
    clearInterval(dribble);
    expect(parseResponse(text)).toMatchObject({ status: 408, headers: { connection: "close" }, body: openaiError("the request was not received in time") });
  });

  it("a stream that lasts several times the bound is answered whole", async () => {
    // 16 chunks 100 ms apart: about 1.6 s of answer against a 300 ms receive bound.
    const gw = await start({ type: "openai-chat", content: "sixteen chunks!!", chunkChars: 1, chunkDelayMs: 100 });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: CHAT_BODY,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await gw.usage()).toEqual([{ outcome: "ok", status: 200 }]);
  });
});

describe("a client that stops reading a stream", () => {
  it("is disconnected after idle_timeout without draining; the upstream is aborted and the row says client_closed", async () => {
    // A fast upstream with far more than the socket buffers hold (one 16 kB frame, repeated: no memory for it) and no
    // end, so only the gateway can close it. The client's request is complete; then it never reads a byte.
    const frame = `data: ${JSON.stringify({
      id: "chatcmpl-slow",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content: "x".repeat(16_384) }, finish_reason: null }],
    })}\n\n`;
    const gw = await start({ type: "sse", events: new Array<string>(8_192).fill(frame), end: "stall" }, 0.3);
    const socket = await open(gw.port);
    socket.pause();
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: llmux\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(CHAT_BODY)}\r\n\r\n${CHAT_BODY}`,
    );
    // The gateway, not the upstream, ends it: the mock sees its response abandoned unfinished.
    expect(await gw.mock.waitForClose(10_000)).toBe(true);
    // Reading now gets what was buffered, then the end the gateway sent: a 200 stream cut short, never finished.
    const text = await receivedUntilClose(socket.resume());
    expect(text.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(text).not.toContain("[DONE]");
    // The existing cancellation path: the client is gone, so the request is client_closed with status 499.
    expect(await gw.usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });
});

describe("the error dialect follows the matched route, not the raw target", () => {
  const anthropic401 = {
    type: "error",
    error: { type: "authentication_error", message: "missing API key: send 'Authorization: Bearer <token>' or 'x-api-key: <token>'" },
  };

  it("POST /v1/%6d%65ssages (percent-encoded) gets Anthropic's 401", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}/v1/%6d%65ssages`, { method: "POST", headers: { "content-type": "application/json" }, body: MESSAGES_BODY });
    expect([res.status, await res.json()]).toEqual([401, anthropic401]);
  });

  it("POST http://evil.example/v1/messages (absolute form) gets Anthropic's 401", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const text = await exchange(
      gw.port,
      `POST http://evil.example/v1/messages HTTP/1.1\r\nhost: evil.example\r\ncontent-type: application/json\r\ncontent-length: ${MESSAGES_BODY.length}\r\nconnection: close\r\n\r\n${MESSAGES_BODY}`,
    );
    expect(parseResponse(text)).toMatchObject({ status: 401, body: anthropic401 });
  });

  it("an unmatched path falls back to the raw target: /v1/messages/nope is Anthropic's 404", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}/v1/messages/nope`, { method: "POST", headers: { "content-type": "application/json" }, body: MESSAGES_BODY });
    expect([res.status, await res.json()]).toEqual([404, { type: "error", error: { type: "not_found_error", message: "no route for POST /v1/messages/nope" } }]);
  });
});

describe("an unknown procedure on the facade port", () => {
  it("gets Connect's unimplemented with a 404, which a Connect client reads as its code", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}/llmux.admin.v1.AdminService/DropDatabase`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1" },
      body: "{}",
    });
    expect([res.status, res.headers.get("content-type"), await res.json()]).toEqual([
      404,
      "application/json; charset=utf-8",
      { code: "unimplemented", message: "no procedure llmux.admin.v1.AdminService/DropDatabase" },
    ]);
    const transport = createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" });
    const missing = { ...AdminService.method.listUsers, name: "DropDatabase" };
    const err = await transport.unary(missing, undefined, undefined, undefined, {}).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage]).toEqual([Code.Unimplemented, "no procedure llmux.admin.v1.AdminService/DropDatabase"]);
  });

  it("a path that is not a procedure keeps the dialect's 404", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}/llmux.admin.v1.AdminService/drop/x`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect([res.status, await res.json()]).toEqual([404, openaiError("no route for POST /llmux.admin.v1.AdminService/drop/x", "not_found")]);
  });
});

describe("requests Node's parser refuses get a JSON error and a closed connection", () => {
  it.each([
    ["a NUL byte in a header", 400, "malformed HTTP request", `GET /v1/models HTTP/1.1\r\nhost: llmux\r\nauthorization: Bearer abc\0def\r\n\r\n`],
    ["headers over Node's 16 kB limit", 431, "request headers are too large", `GET /v1/models HTTP/1.1\r\nhost: llmux\r\nx-padding: ${"a".repeat(20_000)}\r\n\r\n`],
  ])("%s: %i in OpenAI's shape", async (_name, status, message, bytes) => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const text = await exchange(gw.port, bytes);
    expect(parseResponse(text)).toEqual({
      status,
      headers: { "content-type": "application/json", "content-length": String(JSON.stringify(openaiError(message)).length), connection: "close" },
      body: openaiError(message),
    });
    expect(text).not.toMatch(/ at |Error:/);
  });
});

describe("a compressed request body", () => {
  const message = "compressed request bodies are not supported; send identity-encoded JSON";

  it.each([
    ["/v1/chat/completions", CHAT_BODY, { error: { message, type: "invalid_request_error", param: null, code: "unsupported_media_type" } }],
    ["/v1/messages", MESSAGES_BODY, { type: "error", error: { type: "invalid_request_error", message } }],
  ])("%s: content-encoding gzip gets 415 in the endpoint's dialect", async (endpoint, body, expected) => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}${endpoint}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-encoding": "gzip", "anthropic-version": "2023-06-01" },
      body: gzipSync(body),
    });
    expect([res.status, await res.json()]).toEqual([415, expected]);
    expect(gw.mock.requests).toHaveLength(0);
  });

  it("is refused before its body is read: headers alone get the 415, not the receive bound's 408", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const text = await exchange(
      gw.port,
      `POST /v1/messages HTTP/1.1\r\nhost: llmux\r\nx-api-key: ${TOKEN}\r\ncontent-type: application/json\r\ncontent-encoding: br\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n`,
    );
    expect(parseResponse(text)).toMatchObject({ status: 415, body: { type: "error", error: { type: "invalid_request_error", message } } });
  });

  it("is checked after the credential: without one it is a 401", async () => {
    const gw = await start({ type: "openai-chat", content: "unused" });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(CHAT_BODY),
    });
    expect(res.status).toBe(401);
  });

  it("content-encoding: identity is plain JSON and served", async () => {
    const gw = await start({ type: "openai-chat", content: "hello back" });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-encoding": "Identity" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]!.message.content).toBe("hello back");
  });
});
