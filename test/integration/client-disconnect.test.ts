import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Sqlite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream } from "../helpers/mock-upstream.js";

// spec/reliability.md R3: a client that goes away aborts the upstream request in every phase — while the upstream
// delays its headers, after headers while the first token is awaited, mid-stream, and on the non-streaming path.
// The proof is the mock upstream seeing its socket closed by the gateway within a second, and the request's usage
// row saying `client_closed`. The gateway's own timeouts are long here, so only the client's abort can end it.

const TOKEN = "client-token-disconnect";
const LONG_TEXT = "a reply long enough to still be streaming when the client hangs up";

type Client = "cc" | "msg";
type UpstreamKind = "openai" | "anthropic";

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

interface Setup {
  gw: TestGateway;
  mock: MockUpstream;
  /** Closes the gateway (flushing its usage queue) and returns each row's outcome and status. */
  usage(): Promise<Array<{ outcome: string; status: number }>>;
}

/** One backend of the given kind on a mock answering `reply`, and a gateway with its own SQLite file. */
async function setup(kind: UpstreamKind, reply: MockReply): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), "llmux-disconnect-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const mock = await startMockUpstream(() => reply);
  cleanups.push(() => mock.close());
  const database = path.join(dir, "llmux.db");
  const gw = await startGateway(
    `
max_retries = 0
request_timeout = 30
first_byte_timeout = 20
idle_timeout = 20
health_check_interval = 0
[provider.up]
kind = "${kind}"
base_url = "${kind === "openai" ? `${mock.url}/v1` : mock.url}"
api_key = "sk-provider-disconnect"
[[backend]]
model = "up:m"
[tokens]
tests = "${TOKEN}"
`,
    { database },
  );
  cleanups.push(() => gw.close());
  return {
    gw,
    mock,
    async usage() {
      await gw.close();
      // Read with the driver, not the store: the test only needs two columns of the one table.
      const db = new Sqlite(database, { readonly: true });
      try {
        return db.prepare("SELECT outcome, status FROM usage ORDER BY at").all() as Array<{ outcome: string; status: number }>;
      } finally {
        db.close();
      }
    },
  };
}

function requestBody(client: Client, stream: boolean): string {
  const messages = [{ role: "user", content: "hello" }];
  return JSON.stringify(client === "cc" ? { model: "m", messages, stream } : { model: "m", max_tokens: 64, messages, stream });
}

function send(gw: TestGateway, client: Client, stream: boolean, signal: AbortSignal): Promise<Response> {
  return fetch(`${gw.url}${client === "cc" ? "/v1/chat/completions" : "/v1/messages"}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: requestBody(client, stream),
    signal,
  });
}

/** Polls until the mock has received its first request (the gateway is now waiting on it). */
async function requestArrived(mock: MockUpstream): Promise<void> {
  for (let i = 0; i < 200 && mock.requests.length === 0; i++) await sleep(10);
  expect(mock.requests).toHaveLength(1);
}

/** A reply that streams slowly: the first content arrives at once, the rest over seconds. */
function slowStream(kind: UpstreamKind): MockReply {
  return kind === "openai"
    ? { type: "openai-chat", content: LONG_TEXT, chunkChars: 1, chunkDelayMs: 100 }
    : { type: "anthropic-message", content: [{ type: "text", text: LONG_TEXT }], chunkChars: 1, chunkDelayMs: 100 };
}

/** A reply whose headers come only after 20 s (longer than any test runs). */
function lateHeaders(kind: UpstreamKind): MockReply {
  return kind === "openai"
    ? { type: "openai-chat", content: "too late", delayMs: 20_000 }
    : { type: "anthropic-message", content: [{ type: "text", text: "too late" }], delayMs: 20_000 };
}

const ROUTES: Array<{ client: Client; kind: UpstreamKind }> = [
  { client: "cc", kind: "openai" },
  { client: "msg", kind: "anthropic" },
  { client: "cc", kind: "anthropic" },
  { client: "msg", kind: "openai" },
];

describe.each(ROUTES)("$client client, $kind upstream: the client's abort closes the upstream socket (R3)", ({ client, kind }) => {
  it("(a) while the upstream delays its response headers (stream)", async () => {
    const { gw, mock, usage } = await setup(kind, lateHeaders(kind));
    const controller = new AbortController();
    const pending = send(gw, client, true, controller.signal);
    await requestArrived(mock);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(await mock.waitForClose(1000)).toBe(true);
    expect(await usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });

  it("(b) after the upstream's headers, while waiting for the first token", async () => {
    // Headers and a keep-alive comment, then silence: nothing the gateway may commit to the client yet (R1).
    const { gw, mock, usage } = await setup(kind, { type: "sse", events: [": ping\n\n"], end: "stall" });
    const controller = new AbortController();
    const pending = send(gw, client, true, controller.signal);
    await requestArrived(mock);
    // Lets the headers and the comment reach the gateway, so the abort lands in this phase and not in (a).
    await sleep(100);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(await mock.waitForClose(1000)).toBe(true);
    expect(await usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });

  it("(c) mid-stream, after the first content", async () => {
    const { gw, mock, usage } = await setup(kind, slowStream(kind));
    const controller = new AbortController();
    const res = await send(gw, client, true, controller.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    controller.abort();
    await reader.read().catch(() => undefined);
    expect(await mock.waitForClose(1000)).toBe(true);
    expect(await usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });

  it("(d) on a non-streaming request", async () => {
    const { gw, mock, usage } = await setup(kind, lateHeaders(kind));
    const controller = new AbortController();
    const pending = send(gw, client, false, controller.signal);
    await requestArrived(mock);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(await mock.waitForClose(1000)).toBe(true);
    expect(await usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });

  it("(c') mid-stream, when the client's socket is destroyed rather than the request aborted", async () => {
    const { gw, mock, usage } = await setup(kind, slowStream(kind));
    const url = new URL(`${gw.url}${client === "cc" ? "/v1/chat/completions" : "/v1/messages"}`);
    const body = requestBody(client, true);
    // Resolves with the response status once the first body bytes arrived and the socket was destroyed.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": Buffer.byteLength(body), "anthropic-version": "2023-06-01" },
      });
      req.on("error", () => undefined);
      req.on("response", (res) => {
        res.once("data", () => {
          req.socket?.destroy();
          resolve(res.statusCode);
        });
      });
      req.on("close", () => resolve(undefined));
      req.setTimeout(5000, () => reject(new Error("no response within 5 s")));
      req.end(body);
    });
    expect(status).toBe(200);
    expect(await mock.waitForClose(1000)).toBe(true);
    expect(await usage()).toEqual([{ outcome: "client_closed", status: 499 }]);
  });
});
