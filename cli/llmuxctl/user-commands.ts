import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Command } from "commander";
import {
  AdminService,
  CreateUserResponseSchema,
  DeleteUserResponseSchema,
  DisableUserResponseSchema,
  GetUserResponseSchema,
  ListUsersResponseSchema,
  UpdateUserRoleResponseSchema,
} from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { formatUser, formatUsers, roleName } from "./admin-output.js";
import { removeLogin } from "./credentials.js";
import { role, uint32 } from "./flags.js";
import { protoJson, runCommand } from "./runner.js";
import { processSecrets } from "./secret-input.js";

/** Server-assigned user ids start with this; anything else given as a user is a username. */
const USER_ID = /^usr_/;

/**
 * The id of a user given by id or username. A username is looked up through ListUsers (admins only), so
 * commands take whichever the operator has at hand.
 */
export async function resolveUserId(client: Client<typeof AdminService>, user: string): Promise<string> {
  if (USER_ID.test(user)) return user;
  let pageToken = "";
  do {
    const page = await client.listUsers({ pageSize: 1000, pageToken });
    const found = page.users.find((u) => u.username === user);
    if (found) return found.id;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  throw new ConnectError(`no user named ${user}`, Code.NotFound);
}

/** The user arguments' help text. */
const USER_ARG = "a user id (usr_…) or username";

/** `users …`: create, list, inspect, re-role, disable, delete users and change passwords. */
export function registerUserCommands(program: Command): void {
  const users = program.command("users").description("Manage users (admins; roles and deletion: super admins).");

  users
    .command("list")
    .description("List users by username.")
    .option("--limit <n>", "users per page (default 100, at most 1000)", uint32)
    .option("--page-token <token>", "continue from a previous page")
    .action(async (flags: { limit?: number; pageToken?: string }, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const res = await ctx.client(AdminService).listUsers({ pageSize: flags.limit ?? 0, pageToken: flags.pageToken ?? "" });
        return ctx.json ? protoJson(ListUsersResponseSchema, res) : formatUsers(res.users, res.nextPageToken);
      });
    });

  users
    .command("create")
    .description("Create a user; the password is asked twice on the terminal, or read from stdin.")
    .argument("<username>", "1-64 letters, digits, . _ -")
    .option("--email <address>", "contact address")
    .option("--role <role>", "user, admin or super_admin (default user; admins and super admins need a super admin)", role)
    .option("--password-stdin", "read the password from stdin (first line)")
    .action(async (username: string, flags: { email?: string; role?: Role }, cmd: Command) => {
      await runCommand(
        cmd,
        async (ctx) => {
          const [password] = await processSecrets(ctx.secretsFromStdin).read(["new password"], "--password-stdin");
          const res = await ctx.client(AdminService).createUser({ username, email: flags.email ?? "", password: password!, role: flags.role ?? Role.USER });
          if (ctx.json) return protoJson(CreateUserResponseSchema, res);
          return `created user ${res.user?.username} (${res.user?.id}) with role ${roleName(res.user?.role ?? Role.UNSPECIFIED)}\n`;
        },
        { stdinFlag: "passwordStdin" },
      );
    });

  users
    .command("get")
    .description("Show one user.")
    .argument("<user>", USER_ARG)
    .action(async (user: string, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const res = await client.getUser({ id: await resolveUserId(client, user) });
        return ctx.json ? protoJson(GetUserResponseSchema, res) : res.user ? formatUser(res.user) : "";
      });
    });

  users
    .command("set-role")
    .description("Change a user's role (super admins); it applies from the user's next call.")
    .argument("<user>", USER_ARG)
    .argument("<role>", "user, admin or super_admin", role)
    .action(async (user: string, newRole: Role, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const res = await client.updateUserRole({ id: await resolveUserId(client, user), role: newRole });
        return ctx.json ? protoJson(UpdateUserRoleResponseSchema, res) : `${res.user?.username} is now ${roleName(res.user?.role ?? newRole)}\n`;
      });
    });

  for (const [name, disabled, what] of [
    ["disable", true, "Disable a user: they cannot log in, and their tokens and keys stop working."],
    ["enable", false, "Enable a disabled user again."],
  ] as const) {
    users
      .command(name)
      .description(what)
      .argument("<user>", USER_ARG)
      .action(async (user: string, _flags: unknown, cmd: Command) => {
        await runCommand(cmd, async (ctx) => {
          const client = ctx.client(AdminService);
          const res = await client.disableUser({ id: await resolveUserId(client, user), disabled });
          return ctx.json ? protoJson(DisableUserResponseSchema, res) : `${res.user?.username} is ${res.user?.disabled ? "disabled" : "enabled"}\n`;
        });
      });
  }

  users
    .command("delete")
    .description("Delete a user and revoke their keys (super admins).")
    .argument("<user>", USER_ARG)
    .action(async (user: string, _flags: unknown, cmd: Command) => {
      await runCommand(cmd, async (ctx) => {
        const client = ctx.client(AdminService);
        const id = await resolveUserId(client, user);
        const res = await client.deleteUser({ id });
        return ctx.json ? protoJson(DeleteUserResponseSchema, res) : `deleted user ${user}\n`;
      });
    });

  users
    .command("passwd")
    .description("Change your password (current and new are asked), or, as an admin, another user's (only the new one).")
    .argument("[user]", `${USER_ARG}; default: you`)
    .option("--password-stdin", "read the passwords from stdin, one per line: current then new (yours), or new (another user's)")
    .action(async (user: string | undefined, _flags: unknown, cmd: Command) => {
      await runCommand(
        cmd,
        async (ctx) => {
          const client = ctx.client(AdminService);
          const own = user === undefined || user === ctx.login?.username;
          const secrets = processSecrets(ctx.secretsFromStdin);
          if (own) {
            const [currentPassword, newPassword] = await secrets.read(["current password", "new password"], "--password-stdin");
            await client.changePassword({ id: "", currentPassword: currentPassword!, newPassword: newPassword! });
          } else {
            const id = await resolveUserId(client, user);
            const [newPassword] = await secrets.read(["new password"], "--password-stdin");
            await client.changePassword({ id, newPassword: newPassword! });
          }
          // The server ends every session of a user whose password changes: a saved login of one's own is now dead.
          if (own && ctx.login !== undefined) await removeLogin(ctx.server, ctx.credentialsFile);
          if (ctx.json) return "{}\n";
          if (!own) return `password of ${user} changed; their sessions have ended\n`;
          return `password changed; every session has ended: run \`llmuxctl login ${ctx.login?.username ?? "USERNAME"}\`\n`;
        },
        { stdinFlag: "passwordStdin" },
      );
    });
}
