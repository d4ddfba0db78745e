import { clone } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { AdminService, GetCurrentUserResponseSchema, LoginResponseSchema } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { formatFields, roleName } from "./admin-output.js";
import { removeLogin, saveLogin, type SavedLogin } from "./credentials.js";
import { protoJson, runCommand } from "./runner.js";
import { processSecrets } from "./secret-input.js";

/** `login`, `logout` and `whoami`: the saved login that later commands use when no `--token` is given. */
export function registerAccountCommands(program: Command): void {
  program
    .command("login")
    .description("Log in with a username and password; the token is saved for this --server and used by later commands.")
    .argument("<username>", "your llmux username")
    .option("--password-stdin", "read the password from stdin (first line) instead of asking on the terminal")
    .addHelpText(
      "after",
      "\nThe token is kept in $XDG_CONFIG_HOME/llmux/credentials.json (default ~/.config/llmux/credentials.json),\n" +
        "readable only by you, one login per server URL.\n\nExamples:\n  llmuxctl login alice\n  printf '%s\\n' \"$PASSWORD\" | llmuxctl --server http://gw:8083 login ci --password-stdin",
    )
    .action(async (username: string, _flags: unknown, cmd: Command) => {
      await runCommand(
        cmd,
        async (ctx) => {
          const [password] = await processSecrets(ctx.secretsFromStdin).read(["password"], "--password-stdin");
          const res = await ctx.client(AdminService).login({ username, password: password! });
          const login: SavedLogin = {
            token: res.token,
            username: res.user?.username ?? username,
            role: roleName(res.user?.role ?? Role.UNSPECIFIED),
            expireTime: res.expireTime === undefined ? "" : timestampDate(res.expireTime).toISOString(),
          };
          await saveLogin(ctx.server, login, ctx.credentialsFile);
          if (ctx.json) {
            // The token stays in the credentials file: output is for scripts and logs, and must not leak it.
            const shown = clone(LoginResponseSchema, res);
            shown.token = "";
            return protoJson(LoginResponseSchema, shown);
          }
          const until = login.expireTime === "" ? "" : `; the token expires at ${login.expireTime}`;
          return `logged in to ${ctx.server} as ${login.username} (${login.role})${until}\n`;
        },
        { anonymous: true, stdinFlag: "passwordStdin" },
      );
    });

  program
    .command("logout")
    .description("Forget the saved login for this --server.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const removed = await removeLogin(ctx.server, ctx.credentialsFile);
        if (ctx.json) return `${JSON.stringify({ loggedOut: removed })}\n`;
        if (!removed) return `not logged in to ${ctx.server}\n`;
        // JWTs are not revocable one by one; say so rather than imply the token is dead.
        const until = ctx.login?.expireTime ? ` (the token itself stays valid until ${ctx.login.expireTime})` : "";
        return `logged out of ${ctx.server}${until}\n`;
      });
    });

  program
    .command("whoami")
    .description("Show who the gateway thinks you are: user, role and how you authenticated.")
    .action(async (_flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).getCurrentUser({});
        if (ctx.json) return protoJson(GetCurrentUserResponseSchema, res);
        const user = res.user;
        return formatFields([
          ["server", ctx.server],
          ["user", user === undefined ? "- (a client token from the configuration)" : `${user.username} (${user.id})`],
          ["role", user === undefined ? "user" : roleName(user.role)],
          ["credential", res.credential],
          ...(ctx.login?.expireTime ? [["expires", ctx.login.expireTime] as const] : []),
        ]);
      });
    });
}
