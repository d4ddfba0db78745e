import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  AdminService,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  RevokeApiKeyResponseSchema,
} from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { formatKeys } from "./admin-output.js";
import { list, parseTime, uint32, uint64 } from "./flags.js";
import { protoJson, runCommand } from "./runner.js";
import { resolveUserId } from "./user-commands.js";

/** Options of `keys create`. */
interface CreateFlags {
  owner?: string;
  models?: string[];
  rpm?: number;
  tpm?: bigint;
  tpd?: bigint;
  expires?: Date;
}

/** `keys …`: API keys for the gateway's OpenAI and Anthropic endpoints, with their limits. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command("keys").description("Manage API keys (your own; admins: anyone's).");

  keys
    .command("list")
    .description("List API keys, newest first, by prefix and last four characters.")
    .option("--owner <user>", "admins: only this user's keys (id or username)")
    .option("--all", "include revoked and expired keys")
    .action(async (flags: { owner?: string; all?: boolean }, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const ownerId = flags.owner === undefined ? "" : await resolveUserId(client, flags.owner);
        const res = await client.listApiKeys({ ownerId, includeInactive: flags.all === true });
        return ctx.json ? protoJson(ListApiKeysResponseSchema, res) : formatKeys(res.keys, Date.now());
      });
    });

  keys
    .command("create")
    .description("Create an API key. The secret is printed once, on stdout; keep it: it cannot be shown again.")
    .argument("<name>", "a label for the key")
    .option("--owner <user>", "admins: create it for this user (id or username)")
    .option("--models <globs>", "models the key may use, comma-separated globs (repeatable; default every model)", list)
    .option("--rpm <n>", "requests per minute (default no limit)", uint32)
    .option("--tpm <n>", "tokens per minute (default no limit)", uint64)
    .option("--tpd <n>", "tokens per day (default no limit)", uint64)
    .option("--expires <when>", "expiry: a date or time (2026-12-31), or a duration from now (30d, 12h)", (value: string) => parseTime(value, 1))
    .addHelpText("after", "\nExamples:\n  export OPENAI_API_KEY=$(llmuxctl keys create laptop --models 'gpt-4o*,claude-*' --rpm 60 --expires 90d)")
    .action(async (name: string, flags: CreateFlags, cmd: Command) => {
      const expires = flags.expires;
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const ownerId = flags.owner === undefined ? "" : await resolveUserId(client, flags.owner);
        const res = await client.createApiKey({
          name,
          ownerId,
          allowedModels: flags.models ?? [],
          requestsPerMinute: flags.rpm ?? 0,
          tokensPerMinute: flags.tpm ?? 0n,
          tokensPerDay: flags.tpd ?? 0n,
          expireTime: expires === undefined ? undefined : timestampFromDate(expires),
        });
        process.stderr.write(`llmuxctl: created key ${res.key?.name} (${res.key?.id}). Save the secret now: it is shown only this once.\n`);
        return ctx.json ? protoJson(CreateApiKeyResponseSchema, res) : `${res.secret}\n`;
      });
    });

  keys
    .command("revoke")
    .description("Revoke an API key; it stops working at once on this gateway, within seconds on its replicas.")
    .argument("<id>", "the key's id (see `keys list`)")
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).revokeApiKey({ id });
        return ctx.json ? protoJson(RevokeApiKeyResponseSchema, res) : `revoked key ${res.key?.name} (${id})\n`;
      });
    });
}
