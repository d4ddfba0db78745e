import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  AdminService,
  CreateBackendResponseSchema,
  DeleteBackendResponseSchema,
  ListBackendsResponseSchema,
  ReorderBackendsResponseSchema,
  UpdateBackendResponseSchema,
} from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { BackendSchema, type Backend } from "../../gen/llmux/admin/v1/resources_pb.js";
import { formatBackends } from "./admin-output.js";
import { list, uint32 } from "./flags.js";
import { protoJson, runCommand } from "./runner.js";

/** `provider:model`, split at the first colon as in the file (model names may contain colons). */
function providerModel(value: string): { provider: string; model: string } {
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) throw new InvalidArgumentError('must be "provider:model"');
  return { provider: value.slice(0, colon), model: value.slice(colon + 1) };
}

/** The backend settings a command line can set; undefined means "not given". */
interface BackendFlags {
  model?: { provider: string; model: string };
  name?: string;
  alias?: string;
  context?: number;
  vision?: boolean;
  thinking?: boolean;
  gptOssFix?: boolean;
  maxPerHour?: number;
  maxPer5hours?: number;
  maxPerDay?: number;
  modelMatch?: string[];
  fallbacks?: string[];
}

/** Adds the settings flags; `update` also gets `--no-…` for the switches so they can be turned off. */
function withBackendFlags(cmd: Command, update: boolean): Command {
  cmd
    .option("--alias <name>", "another client-visible model name (\"\" to clear)")
    .option("--context <tokens>", "context window in tokens (0: unknown)", uint32)
    .option("--vision", "accepts images")
    .option("--thinking", "can reason (thinking)")
    .option("--gpt-oss-fix", "repair function calls written as JSON text (GPT-OSS on vLLM)")
    .option("--max-per-hour <n>", "requests per hour (0: no limit)", uint32)
    .option("--max-per-5hours <n>", "requests per rolling 5 hours (0: no limit)", uint32)
    .option("--max-per-day <n>", "requests per day (0: no limit)", uint32)
    .option("--model-match <globs>", "requested model names this backend serves, comma-separated globs (repeatable; \"\" to clear)", list)
    .option("--fallbacks <models>", "models to fail over to, comma-separated (repeatable; \"\" to clear)", list);
  if (update) {
    cmd
      .addOption(new Option("--model <provider:model>", "serve another model or provider").argParser(providerModel))
      .option("--no-vision", "does not accept images")
      .option("--no-thinking", "cannot reason")
      .option("--no-gpt-oss-fix", "no function-call repair");
  }
  return cmd;
}

/** The flags given, applied to `base` (a fresh backend for create, the current one for update). */
function applyFlags(base: Backend, flags: BackendFlags): Backend {
  const b = clone(BackendSchema, base);
  if (flags.model) Object.assign(b, flags.model);
  if (flags.name !== undefined) b.name = flags.name;
  if (flags.alias !== undefined) b.alias = flags.alias;
  if (flags.context !== undefined) b.context = flags.context;
  if (flags.vision !== undefined) b.vision = flags.vision;
  if (flags.thinking !== undefined) b.thinking = flags.thinking;
  if (flags.gptOssFix !== undefined) b.gptOssFix = flags.gptOssFix;
  if (flags.maxPerHour !== undefined) b.maxPerHour = flags.maxPerHour;
  if (flags.maxPer5hours !== undefined) b.maxPer5hours = flags.maxPer5hours;
  if (flags.maxPerDay !== undefined) b.maxPerDay = flags.maxPerDay;
  if (flags.modelMatch !== undefined) b.modelMatch = flags.modelMatch;
  if (flags.fallbacks !== undefined) b.fallbacks = flags.fallbacks;
  return b;
}

/** `backends …`: backends kept in the database, in routing order after the file's. */
export function registerBackendCommands(program: Command): void {
  const backends = program.command("backends").description("Manage backends (admins); file and discovered backends are read-only.");

  backends
    .command("list")
    .description("List backends in routing order: the file's, then the database's, then discovered ones.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).listBackends({});
        return ctx.json ? protoJson(ListBackendsResponseSchema, res) : formatBackends(res.backends);
      });
    });

  withBackendFlags(
    backends
      .command("create")
      .description("Add a backend after the existing database backends; routing uses it from the next request.")
      .argument("<provider:model>", "the provider and the model name sent upstream", providerModel)
      .option("--name <name>", "unique name (default provider:model)"),
    false,
  )
    .addHelpText("after", "\nExample:\n  llmuxctl backends create groq:llama-3.3-70b-versatile --context 131072 --max-per-day 1000 --model-match 'llama*'")
    .action(async (target: { provider: string; model: string }, flags: BackendFlags, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const backend = applyFlags(create(BackendSchema, target), flags);
        const res = await ctx.client(AdminService).createBackend({ backend });
        return ctx.json ? protoJson(CreateBackendResponseSchema, res) : `created backend ${res.backend?.name}\n`;
      });
    });

  withBackendFlags(
    backends.command("update").description("Change a database backend; settings not given keep their value.").argument("<name>", "the backend"),
    true,
  ).action(async (name: string, flags: BackendFlags, cmd: Command) => {
    await runCommand(cmd, async (ctx) => {
      const client = ctx.client(AdminService);
      const current = (await client.listBackends({})).backends.find((b) => b.name === name);
      if (current === undefined) throw new ConnectError(`no backend named ${name}`, Code.NotFound);
      const res = await client.updateBackend({ backend: applyFlags(current, { ...flags, name }) });
      return ctx.json ? protoJson(UpdateBackendResponseSchema, res) : `updated backend ${name}\n`;
    });
  });

  backends
    .command("reorder")
    .description("Set the routing order of the database backends (name every one of them).")
    .argument("<names...>", "every database backend, first choice first")
    .action(async (names: string[], _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).reorderBackends({ names });
        return ctx.json ? protoJson(ReorderBackendsResponseSchema, res) : formatBackends(res.backends);
      });
    });

  backends
    .command("delete")
    .description("Delete a database backend.")
    .argument("<name>", "the backend")
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).deleteBackend({ name });
        return ctx.json ? protoJson(DeleteBackendResponseSchema, res) : `deleted backend ${name}\n`;
      });
    });
}
