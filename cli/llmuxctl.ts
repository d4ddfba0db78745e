#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { registerAccountCommands } from "./llmuxctl/account-commands.js";
import { registerBackendCommands } from "./llmuxctl/backend-commands.js";
import { registerDiscoveryCommands } from "./llmuxctl/discovery-commands.js";
import { registerKeyCommands } from "./llmuxctl/key-commands.js";
import { registerProviderCommands } from "./llmuxctl/provider-commands.js";
import { registerReportCommands } from "./llmuxctl/report-commands.js";
import { registerRouteCommands } from "./llmuxctl/route-commands.js";
import { DEFAULT_GRPC_SERVER, DEFAULT_SERVER } from "./llmuxctl/runner.js";
import { registerUserCommands } from "./llmuxctl/user-commands.js";

// The admin client of a running gateway. It speaks only the public RPC API (gen/ and @connectrpc), never the
// server's code, so it works against any gateway version that serves the same protos.
// Exit codes: 0 ok, 1 the call failed (network, auth, server), 2 usage error, 130 a prompt was canceled.

const program = new Command()
  .name("llmuxctl")
  .description("Manage and inspect a running llmux gateway through its RPC API (Connect, or gRPC with --grpc).")
  .version("0.1.0")
  .exitOverride()
  .showHelpAfterError("(run with --help for usage)")
  .configureHelp({ showGlobalOptions: true })
  .addOption(
    new Option("--server <url>", `the gateway's URL (default ${DEFAULT_SERVER}; with --grpc, the admin port ${DEFAULT_GRPC_SERVER})`).env("LLMUX_SERVER"),
  )
  .addOption(new Option("--token <token>", "client token or API key, sent as 'Authorization: Bearer <token>' (default: the saved login)").env("LLMUX_TOKEN"))
  .option("--ca <file>", "PEM certificate to trust for an https:// gateway (e.g. its self-signed certificate)")
  .option("--grpc", "speak gRPC over HTTP/2 to the admin port instead of the Connect protocol")
  .option("--json", "machine output: proto JSON on stdout, errors as {\"error\":{code,message}} on stderr")
  .addHelpText(
    "after",
    "\nStart with `llmuxctl login USERNAME`; later commands use the saved token for that --server.\n" +
      "Exit codes: 0 ok, 1 the call failed, 2 usage error.",
  );

registerAccountCommands(program);
registerUserCommands(program);
registerKeyCommands(program);
registerProviderCommands(program);
registerBackendCommands(program);
registerDiscoveryCommands(program);
registerRouteCommands(program);
registerReportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // exitOverride turns commander's exits into throws: help and --version exit 0, every usage error exits 2.
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? 0 : 2;
}
