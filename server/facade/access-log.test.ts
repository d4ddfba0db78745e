import pino from "pino";
import { describe, expect, it } from "vitest";
import { createAccessLog, type AccessLine } from "./access-log.js";

/** What pino itself writes for `info(fields, "request")` with llmux's base and a fixed time. */
function pinoLine(fields: AccessLine): string {
  let out = "";
  const logger = pino({ base: { service: "llmux" }, timestamp: () => `,"time":1700000000123` }, { write: (s: string) => void (out += s) });
  logger.info(fields, "request");
  return out;
}

function ours(fields: AccessLine): string {
  let out = "";
  createAccessLog((s) => void (out += s), { service: "llmux" }, () => 1700000000123)(fields);
  return out;
}

describe("createAccessLog", () => {
  const plain: AccessLine = { reqId: "req_01M81QF2MSnwLIFELpQxaeh5Ev", method: "POST", url: "/v1/chat/completions", status: 200, ms: 12 };

  it("writes the line pino writes, byte for byte, with and without the optional fields", () => {
    expect(ours(plain)).toBe(pinoLine(plain));
    const failedOver: AccessLine = {
      ...plain,
      status: 502,
      ms: 3.5,
      backend: "an:claude",
      attempts: [
        { backend: "oa:gpt", outcome: "failed", status: 503, error: 'upstream said "busy"' },
        { backend: "an:claude", outcome: "rejected", status: 400 },
      ],
      outcome: "upstream_error",
    };
    expect(ours(failedOver)).toBe(pinoLine(failedOver));
    expect(ours(failedOver).endsWith("\n")).toBe(true);
  });

  it("escapes what a client controls (the URL, the method) into valid JSON that reads back as sent", () => {
    const url = '/v1/chat/completions?q="}{\\\n\u0000\u2028é😀\ud800';
    const line = JSON.parse(ours({ ...plain, url, method: "M\"X" })) as Record<string, unknown>;
    expect(line).toEqual({ level: 30, time: 1700000000123, service: "llmux", reqId: plain.reqId, method: 'M"X', url, status: 200, ms: 12, msg: "request" });
  });
});
