#!/usr/bin/env -S node --max-semi-space-size=8 --max-old-space-size=1536 --no-allocation-site-pretenuring
import { Command, InvalidArgumentError } from "commander";

// commander gives every command and subcommand `--help`, typed options and usage errors that name the flag.
// The server is imported lazily so `--help` and `--version` answer without loading it.
const server = () => import("../server/main.js");

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("must be an integer from 0 to 65535");
  return n;
}

const program = new Command()
  .name("llmux")
  .description("One endpoint for OpenAI and Anthropic clients in front of many LLM backends.")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)");

program
  .command("start")
  .description("Start the gateway. Flags override the environment, which overrides the file.")
  .option("-c, --config <file>", "TOML configuration file (default: $LLMUX_CONFIG, then ./llmux.toml)")
  .option("--host <host>", "address to bind (default 127.0.0.1)")
  .option("-p, --port <port>", "port to listen on (default 8082)", port)
  .option("--https", "serve HTTPS (needs --ssl-key and --ssl-cert, or the file's ssl_* keys)")
  .option("--ssl-key <file>", "TLS private key (PEM)")
  .option("--ssl-cert <file>", "TLS certificate chain (PEM)")
  .option("-v, --verbose", "log each request's routing decision (debug level)")
  .action(async (opts: { config?: string; host?: string; port?: number; https?: boolean; sslKey?: string; sslCert?: string; verbose?: boolean }) => {
    const { ConfigError, runUntilSignal } = await server();
    try {
      await runUntilSignal({
        configPath: opts.config,
        verbose: opts.verbose,
        overrides: { host: opts.host, port: opts.port, https: opts.https, sslKeyFile: opts.sslKey, sslCertFile: opts.sslCert },
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`llmux: configuration error\n${err.issues.map((line) => `  ${line}`).join("\n")}\nRun 'llmux config check FILE' after fixing it.\n`);
        process.exitCode = 2;
        return;
      }
      const code = typeof err === "object" && err !== null && "code" in err ? (err as { code: unknown }).code : undefined;
      if (code === "EADDRINUSE") {
        process.stderr.write(`llmux: the address is already in use; stop the other process or pass --port\n`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  });

const config = program.command("config").description("Work with configuration files.");
config
  .command("check")
  .description("Validate a configuration file (and the environment overrides) without starting the gateway.")
  .argument("[file]", "TOML configuration file (default: $LLMUX_CONFIG, then ./llmux.toml)")
  .option("--json", "print the result as JSON")
  .action(async (file: string | undefined, opts: { json?: boolean }) => {
    const { checkConfig } = await server();
    const result = await checkConfig(file);
    if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (result.ok) {
      process.stdout.write(`${result.source}: OK — ${result.providers} provider(s), ${result.backends.length} backend(s), ${result.tokens} client token(s)\n`);
      for (const name of result.backends) process.stdout.write(`  backend ${name}\n`);
    } else {
      process.stderr.write(`${result.issues.join("\n")}\n`);
    }
    process.exitCode = result.ok ? 0 : 2;
  });

const admin = program.command("admin").description("Manage the control plane's accounts from the server side.");
admin
  .command("create")
  .description("Create a super admin in the configured database and print its one-time password (there is no default password).")
  .option("-c, --config <file>", "TOML configuration file (default: $LLMUX_CONFIG, then ./llmux.toml)")
  .option("-u, --username <name>", "the new super admin's username", "admin")
  .option("--json", "print the result as JSON")
  .action(async (opts: { config?: string; username: string; json?: boolean }) => {
    const { ConfigError, createAdmin } = await server();
    try {
      const created = await createAdmin({ configPath: opts.config, username: opts.username });
      if (opts.json) process.stdout.write(`${JSON.stringify(created)}\n`);
      else {
        process.stdout.write(`created super admin '${created.username}' with password: ${created.password}\n`);
        process.stdout.write("It is shown only now. Log in with `llmuxctl login` and change it with `llmuxctl users passwd`.\n");
      }
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`llmux: configuration error\n${err.issues.map((line) => `  ${line}`).join("\n")}\n`);
        process.exitCode = 2;
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`llmux: could not create the admin: ${message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
