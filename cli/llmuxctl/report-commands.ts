import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { AdminService, GetUsageResponseSchema, ListAuditEventsResponseSchema } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { UsageGroupBy } from "../../gen/llmux/admin/v1/resources_pb.js";
import { GetBackendStatusResponseSchema, RouteService } from "../../gen/llmux/route/v1/route_service_pb.js";
import { groupBy, parseTime, uint32 } from "./flags.js";
import { formatAudit, formatStatus, formatUsage } from "./report-output.js";
import { protoJson, runCommand } from "./runner.js";
import { resolveUserId } from "./user-commands.js";

/** Options of `usage`. */
interface UsageFlags {
  from: Date;
  to?: Date;
  groupBy: UsageGroupBy;
  key?: string;
  user?: string;
  backend?: string;
}

/** When `usage` starts without `--from`: the last day. */
const DEFAULT_FROM = "24h";

/** `status`, `usage` and `audit`: what the gateway is doing and has done. */
export function registerReportCommands(program: Command): void {
  program
    .command("status")
    .description("Show every backend's runtime state: available or why not, health, rate windows, latency, errors.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(RouteService).getBackendStatus({});
        return ctx.json ? protoJson(GetBackendStatusResponseSchema, res) : formatStatus(res.backends);
      });
    });

  program
    .command("usage")
    .description("Sum requests and tokens over a time range (users: their own keys; admins: everything).")
    .option("--from <when>", `start: a date or time (2026-01-31T00:00:00Z), or a duration ago (7d) (default ${DEFAULT_FROM})`, (v: string) => parseTime(v, -1))
    .option("--to <when>", "end (exclusive), same forms (default now)", (v: string) => parseTime(v, -1))
    .option("--group-by <what>", "backend, model, key or user", groupBy, UsageGroupBy.BACKEND)
    .option("--key <id>", "only this API key")
    .option("--user <user>", "admins: only this user (id or username)")
    .option("--backend <name>", "only this backend")
    .addHelpText("after", "\nExamples:\n  llmuxctl usage --from 7d --group-by model\n  llmuxctl usage --from 2026-01-01 --to 2026-02-01 --group-by user --json")
    .action(async (flags: Partial<UsageFlags>, cmd: Command) => {
      const from = flags.from ?? parseTime(DEFAULT_FROM, -1);
      const by = flags.groupBy ?? UsageGroupBy.BACKEND;
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const res = await client.getUsage({
          startTime: timestampFromDate(from),
          endTime: flags.to === undefined ? undefined : timestampFromDate(flags.to),
          groupBy: by,
          keyId: flags.key ?? "",
          userId: flags.user === undefined ? "" : await resolveUserId(client, flags.user),
          backend: flags.backend ?? "",
        });
        return ctx.json ? protoJson(GetUsageResponseSchema, res) : formatUsage(res.rows, by);
      });
    });

  program
    .command("audit")
    .description("List audit events (admins), newest first: every change and every refused attempt.")
    .option("--actor <actor>", "only events of this actor (a user id, key:<id> or token:<name>)")
    .option("--limit <n>", "events per page (default 100, at most 1000)", uint32)
    .option("--page-token <token>", "continue from a previous page")
    .action(async (flags: { actor?: string; limit?: number; pageToken?: string }, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).listAuditEvents({ actor: flags.actor ?? "", pageSize: flags.limit ?? 0, pageToken: flags.pageToken ?? "" });
        return ctx.json ? protoJson(ListAuditEventsResponseSchema, res) : formatAudit(res.events, res.nextPageToken);
      });
    });
}
