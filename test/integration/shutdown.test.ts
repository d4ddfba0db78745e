import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../server/store/database.js";
import { queryUsage } from "../../server/store/repos/usage-repo.js";
import type { UsageRow } from "../../server/store/tables/usage-table.js";
import { startLlmux, stopAll } from "../helpers/cli.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";

// spec/reliability.md §5.6: on SIGTERM llmux stops accepting, lets streams run until the drain deadline, ends the
// rest with an error event in their dialect, flushes every usage row before the store closes, and exits 0.
//
// Clients here use node:http with `agent: false` (one connection per request, closed after it), so no pooled or
// pre-opened client connection decides how fast the server can close.

const TOKEN = "shutdown-token";
/** The drain deadline of every gateway in this file, in seconds. */
const DRAIN_S = 2;
/** How long after the drain deadline the process may take to exit. */
const GRACE_MS = 1_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmux-shutdown-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await stopAll();
});

type Dialect = "openai" | "anthropic";

/** POSTs a JSON body on a connection of its own. */
function post(url: string, dialect: Dialect, body: unknown): Promise<IncomingMessage> {
  const headers: Record<string, string> =
    dialect === "openai"
      ? { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }
      : { "x-api-key": TOKEN, "anthropic-version": "2023-06-01", "content-type": "application/json" };
  return new Promise((resolve, reject) => {
    const req = request(`${url}${dialect === "openai" ? "/v1/chat/completions" : "/v1/messages"}`, { method: "POST", agent: false, headers }, resolve);
    req.once("error", reject);
    req.end(JSON.stringify(body));
  });
}

function chatBody(dialect: Dialect, text: string, stream: boolean): unknown {
  const messages = [{ role: "user", content: text }];
  return dialect === "openai" ? { model: "m", messages, stream } : { model: "m", max_tokens: 1000, messages, stream };
}

/** A streaming response being read: its first bytes have arrived; `done` resolves with the whole body. */
interface LiveStream {
  dialect: Dialect;
  id: string;
  status: number;
  ended: () => boolean;
  done: Promise<string>;
}

async function openStream(url: string, dialect: Dialect, text: string): Promise<LiveStream> {
  const res = await post(url, dialect, chatBody(dialect, text, true));
  res.setEncoding("utf8");
  let body = "";
  let ended = false;
  let firstChunk!: () => void;
  const first = new Promise<void>((resolve) => (firstChunk = resolve));
  res.on("data", (chunk: string) => {
    body += chunk;
    firstChunk();
  });
  const done = new Promise<string>((resolve, reject) => {
    res.once("end", () => {
      ended = true;
      resolve(body);
    });
    res.once("error", reject);
  });
  // Read later; until then a failed assertion must not leave an unhandled rejection behind.
  done.catch(() => undefined);
  await first;
  return { dialect, id: String(res.headers["x-request-id"]), status: res.statusCode ?? 0, ended: () => ended, done };
}

/** The `data:` payloads of an SSE body, with the `event:` name of each frame (undefined when it has none). */
function frames(body: string): Array<{ event: string | undefined; data: string }> {
  return body
    .split("\n\n")
    .filter((frame) => frame.trim() !== "")
    .map((frame) => {
      const lines = frame.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length);
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice("data: ".length)).join("\n");
      return { event, data };
    });
}

/** The fields of an OpenAI chunk or an Anthropic event that carry streamed text. */
interface TextCarrier {
  choices?: Array<{ delta?: { content?: string | null } }>;
  delta?: { type?: string; text?: string };
}

/** The text a client assembles from a stream in its dialect. */
function streamedText(dialect: Dialect, body: string): string {
  let text = "";
  for (const { event, data } of frames(body)) {
    if (data === "[DONE]") continue;
    const json = JSON.parse(data) as TextCarrier;
    if (dialect === "openai") text += json.choices?.[0]?.delta?.content ?? "";
    else if (event === "content_block_delta" && json.delta?.type === "text_delta") text += json.delta.text;
  }
  return text;
}

async function readRows(database: string): Promise<UsageRow[]> {
  const store = await createDatabase({ sqlitePath: database });
  try {
    return await queryUsage(store.db, { from: 0, to: Number.MAX_SAFE_INTEGER });
  } finally {
    await store.close();
  }
}

/** What a client saw when it tried a new request: an answer (with its status) or a refused connection. */
type Attempt = { kind: "answered"; status: number; id: string; body: string } | { kind: "refused"; code: string };

async function attempt(url: string, dialect: Dialect): Promise<Attempt> {
  try {
    const res = await post(url, dialect, chatBody(dialect, "hello", false));
    res.setEncoding("utf8");
    let body = "";
    for await (const chunk of res) body += chunk as string;
    return { kind: "answered", status: res.statusCode ?? 0, id: String(res.headers["x-request-id"]), body };
  } catch (err) {
    return { kind: "refused", code: String((err as NodeJS.ErrnoException).code) };
  }
}

const SHORT = "abcdefgh";
const LONG = "x".repeat(400);

describe("SIGTERM with live streams (llmux start)", () => {
  it("refuses new requests, finishes streams within the drain, ends the rest with an error event, writes every row and exits 0", async () => {
    const database = path.join(dir, "sigterm.db");
    const config = path.join(dir, "sigterm.toml");
    // 4 code points a chunk, 100 ms apart: SHORT streams in about 0.5 s, LONG would take 10 s.
    await writeFile(
      config,
      `drain_timeout = ${DRAIN_S}\ndatabase = "${database}"\n[provider.mock]\nkind = "mock"\nchunk_chars = 4\nchunk_delay_ms = 100\n` +
        `[[backend]]\nmodel = "mock:m"\n[tokens]\nt = "${TOKEN}"\n`,
    );
    const gateway = await startLlmux(["--port", "0", "--config", config]);

    const plan = Array.from({ length: 10 }, (_, i) => ({ dialect: (i % 2 === 0 ? "openai" : "anthropic") as Dialect, long: i >= 5 }));
    const streams = await Promise.all(plan.map((p) => openStream(gateway.url, p.dialect, p.long ? LONG : SHORT)));
    expect(streams.map((s) => s.status)).toEqual(Array(10).fill(200));

    const signalled = performance.now();
    const exited = gateway.stop().then((code) => ({ code, afterMs: performance.now() - signalled }));

    // Until the process has handled the signal a request may still be served; after that none is.
    const served: string[] = [];
    let refusal: Attempt | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      const result = await attempt(gateway.url, "openai");
      if (result.kind === "answered" && result.status === 200) served.push(result.id);
      else refusal = result;
    }
    // The refusal came at once: every long stream was still running.
    expect(streams.filter((s, i) => plan[i]!.long && s.ended())).toEqual([]);
    if (refusal?.kind === "answered") {
      expect(refusal.status).toBe(503);
      expect(JSON.parse(refusal.body)).toEqual({
        error: { message: "llmux is shutting down; retry on another instance", type: "server_error", param: null, code: "overloaded" },
      });
    } else {
      // A connection the kernel queued just before the listener closed is reset rather than refused.
      expect(refusal?.kind).toBe("refused");
      expect(["ECONNREFUSED", "ECONNRESET"]).toContain(refusal?.kind === "refused" ? refusal.code : undefined);
    }

    const bodies = await Promise.all(streams.map((s) => s.done));
    for (const [i, body] of bodies.entries()) {
      const { dialect, long } = plan[i]!;
      const last = frames(body).at(-1)!;
      if (!long) {
        expect(streamedText(dialect, body)).toBe(SHORT);
        expect(last).toEqual(dialect === "openai" ? { event: undefined, data: "[DONE]" } : { event: "message_stop", data: '{"type":"message_stop"}' });
      } else if (dialect === "openai") {
        expect(body).not.toContain("[DONE]");
        expect(JSON.parse(last.data)).toEqual({
          error: { message: "llmux is shutting down; the stream was ended before completion", type: "server_error", param: null, code: "overloaded" },
        });
      } else {
        expect(body).not.toContain("message_stop");
        expect(last.event).toBe("error");
        expect(JSON.parse(last.data)).toEqual({
          type: "error",
          error: { type: "overloaded_error", message: "llmux is shutting down; the stream was ended before completion" },
        });
      }
    }

    const { code, afterMs } = await exited;
    expect(code).toBe(0);
    expect(afterMs).toBeLessThan(DRAIN_S * 1000 + GRACE_MS);
    // The only thing on stderr: the first start's one-time super admin password (an empty database).
    expect(gateway.stderr()).toMatch(/^llmux: created the first super admin 'admin' with password \S+\n {7}It is shown only now[^\n]*\n$/);

    const rows = await readRows(database);
    const expected = [
      ...streams.map((s, i) => ({
        request_id: s.id,
        client_dialect: s.dialect,
        backend: "mock:m",
        outcome: plan[i]!.long ? "shutdown_aborted" : "ok",
        status: 200,
        stream: 1,
      })),
      ...served.map((id) => ({ request_id: id, client_dialect: "openai", backend: "mock:m", outcome: "ok", status: 200, stream: 0 })),
      // A request refused while draining gets its row too.
      ...(refusal?.kind === "answered" ? [{ request_id: refusal.id, client_dialect: "openai", backend: null, outcome: "rejected", status: 503, stream: 0 }] : []),
    ];
    const seen = rows.map(({ request_id, client_dialect, backend, outcome, status, stream }) => ({ request_id, client_dialect, backend, outcome, status, stream }));
    const byId = (a: { request_id: string }, b: { request_id: string }) => (a.request_id < b.request_id ? -1 : 1);
    expect(seen.sort(byId)).toEqual(expected.sort(byId));
    // The finished streams carry the mock's exact counts: ceil(8 code points / 4) each way.
    for (const row of rows.filter((r) => r.outcome === "ok" && r.stream === 1)) {
      expect([row.input_tokens, row.output_tokens]).toEqual([2, 2]);
    }
  });
});

/** A TCP connection to the gateway on which the test writes raw HTTP/1.1 and reads the raw answer. */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  cleanups.push(async () => void socket.destroy());
  return { socket, received: () => received, closed };
}

/** Resolves "closed" when `close` settles first, "still closing" when `ms` pass first. */
function settlesWithin(close: Promise<void>, ms: number): Promise<"closed" | "still closing"> {
  return Promise.race([close.then(() => "closed" as const), sleep(ms).then(() => "still closing" as const)]);
}

describe("App.close() (in process)", () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream(() => ({ type: "openai-chat", content: "one piece at a time, slowly", chunkChars: 1, chunkDelayMs: 200 }));
  });
  afterAll(() => mock.close());

  let files = 0;
  async function gateway(): Promise<{ gw: TestGateway; database: string }> {
    const database = path.join(dir, `in-process-${++files}.db`);
    const gw = await startGateway(
      `drain_timeout = ${DRAIN_S}\n[provider.up]\nbase_url = "${mock.url}/v1"\napi_key = "sk-up"\n[[backend]]\nmodel = "up:m"\n[tokens]\nt = "${TOKEN}"\n`,
      { database },
    );
    cleanups.push(() => gw.close());
    return { gw, database };
  }

  /** Sends the request line and some headers, so the connection is busy with a request when close() begins. */
  async function halfSentRequest(gw: TestGateway, dialect: Dialect) {
    const conn = await rawConnection(gw.url);
    conn.socket.write(`POST ${dialect === "openai" ? "/v1/chat/completions" : "/v1/messages"} HTTP/1.1\r\nhost: llmux\r\n`);
    await sleep(50);
    return {
      ...conn,
      finish() {
        const body = JSON.stringify(chatBody(dialect, "hello", false));
        const auth = dialect === "openai" ? `authorization: Bearer ${TOKEN}` : `x-api-key: ${TOKEN}\r\nanthropic-version: 2023-06-01`;
        conn.socket.write(`${auth}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      },
    };
  }

  /** Splits a raw HTTP/1.1 response into status, lower-cased headers and body. */
  function parseResponse(raw: string): { status: number; headers: Record<string, string>; body: unknown } {
    const [head, body] = [raw.slice(0, raw.indexOf("\r\n\r\n")), raw.slice(raw.indexOf("\r\n\r\n") + 4)];
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    return { status: Number(statusLine!.split(" ")[1]), headers, body: JSON.parse(body) };
  }

  it.each([
    {
      dialect: "openai" as const,
      status: 503,
      body: { error: { message: "llmux is shutting down; retry on another instance", type: "server_error", param: null, code: "overloaded" } },
    },
    {
      // UPSTREAM_OVERLOADED is 529 overloaded_error for Anthropic clients (style.md error table).
      dialect: "anthropic" as const,
      status: 529,
      body: { type: "error", error: { type: "overloaded_error", message: "llmux is shutting down; retry on another instance" } },
    },
  ])("a $dialect request that arrives while draining gets $status in its dialect with Retry-After and connection: close", async ({ dialect, status, body }) => {
    const { gw } = await gateway();
    const pending = await halfSentRequest(gw, dialect);
    const closing = gw.close();
    pending.finish();
    await pending.closed;
    await closing;
    const res = parseResponse(pending.received());
    expect(res.status).toBe(status);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.headers["connection"]).toBe("close");
    expect(res.headers["x-request-id"]).toMatch(/^req_/);
    expect(res.body).toEqual(body);
  });

  it("a request refused while draining still gets its usage row", async () => {
    const { gw, database } = await gateway();
    const pending = await halfSentRequest(gw, "openai");
    const closing = gw.close();
    pending.finish();
    await pending.closed;
    await closing;
    const id = parseResponse(pending.received()).headers["x-request-id"];
    expect((await readRows(database)).map((r) => ({ request_id: r.request_id, outcome: r.outcome, status: r.status, backend: r.backend }))).toEqual([
      { request_id: id, outcome: "rejected", status: 503, backend: null },
    ]);
  });

  it("a client that leaves a stream during the drain still gets its client_closed row ", async () => {
    const { gw, database } = await gateway();
    const stream = await post(gw.url, "openai", chatBody("openai", "hi", true));
    const id = String(stream.headers["x-request-id"]);
    await new Promise((resolve) => stream.once("data", resolve));
    const closing = gw.close();
    await sleep(50);
    stream.destroy();
    await closing;
    expect((await readRows(database)).map((r) => ({ request_id: r.request_id, outcome: r.outcome, backend: r.backend }))).toEqual([
      { request_id: id, outcome: "client_closed", backend: "up:m" },
    ]);
  });

  it("close() finishes by the drain deadline although a client holds a connection that never sent a request ", async () => {
    const { gw } = await gateway();
    await rawConnection(gw.url);
    expect(await settlesWithin(gw.close(), DRAIN_S * 1000 + GRACE_MS)).toBe("closed");
  });
});
