import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { parseJsonBody } from "./json-body.js";
import { PARK_MIN_BYTES, takeRequestSource } from "./request-source.js";

/** A Fastify request as the JSON parser leaves it for `text`. */
function parsedRequest(text: string): FastifyRequest {
  const request = {} as FastifyRequest;
  parseJsonBody(request, Buffer.from(text), (err, body) => {
    if (err) throw err;
    request.body = body;
  });
  return request;
}

/** Validation as the facade's validators do it: the body itself, checked, or a throw. */
function validate(body: unknown): { model: string; text: string } {
  if (typeof body !== "object" || body === null || !("model" in body)) throw new Error("not a request");
  return body as { model: string; text: string };
}

function forceGc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("takeRequestSource", () => {
  it("takes the body and its bytes off the request", () => {
    const request = parsedRequest('{"model":"m","text":"hi"}');
    expect(request.jsonBytes).toBeInstanceOf(Buffer);
    const source = takeRequestSource(request, validate);
    expect([request.body, request.jsonBytes]).toEqual([undefined, undefined]);
    expect(source.get()).toEqual({ model: "m", text: "hi" });
  });

  it("keeps a small body parsed: parking it does nothing", () => {
    const source = takeRequestSource(parsedRequest('{"model":"m","text":"hi"}'), validate);
    const body = source.get();
    source.park();
    expect(source.get()).toBe(body);
  });

  it("lets a large body's parsed tree go when parked, and parses the same body again from its bytes", async () => {
    const text = "é☃𝄞 ".repeat(PARK_MIN_BYTES / 4);
    const request = parsedRequest(`\ufeff{"model":"m","text":${JSON.stringify(text)}}`);
    const source = takeRequestSource(request, validate);
    // Made in a frame of its own, so that no local of this test holds the tree.
    const watch = () => new WeakRef(source.get());
    const first = watch();
    expect(source.get()).toBe(first.deref());
    source.park();
    await new Promise((resolve) => setImmediate(resolve));
    forceGc();
    expect(first.deref()).toBeUndefined();
    const again = source.get();
    expect(again).toEqual({ model: "m", text });
    // Parsed once per park, not once per read.
    expect(source.get()).toBe(again);
  });

  it("does not take the body of a request that fails validation", () => {
    const request = parsedRequest('{"text":"no model"}');
    expect(() => takeRequestSource(request, validate)).toThrow("not a request");
    expect(request.body).toEqual({ text: "no model" });
  });
});
