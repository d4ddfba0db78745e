import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSuperAdmin } from "../../server/services/admin/bootstrap.js";
import { createDatabase } from "../../server/store/database.js";
import { LLMUXCTL, runCli, startLlmux, stopAll, type CliResult, type RunningLlmux } from "../helpers/cli.js";
import { createSelfSignedCert } from "../helpers/tls.js";

// llmuxctl against a running `llmux start` with its admin port: every command group, over the Connect protocol
// (gateway port and admin port) and gRPC (admin port), with the saved login, and the hints its failures give.

const TOKEN = "admin-test-client-token";
let dir: string;
let gateway: RunningLlmux;
let admin: { username: string; password: string };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmuxctl-admin-"));
  const database = path.join(dir, "llmux.db");
  // The super admin is created beforehand (as `llmux admin create` does), so its password is known here and the
  // first start has nothing to print.
  const store = await createDatabase({ sqlitePath: database });
  admin = await createSuperAdmin(store.db, { username: "root" });
  await store.close();
  const config = path.join(dir, "llmux.toml");
  await writeFile(
    config,
    `database = "${database}"\nhealth_check_interval = 0\n[provider.mock]\nkind = "mock"\n` +
      `[[backend]]\nmodel = "mock:small"\nalias = "fast"\ncontext = 32000\n[tokens]\nci = "${TOKEN}"\n`,
  );
  gateway = await startLlmux(["--port", "0", "--config", config], {}, { adminPort: true });
}, 30_000);
afterAll(async () => {
  await gateway?.stop();
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh config directory, so each test starts logged out. */
async function configHome(): Promise<string> {
  return mkdtemp(path.join(dir, "home-"));
}

/** Runs llmuxctl with `XDG_CONFIG_HOME=home` against `server` (the admin port unless given). */
function ctl(home: string, args: string[], options: { input?: string; server?: string } = {}): Promise<CliResult> {
  return runCli(LLMUXCTL, ["--server", options.server ?? gateway.adminUrl!, ...args], { env: { XDG_CONFIG_HOME: home }, input: options.input });
}

/** Logs in as `username` in `home`, failing the test if it does not work. */
async function login(home: string, username: string, password: string, server?: string, extra: string[] = []): Promise<void> {
  const result = await ctl(home, [...extra, "login", username, "--password-stdin"], { input: `${password}\n`, server });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

/** Parses `--json` output after checking the command succeeded. */
function json(result: CliResult): any {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe("login, whoami, logout", () => {
  it.each<[string, string[], () => string]>([
    ["Connect on the gateway's port", [], () => gateway.url],
    ["Connect on the admin port", [], () => gateway.adminUrl!],
    ["gRPC on the admin port", ["--grpc"], () => gateway.adminUrl!],
  ])("%s: the token is saved for that server (0600) and used by later commands", async (_title, flags, server) => {
    const home = await configHome();
    const loggedIn = await ctl(home, [...flags, "login", "root", "--password-stdin"], { input: `${admin.password}\n`, server: server() });
    expect(loggedIn).toMatchObject({ code: 0, stderr: "" });
    expect(loggedIn.stdout).toMatch(new RegExp(`^logged in to ${server()} as root \\(super_admin\\); the token expires at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`));

    const file = path.join(home, "llmux", "credentials.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, "utf8")) as { servers: Record<string, { token: string; username: string; role: string }> };
    expect(Object.keys(saved.servers)).toEqual([server()]);
    expect(saved.servers[server()]).toMatchObject({ username: "root", role: "super_admin" });
    expect(loggedIn.stdout).not.toContain(saved.servers[server()]!.token);

    const whoami = await ctl(home, [...flags, "whoami"], { server: server() });
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(new RegExp(`^server: +${server()}\\nuser: +root \\(usr_[\\w-]+\\)\\nrole: +super_admin\\ncredential: jwt\\nexpires: +\\S+Z\\n$`));

    expect(await ctl(home, [...flags, "logout"], { server: server() })).toMatchObject({ code: 0, stdout: expect.stringMatching(/^logged out of /) });
    expect(await ctl(home, [...flags, "whoami"], { server: server() })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `llmuxctl: unauthenticated: not logged in to ${server()} (missing credentials: send 'Authorization: Bearer <token>'): ` +
        "run `llmuxctl login USERNAME`, or pass --token or set LLMUX_TOKEN\n",
    });
  });

  it("--json prints the login without its token", async () => {
    const home = await configHome();
    const out = json(await ctl(home, ["--json", "login", "root", "--password-stdin"], { input: `${admin.password}\n` }));
    expect(out).toMatchObject({ user: { username: "root", role: "ROLE_SUPER_ADMIN" } });
    expect(out).not.toHaveProperty("token");
  });

  it.each([
    ["a wrong password", `not-the-password\n`, 1, "", "llmuxctl: unauthenticated: "],
    ["no password on stdin", "", 2, "", "error: stdin has no password on line 1\n"],
  ])("%s", async (_title, input, code, stdout, stderr) => {
    const result = await ctl(await configHome(), ["login", "root", "--password-stdin"], { input });
    expect(result).toMatchObject({ code, stdout });
    expect(result.stderr.startsWith(stderr)).toBe(true);
  });

  it("refuses to read a password from a stdin that is not a terminal unless told to", async () => {
    expect(await ctl(await configHome(), ["login", "root"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "error: stdin is not a terminal to ask for the password on: pipe it and pass --password-stdin\n(run with --help for usage)\n",
    });
  });

  it("says a saved login has expired, naming the command to run", async () => {
    const home = await configHome();
    const file = path.join(home, "llmux", "credentials.json");
    await login(home, "root", admin.password);
    const saved = JSON.parse(await readFile(file, "utf8")) as { servers: Record<string, { token: string; expireTime: string }> };
    saved.servers[gateway.adminUrl!] = { ...saved.servers[gateway.adminUrl!]!, token: "eyJhbGciOiJIUzI1NiJ9.e30.x", expireTime: "2020-01-01T00:00:00.000Z" };
    await writeFile(file, JSON.stringify(saved));
    expect(await ctl(home, ["users", "list"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `llmuxctl: unauthenticated: your login to ${gateway.adminUrl} as root expired at 2020-01-01T00:00:00.000Z: run \`llmuxctl login root\`\n`,
    });
  });

  it("--token wins over the saved login", async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    const whoami = json(await ctl(home, ["--token", TOKEN, "--json", "whoami"]));
    expect(whoami).toEqual({ credential: "token" });
  });
});

describe("users", () => {
  it("create, list, get, set-role, disable, enable, passwd and delete, by username", { timeout: 60_000 }, async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    expect(await ctl(home, ["users", "create", "dave", "--email", "dave@example.com", "--password-stdin"], { input: "daves-password-1\n" })).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^created user dave \(usr_[\w-]+\) with role user\n$/),
    });
    const listed = json(await ctl(home, ["--json", "users", "list"])) as { users: { id: string; username: string; role: string }[] };
    const dave = listed.users.find((u) => u.username === "dave")!;
    expect(dave).toMatchObject({ role: "ROLE_USER" });

    const table = await ctl(home, ["users", "list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +USERNAME +ROLE +STATUS +EMAIL +CREATED$/);
    expect(table.stdout).toMatch(new RegExp(`\\n${dave.id} +dave +user +active +dave@example\\.com +\\d{4}-`));

    expect((await ctl(home, ["users", "get", "dave"])).stdout).toMatch(new RegExp(`^id: +${dave.id}\\nusername: dave\\nrole: +user\\nstatus: +active\\n`));
    expect(await ctl(home, ["--grpc", "users", "set-role", "dave", "admin"])).toEqual({ code: 0, stdout: "dave is now admin\n", stderr: "" });
    expect(await ctl(home, ["users", "disable", dave.id])).toEqual({ code: 0, stdout: "dave is disabled\n", stderr: "" });
    const disabledLogin = await ctl(await configHome(), ["login", "dave", "--password-stdin"], { input: "daves-password-1\n" });
    expect(disabledLogin.code).toBe(1);
    expect(await ctl(home, ["users", "enable", "dave"])).toEqual({ code: 0, stdout: "dave is enabled\n", stderr: "" });

    // dave changes his own password: every session of his ends, his saved login too.
    const daveHome = await configHome();
    await login(daveHome, "dave", "daves-password-1");
    expect(await ctl(daveHome, ["users", "passwd", "--password-stdin"], { input: "daves-password-1\ndaves-password-2\n" })).toEqual({
      code: 0,
      stdout: "password changed; every session has ended: run `llmuxctl login dave`\n",
      stderr: "",
    });
    expect((await ctl(daveHome, ["whoami"])).stderr).toMatch(/^llmuxctl: unauthenticated: not logged in to /);
    await login(daveHome, "dave", "daves-password-2");
    // An admin sets it without knowing the current one.
    expect(await ctl(home, ["users", "passwd", "dave", "--password-stdin"], { input: "daves-password-3\n" })).toEqual({
      code: 0,
      stdout: "password of dave changed; their sessions have ended\n",
      stderr: "",
    });
    await login(await configHome(), "dave", "daves-password-3");

    expect(await ctl(home, ["users", "delete", "dave"])).toEqual({ code: 0, stdout: "deleted user dave\n", stderr: "" });
    expect(await ctl(home, ["users", "get", "dave"])).toEqual({ code: 1, stdout: "", stderr: "llmuxctl: not_found: no user named dave\n" });
  });

  it("a user without the role is told which role the command needs", async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    await ctl(home, ["users", "create", "erin", "--password-stdin"], { input: "erins-password-1\n" });
    const erin = await configHome();
    await login(erin, "erin", "erins-password-1", undefined, ["--grpc"]);
    expect(await ctl(erin, ["--grpc", "users", "list"])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "llmuxctl: permission_denied: ListUsers needs the admin role; you are logged in as erin (user): " +
        "log in as a user who has that role (`llmuxctl login USERNAME`) or ask an administrator\n",
    });
    expect(JSON.parse((await ctl(erin, ["--json", "audit"])).stderr)).toEqual({
      error: {
        code: "permission_denied",
        message:
          "ListAuditEvents needs the admin role; you are logged in as erin (user): " +
          "log in as a user who has that role (`llmuxctl login USERNAME`) or ask an administrator",
      },
    });
  });
});

describe("keys", () => {
  it("create prints the secret once, the key works on the gateway until it is revoked", { timeout: 60_000 }, async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    const created = await ctl(home, ["keys", "create", "laptop", "--models", "mock-*,small", "--rpm", "60", "--expires", "30d"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^llmux_[A-Za-z0-9_-]{40,}\n$/);
    expect(created.stderr).toMatch(/^llmuxctl: created key laptop \(key_[\w-]+\)\. Save the secret now: it is shown only this once\.\n$/);
    const secret = created.stdout.trim();

    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    expect(models.status).toBe(200);

    const listed = json(await ctl(home, ["--json", "keys", "list"])) as { keys: { id: string; name: string; prefix: string; lastFour: string; allowedModels: string[]; requestsPerMinute: number }[] };
    const key = listed.keys.find((k) => k.name === "laptop")!;
    expect(key).toMatchObject({ allowedModels: ["mock-*", "small"], requestsPerMinute: 60, lastFour: secret.slice(-4) });
    expect(secret.startsWith(key.prefix)).toBe(true);
    const table = (await ctl(home, ["keys", "list"])).stdout;
    expect(table).toContain(`${key.id}  laptop  ${key.prefix}…${key.lastFour}`);
    expect(table).not.toContain(secret);

    expect(await ctl(home, ["--grpc", "keys", "revoke", key.id])).toEqual({ code: 0, stdout: `revoked key laptop (${key.id})\n`, stderr: "" });
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    expect((await ctl(home, ["keys", "list"])).stdout).not.toContain(key.id);
    expect((await ctl(home, ["keys", "list", "--all"])).stdout).toMatch(new RegExp(`${key.id} +laptop +\\S+ +usr_[\\w-]+ +revoked`));
  });
});

describe("providers and backends", () => {
  it("create, list, update, reorder and delete; routing sees the change at once", { timeout: 60_000 }, async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    expect(await ctl(home, ["providers", "create", "extra", "--kind", "mock", "--api-key-stdin"], { input: "sk-not-shown\n" })).toEqual({
      code: 0,
      stdout: "created provider extra (mock)\n",
      stderr: "",
    });
    const providers = await ctl(home, ["providers", "list"]);
    expect(providers.stdout).toBe(
      ["NAME   KIND  BASE URL  API KEY  SOURCE", "mock   mock  -         -        file", "extra  mock  -         set      database", ""].join("\n"),
    );

    expect(await ctl(home, ["backends", "create", "extra:big", "--context", "100000", "--vision"])).toEqual({ code: 0, stdout: "created backend extra:big\n", stderr: "" });
    expect(await ctl(home, ["--grpc", "backends", "create", "extra:tiny", "--name", "tiny", "--max-per-day", "5"])).toEqual({ code: 0, stdout: "created backend tiny\n", stderr: "" });
    expect(await ctl(home, ["backends", "update", "tiny", "--thinking", "--alias", "wee"])).toEqual({ code: 0, stdout: "updated backend tiny\n", stderr: "" });
    expect(await ctl(home, ["backends", "reorder", "tiny", "extra:big"])).toEqual({
      code: 0,
      stdout: [
        "#  NAME        PROVIDER  MODEL  ALIAS  CONTEXT  CAPABILITIES  LIMITS  SOURCE",
        "1  mock:small  mock      small  fast   32000    -             -       file",
        "2  tiny        extra     tiny   wee    -        thinking      5/d     database",
        "3  extra:big   extra     big    -      100000   vision        -       database",
        "",
      ].join("\n"),
      stderr: "",
    });
    // The new backends route at once: a request with images now has a candidate.
    expect((await ctl(home, ["route", "select", "gpt-4o", "--images"])).stdout).toContain("1      extra:big  extra     big    mock  100000\n");

    expect(await ctl(home, ["providers", "delete", "extra"])).toMatchObject({ code: 1, stdout: "" });
    for (const name of ["tiny", "extra:big"]) expect(await ctl(home, ["backends", "delete", name])).toEqual({ code: 0, stdout: `deleted backend ${name}\n`, stderr: "" });
    expect(await ctl(home, ["providers", "delete", "extra"])).toEqual({ code: 0, stdout: "deleted provider extra\n", stderr: "" });
    expect((await ctl(home, ["backends", "list"])).stdout).toBe(
      ["#  NAME        PROVIDER  MODEL  ALIAS  CONTEXT  CAPABILITIES  LIMITS  SOURCE", "1  mock:small  mock      small  fast   32000    -             -       file", ""].join("\n"),
    );
  });
});

describe("status, discovery, usage and audit", () => {
  it("status shows every backend's state", async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    expect(await ctl(home, ["--grpc", "status"])).toEqual({
      code: 0,
      stdout: ["BACKEND     STATE      UNTIL  HEALTH   HOUR  5 HOURS  DAY  P50  ERRORS", "mock:small  available  -      unknown  0     0        0    -    -", ""].join("\n"),
      stderr: "",
    });
  });

  it("discovery list, stats and refresh without discovery servers", async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    expect(await ctl(home, ["discovery", "list"])).toEqual({ code: 0, stdout: "no discovery servers configured (VLLM_SERVERS or [[discovery]])\n", stderr: "" });
    expect(await ctl(home, ["--grpc", "discovery", "refresh"])).toEqual({ code: 0, stdout: "no discovery servers configured (VLLM_SERVERS or [[discovery]])\n", stderr: "" });
    expect(json(await ctl(home, ["--json", "discovery", "stats"]))).toMatchObject({ intervalSeconds: expect.any(Number) });
  });

  it("usage sums the gateway's requests in a range, grouped as asked", { timeout: 60_000 }, async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "count me" }] }),
    });
    expect(chat.status).toBe(200);
    // Usage rows are written behind the request: wait until the row is there.
    let rows: { key: string; requests: string }[] = [];
    for (let i = 0; i < 20 && rows.length === 0; i++) rows = (json(await ctl(home, ["--json", "usage", "--from", "1h", "--group-by", "backend"])).rows ?? []) as typeof rows;
    expect(rows).toEqual([expect.objectContaining({ key: "mock:small", requests: "1" })]);
    expect((await ctl(home, ["usage", "--from", "1h"])).stdout).toMatch(/^BACKEND +REQUESTS +INPUT TOKENS +OUTPUT TOKENS +ERRORS +ESTIMATED +TRUNCATED\nmock:small +1 +\d+ +\d+ +0 +0 +0\nTOTAL +1 /);
    expect(await ctl(home, ["usage", "--from", "2020-01-01", "--to", "2020-01-02", "--group-by", "model"])).toEqual({ code: 0, stdout: "no usage in this range\n", stderr: "" });
  });

  it("audit lists changes newest first, and refusals", async () => {
    const home = await configHome();
    await login(home, "root", admin.password);
    await ctl(home, ["users", "create", "frank", "--password-stdin"], { input: "franks-password-1\n" });
    const audit = await ctl(home, ["audit", "--limit", "1"]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/^TIME +ACTOR +ACTION +RESULT +TARGET +DETAIL\n\S+Z +usr_[\w-]+ +AdminService\/CreateUser +ok +usr_[\w-]+ +created user frank/);
    expect(audit.stdout).toMatch(/\nmore: llmuxctl audit --page-token \S+\n$/);
  });
});

describe("transport errors", () => {
  it("--grpc to the gateway's HTTP/1.1 port says to use the admin port", async () => {
    expect(await ctl(await configHome(), ["--grpc", "--token", TOKEN, "status"], { server: gateway.url })).toEqual({
      code: 1,
      stdout: "",
      stderr: `llmuxctl: unavailable: ${gateway.url} does not speak HTTP/2: --grpc needs the gateway's admin port (admin_port, 8083 by default)\n`,
    });
  });
});

describe("TLS: the admin port follows https_enabled", () => {
  it("serves gRPC (h2) and Connect (HTTP/1.1) to llmuxctl with --ca, and tells it what to do without", async () => {
    const cert = await createSelfSignedCert();
    const tlsGateway = await startLlmux(
      ["--https", "--ssl-key", cert.keyFile, "--ssl-cert", cert.certFile, "--port", "0", "--config", path.join(dir, "llmux.toml")],
      {},
      { adminPort: true },
    );
    try {
      expect(tlsGateway.adminUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const home = await configHome();
      const select = ["--token", TOKEN, "route", "select", "fast"];
      const expected = { code: 0, stdout: "mode: model name\nORDER  BACKEND     PROVIDER  MODEL  KIND  CONTEXT\n1      mock:small  mock      small  mock  32000\n", stderr: "" };
      expect(await ctl(home, ["--grpc", "--ca", cert.certFile, ...select], { server: tlsGateway.adminUrl })).toEqual(expected);
      expect(await ctl(home, ["--ca", cert.certFile, ...select], { server: tlsGateway.adminUrl })).toEqual(expected);
      expect(await ctl(home, ["--grpc", ...select], { server: tlsGateway.adminUrl })).toEqual({
        code: 1,
        stdout: "",
        stderr: "llmuxctl: unavailable: the gateway's TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT): pass --ca FILE with its certificate or CA\n",
      });
    } finally {
      await tlsGateway.stop();
      await cert.cleanup();
    }
  });
});
