import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../errors/llmux-error.js";
import { Cancellation } from "../lib/cancellation.js";
import type { HostResolver } from "../lib/guarded-lookup.js";
import { readBody } from "../lib/read-body.js";
import { createHttpTransport, type HttpTransport } from "./http-transport.js";

const TIMEOUTS = { connectMs: 2_000, headersMs: 2_000, idleMs: 2_000 };

let server: Server | undefined;
let transport: HttpTransport | undefined;

afterEach(async () => {
  await transport?.close();
  if (server) {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  }
  server = undefined;
  transport = undefined;
});

/** A fake DNS: the names it knows, each with its addresses. */
function fakeDns(names: Record<string, string[]>): { resolve: HostResolver; asked: string[] } {
  const asked: string[] = [];
  const resolve: HostResolver = async (hostname) => {
    asked.push(hostname);
    return (names[hostname] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, asked };
}

describe("createHttpTransport: the addresses a connection resolves to", () => {
  it("connects through a host name the resolver maps to an ordinary address", async () => {
    server = createServer((req, res) => res.end(`${req.method} ${req.url}`));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const dns = fakeDns({ "upstream.test": ["127.0.0.1"] });
    transport = createHttpTransport(`http://upstream.test:${port}/v1`, TIMEOUTS, dns.resolve);
    const res = await transport.post("/chat/completions", { "content-type": "application/json" }, "{}", new Cancellation(), false);
    expect([res.status, await readBody(res.body, 1024)]).toEqual([200, "POST /v1/chat/completions"]);
    expect(dns.asked).toEqual(["upstream.test"]);
  });

  it.each([["169.254.169.254"], ["fd00:ec2::254"], ["::ffff:169.254.169.254"]])(
    "refuses a host name that resolves to the metadata address %s, as a configuration fault",
    async (address) => {
      const dns = fakeDns({ "rebound.test": ["10.0.0.7", address] });
      transport = createHttpTransport("http://rebound.test:8000/v1", TIMEOUTS, dns.resolve);
      const err = await transport.post("/chat/completions", {}, "{}", new Cancellation(), false).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LlmuxError);
      const { reason, rawMessage, upstreamType } = err as LlmuxError;
      expect([Reason[reason], rawMessage, upstreamType]).toEqual([
        "UPSTREAM_FAILED",
        "rebound.test:8000 resolves to a cloud metadata address, which is always refused",
        "config_fault",
      ]);
    },
  );

  it("refuses the metadata address on health probes too", async () => {
    transport = createHttpTransport("http://rebound.test/v1", TIMEOUTS, fakeDns({ "rebound.test": ["169.254.169.254"] }).resolve);
    await expect(transport.get("/models", {}, AbortSignal.timeout(2_000))).rejects.toThrow("rebound.test resolves to a cloud metadata address");
  });
});

describe("createHttpTransport: which timers bound a post", () => {
  const SHORT = { connectMs: 2_000, headersMs: 150, idleMs: 150 };

  /** An upstream that sends its headers after `headersAfterMs`, then "a", then "b" after `gapMs`. */
  async function slowUpstream(headersAfterMs: number, gapMs: number): Promise<string> {
    server = createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("a");
        setTimeout(() => res.end("b"), gapMs);
      }, headersAfterMs);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  it("leaves a JSON post's headers and body to the caller's signal, not to headersMs or idleMs", async () => {
    transport = createHttpTransport(await slowUpstream(400, 400), SHORT);
    const res = await transport.post("/chat/completions", {}, "{}", new Cancellation(), false);
    expect([res.status, await readBody(res.body, 1024)]).toEqual([200, "ab"]);
  });

  it("cuts a stream that stays silent for idleMs between two chunks", async () => {
    transport = createHttpTransport(await slowUpstream(0, 2_000), SHORT);
    const res = await transport.post("/chat/completions", {}, "{}", new Cancellation(), true);
    const err = await readBody(res.body, 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmuxError);
    const { port } = server!.address() as AddressInfo;
    expect([Reason[(err as LlmuxError).reason], (err as LlmuxError).rawMessage]).toEqual(["UPSTREAM_TIMEOUT", `127.0.0.1:${port} stopped sending`]);
  });
});
