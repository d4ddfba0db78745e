import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import type { Store } from "../../store/database.js";
import { listAuditEvents } from "../../store/repos/audit-repo.js";
import { CONFIG_TOKEN, startControlPlane, T0, type ControlPlane } from "../../../test/helpers/control-plane.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import type { Principal } from "./authenticator.js";
import { createAuthHttpHandlers, type AuthHttpHandlers } from "./http-wrappers.js";

const dialects = await testDialects();

async function failure(call: Promise<unknown>): Promise<[string, string, string | undefined]> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e as ConnectError & { param?: string },
  );
  if (!err) throw new Error("the call succeeded");
  return [Code[err.code], err.rawMessage, err.param];
}

describe.each(dialects)("/auth HTTP wrappers on $name", (dialect) => {
  let store: Store;
  let plane: ControlPlane;
  let http: AuthHttpHandlers;
  let root: Principal;

  beforeEach(async () => {
    store = await dialect.open();
    plane = await startControlPlane(store);
    http = createAuthHttpHandlers({ admin: plane.admin, db: store.db, now: () => plane.clock.now });
    root = (await plane.authenticator.authenticate(plane.root.token))!;
  });
  afterEach(async () => {
    await plane.close();
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  const iso = new Date(T0).toISOString();

  it("POST /auth/login answers a bearer token and the user, without any hash", async () => {
    const res = await http.login({ username: "root", password: plane.root.password }, undefined, { address: "10.0.0.9" });
    expect(res).toEqual({
      status: 200,
      body: {
        access_token: expect.stringMatching(/^eyJ/),
        token_type: "Bearer",
        expires_at: new Date(T0 + 12 * 3600 * 1000).toISOString(),
        user: { id: plane.root.id, username: "root", email: "", role: "SUPER_ADMIN", disabled: false, created_at: iso, updated_at: iso },
      },
    });
    const token = (res.body as { access_token: string }).access_token;
    expect((await plane.authenticator.authenticate(token))?.id).toBe(plane.root.id);
  });

  it("POST /auth/login is throttled per address like the RPC", async () => {
    for (let i = 0; i < 5; i++) await http.login({ username: "root", password: `guess ${i}` }, undefined, { address: "10.0.0.9" }).catch(() => undefined);
    expect(await failure(http.login({ username: "root", password: plane.root.password }, undefined, { address: "10.0.0.9" }))).toEqual([
      "ResourceExhausted", "too many failed logins; try again later", undefined,
    ]);
    expect((await http.login({ username: "root", password: plane.root.password }, undefined, { address: "10.0.0.10" })).status).toBe(200);
  });

  it.each<[string, unknown, [string, string, string | undefined]]>([
    ["an array", [], ["InvalidArgument", "the body must be a JSON object", undefined]],
    ["a string", "root", ["InvalidArgument", "the body must be a JSON object", undefined]],
    ["null", null, ["InvalidArgument", "the body must be a JSON object", undefined]],
    ["a numeric password", { username: "root", password: 123456789012 }, ["InvalidArgument", "password must be a string", "password"]],
    ["a wrong password", { username: "root", password: "wrong password" }, ["Unauthenticated", "invalid username or password", undefined]],
  ])("POST /auth/login refuses %s", async (_name, body, expected) => {
    expect(await failure(http.login(body, undefined))).toEqual(expected);
  });

  it("POST /auth/register: admins create users; roles above USER need a super admin; others are refused", async () => {
    const created = await http.register({ username: "Bob", email: "bob@example.com", password: "bob's long password" }, root);
    expect(created).toEqual({
      status: 201,
      body: { user: { id: expect.stringMatching(/^usr_/), username: "bob", email: "bob@example.com", role: "USER", disabled: false, created_at: iso, updated_at: iso } },
    });
    const ann = await plane.addUser("ann", Role.ADMIN);
    const annPrincipal = (await plane.authenticator.authenticate(ann.token))!;
    expect((await http.register({ username: "cat", password: "cat's long password", role: "user" }, annPrincipal)).status).toBe(201);
    expect(await failure(http.register({ username: "dan", password: "dan's long password", role: "ADMIN" }, annPrincipal))).toEqual([
      "PermissionDenied", "only a super admin may create a user with role admin", undefined,
    ]);
    expect((await http.register({ username: "dan", password: "dan's long password", role: "ROLE_ADMIN" }, root)).status).toBe(201);
    expect(await failure(http.register({ username: "eve", password: "eve's long password", role: "ROOT" }, root))).toEqual([
      "InvalidArgument", "role must be USER, ADMIN or SUPER_ADMIN", "role",
    ]);
    expect(await failure(http.register({ username: "eve", password: "eve's long password" }, undefined))).toEqual([
      "Unauthenticated", "missing credentials: send 'Authorization: Bearer <token>'", undefined,
    ]);
    const token = (await plane.authenticator.authenticate(CONFIG_TOKEN))!;
    expect(await failure(http.register({ username: "eve", password: "eve's long password" }, token))).toEqual([
      "PermissionDenied", "CreateUser needs the admin role", undefined,
    ]);
    const denials = (await listAuditEvents(store.db, { limit: 100 })).filter((e) => e.allowed === 0).map((e) => [e.actor, e.detail]);
    expect(denials).toEqual([
      ["token:ci", "role user lacks ADMIN"],
      [ann.id, "only a super admin may create a user with role admin"],
    ]);
  });

  it("GET /auth/users pages through users for admins only", async () => {
    await plane.addUser("bob", Role.USER);
    const first = await http.listUsers({ page_size: "1" }, root);
    expect(first.status).toBe(200);
    const body = first.body as { users: { username: string }[]; next_page_token: string };
    expect(body.users.map((u) => u.username)).toEqual(["bob"]);
    const second = (await http.listUsers({ page_size: "1", page_token: body.next_page_token }, root)).body as typeof body;
    expect([second.users.map((u) => u.username), second.next_page_token]).toEqual([["root"], ""]);
    expect(((await http.listUsers(undefined, root)).body as typeof body).users).toHaveLength(2);
    expect(JSON.stringify(body)).not.toMatch(/password|scrypt/);
    expect(await failure(http.listUsers({ page_size: "-1" }, root))).toEqual(["InvalidArgument", "page_size must be a whole number", "page_size"]);
    expect(await failure(http.listUsers({}, undefined))).toEqual(["Unauthenticated", "missing credentials: send 'Authorization: Bearer <token>'", undefined]);
  });
});
