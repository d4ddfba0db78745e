import { once } from "node:events";
import { createServer } from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { anthropicMessage, anthropicMessageFrames } from "./mock-upstream-anthropic.js";
import { defaultErrorBody } from "./mock-upstream-error-body.js";
import { openaiChatCompletion, openaiChatFrames } from "./mock-upstream-openai.js";
import { estimateTokens, lastUserText, requestStreams } from "./mock-upstream-wire.js";

/** One request as the mock received it, kept in arrival order so tests can assert what the gateway sent upstream. */
export interface RecordedRequest {
  method: string;
  /** The request target as sent, query string included. */
  path: string;
  /** Node's lower-cased headers; repeated headers are joined or listed as Node does. */
  headers: Record<string, string | string[] | undefined>;
  /** The whole body, decoded as UTF-8. */
  body: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

/** Decides the reply to one request. It may be async, e.g. to hold a reply until the test releases it. */
export type MockScript = (req: RecordedRequest) => MockReply | Promise<MockReply>;

/**
 * What the mock does with one request. The dialect replies (`openai-chat`, `anthropic-message`) stream when the
 * request body has `"stream": true`, else return one JSON body; the other kinds reproduce the upstream faults of
 * spec/reliability.md §4.
 *
 * - `chunkChars`: code points per streamed text/argument piece (default 4).
 * - `delayMs`: wait before the response headers (first-byte timeout, F5). `chunkDelayMs`: wait between SSE frames
 *   (idle timeout, F20). Both stop when the client disconnects.
 * - `error`: status with the dialect's default error body for the request path unless `body` is given (F6–F14,
 *   F16 with an HTML body and a `content-type` header).
 * - `sse`: raw frames written as given; `end` "close" finishes the response (F21 without a terminator), "reset"
 *   sends a TCP RST once the frames are flushed (F19), "stall" keeps it open silently (F20). F17/F18 are frames.
 * - `raw`: any status, headers and body (F15, F16, F22); `content-length` is added unless the headers set it.
 * - `reset`: destroys the socket with a TCP RST once the request body arrived, before any header (F4).
 * - `stall`: never answers (F5).
 * - `redirect`: 307 to `location` (F23); 307 because a client that follows it would resend the body and key.
 */
export type MockReply =
  | {
      type: "openai-chat";
      content?: string;
      reasoning?: string;
      toolCalls?: Array<{ id: string; name: string; arguments: string }>;
      finishReason?: string;
      usage?: { prompt: number; completion: number; cached?: number; reasoning?: number };
      chunkChars?: number;
      interleaveToolArgs?: boolean;
      delayMs?: number;
      chunkDelayMs?: number;
    }
  | {
      type: "anthropic-message";
      content?: Array<
        | { type: "text"; text: string }
        | { type: "thinking"; thinking: string; signature: string }
        | { type: "tool_use"; id: string; name: string; input: unknown }
      >;
      stopReason?: string;
      usage?: { input: number; output: number; cacheRead?: number; cacheCreation?: number };
      chunkChars?: number;
      delayMs?: number;
      chunkDelayMs?: number;
    }
  | { type: "error"; status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | { type: "sse"; events: string[]; end?: "close" | "reset" | "stall"; chunkDelayMs?: number; status?: number; headers?: Record<string, string> }
  | { type: "raw"; status: number; headers?: Record<string, string>; body: string | Buffer }
  | { type: "reset" }
  | { type: "stall" }
  | { type: "redirect"; location: string };

/** A running fake upstream. Every member is safe to call after `close()`. */
export interface MockUpstream {
  /** Base URL, `http://127.0.0.1:PORT`, without a path: append `/v1` for OpenAI clients. */
  url: string;
  /** Every request received so far, in arrival order (recorded before the script runs). */
  requests: RecordedRequest[];
  /** Replaces the responder for the requests that arrive from now on. */
  script(fn: MockScript): void;
  /** Sockets closed so far, for whatever reason (client, mock reset, close()). */
  closedSockets(): number;
  /** Sockets open now. */
  openSockets(): number;
  /**
   * Resolves true once the client has closed a socket while a response on it was unfinished (a client abort), or
   * false after `timeoutMs`. Each abort satisfies one call, so an abort that happened before the call still counts
   * and no abort is counted twice. Closes the mock caused (`reset`, `close()`) and idle keep-alive closes do not
   * count, so an abort test cannot pass by accident.
   */
  waitForClose(timeoutMs: number): Promise<boolean>;
  /** Stops listening and destroys every socket, stalled ones included; resolves when the server has closed. */
  close(): Promise<void>;
}

/**
 * The default responder: an echo of the last user message for `POST …/chat/completions` (OpenAI) and
 * `POST …/v1/messages` (Anthropic), `{"input_tokens":N}` for `POST …/v1/messages/count_tokens`, an OpenAI model list
 * with one `mock-model` for `GET …/models`, and the dialect's 404 error for anything else. Exported so scripts can
 * fall back to it.
 */
export function defaultMockScript(req: RecordedRequest): MockReply {
  const route = `${req.method} ${req.path.split("?", 1)[0]!}`;
  if (/^POST .*\/chat\/completions$/.test(route)) return { type: "openai-chat", content: lastUserText(req.json) };
  if (/^POST .*\/v1\/messages\/count_tokens$/.test(route)) {
    return { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ input_tokens: estimateTokens(req.body) }) };
  }
  if (/^POST .*\/v1\/messages$/.test(route)) return { type: "anthropic-message", content: [{ type: "text", text: lastUserText(req.json) }] };
  if (/^GET .*\/models$/.test(route)) {
    const data = [{ id: "mock-model", object: "model", created: MODEL_CREATED, owned_by: "mock" }];
    return { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ object: "list", data }) };
  }
  return { type: "error", status: 404 };
}

/** A fixed model `created` second (2024-01-01), so model lists compare byte for byte. */
const MODEL_CREATED = 1_704_067_200;

/** Server-side keep-alive: long enough that the mock never closes an idle socket during a test. */
const KEEP_ALIVE_MS = 60_000;

/** What the mock knows about one connection. */
interface SocketState {
  /** A request on it is being answered (from its arrival until the response finishes). */
  busy: boolean;
  /** The mock destroyed it itself, so its close is not a client abort. */
  destroyedByMock: boolean;
}

/** Header names are case-insensitive; given ones replace defaults whatever their case. */
function mergeHeaders(defaults: Record<string, string>, given: Record<string, string> = {}): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const [name, value] of [...Object.entries(defaults), ...Object.entries(given)]) merged[name.toLowerCase()] = value;
  return merged;
}

/** Waits `ms` unless the exchange ends first; false means the client went away and the reply must stop. */
async function pause(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms === undefined || ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Writes one chunk, honouring backpressure (F22 bodies can be large); false when the client went away. */
async function write(res: ServerResponse, chunk: string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (res.write(chunk)) return true;
  try {
    await once(res, "drain", { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves true once everything written so far was handed to the kernel (an empty write's callback runs after the
 * writes queued before it), false if the client went away first. A reset after that still delivers the frames: the
 * peer's kernel keeps received bytes readable after the RST arrives.
 */
function flushed(res: ServerResponse, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
    res.write("", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(!signal.aborted);
    });
  });
}

/** Sends a complete body with an explicit `content-length` (unless the given headers set their own). */
function sendBody(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
    headers["content-length"] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(body);
}

/** Reads the whole request body; undefined when the client went away before it was complete. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return undefined;
  }
  return req.complete ? Buffer.concat(chunks).toString("utf8") : undefined;
}

function parseJson(body: string): unknown {
  try {
    return body === "" ? undefined : (JSON.parse(body) as unknown);
  } catch {
    return undefined;
  }
}

/**
 * Starts a fake LLM upstream on 127.0.0.1, port 0, built on bare `node:http` so nothing but the script decides what
 * goes on the wire. Ids are deterministic per mock (`chatcmpl-mock000001`, `msg_mock000001`, …) so integration tests
 * can compare bytes; only OpenAI's `created` second varies.
 */
export async function startMockUpstream(script: MockScript = defaultMockScript): Promise<MockUpstream> {
  let responder = script;
  let sequence = 0;
  let closed = 0;
  let aborts = 0;
  let consumedAborts = 0;
  const requests: RecordedRequest[] = [];
  const sockets = new Map<Socket, SocketState>();
  const waiters = new Set<(aborted: boolean) => void>();

  const destroyByMock = (socket: Socket, reset: boolean): void => {
    const state = sockets.get(socket);
    if (state !== undefined) state.destroyedByMock = true;
    if (reset) socket.resetAndDestroy();
    else socket.destroy();
  };

  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS });
  server.on("connection", (socket: Socket) => {
    const state: SocketState = { busy: false, destroyedByMock: false };
    sockets.set(socket, state);
    socket.on("close", () => {
      sockets.delete(socket);
      closed++;
      if (!state.busy || state.destroyedByMock) return;
      aborts++;
      const waiter = waiters.values().next();
      if (!waiter.done) waiter.value(true);
    });
  });

  /** Streams SSE frames: headers flushed first, so the client sees the status before any frame. */
  const sendSse = async (
    res: ServerResponse,
    signal: AbortSignal,
    o: { status: number; headers: OutgoingHttpHeaders; frames: string[]; delayMs?: number; chunkDelayMs?: number; end: "close" | "reset" | "stall" },
  ): Promise<void> => {
    if (!(await pause(o.delayMs, signal))) return;
    res.writeHead(o.status, o.headers);
    res.flushHeaders();
    for (const [i, frame] of o.frames.entries()) {
      if (i > 0 && !(await pause(o.chunkDelayMs, signal))) return;
      if (!(await write(res, frame, signal))) return;
    }
    if (o.end === "close") res.end();
    else if (o.end === "reset" && (await flushed(res, signal))) destroyByMock(res.socket!, true);
  };

  const respond = async (reply: MockReply, req: RecordedRequest, res: ServerResponse, signal: AbortSignal): Promise<void> => {
    switch (reply.type) {
      case "openai-chat":
      case "anthropic-message": {
        sequence++;
        const seq = String(sequence).padStart(6, "0");
        const openai = reply.type === "openai-chat";
        const identity = { id: openai ? `chatcmpl-mock${seq}` : `msg_mock${seq}`, created: Math.floor(Date.now() / 1000) };
        const requestId = { [openai ? "x-request-id" : "request-id"]: `req_mock${seq}` };
        if (requestStreams(req.json)) {
          const frames = reply.type === "openai-chat" ? openaiChatFrames(reply, req, identity) : anthropicMessageFrames(reply, req, identity);
          const headers = mergeHeaders({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...requestId });
          await sendSse(res, signal, { status: 200, headers, frames, delayMs: reply.delayMs, chunkDelayMs: reply.chunkDelayMs, end: "close" });
          return;
        }
        const body = reply.type === "openai-chat" ? openaiChatCompletion(reply, req, identity) : anthropicMessage(reply, req, identity);
        if (!(await pause(reply.delayMs, signal))) return;
        sendBody(res, 200, mergeHeaders({ "content-type": "application/json", ...requestId }), JSON.stringify(body));
        return;
      }
      case "error":
        if (!(await pause(reply.delayMs, signal))) return;
        sendBody(res, reply.status, mergeHeaders({ "content-type": "application/json" }, reply.headers), reply.body ?? defaultErrorBody(reply.status, req.path));
        return;
      case "sse": {
        const headers = mergeHeaders({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" }, reply.headers);
        await sendSse(res, signal, { status: reply.status ?? 200, headers, frames: reply.events, chunkDelayMs: reply.chunkDelayMs, end: reply.end ?? "close" });
        return;
      }
      case "raw":
        sendBody(res, reply.status, mergeHeaders({}, reply.headers), reply.body);
        return;
      case "reset":
        destroyByMock(res.socket!, true);
        return;
      case "stall":
        return;
      case "redirect":
        sendBody(res, 307, mergeHeaders({ location: reply.location }), "");
        return;
    }
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const state = sockets.get(req.socket);
    if (state !== undefined) state.busy = true;
    const exchange = new AbortController();
    // "close" fires when the response finished or the connection died; either way pending timers must go.
    res.on("close", () => exchange.abort());
    res.on("finish", () => {
      if (state !== undefined) state.busy = false;
    });
    void (async () => {
      const body = await readBody(req);
      if (body === undefined) return;
      const recorded: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: { ...req.headers }, body, json: parseJson(body) };
      requests.push(recorded);
      let reply: MockReply;
      try {
        reply = await responder(recorded);
      } catch (err) {
        // A throwing script is a bug in the test: answer loudly rather than hang the gateway under test.
        const message = err instanceof Error ? err.message : String(err);
        reply = { type: "raw", status: 500, headers: { "content-type": "text/plain" }, body: `mock script threw: ${message}` };
      }
      if (!exchange.signal.aborted) await respond(reply, recorded, res, exchange.signal);
    })();
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(fn) {
      responder = fn;
    },
    closedSockets: () => closed,
    openSockets: () => sockets.size,
    waitForClose(timeoutMs) {
      if (aborts > consumedAborts) {
        consumedAborts++;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const settle = (aborted: boolean): void => {
          clearTimeout(timer);
          waiters.delete(settle);
          if (aborted) consumedAborts++;
          resolve(aborted);
        };
        const timer = setTimeout(() => settle(false), timeoutMs);
        waiters.add(settle);
      });
    },
    async close() {
      for (const waiter of [...waiters]) waiter(false);
      for (const socket of [...sockets.keys()]) destroyByMock(socket, false);
      if (!server.listening) return;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
