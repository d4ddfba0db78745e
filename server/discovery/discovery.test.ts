import type { LookupAddress } from "node:dns";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startMockUpstream, type MockReply, type MockUpstream } from "../../test/helpers/mock-upstream.js";
import { parseConfig } from "../config/load.js";
import type { Config } from "../config/types.js";
import { createDiscovery, FORGET_AFTER_FAILURES, type Discovery, type DiscoveryDeps } from "./discovery.js";

const T0 = 1_795_000_000_000;
/** Content the upstream sends that must never reach a message, a log or a client. */
const CANARY = "canary-body-5e1f0c";

/** A vLLM `GET /v1/models` answer: OpenAI's list plus `max_model_len`. */
function vllmModels(models: Array<{ id: string; maxModelLen?: unknown }>): MockReply {
  const data = models.map(({ id, maxModelLen }) => ({
    id,
    object: "model",
    created: 1_735_000_000,
    owned_by: "vllm",
    root: id,
    parent: null,
    ...(maxModelLen === undefined ? {} : { max_model_len: maxModelLen }),
    permission: [{ id: "modelperm-1", object: "model_permission", allow_sampling: true }],
  }));
  return { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ object: "list", data }) };
}

function config(discovery: string, env: Record<string, string> = {}): Config {
  return parseConfig(discovery, { source: "llmux.toml", baseDir: "/etc/llmux", env });
}

const mocks: MockUpstream[] = [];
const discoveries: Discovery[] = [];

async function mock(reply: (path: string) => MockReply): Promise<MockUpstream> {
  const upstream = await startMockUpstream((req) => reply(req.path));
  mocks.push(upstream);
  return upstream;
}

function discover(file: Config, deps: Partial<DiscoveryDeps> = {}): Discovery {
  const discovery = createDiscovery({ config: file.discovery, now: () => T0, ...deps });
  discoveries.push(discovery);
  return discovery;
}

afterEach(async () => {
  await Promise.all(discoveries.splice(0).map((d) => d.close()));
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

describe("discovery", () => {
  it("turns each vLLM model into a backend, max_model_len as its context, with one provider per server", async () => {
    const upstream = await mock(() =>
      vllmModels([{ id: "Qwen/Qwen3-8B", maxModelLen: 32768 }, { id: "openai/gpt-oss-20b", maxModelLen: 131072 }, { id: "no-length" }]),
    );
    const file = config(`[[discovery]]\nurl = "${upstream.url}/v1"\napi_key = "vllm-key"\ninterval = 7`);
    const discovery = discover(file);
    const provider = file.discovery.servers[0]!.provider;
    await discovery.refresh();

    expect(upstream.requests.map((r) => [r.method, r.path, r.headers["authorization"]])).toEqual([["GET", "/v1/models", "Bearer vllm-key"]]);
    expect(discovery.providers()).toEqual([{ name: provider, kind: "openai", baseUrl: `${upstream.url}/v1`, apiKey: "vllm-key", mock: undefined }]);
    const { backends, fallback } = discovery.current();
    expect(fallback).toBe(false);
    expect(backends.map((b) => [b.name, b.provider, b.model, b.context, b.modelMatch, b.gptOssFix])).toEqual([
      [`${provider}:Qwen/Qwen3-8B`, provider, "Qwen/Qwen3-8B", 32768, ["Qwen/Qwen3-8B"], false],
      [`${provider}:openai/gpt-oss-20b`, provider, "openai/gpt-oss-20b", 131072, ["openai/gpt-oss-20b"], true],
      [`${provider}:no-length`, provider, "no-length", undefined, ["no-length"], false],
    ]);
    expect(discovery.servers()).toEqual([
      {
        url: `${upstream.url}/v1`,
        provider,
        intervalMs: 7_000,
        reachable: true,
        lastPollAt: T0,
        error: "",
        models: [
          { id: "Qwen/Qwen3-8B", backend: `${provider}:Qwen/Qwen3-8B`, context: 32768 },
          { id: "openai/gpt-oss-20b", backend: `${provider}:openai/gpt-oss-20b`, context: 131072 },
          { id: "no-length", backend: `${provider}:no-length`, context: undefined },
        ],
      },
    ]);
    expect(discovery.stats()).toEqual({ servers: 1, reachableServers: 1, models: 3, lastRefreshAt: T0, intervalMs: 7_000, usingFallback: false });
  });

  it("skips unusable entries and duplicates, and ignores a nonsensical max_model_len", async () => {
    const upstream = await mock(() => ({
      type: "raw",
      status: 200,
      body: JSON.stringify({
        data: [{ id: "a", max_model_len: -1 }, { id: "a", max_model_len: 5 }, { id: "" }, { id: 7 }, "x", null, { id: "b\nc" }, { id: "b", max_model_len: 1e20 }, { id: "c", max_model_len: "4096" }],
      }),
    }));
    const discovery = discover(config(`[[discovery]]\nurl = "${upstream.url}/v1"`));
    await discovery.refresh();
    expect(discovery.servers()[0]!.models.map((m) => [m.id, m.context])).toEqual([["a", undefined], ["b", undefined], ["c", undefined]]);
  });

  it("falls back to BACKENDS while discovery finds nothing, and tells subscribers when that changes", async () => {
    let reply: MockReply = { type: "error", status: 503 };
    const upstream = await mock(() => reply);
    const file = config("", { VLLM_SERVERS: `127.0.0.1:${new URL(upstream.url).port}`, BACKENDS: "qwen3-8b:localhost:8001" });
    const discovery = discover(file);
    const changes = vi.fn();
    discovery.subscribe(changes);

    await discovery.refresh();
    expect(discovery.current()).toEqual({ backends: file.discovery.fallback, fallback: true });
    expect(discovery.current().backends.map((b) => b.name)).toEqual(["env-qwen3-8b:qwen3-8b"]);
    expect(discovery.stats()).toMatchObject({ servers: 1, reachableServers: 0, models: 0, usingFallback: true });
    expect(changes).not.toHaveBeenCalled();

    reply = vllmModels([{ id: "qwen3-8b", maxModelLen: 40960 }]);
    await discovery.refresh();
    expect(discovery.current().backends.map((b) => b.name)).toEqual(["vllm-127.0.0.1-" + new URL(upstream.url).port + ":qwen3-8b"]);
    expect(discovery.stats().usingFallback).toBe(false);
    expect(changes).toHaveBeenCalledTimes(1);

    // The same list again is no change.
    await discovery.refresh();
    expect(changes).toHaveBeenCalledTimes(1);
  });

  it(`keeps a server's models across ${FORGET_AFTER_FAILURES - 1} failed polls and forgets them at the ${FORGET_AFTER_FAILURES}th`, async () => {
    let reply: MockReply = vllmModels([{ id: "m" }]);
    const upstream = await mock(() => reply);
    const discovery = discover(config(`[[discovery]]\nurl = "${upstream.url}/v1"`, { BACKENDS: "fb:h:1" }));
    await discovery.refresh();
    reply = { type: "error", status: 500 };
    for (let i = 1; i < FORGET_AFTER_FAILURES; i++) {
      await discovery.refresh();
      expect([discovery.servers()[0]!.reachable, discovery.current().fallback, discovery.stats().models]).toEqual([false, false, 1]);
    }
    await discovery.refresh();
    expect(discovery.servers()[0]!.models).toEqual([]);
    expect(discovery.current().backends.map((b) => b.name)).toEqual(["env-fb:fb"]);
  });

  describe("a failed poll reports what happened in its own words, never the fetched content", () => {
    it.each<[string, MockReply, string]>([
      ["an HTML page", { type: "raw", status: 200, headers: { "content-type": "text/html" }, body: `<html><body>${CANARY}</body></html>` }, "the answer is not JSON"],
      ["JSON that is not a model list", { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: CANARY }) }, "the answer is not an OpenAI model list (no data array)"],
      ["an error status with a body", { type: "raw", status: 500, headers: { "content-type": "text/plain" }, body: CANARY }, "answered HTTP 500"],
      ["an auth failure", { type: "raw", status: 401, headers: { "content-type": "application/json" }, body: JSON.stringify({ message: CANARY }) }, "answered HTTP 401"],
      ["a body over the cap", { type: "raw", status: 200, body: JSON.stringify({ data: [{ id: CANARY.repeat(200) }] }) }, "the answer is larger than 1024 bytes"],
    ])("%s", async (_, reply, error) => {
      const upstream = await mock(() => reply);
      const onPollError = vi.fn();
      const discovery = discover(config(`[[discovery]]\nurl = "${upstream.url}/v1"`), { maxBodyBytes: 1024, onPollError });
      const servers = await discovery.refresh();
      expect([servers[0]!.reachable, servers[0]!.error, servers[0]!.models]).toEqual([false, error, []]);
      expect(onPollError).toHaveBeenCalledTimes(1);
      expect(JSON.stringify([servers, discovery.stats(), onPollError.mock.calls])).not.toContain(CANARY);
    });

    it("does not follow a redirect (the target sees nothing) and does not echo it", async () => {
      const target = await mock(() => vllmModels([{ id: CANARY }]));
      const redirector = await mock(() => ({ type: "redirect", location: `${target.url}/v1/models?${CANARY}` }));
      const discovery = discover(config(`[[discovery]]\nurl = "${redirector.url}/v1"`));
      const servers = await discovery.refresh();
      expect(servers[0]!.error).toBe("answered HTTP 307; redirects are not followed");
      expect(target.requests).toEqual([]);
      expect(JSON.stringify(servers)).not.toContain(CANARY);
    });

    it("gives up on a server that never answers", async () => {
      const upstream = await mock(() => ({ type: "stall" }));
      const discovery = discover(config(`[[discovery]]\nurl = "${upstream.url}/v1"`), { pollTimeoutMs: 100 });
      const servers = await discovery.refresh();
      expect(servers[0]!.error).toMatch(/^no complete answer within/);
    });

    it("reports a refused connection by its code", async () => {
      const upstream = await mock(() => vllmModels([]));
      const url = `${upstream.url}/v1`;
      await upstream.close();
      const discovery = discover(config(`[[discovery]]\nurl = "${url}"`));
      expect((await discovery.refresh())[0]!.error).toBe("connection failed (ECONNREFUSED)");
    });
  });

  describe("DNS is checked where the connection is made", () => {
    const fakeDns = (table: Record<string, string>) => async (hostname: string): Promise<LookupAddress[]> => {
      const address = table[hostname];
      if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      return [{ address, family: address.includes(":") ? 6 : 4 }];
    };

    it("connects to a name that resolves to a private address", async () => {
      const upstream = await mock(() => vllmModels([{ id: "m" }]));
      const port = new URL(upstream.url).port;
      const discovery = discover(config(`[[discovery]]\nurl = "http://vllm.test:${port}/v1"`), { resolve: fakeDns({ "vllm.test": "127.0.0.1" }) });
      expect((await discovery.refresh())[0]!.models.map((m) => m.id)).toEqual(["m"]);
      expect(upstream.requests.map((r) => r.headers["host"])).toEqual([`vllm.test:${port}`]);
    });

    it.each([
      ["169.254.169.254", "the host name resolves to a cloud metadata address, which is always refused"],
      ["fd00:ec2::254", "the host name resolves to a cloud metadata address, which is always refused"],
      ["::ffff:169.254.169.254", "the host name resolves to a cloud metadata address, which is always refused"],
    ])("refuses a name that resolves to %s before connecting", async (address, error) => {
      const discovery = discover(config(`[[discovery]]\nurl = "http://sneaky.test:8000/v1"`), { resolve: fakeDns({ "sneaky.test": address }) });
      expect((await discovery.refresh())[0]!.error).toBe(error);
    });

    it("reports a name that does not resolve", async () => {
      const discovery = discover(config(`[[discovery]]\nurl = "http://nowhere.test:8000/v1"`), { resolve: fakeDns({}) });
      expect((await discovery.refresh())[0]!.error).toBe("the host name does not resolve");
    });
  });

  it("polls each server on its interval once started, and stops when closed", async () => {
    const upstream = await mock(() => vllmModels([{ id: "m" }]));
    const file = config(`[[discovery]]\nurl = "${upstream.url}/v1"\ninterval = 1`);
    const discovery = createDiscovery({
      config: { ...file.discovery, servers: file.discovery.servers.map((s) => ({ ...s, intervalMs: 10 })) },
    });
    await discovery.start();
    expect(discovery.current().backends.length).toBe(1);
    await vi.waitFor(() => expect(upstream.requests.length).toBeGreaterThanOrEqual(3));
    await discovery.close();
    const polled = upstream.requests.length;
    // A poll scheduled before close never starts after it: wait past several intervals and count again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(upstream.requests.length).toBe(polled);
  });

  it("answers stats with no servers configured", () => {
    const discovery = discover(config(""));
    expect(discovery.stats()).toEqual({ servers: 0, reachableServers: 0, models: 0, lastRefreshAt: undefined, intervalMs: 30_000, usingFallback: false });
    expect(discovery.current()).toEqual({ backends: [], fallback: true });
  });
});
