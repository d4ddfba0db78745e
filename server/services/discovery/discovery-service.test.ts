import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DiscoveryService,
  GetDiscoveryStatsResponseSchema,
  ListDiscoveredResponseSchema,
  RefreshDiscoveryResponseSchema,
} from "../../../gen/llmux/discovery/v1/discovery_service_pb.js";
import { startMockUpstream, type MockReply, type MockUpstream } from "../../../test/helpers/mock-upstream.js";
import { parseConfig } from "../../config/load.js";
import { createDiscovery, type Discovery } from "../../discovery/discovery.js";
import type { Principal } from "../admin/authenticator.js";
import { principalKey } from "../call-context.js";
import { createDiscoveryService, discoveryHttpRoutes } from "./discovery-service.js";

const T0 = 1_795_000_000_000;
const CANARY = "canary-html-9d2b";
const USER: Principal = { kind: "user", id: "usr_1", name: "u", role: "user", userId: "usr_1" };

describe("DiscoveryService", () => {
  let upstream: MockUpstream;
  let reply: MockReply;
  let discovery: Discovery;
  let provider: string;

  beforeEach(async () => {
    reply = {
      type: "raw",
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ object: "list", data: [{ id: "Qwen/Qwen3-8B", object: "model", owned_by: "vllm", max_model_len: 32768 }] }),
    };
    upstream = await startMockUpstream(() => reply);
    const config = parseConfig(`[[discovery]]\nurl = "${upstream.url}/v1"\napi_key = "sk-vllm-secret"\ninterval = 15`, {
      source: "llmux.toml",
      baseDir: "/etc/llmux",
      env: { BACKENDS: "fb:localhost:9" },
    });
    provider = config.discovery.servers[0]!.provider;
    discovery = createDiscovery({ config: config.discovery, now: () => T0 });
  });
  afterEach(async () => {
    await discovery.close();
    await upstream.close();
  });

  /** A client whose calls carry `principal`, as the access interceptor would set it; null for none. */
  function client(principal: Principal | null = USER) {
    const authenticated: Interceptor = (next) => (req) => {
      if (principal !== null) req.contextValues.set(principalKey, principal);
      return next(req);
    };
    return createClient(
      DiscoveryService,
      createRouterTransport(({ service }) => service(DiscoveryService, createDiscoveryService(discovery)), { router: { interceptors: [authenticated] } }),
    );
  }

  it("reports the fallback before the first poll, then the servers and models after a refresh", async () => {
    const rpc = client();
    expect(toJson(GetDiscoveryStatsResponseSchema, await rpc.getDiscoveryStats({}))).toEqual({ servers: 1, intervalSeconds: 15, usingFallback: true });
    expect(toJson(ListDiscoveredResponseSchema, await rpc.listDiscovered({}))).toEqual({ servers: [{ url: `${upstream.url}/v1` }] });

    const server = {
      url: `${upstream.url}/v1`,
      reachable: true,
      lastPollTime: "2026-11-18T11:06:40Z",
      models: [{ id: "Qwen/Qwen3-8B", server: `${upstream.url}/v1`, backend: `${provider}:Qwen/Qwen3-8B`, context: 32768 }],
    };
    expect(toJson(RefreshDiscoveryResponseSchema, await rpc.refreshDiscovery({}))).toEqual({ servers: [server] });
    expect(toJson(ListDiscoveredResponseSchema, await rpc.listDiscovered({}))).toEqual({ servers: [server] });
    expect(toJson(GetDiscoveryStatsResponseSchema, await rpc.getDiscoveryStats({}))).toEqual({
      servers: 1,
      reachableServers: 1,
      models: 1,
      lastRefreshTime: "2026-11-18T11:06:40Z",
      intervalSeconds: 15,
    });
  });

  it("reports a failed poll without what it fetched, and never the server's key", async () => {
    reply = { type: "raw", status: 200, headers: { "content-type": "text/html" }, body: `<html>${CANARY}</html>` };
    const res = await client().refreshDiscovery({});
    expect(toJson(RefreshDiscoveryResponseSchema, res)).toEqual({
      servers: [{ url: `${upstream.url}/v1`, lastPollTime: "2026-11-18T11:06:40Z", error: "the answer is not JSON" }],
    });
    const everything = JSON.stringify([toJson(RefreshDiscoveryResponseSchema, res), toJson(ListDiscoveredResponseSchema, await client().listDiscovered({}))]);
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain("sk-vllm-secret");
  });

  it("refuses calls without a principal (mounted without the access interceptor)", async () => {
    const err = await client(null).getDiscoveryStats({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unauthenticated);
  });

  describe("LLMMux's HTTP routes", () => {
    it("map to the RPCs whose access they enforce", () => {
      expect(discoveryHttpRoutes(discovery).map((r) => [r.method, r.url, r.rpc.name])).toEqual([
        ["GET", "/v1/models/discovery/stats", "GetDiscoveryStats"],
        ["POST", "/v1/models/discovery/refresh", "RefreshDiscovery"],
      ]);
    });

    it("answer what the RPCs answer, as proto JSON", async () => {
      const [stats, refresh] = discoveryHttpRoutes(discovery);
      expect(await stats!.handle()).toEqual({ servers: 1, intervalSeconds: 15, usingFallback: true });
      expect(await refresh!.handle()).toEqual({
        servers: [
          {
            url: `${upstream.url}/v1`,
            reachable: true,
            lastPollTime: "2026-11-18T11:06:40Z",
            models: [{ id: "Qwen/Qwen3-8B", server: `${upstream.url}/v1`, backend: `${provider}:Qwen/Qwen3-8B`, context: 32768 }],
          },
        ],
      });
      expect(await stats!.handle()).toEqual({ servers: 1, reachableServers: 1, models: 1, lastRefreshTime: "2026-11-18T11:06:40Z", intervalSeconds: 15 });
    });
  });
});
