#!/usr/bin/env node
import { toJson } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  ExplainRouteResponseSchema,
  RouteService,
  SelectBackendResponseSchema,
} from "../gen/llmux/route/v1/route_service_pb.js";
import { describeFailure, writeFailure } from "./llmuxctl/failure.js";
import { formatExplain, formatSelect } from "./llmuxctl/route-output.js";
import { createGatewayTransport } from "./llmuxctl/transport.js";
import { UsageError } from "./llmuxctl/usage-error.js";

// The admin client of a running gateway. It speaks only the public RPC API (gen/ and @connectrpc), never the
// server's code, so it works against any gateway version that serves the same protos.
// Exit codes: 0 ok, 1 the call failed (network, auth, server), 2 usage error.

/** The options every command inherits from the program. */
interface GlobalFlags {
  server: string;
  token?: string;
  ca?: string;
  json?: boolean;
}

/** The request-shape flags shared by `route explain` and `route select`. */
interface RequirementFlags {
  promptTokens?: number;
  maxTokens?: number;
  images?: boolean;
  thinking?: boolean;
}

/** Token counts are uint32 on the wire; anything else is a usage error naming the flag. */
function uint32(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffff_ffff) throw new InvalidArgumentError("must be a whole number of tokens (0 to 4294967295)");
  return n;
}

function requirements(model: string, flags: RequirementFlags) {
  return {
    model,
    promptTokens: flags.promptTokens ?? 0,
    maxOutputTokens: flags.maxTokens ?? 0,
    hasImages: flags.images === true,
    wantsThinking: flags.thinking === true,
  };
}

/**
 * Runs one RPC-backed command: builds the transport from the global flags (a bad flag is a usage error, exit 2),
 * prints what `call` returns, and turns any failure into a hint on stderr and exit code 1.
 */
async function runCall(cmd: Command, call: (client: Client<typeof RouteService>, json: boolean) => Promise<string>): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalFlags>();
  const json = globals.json === true;
  let client: Client<typeof RouteService>;
  try {
    client = createClient(RouteService, await createGatewayTransport(globals));
  } catch (err) {
    if (err instanceof UsageError) cmd.error(`error: ${err.message}`, { exitCode: 2, code: "llmuxctl.usage" });
    throw err;
  }
  try {
    process.stdout.write(await call(client, json));
  } catch (err) {
    writeFailure(describeFailure(err, globals.server), json);
    process.exitCode = 1;
  }
}

/** Adds the flags that describe the request being routed. */
function withRequirementFlags(cmd: Command): Command {
  return cmd
    .argument("<model>", "the model a client would ask for (\"provider:model\", a model name, an alias or any other name)")
    .option("--prompt-tokens <n>", "estimated prompt size in tokens", uint32)
    .option("--max-tokens <n>", "output tokens the client asks for (max_tokens)", uint32)
    .option("--images", "the request carries at least one image")
    .option("--thinking", "the request asks for reasoning (thinking or reasoning_effort)");
}

const program = new Command()
  .name("llmuxctl")
  .description("Inspect a running llmux gateway through its RPC API.")
  .version("0.1.0")
  .exitOverride()
  .showHelpAfterError("(run with --help for usage)")
  .configureHelp({ showGlobalOptions: true })
  .addOption(new Option("--server <url>", "the gateway's base URL").env("LLMUX_SERVER").default("http://127.0.0.1:8082"))
  .addOption(new Option("--token <token>", "client token, sent as 'Authorization: Bearer <token>'").env("LLMUX_TOKEN"))
  .option("--ca <file>", "PEM certificate to trust for an https:// gateway (e.g. its self-signed certificate)")
  .option("--json", "machine output: proto JSON on stdout, errors as {\"error\":{code,message}} on stderr");

const route = program.command("route").description("See how the gateway routes a request.");

withRequirementFlags(
  route
    .command("explain")
    .description("Show, for every configured backend, whether it would serve the request and why not."),
)
  .addHelpText("after", "\nExamples:\n  llmuxctl route explain fast\n  llmuxctl route explain gpt-4o --images --prompt-tokens 150000")
  .action(async (model: string, flags: RequirementFlags, cmd: Command) => {
    await runCall(cmd, async (client, json) => {
      const res = await client.explainRoute({ requirements: requirements(model, flags) });
      return json ? `${JSON.stringify(toJson(ExplainRouteResponseSchema, res), null, 2)}\n` : formatExplain(res);
    });
  });

withRequirementFlags(
  route
    .command("select")
    .description("List the backends that would serve the request, in the order they are tried."),
)
  .action(async (model: string, flags: RequirementFlags, cmd: Command) => {
    await runCall(cmd, async (client, json) => {
      const res = await client.selectBackend({ requirements: requirements(model, flags) });
      return json ? `${JSON.stringify(toJson(SelectBackendResponseSchema, res), null, 2)}\n` : formatSelect(res);
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // exitOverride turns commander's exits into throws: help and --version exit 0, every usage error exits 2.
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? 0 : 2;
}
