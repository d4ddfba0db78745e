import { afterEach, describe, expect, it } from "vitest";
import { startMockUpstream, type MockReply, type MockUpstream } from "../../test/helpers/mock-upstream.js";
import type { ProviderConfig, ProviderKind } from "../config/types.js";
import { createAnthropicProvider } from "./anthropic-provider.js";
import { GET_BODY_LIMIT_BYTES } from "./http-transport.js";
import { createMockProvider } from "./mock/mock-provider.js";
import { createOpenAICompatibleProvider } from "./openai-compatible-provider.js";
import type { ProviderAdapter } from "./provider.js";

const KEY = "sk-provider-key-for-probes";
const TIMEOUTS = { connectMs: 2_000, headersMs: 2_000, idleMs: 2_000 };

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function upstream(reply?: (path: string) => MockReply): Promise<MockUpstream> {
  const mock = await startMockUpstream(reply ? (req) => reply(req.path) : undefined);
  cleanups.push(() => mock.close());
  return mock;
}

type HttpKind = Exclude<ProviderKind, "mock">;

/** The HTTP adapter of `kind` in front of `mock`, configured with `apiKey` (none when undefined). */
function adapter(kind: HttpKind, mock: MockUpstream, apiKey: string | undefined): ProviderAdapter {
  const config: ProviderConfig = {
    name: "up",
    kind,
    baseUrl: kind === "openai" ? `${mock.url}/v1` : mock.url,
    apiKey,
    mock: undefined,
  };
  const provider = kind === "openai" ? createOpenAICompatibleProvider(config, TIMEOUTS) : createAnthropicProvider(config, TIMEOUTS);
  cleanups.push(() => provider.close());
  return provider;
}

const signal = () => new AbortController().signal;

/** The headers a probe must send, per kind (Node lower-cases names; `host` and `connection` come from undici). */
const EXPECTED: Record<HttpKind, { path: string; headers: Record<string, string> }> = {
  openai: {
    path: "/v1/models",
    headers: { accept: "application/json", "user-agent": "llmux", authorization: `Bearer ${KEY}` },
  },
  anthropic: {
    path: "/v1/models",
    headers: { accept: "application/json", "user-agent": "llmux", "anthropic-version": "2023-06-01", "x-api-key": KEY },
  },
};

describe.each(["openai", "anthropic"] as const)("%s probe()", (kind) => {
  it("GETs the model list with the provider key and nothing else, and is healthy on a 2xx", async () => {
    const mock = await upstream();
    expect(await adapter(kind, mock, KEY).probe(signal())).toBe(true);
    expect(mock.requests).toHaveLength(1);
    const seen = mock.requests[0]!;
    expect([seen.method, seen.path, seen.body]).toEqual(["GET", EXPECTED[kind].path, ""]);
    const { host, connection, ...rest } = seen.headers;
    expect(host).toBe(new URL(mock.url).host);
    expect(connection).toBe("keep-alive");
    expect(rest).toEqual(EXPECTED[kind].headers);
  });

  it("sends no credential header when the provider has no key", async () => {
    const mock = await upstream();
    expect(await adapter(kind, mock, undefined).probe(signal())).toBe(true);
    expect(mock.requests[0]!.headers).not.toHaveProperty("authorization");
    expect(mock.requests[0]!.headers).not.toHaveProperty("x-api-key");
  });

  it.each<[string, MockReply]>([
    ["500", { type: "error", status: 500 }],
    ["401", { type: "error", status: 401 }],
    ["404", { type: "error", status: 404 }],
    ["429", { type: "error", status: 429 }],
    ["a reset before any header", { type: "reset" }],
  ])("is unhealthy on %s", async (_name, reply) => {
    const mock = await upstream(() => reply);
    expect(await adapter(kind, mock, KEY).probe(signal())).toBe(false);
  });

  it("is unhealthy on a redirect, which it never follows (the key must not travel to another host)", async () => {
    const elsewhere = await upstream();
    const mock = await upstream(() => ({ type: "redirect", location: `${elsewhere.url}/v1/models` }));
    expect(await adapter(kind, mock, KEY).probe(signal())).toBe(false);
    expect(mock.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it("is unhealthy when the connection is refused", async () => {
    const mock = await upstream();
    const provider = adapter(kind, mock, KEY);
    await mock.close();
    expect(await provider.probe(signal())).toBe(false);
  });

  it("is unhealthy, and drops the connection, when the signal aborts before the answer", async () => {
    const mock = await upstream(() => ({ type: "stall" }));
    const controller = new AbortController();
    const probing = adapter(kind, mock, KEY).probe(controller.signal);
    await expect.poll(() => mock.requests.length).toBe(1);
    controller.abort();
    expect(await probing).toBe(false);
    expect(await mock.waitForClose(5_000)).toBe(true);
  });

  it("reads a large model list only up to the cap, and still judges by the status", async () => {
    const body = JSON.stringify({ object: "list", data: "x".repeat(4 * GET_BODY_LIMIT_BYTES) });
    const mock = await upstream(() => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body }));
    expect(await adapter(kind, mock, KEY).probe(signal())).toBe(true);
    // The rest is not read: the connection is dropped instead of kept alive.
    await expect.poll(() => mock.closedSockets()).toBe(1);
  });
});

describe("mock probe()", () => {
  it("is always healthy: the mock lives in-process", async () => {
    const provider = createMockProvider({
      name: "fake",
      kind: "mock",
      baseUrl: "",
      apiKey: undefined,
      mock: { reply: undefined, latencyMs: 0, chunkChars: 4, chunkDelayMs: 0 },
    });
    expect(await provider.probe(signal())).toBe(true);
  });
});
