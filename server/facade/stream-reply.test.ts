import Fastify from "fastify";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { BackendConfig } from "../config/types.js";
import { Cancellation } from "../lib/cancellation.js";
import type { RequestContext } from "./request-tracker.js";
import { sendResult } from "./stream-reply.js";

const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function context(): RequestContext {
  return {
    dialect: "openai",
    operation: "chat",
    model: "m",
    stream: true,
    trace: { selection: undefined, attempts: [] },
    firstByteAt: undefined,
    now: () => 0,
    cancel: new Cancellation(),
  };
}

describe("sendResult (stream)", () => {
  it("hands the first frames to the socket before it pulls the rest of the stream", async () => {
    // What the socket had taken when the pump first asked for more: the status line, headers and first frames
    // must be out already, not held behind the translation of frames that came in the same upstream read.
    let atFirstPull: { corked: number; written: number } | undefined;
    const fastify = Fastify();
    apps.push(fastify);
    fastify.post("/s", async (_request, reply) => {
      const socket = reply.raw.socket!;
      const rest = (async function* () {
        atFirstPull = { corked: socket.writableCorked, written: socket.bytesWritten };
        yield "data: two\n\n";
      })();
      return sendResult(reply, { kind: "stream", backend: {} as BackendConfig, first: "data: one\n\n", rest }, context(), 5_000);
    });
    const url = await fastify.listen({ port: 0, host: "127.0.0.1" });
    const res = await request(`${url}/s`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"m"}' });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(await res.body.text()).toBe("data: one\n\ndata: two\n\n");
    expect(atFirstPull?.corked).toBe(0);
    expect(atFirstPull?.written).toBeGreaterThan("data: one\n\n".length);
  });

  it("has written the status line, headers and first frames to the socket when it returns", async () => {
    // Nothing is left corked for the next tick, which would run only after the handler's promise chain.
    let atReturn: { corked: number; buffered: number; written: number } | undefined;
    const fastify = Fastify();
    apps.push(fastify);
    fastify.post("/s", async (_request, reply) => {
      const socket = reply.raw.socket!;
      const rest = (async function* () {
        yield "data: two\n\n";
      })();
      const sent = sendResult(reply, { kind: "stream", backend: {} as BackendConfig, first: "data: one\n\n", rest }, context(), 5_000);
      atReturn = { corked: socket.writableCorked, buffered: socket.writableLength, written: socket.bytesWritten };
      return sent;
    });
    const url = await fastify.listen({ port: 0, host: "127.0.0.1" });
    const res = await request(`${url}/s`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"m"}' });
    expect(await res.body.text()).toBe("data: one\n\ndata: two\n\n");
    expect(atReturn?.corked).toBe(0);
    expect(atReturn?.buffered).toBe(0);
    expect(atReturn?.written).toBeGreaterThan("HTTP/1.1 200 OK\r\n".length + "data: one\n\n".length);
  });

  it("lets go of the parsed request body once the answer streams", async () => {
    const bodies: unknown[] = [];
    const fastify = Fastify();
    apps.push(fastify);
    fastify.post("/s", async (request, reply) => {
      bodies.push(request.body);
      const rest = (async function* () {
        bodies.push(request.body);
        yield "data: two\n\n";
      })();
      return sendResult(reply, { kind: "stream", backend: {} as BackendConfig, first: "data: one\n\n", rest }, context(), 5_000);
    });
    const url = await fastify.listen({ port: 0, host: "127.0.0.1" });
    const res = await request(`${url}/s`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"m"}' });
    expect(await res.body.text()).toBe("data: one\n\ndata: two\n\n");
    expect(bodies).toEqual([{ model: "m" }, undefined]);
  });
});
