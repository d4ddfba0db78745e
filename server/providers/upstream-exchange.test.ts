import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { LlmuxError, llmuxError, Reason, toLlmuxError } from "../errors/llmux-error.js";
import { Cancellation } from "../lib/cancellation.js";
import { BodyTooLargeError } from "../lib/read-body.js";
import { sendUpstream } from "./upstream-exchange.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server | undefined;
let pool: Pool | undefined;

async function start(handler: Handler): Promise<Pool> {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return pool;
}

afterEach(async () => {
  await pool?.destroy();
  if (server) {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  }
  pool = undefined;
  server = undefined;
});

/** An upstream that sends one SSE frame and never ends; `upstreamClosed` resolves when llmux drops the connection. */
async function startOpenStream(): Promise<{ upstream: Pool; upstreamClosed: Promise<void> }> {
  let closed: () => void = () => {};
  const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
  const upstream = await start((req, res) => {
    req.socket.on("close", closed);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: first\n\n");
  });
  return { upstream, upstreamClosed };
}

/** An upstream whose connection breaks after part of a JSON body. */
function startBrokenBody(): Promise<Pool> {
  return start((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"partial":');
    setTimeout(() => res.socket?.destroy(), 10);
  });
}

/** Failures are classified the way the transport does: LlmuxErrors stay, anything else is UPSTREAM_FAILED. */
const classify = (err: unknown) => (err instanceof LlmuxError ? err : llmuxError(Reason.UPSTREAM_FAILED, `failed: ${(err as Error).message}`, { cause: err }));

/** The LlmuxError a promise rejects with (a promise that resolves fails the test). */
function failure(promise: Promise<unknown>): Promise<LlmuxError> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    toLlmuxError,
  );
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of body) text += Buffer.from(chunk).toString("utf8");
  return text;
}

describe("sendUpstream", () => {
  it("resolves with status and headers, then yields the body as it arrives", async () => {
    const upstream = await start((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "x-echo": req.headers["x-token"] as string });
        res.end(JSON.stringify({ got: JSON.parse(body), method: req.method, path: req.url }));
      });
    });
    const res = await sendUpstream(
      upstream,
      { method: "POST", path: "/v1/x", headers: { "content-type": "application/json", "x-token": "t1" }, body: '{"a":1}' },
      new Cancellation(),
      classify,
    );
    expect(res.status).toBe(201);
    expect(res.headers["x-echo"]).toBe("t1");
    expect(JSON.parse(await collect(res.body))).toEqual({ got: { a: 1 }, method: "POST", path: "/v1/x" });
  });

  it("delivers many small writes in order to a slow consumer (the socket is paused and resumed)", async () => {
    const frames = Array.from({ length: 500 }, (_, i) => `data: ${i}\n\n`);
    const upstream = await start((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const next = () => {
        while (i < frames.length) {
          if (!res.write(frames[i++]!)) return void res.once("drain", next);
        }
        res.end();
      };
      next();
    });
    const res = await sendUpstream(upstream, { method: "GET", path: "/" }, new Cancellation(), classify);
    let text = "";
    for await (const chunk of res.body) {
      text += Buffer.from(chunk).toString("utf8");
      // A slow consumer: chunks queue up meanwhile, beyond the high-water mark.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(text).toBe(frames.join(""));
  });

  it("rejects with the abort reason when the signal fires before the headers, and the upstream sees the close", async () => {
    let closed: () => void = () => {};
    const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
    const upstream = await start((req) => req.socket.on("close", closed));
    const cancel = new Cancellation();
    const pending = sendUpstream(upstream, { method: "GET", path: "/" }, cancel, classify);
    setTimeout(() => cancel.abort(llmuxError(Reason.UPSTREAM_TIMEOUT, "too slow")), 20);
    const err = await failure(pending);
    expect(err.reason).toBe(Reason.UPSTREAM_TIMEOUT);
    expect(err.rawMessage).toBe("too slow");
    await upstreamClosed;
  });

  it("rejects at once without sending when the signal has already fired", async () => {
    let requests = 0;
    const upstream = await start((_req, res) => {
      requests++;
      res.end();
    });
    const cancel = new Cancellation();
    cancel.abort(llmuxError(Reason.CANCELED, "client closed the connection"));
    const err = await failure(sendUpstream(upstream, { method: "GET", path: "/" }, cancel, classify));
    expect(err.reason).toBe(Reason.CANCELED);
    expect(requests).toBe(0);
  });

  it("makes the body throw the abort reason mid-stream, and closes the upstream connection", async () => {
    const { upstream, upstreamClosed } = await startOpenStream();
    const cancel = new Cancellation();
    const res = await sendUpstream(upstream, { method: "GET", path: "/" }, cancel, classify);
    const iterator = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await iterator.next()).value!).toString()).toBe("data: first\n\n");
    const waiting = iterator.next();
    cancel.abort(llmuxError(Reason.CANCELED, "client closed the connection"));
    const err = await waiting.then(() => undefined, toLlmuxError);
    expect(err?.reason).toBe(Reason.CANCELED);
    await upstreamClosed;
  });

  it("drops the upstream request when the consumer stops iterating early", async () => {
    const { upstream, upstreamClosed } = await startOpenStream();
    const res = await sendUpstream(upstream, { method: "GET", path: "/" }, new Cancellation(), classify);
    for await (const chunk of res.body) {
      expect(Buffer.from(chunk).toString()).toBe("data: first\n\n");
      break;
    }
    await upstreamClosed;
  });

  it("classifies a connection that breaks mid-body", async () => {
    const upstream = await startBrokenBody();
    const res = await sendUpstream(upstream, { method: "GET", path: "/" }, new Cancellation(), classify);
    const err = await collect(res.body).then(() => undefined, toLlmuxError);
    expect(err?.reason).toBe(Reason.UPSTREAM_FAILED);
    expect(err?.rawMessage).toMatch(/^failed: /);
  });

  it("classifies a refused connection", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, "close");
    pool = new Pool(`http://127.0.0.1:${port}`);
    const err = await failure(sendUpstream(pool, { method: "GET", path: "/" }, new Cancellation(), classify));
    expect(err.reason).toBe(Reason.UPSTREAM_FAILED);
    expect((err.cause as { code?: string }).code).toBe("ECONNREFUSED");
  });

  describe("readAll", () => {
    /** An upstream that writes `parts` a few milliseconds apart, each its own chunk. */
    async function startChunked(parts: string[], onClose?: () => void): Promise<Pool> {
      return start((req, res) => {
        if (onClose) req.socket.on("close", onClose);
        res.writeHead(200, { "content-type": "application/json" });
        let i = 0;
        const next = () => {
          if (i === parts.length) return void res.end();
          res.write(parts[i++]!);
          setTimeout(next, 5);
        };
        next();
      });
    }

    it("resolves with the whole body, arrived in several chunks", async () => {
      const parts = ['{"a":', '"Grüße"', ',"b":[1,2', ",3]}"];
      const res = await sendUpstream(await startChunked(parts), { method: "GET", path: "/" }, new Cancellation(), classify);
      expect((await res.body.readAll!(1000)).toString("utf8")).toBe(parts.join(""));
    });

    it("takes in the chunks already read by iterating", async () => {
      const parts = ["data: one\n\n", "data: two\n\n", "data: three\n\n"];
      const res = await sendUpstream(await startChunked(parts), { method: "GET", path: "/" }, new Cancellation(), classify);
      const iterator = res.body[Symbol.asyncIterator]();
      expect(Buffer.from((await iterator.next()).value!).toString()).toBe("data: one\n\n");
      // Let the rest arrive and queue before asking for all of it.
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect((await res.body.readAll!(1000)).toString()).toBe("data: two\n\ndata: three\n\n");
    });

    it("rejects with BodyTooLargeError past its limit and closes the upstream connection", async () => {
      let closed: () => void = () => {};
      const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
      const upstream = await start((req, res) => {
        req.socket.on("close", closed);
        res.writeHead(200, { "content-type": "application/json" });
        // Never ends: only the limit stops the read.
        const timer = setInterval(() => res.write("x".repeat(100)), 2);
        res.on("close", () => clearInterval(timer));
      });
      const res = await sendUpstream(upstream, { method: "GET", path: "/" }, new Cancellation(), classify);
      await expect(res.body.readAll!(1000)).rejects.toEqual(new BodyTooLargeError(1000));
      await upstreamClosed;
    });

    it("rejects with the abort reason when the signal fires mid-body, and closes the upstream connection", async () => {
      const { upstream, upstreamClosed } = await startOpenStream();
      const cancel = new Cancellation();
      const res = await sendUpstream(upstream, { method: "GET", path: "/" }, cancel, classify);
      const whole = res.body.readAll!(1000);
      setTimeout(() => cancel.abort(llmuxError(Reason.UPSTREAM_TIMEOUT, "did not finish in time")), 20);
      const err = await failure(whole);
      expect([err.reason, err.rawMessage]).toEqual([Reason.UPSTREAM_TIMEOUT, "did not finish in time"]);
      await upstreamClosed;
    });

    it("classifies a connection that breaks mid-body", async () => {
      const upstream = await startBrokenBody();
      const res = await sendUpstream(upstream, { method: "GET", path: "/" }, new Cancellation(), classify);
      const err = await failure(res.body.readAll!(1000));
      expect(err.reason).toBe(Reason.UPSTREAM_FAILED);
      expect(err.rawMessage).toMatch(/^failed: /);
    });
  });
});
