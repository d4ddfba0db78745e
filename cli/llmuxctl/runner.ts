import { toJson, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import type { Command } from "commander";
import { credentialsPath, loadLogin, type SavedLogin } from "./credentials.js";
import { describeFailure, writeFailure, type FailureContext } from "./failure.js";
import { PromptCanceled } from "./secret-input.js";
import { createGatewayTransport, parseServerUrl } from "./transport.js";
import { UsageError } from "./usage-error.js";

/** The options every command inherits from the program. */
export interface GlobalFlags {
  server?: string;
  token?: string;
  ca?: string;
  json?: boolean;
  grpc?: boolean;
}

/** The gateway's own port: it speaks the Connect protocol (HTTP/1.1), so it is the default without `--grpc`. */
export const DEFAULT_SERVER = "http://127.0.0.1:8082";
/** The admin port (`admin_port`): the only one that speaks gRPC over HTTP/2, so the default with `--grpc`. */
export const DEFAULT_GRPC_SERVER = "http://127.0.0.1:8083";

/** What a command's body gets: the server, clients for any service, how to print, and the login in use. */
export interface CallContext {
  /** `--json`: print proto JSON instead of tables. */
  json: boolean;
  /** The server URL, as given (or the default). */
  server: string;
  /** A client of `service` on the shared transport. */
  client<S extends DescService>(service: S): Client<S>;
  /** The saved login the calls use, when they use one. */
  login: SavedLogin | undefined;
  /** Where logins are saved. */
  credentialsFile: string;
  /** Where `login` and friends read secrets: piped stdin or a terminal prompt. */
  secretsFromStdin: boolean;
}

/** How a command calls the gateway. */
export interface RunOptions {
  /** Send no credential (login): a stale saved token must not decide how the call is treated. */
  anonymous?: boolean;
  /** The command reads secrets from stdin when this option of the command is set (e.g. "passwordStdin"). */
  stdinFlag?: string;
}

/** Remembers the RPC of the call in flight, so a failure can name the role that RPC needs. */
function recordMethod(seen: { method?: DescMethod }): Interceptor {
  return (next) => (req) => {
    seen.method = req.method;
    return next(req);
  };
}

/** Prints a message as proto JSON (the format scripts parse), two-space indented, with a final newline. */
export function protoJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): string {
  return `${JSON.stringify(toJson(schema, message), null, 2)}\n`;
}

/**
 * Runs one command: resolves the server and credential (`--token`/LLMUX_TOKEN, else the saved login for that
 * server), builds the transport (a bad flag is a usage error, exit 2), prints what `body` returns, and turns any
 * failed call into a hint on stderr and exit code 1. A canceled prompt exits 130, as Ctrl-C does.
 */
export async function runCommand(cmd: Command, body: (ctx: CallContext) => Promise<string>, options: RunOptions = {}): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalFlags>();
  const json = globals.json === true;
  const server = globals.server ?? (globals.grpc ? DEFAULT_GRPC_SERVER : DEFAULT_SERVER);
  const failure: FailureContext = { server, credential: "none", grpc: globals.grpc === true };
  const seen: { method?: DescMethod } = {};
  const credentialsFile = credentialsPath();
  let transport: Transport;
  let login: SavedLogin | undefined;
  try {
    parseServerUrl(server);
    let token = options.anonymous ? undefined : globals.token?.trim() || undefined;
    if (token !== undefined) failure.credential = "token";
    else if (!options.anonymous) {
      login = await loadLogin(server, credentialsFile);
      if (login !== undefined) {
        token = login.token;
        Object.assign(failure, { credential: "saved", login });
      }
    }
    transport = await createGatewayTransport({ server, token, ca: globals.ca, grpc: globals.grpc, interceptors: [recordMethod(seen)] });
  } catch (err) {
    if (err instanceof UsageError) cmd.error(`error: ${err.message}`, { exitCode: 2, code: "llmuxctl.usage" });
    throw err;
  }
  const ctx: CallContext = {
    json,
    server,
    client: (service) => createClient(service, transport),
    login,
    credentialsFile,
    secretsFromStdin: options.stdinFlag !== undefined && cmd.opts()[options.stdinFlag] === true,
  };
  try {
    process.stdout.write(await body(ctx));
  } catch (err) {
    if (err instanceof UsageError) cmd.error(`error: ${err.message}`, { exitCode: 2, code: "llmuxctl.usage" });
    if (err instanceof PromptCanceled) {
      process.exitCode = 130;
      return;
    }
    writeFailure(describeFailure(err, { ...failure, method: seen.method }), json);
    process.exitCode = 1;
  }
}
