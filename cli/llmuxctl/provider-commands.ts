import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import {
  AdminService,
  CreateProviderResponseSchema,
  DeleteProviderResponseSchema,
  ListProvidersResponseSchema,
  UpdateProviderResponseSchema,
} from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { ProviderKind } from "../../gen/llmux/admin/v1/resources_pb.js";
import { formatProviders, kindName } from "./admin-output.js";
import { protoJson, runCommand } from "./runner.js";
import { processSecrets } from "./secret-input.js";

const KINDS: Readonly<Record<string, ProviderKind>> = {
  openai: ProviderKind.OPENAI,
  anthropic: ProviderKind.ANTHROPIC,
  mock: ProviderKind.MOCK,
};

function kind(value: string): ProviderKind {
  const found = KINDS[value.toLowerCase()];
  if (found === undefined) throw new InvalidArgumentError("must be openai, anthropic or mock");
  return found;
}

/** The provider key is read from stdin, never from a flag: flags end up in shell history and `ps`. */
const KEY_STDIN = "read the provider's API key from stdin (first line); never pass it as a flag";

/** `providers …`: providers kept in the database (those of the file are listed, read-only). */
export function registerProviderCommands(program: Command): void {
  const providers = program.command("providers").description("Manage providers (admins); file providers are read-only.");

  providers
    .command("list")
    .description("List providers: the file's first, then the database's. Keys are shown only as set or not.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).listProviders({});
        return ctx.json ? protoJson(ListProvidersResponseSchema, res) : formatProviders(res.providers);
      });
    });

  providers
    .command("create")
    .description("Add a provider; it can be used by backends at once, without a restart.")
    .argument("<name>", "unique name (letters, digits, . _ -), used in provider:model")
    .requiredOption("--kind <kind>", "openai (any OpenAI-compatible server), anthropic or mock", kind)
    .option("--base-url <url>", "http(s) base URL (OpenAI-compatible: with /v1)")
    .option("--api-key-stdin", KEY_STDIN)
    .addHelpText("after", "\nExample:\n  printf '%s\\n' \"$GROQ_KEY\" | llmuxctl providers create groq --kind openai --base-url https://api.groq.com/openai/v1 --api-key-stdin")
    .action(async (name: string, flags: { kind: ProviderKind; baseUrl?: string }, cmd: Command) => {
      await runCommand(
        cmd,
        async (ctx) => {
          const [apiKey] = ctx.secretsFromStdin ? await processSecrets(true).read(["API key"], "--api-key-stdin") : [""];
          const res = await ctx.client(AdminService).createProvider({ name, kind: flags.kind, baseUrl: flags.baseUrl ?? "", apiKey: apiKey! });
          if (ctx.json) return protoJson(CreateProviderResponseSchema, res);
          return `created provider ${res.provider?.name} (${kindName(res.provider?.kind ?? flags.kind)})\n`;
        },
        { stdinFlag: "apiKeyStdin" },
      );
    });

  providers
    .command("update")
    .description("Change a database provider's base URL or key.")
    .argument("<name>", "the provider")
    .option("--base-url <url>", "new base URL")
    .option("--api-key-stdin", KEY_STDIN)
    .option("--clear-api-key", "remove the key")
    .action(async (name: string, flags: { baseUrl?: string; clearApiKey?: boolean }, cmd: Command) => {
      await runCommand(
        cmd,
        async (ctx) => {
          const [apiKey] = ctx.secretsFromStdin ? await processSecrets(true).read(["API key"], "--api-key-stdin") : [""];
          const res = await ctx.client(AdminService).updateProvider({ name, baseUrl: flags.baseUrl ?? "", apiKey: apiKey!, clearApiKey: flags.clearApiKey === true });
          return ctx.json ? protoJson(UpdateProviderResponseSchema, res) : `updated provider ${name}\n`;
        },
        { stdinFlag: "apiKeyStdin" },
      );
    });

  providers
    .command("delete")
    .description("Delete a database provider that no backend uses.")
    .argument("<name>", "the provider")
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).deleteProvider({ name });
        return ctx.json ? protoJson(DeleteProviderResponseSchema, res) : `deleted provider ${name}\n`;
      });
    });
}
