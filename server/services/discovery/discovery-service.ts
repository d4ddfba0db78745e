import { create, toJson, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DiscoveredServerSchema,
  DiscoveryService,
  GetDiscoveryStatsResponseSchema,
  ListDiscoveredResponseSchema,
  RefreshDiscoveryResponseSchema,
  type DiscoveredServer,
  type GetDiscoveryStatsResponse,
} from "../../../gen/llmux/discovery/v1/discovery_service_pb.js";
import type { DiscoveredServerState, Discovery, DiscoveryStats } from "../../discovery/discovery.js";
import { requirePrincipal } from "../call-context.js";

/** A server as the API shows it: its URL, state and models; never its key. */
export function discoveredServerToProto(server: DiscoveredServerState): DiscoveredServer {
  return create(DiscoveredServerSchema, {
    url: server.url,
    reachable: server.reachable,
    lastPollTime: server.lastPollAt === undefined ? undefined : timestampFromMs(server.lastPollAt),
    error: server.error,
    models: server.models.map((model) => ({ id: model.id, server: server.url, backend: model.backend, context: model.context ?? 0 })),
  });
}

/** The stats as the API shows them. */
export function discoveryStatsToProto(stats: DiscoveryStats): GetDiscoveryStatsResponse {
  return create(GetDiscoveryStatsResponseSchema, {
    servers: stats.servers,
    reachableServers: stats.reachableServers,
    models: stats.models,
    lastRefreshTime: stats.lastRefreshAt === undefined ? undefined : timestampFromMs(stats.lastRefreshAt),
    intervalSeconds: Math.round(stats.intervalMs / 1000),
    usingFallback: stats.usingFallback,
  });
}

/**
 * Creates DiscoveryService over a running discovery. Access is declared in the proto (listing and stats: USER;
 * refresh: ADMIN) and enforced by the access interceptor; handlers still refuse a call without a principal.
 */
export function createDiscoveryService(discovery: Discovery): ServiceImpl<typeof DiscoveryService> {
  return {
    listDiscovered(_req, ctx) {
      requirePrincipal(ctx.values);
      return create(ListDiscoveredResponseSchema, { servers: discovery.servers().map(discoveredServerToProto) });
    },
    getDiscoveryStats(_req, ctx) {
      requirePrincipal(ctx.values);
      return discoveryStatsToProto(discovery.stats());
    },
    async refreshDiscovery(_req, ctx) {
      requirePrincipal(ctx.values);
      const servers = await discovery.refresh();
      return create(RefreshDiscoveryResponseSchema, { servers: servers.map(discoveredServerToProto) });
    },
  };
}

/** One HTTP route of LLMMux's discovery API, as a thin wrapper over the RPC it stands for. */
export interface DiscoveryHttpRoute {
  method: "GET" | "POST";
  url: string;
  /** The RPC whose declared access the route must enforce (authorize the caller with it before `handle`). */
  rpc: DescMethod;
  /** The response body: the RPC's response in proto JSON. */
  handle(): Promise<JsonValue>;
}

/**
 * LLMMux's `GET /v1/models/discovery/stats` and `POST /v1/models/discovery/refresh`, answering what
 * GetDiscoveryStats and RefreshDiscovery answer (proto JSON). The composition root mounts them, authorizing
 * each call against `rpc` exactly as the RPC path does.
 */
export function discoveryHttpRoutes(discovery: Discovery): DiscoveryHttpRoute[] {
  return [
    {
      method: "GET",
      url: "/v1/models/discovery/stats",
      rpc: DiscoveryService.method.getDiscoveryStats,
      handle: async () => toJson(GetDiscoveryStatsResponseSchema, discoveryStatsToProto(discovery.stats())),
    },
    {
      method: "POST",
      url: "/v1/models/discovery/refresh",
      rpc: DiscoveryService.method.refreshDiscovery,
      handle: async () => {
        const servers = await discovery.refresh();
        return toJson(RefreshDiscoveryResponseSchema, create(RefreshDiscoveryResponseSchema, { servers: servers.map(discoveredServerToProto) }));
      },
    },
  ];
}
