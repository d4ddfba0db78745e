import type { Command } from "commander";
import {
  DiscoveryService,
  GetDiscoveryStatsResponseSchema,
  ListDiscoveredResponseSchema,
  RefreshDiscoveryResponseSchema,
} from "../../gen/llmux/discovery/v1/discovery_service_pb.js";
import { formatDiscovered, formatDiscoveryStats } from "./report-output.js";
import { protoJson, runCommand } from "./runner.js";

/** `discovery …`: models found on vLLM and other OpenAI-compatible servers (VLLM_SERVERS, [[discovery]]). */
export function registerDiscoveryCommands(program: Command): void {
  const discovery = program.command("discovery").description("See the models discovered on vLLM and OpenAI-compatible servers.");

  discovery
    .command("list")
    .description("List the polled servers and the models found on each.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(DiscoveryService).listDiscovered({});
        return ctx.json ? protoJson(ListDiscoveredResponseSchema, res) : formatDiscovered(res.servers);
      });
    });

  discovery
    .command("stats")
    .description("Summarise discovery: servers, reachable servers, models, last refresh.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(DiscoveryService).getDiscoveryStats({});
        return ctx.json ? protoJson(GetDiscoveryStatsResponseSchema, res) : formatDiscoveryStats(res);
      });
    });

  discovery
    .command("refresh")
    .description("Poll every server now (admins) and show the result.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(DiscoveryService).refreshDiscovery({});
        return ctx.json ? protoJson(RefreshDiscoveryResponseSchema, res) : formatDiscovered(res.servers);
      });
    });
}
