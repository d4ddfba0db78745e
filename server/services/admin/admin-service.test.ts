import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import { UsageGroupBy } from "../../../gen/llmux/admin/v1/resources_pb.js";
import { ErrorInfoSchema } from "../../../gen/llmux/type/v1/error_pb.js";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import { createPasswordHasher, type PasswordHasher } from "../../auth/passwords.js";
import type { Store } from "../../store/database.js";
import { listAuditEvents } from "../../store/repos/audit-repo.js";
import { insertUsage } from "../../store/repos/usage-repo.js";
import { findUserByUsername } from "../../store/repos/user-repo.js";
import type { AuditEventRow } from "../../store/tables/audit-event-table.js";
import type { NewUsageRow } from "../../store/tables/usage-table.js";
import { ADDRESS_HEADER, CONFIG_TOKEN, startControlPlane, T0, type ControlPlane, type TestUser } from "../../../test/helpers/control-plane.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { LOGIN_WINDOW_MS } from "./admin-service.js";

const dialects = await testDialects();

/** The Connect code a call fails with, or "ok". */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}

/** The error a call fails with (the test fails if it succeeds). */
async function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  const result = await call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  if (!result) throw new Error("the call succeeded");
  return result;
}

/** The audit events, oldest first, without ids and times. */
async function auditTrail(store: Store): Promise<Omit<AuditEventRow, "id" | "at">[]> {
  return (await listAuditEvents(store.db, { limit: 1000 })).reverse().map(({ id: _id, at: _at, ...rest }) => rest);
}

const A = "llmux.admin.v1.AdminService/";

/** Records which verification path each call took. */
function observedHasher(): PasswordHasher & { calls: string[] } {
  const inner = createPasswordHasher({ logN: 8, r: 8, p: 1 });
  const calls: string[] = [];
  return {
    calls,
    hash: (password) => inner.hash(password),
    verify: (password, stored) => (calls.push("verify"), inner.verify(password, stored)),
    dummyVerify: (password) => (calls.push("dummyVerify"), inner.dummyVerify(password)),
  };
}

describe.each(dialects)("admin service on $name", (dialect) => {
  let store: Store;
  let plane: ControlPlane;
  let hasher: ReturnType<typeof observedHasher>;

  beforeEach(async () => {
    store = await dialect.open();
    hasher = observedHasher();
    plane = await startControlPlane(store, { passwords: hasher });
  });
  afterEach(async () => {
    await plane.close();
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  const admin = (token?: string, headers?: Record<string, string>) => plane.client(AdminService, token, headers);

  describe("login", () => {
    it("returns a 12-hour JWT carrying ids and times only, and the user", async () => {
      const res = await admin().login({ username: "ROOT", password: plane.root.password });
      expect(res.user).toMatchObject({ id: plane.root.id, username: "root", role: Role.SUPER_ADMIN, disabled: false });
      expect(res.expireTime).toEqual(timestampFromMs(T0 + 12 * 3600 * 1000));
      const claims = decodeJwt(res.token);
      expect(Object.keys(claims).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "sub", "ver"]);
      expect(claims).toMatchObject({ sub: plane.root.id, ver: 0 });
      const stored = await findUserByUsername(store.db, "root");
      for (const secret of [plane.root.password, stored!.password_hash, Buffer.from(plane.secret).toString("base64url")]) {
        expect(JSON.stringify(claims)).not.toContain(secret);
      }
      expect((await admin(res.token).getCurrentUser({})).credential).toBe("jwt");
    });

    it("answers a wrong password and an unknown user alike, verifying against a dummy hash for the unknown one", async () => {
      hasher.calls.length = 0;
      const wrong = await errorOf(admin().login({ username: "root", password: "not the password" }));
      expect(hasher.calls).toEqual(["verify"]);
      hasher.calls.length = 0;
      const unknown = await errorOf(admin().login({ username: "nobody", password: "not the password" }));
      expect(hasher.calls).toEqual(["dummyVerify"]);
      expect([wrong.code, wrong.rawMessage]).toEqual([Code.Unauthenticated, "invalid username or password"]);
      expect([unknown.code, unknown.rawMessage]).toEqual([wrong.code, wrong.rawMessage]);
    });

    it("refuses a disabled user with the right password, with the same answer", async () => {
      const bob = await plane.addUser("bob", Role.USER);
      await admin(plane.root.token).disableUser({ id: bob.id, disabled: true });
      const err = await errorOf(admin().login({ username: "bob", password: bob.password }));
      expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "invalid username or password"]);
    });

    it("throttles after 5 failures per username and address for 15 minutes, with retry info and audit rows", async () => {
      const from = (address: string) => admin(undefined, { [ADDRESS_HEADER]: address });
      for (let i = 0; i < 5; i++) {
        plane.clock.now = T0 + i * 1000;
        expect(await codeOf(from("10.0.0.1").login({ username: "root", password: `guess ${i}` }))).toBe("Unauthenticated");
      }
      plane.clock.now = T0 + 10_000;
      hasher.calls.length = 0;
      // Even the right password is refused now, without checking it.
      const err = await errorOf(from("10.0.0.1").login({ username: "root", password: plane.root.password }));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toBe("too many failed logins; try again later");
      expect(err.findDetails(ErrorInfoSchema)[0]?.retryAfterMs).toBe(LOGIN_WINDOW_MS - 10_000);
      expect(hasher.calls).toEqual([]);
      // Another address, and another username from the same address, are not affected.
      expect(await codeOf(from("10.0.0.2").login({ username: "root", password: plane.root.password }))).toBe("ok");
      expect(await codeOf(from("10.0.0.1").login({ username: "nobody", password: "x" }))).toBe("Unauthenticated");
      // Refused attempts do not extend the lock: it lifts when the first failure is 15 minutes old.
      plane.clock.now = T0 + LOGIN_WINDOW_MS - 1;
      expect(await codeOf(from("10.0.0.1").login({ username: "root", password: plane.root.password }))).toBe("ResourceExhausted");
      plane.clock.now = T0 + LOGIN_WINDOW_MS;
      expect(await codeOf(from("10.0.0.1").login({ username: "root", password: plane.root.password }))).toBe("ok");
      const logins = (await auditTrail(store)).filter((e) => e.action === `${A}Login`).map((e) => [e.actor, e.target, e.allowed, e.detail]);
      expect(logins).toEqual([
        ...Array.from({ length: 5 }, () => ["", "root", 0, "invalid username or password"]),
        ["", "root", 0, "login throttled after repeated failures"],
        [plane.root.id, plane.root.id, 1, "logged in"],
        ["", "nobody", 0, "invalid username or password"],
        ["", "root", 0, "login throttled after repeated failures"],
        [plane.root.id, plane.root.id, 1, "logged in"],
      ]);
    });

    it("lets at most 5 of a burst of concurrent guesses be checked", async () => {
      hasher.calls.length = 0;
      const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => codeOf(admin().login({ username: "root", password: `burst ${i}` }))));
      expect(codes.filter((code) => code === "Unauthenticated").length).toBeLessThanOrEqual(5);
      expect(codes.filter((code) => code === "ResourceExhausted").length).toBeGreaterThanOrEqual(15);
      expect(hasher.calls.length).toBeLessThanOrEqual(5);
    });

    it("clears the failures of a username and address after a successful login", async () => {
      for (let i = 0; i < 4; i++) await codeOf(admin().login({ username: "root", password: `guess ${i}` }));
      await admin().login({ username: "root", password: plane.root.password });
      for (let i = 0; i < 5; i++) expect(await codeOf(admin().login({ username: "root", password: `again ${i}` }))).toBe("Unauthenticated");
    });

    it.each([
      ["an empty username", { username: "", password: "x" }, "username"],
      ["a username with a space", { username: "a b", password: "x" }, "username"],
      ["a 65-character username", { username: "a".repeat(65), password: "x" }, "username"],
      ["an empty password", { username: "root", password: "" }, "password"],
      ["a 1025-character password", { username: "root", password: "p".repeat(1025) }, "password"],
    ])("refuses %s as invalid_argument", async (_name, request, param) => {
      const err = await errorOf(admin().login(request));
      expect([err.code, err.findDetails(ErrorInfoSchema)[0]?.param]).toEqual([Code.InvalidArgument, param]);
    });
  });

  describe("users", () => {
    it("creates users with lowercase names, USER by default, auditing each in the same transaction", async () => {
      const res = await admin(plane.root.token).createUser({ username: "Carol", email: "carol@example.com", password: "long enough password" });
      expect(res.user).toMatchObject({ username: "carol", email: "carol@example.com", role: Role.USER, disabled: false });
      expect((await auditTrail(store)).at(-1)).toEqual({
        actor: plane.root.id, action: `${A}CreateUser`, target: res.user!.id, allowed: 1, detail: "created user carol with role user",
      });
    });

    it("rolls the change back when its audit event cannot be written", async () => {
      await sql`drop table audit_event`.execute(store.db);
      expect(await codeOf(admin(plane.root.token).createUser({ username: "dave", password: "long enough password" }))).toBe("Internal");
      expect(await findUserByUsername(store.db, "dave")).toBeUndefined();
    });

    it.each([
      ["a taken username (any case)", { username: "ROOT", password: "long enough password" }, "username", "username root is taken"],
      ["a short password", { username: "erin", password: "short" }, "password", "password must be at least 12 characters"],
      ["a bad email", { username: "erin", email: "not an email", password: "long enough password" }, "email", "email must be an address like name@example.com, or empty"],
      ["an unknown role", { username: "erin", password: "long enough password", role: 9 as Role }, "role", "role is not a known role"],
    ])("refuses %s", async (_name, request, param, message) => {
      const err = await errorOf(admin(plane.root.token).createUser(request));
      expect([err.code, err.findDetails(ErrorInfoSchema)[0]?.param, err.rawMessage]).toEqual([Code.InvalidArgument, param, message]);
    });

    it("lets only a super admin create admins and super admins; an admin's attempt is audited", async () => {
      const adminUser = await plane.addUser("ann", Role.ADMIN);
      for (const role of [Role.ADMIN, Role.SUPER_ADMIN]) {
        expect(await codeOf(admin(adminUser.token).createUser({ username: `x${role}`, password: "long enough password", role }))).toBe("PermissionDenied");
      }
      expect(await codeOf(admin(adminUser.token).createUser({ username: "plain", password: "long enough password" }))).toBe("ok");
      expect(await codeOf(admin(plane.root.token).createUser({ username: "boss", password: "long enough password", role: Role.SUPER_ADMIN }))).toBe("ok");
      const denials = (await auditTrail(store)).filter((e) => e.allowed === 0);
      expect(denials).toEqual([
        { actor: adminUser.id, action: `${A}CreateUser`, target: "x2", allowed: 0, detail: "only a super admin may create a user with role admin" },
        { actor: adminUser.id, action: `${A}CreateUser`, target: "x3", allowed: 0, detail: "only a super admin may create a user with role super_admin" },
      ]);
    });

    it("lists users in pages by username and gets one by id", async () => {
      for (const name of ["dora", "bea", "cleo", "abe"]) await plane.addUser(name, Role.USER);
      const client = admin(plane.root.token);
      const first = await client.listUsers({ pageSize: 2 });
      expect(first.users.map((u) => u.username)).toEqual(["abe", "bea"]);
      const second = await client.listUsers({ pageSize: 2, pageToken: first.nextPageToken });
      expect(second.users.map((u) => u.username)).toEqual(["cleo", "dora"]);
      const third = await client.listUsers({ pageSize: 2, pageToken: second.nextPageToken });
      expect([third.users.map((u) => u.username), third.nextPageToken]).toEqual([["root"], ""]);
      expect(await codeOf(client.listUsers({ pageToken: "not-a-token" }))).toBe("InvalidArgument");
      expect((await client.getUser({ id: plane.root.id })).user?.username).toBe("root");
      expect(await codeOf(client.getUser({ id: "usr_missing" }))).toBe("NotFound");
    });

    it("a role change takes effect on the user's next call, and nobody changes their own role", async () => {
      const bob = await plane.addUser("bob", Role.ADMIN);
      expect(await codeOf(admin(bob.token).listUsers({}))).toBe("ok");
      await admin(plane.root.token).updateUserRole({ id: bob.id, role: Role.USER });
      expect(await codeOf(admin(bob.token).listUsers({}))).toBe("Unauthenticated");
      const fresh = await plane.login("bob", bob.password);
      expect(await codeOf(admin(fresh).listUsers({}))).toBe("PermissionDenied");
      expect(await codeOf(admin(plane.root.token).updateUserRole({ id: plane.root.id, role: Role.USER }))).toBe("PermissionDenied");
      expect(await codeOf(admin(plane.root.token).updateUserRole({ id: bob.id, role: Role.UNSPECIFIED }))).toBe("InvalidArgument");
      expect(await codeOf(admin(plane.root.token).updateUserRole({ id: "usr_missing", role: Role.USER }))).toBe("NotFound");
    });

    it("disabling stops the user's tokens and keys on the next call; enabling does not revive old tokens", async () => {
      const bob = await plane.addUser("bob", Role.USER);
      const { secret } = await admin(bob.token).createApiKey({ name: "laptop" });
      expect(await codeOf(admin(secret).getCurrentUser({}))).toBe("ok");
      await admin(plane.root.token).disableUser({ id: bob.id, disabled: true });
      expect(await codeOf(admin(bob.token).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(admin(secret).getCurrentUser({}))).toBe("Unauthenticated");
      const res = await admin(plane.root.token).disableUser({ id: bob.id, disabled: false });
      expect(res.user?.disabled).toBe(false);
      expect(await codeOf(admin(bob.token).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(admin(secret).getCurrentUser({}))).toBe("ok");
    });

    it("admins disable only plain users; nobody disables themselves", async () => {
      const ann = await plane.addUser("ann", Role.ADMIN);
      const amy = await plane.addUser("amy", Role.ADMIN);
      const bob = await plane.addUser("bob", Role.USER);
      expect(await codeOf(admin(ann.token).disableUser({ id: bob.id, disabled: true }))).toBe("ok");
      expect(await codeOf(admin(ann.token).disableUser({ id: amy.id, disabled: true }))).toBe("PermissionDenied");
      expect(await codeOf(admin(ann.token).disableUser({ id: plane.root.id, disabled: true }))).toBe("PermissionDenied");
      expect(await codeOf(admin(ann.token).disableUser({ id: ann.id, disabled: true }))).toBe("PermissionDenied");
      expect(await codeOf(admin(plane.root.token).disableUser({ id: amy.id, disabled: true }))).toBe("ok");
      expect(await codeOf(admin(ann.token).disableUser({ id: "usr_missing", disabled: true }))).toBe("NotFound");
    });

    it("deleting a user removes their keys and ends their sessions; nobody deletes themselves", async () => {
      const bob = await plane.addUser("bob", Role.USER);
      const { secret, key } = await admin(bob.token).createApiKey({ name: "laptop" });
      await admin(plane.root.token).deleteUser({ id: bob.id });
      expect(await codeOf(admin(bob.token).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(admin(secret).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(admin(plane.root.token).getUser({ id: bob.id }))).toBe("NotFound");
      expect((await admin(plane.root.token).listApiKeys({ includeInactive: true })).keys.map((k) => k.id)).not.toContain(key!.id);
      expect(await codeOf(admin(plane.root.token).deleteUser({ id: plane.root.id }))).toBe("PermissionDenied");
      expect(await codeOf(admin(plane.root.token).deleteUser({ id: bob.id }))).toBe("NotFound");
      expect((await auditTrail(store)).at(-2)).toMatchObject({ action: `${A}DeleteUser`, target: bob.id, allowed: 1, detail: "deleted user bob and 1 API key(s)" });
    });

    it("changing one's password needs the current one and ends every session", async () => {
      const bob = await plane.addUser("bob", Role.USER);
      expect(await codeOf(admin(bob.token).changePassword({ currentPassword: "wrong password", newPassword: "a new long password" }))).toBe("PermissionDenied");
      expect(await codeOf(admin(bob.token).changePassword({ newPassword: "a new long password" }))).toBe("InvalidArgument");
      expect(await codeOf(admin(bob.token).changePassword({ currentPassword: bob.password, newPassword: "short" }))).toBe("InvalidArgument");
      await admin(bob.token).changePassword({ currentPassword: bob.password, newPassword: "a new long password" });
      expect(await codeOf(admin(bob.token).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(plane.login("bob", bob.password))).toBe("Unauthenticated");
      expect(await codeOf(plane.login("bob", "a new long password"))).toBe("ok");
    });

    it("another user's password: not_found for users, plain users only for admins, anyone for super admins", async () => {
      const ann = await plane.addUser("ann", Role.ADMIN);
      const amy = await plane.addUser("amy", Role.ADMIN);
      const bob = await plane.addUser("bob", Role.USER);
      const cat = await plane.addUser("cat", Role.USER);
      const set = (as: TestUser | string, id: string) =>
        codeOf(admin(typeof as === "string" ? as : as.token).changePassword({ id, newPassword: "a new long password" }));
      expect(await set(bob, cat.id)).toBe("NotFound");
      expect(await set(bob, "usr_missing")).toBe("NotFound");
      // Answered like a missing id, but audited as the refusal it is.
      expect((await auditTrail(store)).at(-1)).toEqual({
        actor: bob.id, action: `${A}ChangePassword`, target: "usr_missing", allowed: 0, detail: "users may change only their own password",
      });
      expect(await set(ann, amy.id)).toBe("PermissionDenied");
      expect(await set(ann, plane.root.id)).toBe("PermissionDenied");
      expect(await set(ann, cat.id)).toBe("ok");
      expect(await set(plane.root.token, amy.id)).toBe("ok");
      expect(await set(CONFIG_TOKEN, cat.id)).toBe("PermissionDenied");
    });
  });

  describe("API keys", () => {
    let alice: TestUser;
    let bob: TestUser;
    beforeEach(async () => {
      alice = await plane.addUser("alice", Role.USER);
      bob = await plane.addUser("bob", Role.USER);
    });

    it("returns the secret once; lists show only the prefix and last four", async () => {
      plane.clock.now = T0 + 1000;
      const created = await admin(alice.token).createApiKey({
        name: "ci", allowedModels: ["gpt-*"], requestsPerMinute: 60, tokensPerMinute: 1000n, tokensPerDay: 100_000n, expireTime: timestampFromMs(T0 + 86_400_000),
      });
      expect(created.secret).toMatch(/^llmux_[A-Za-z0-9_-]{43}$/);
      expect(created.key).toMatchObject({
        ownerId: alice.id, name: "ci", prefix: created.secret.slice(0, 10), lastFour: created.secret.slice(-4), allowedModels: ["gpt-*"],
        requestsPerMinute: 60, tokensPerMinute: 1000n, tokensPerDay: 100_000n, expireTime: timestampFromMs(T0 + 86_400_000), createTime: timestampFromMs(T0 + 1000),
      });
      const listed = await admin(alice.token).listApiKeys({});
      expect(listed.keys).toEqual([created.key]);
      expect(JSON.stringify(listed, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(created.secret.slice(10, -4));
      const principal = await admin(created.secret).getCurrentUser({});
      expect([principal.credential, principal.user?.id]).toEqual(["api_key", alice.id]);
    });

    it("a user never sees or touches another user's keys: not_found, exactly as for a missing id", async () => {
      const { key } = await admin(alice.token).createApiKey({ name: "alice's" });
      await admin(bob.token).createApiKey({ name: "bob's" });
      const missing = await errorOf(admin(bob.token).revokeApiKey({ id: "key_missing" }));
      const foreign = await errorOf(admin(bob.token).revokeApiKey({ id: key!.id }));
      expect([foreign.code, foreign.rawMessage]).toEqual([missing.code, missing.rawMessage]);
      expect(foreign.code).toBe(Code.NotFound);
      expect((await auditTrail(store)).at(-1)).toEqual({
        actor: bob.id, action: `${A}RevokeApiKey`, target: key!.id, allowed: 0, detail: "users may revoke only their own API keys",
      });
      expect((await admin(bob.token).listApiKeys({ ownerId: alice.id })).keys.map((k) => k.name)).toEqual(["bob's"]);
      expect(await codeOf(admin(bob.token).getUsage({ keyId: key!.id }))).toBe("NotFound");
      expect(await codeOf(admin(bob.token).getUsage({ userId: alice.id }))).toBe("NotFound");
      expect((await admin(alice.token).listApiKeys({})).keys[0]?.revokeTime).toBeUndefined();
    });

    it("a user cannot create a key for someone else; an admin only for plain users, not another admin or a super admin", async () => {
      expect(await codeOf(admin(alice.token).createApiKey({ name: "for bob", ownerId: bob.id }))).toBe("PermissionDenied");
      const ann = await plane.addUser("ann", Role.ADMIN);
      const erin = await plane.addUser("erin", Role.ADMIN);
      expect(await codeOf(admin(ann.token).createApiKey({ name: "for root", ownerId: plane.root.id }))).toBe("PermissionDenied");
      // The key would act as erin: one admin impersonating another.
      expect(await codeOf(admin(ann.token).createApiKey({ name: "for erin", ownerId: erin.id }))).toBe("PermissionDenied");
      expect((await admin(plane.root.token).createApiKey({ name: "for erin", ownerId: erin.id })).key?.ownerId).toBe(erin.id);
      expect(await codeOf(admin(ann.token).createApiKey({ name: "for nobody", ownerId: "usr_missing" }))).toBe("NotFound");
      const forBob = await admin(ann.token).createApiKey({ name: "for bob", ownerId: bob.id });
      expect((await admin(forBob.secret).getCurrentUser({})).user?.id).toBe(bob.id);
      expect(await codeOf(admin(CONFIG_TOKEN).createApiKey({ name: "token's" }))).toBe("PermissionDenied");
    });

    it("a key cannot mint a key with grants beyond its own", async () => {
      const { secret } = await admin(alice.token).createApiKey({
        name: "limited", allowedModels: ["gpt-*"], requestsPerMinute: 10, expireTime: timestampFromMs(T0 + 3_600_000),
      });
      const mint = (request: Parameters<ReturnType<typeof admin>["createApiKey"]>[0]) => codeOf(admin(secret).createApiKey(request));
      const expiry = timestampFromMs(T0 + 3_600_000);
      expect(await mint({ name: "all models", requestsPerMinute: 10, expireTime: expiry })).toBe("PermissionDenied");
      expect(await mint({ name: "claude", allowedModels: ["claude-*"], requestsPerMinute: 10, expireTime: expiry })).toBe("PermissionDenied");
      expect(await mint({ name: "unlimited", allowedModels: ["gpt-*"], expireTime: expiry })).toBe("PermissionDenied");
      expect(await mint({ name: "forever", allowedModels: ["gpt-*"], requestsPerMinute: 10 })).toBe("PermissionDenied");
      expect(await mint({ name: "subset", allowedModels: ["gpt-4o"], requestsPerMinute: 5, expireTime: timestampFromMs(T0 + 60_000) })).toBe("ok");
      expect((await auditTrail(store)).filter((e) => e.allowed === 0).map((e) => e.detail)).toEqual([
        "the new key would exceed the creating key: every model requested, but the creating key is limited to some",
        'the new key would exceed the creating key: model pattern "claude-*" is not within the creating key\'s models',
        "the new key would exceed the creating key: requests per minute must be between 1 and 10",
        "the new key would exceed the creating key: the key must expire no later than the creating key",
      ]);
    });

    it.each([
      ["an empty name", { name: "" }, "name"],
      ["a control character in the name", { name: "a\nb" }, "name"],
      ["a 257-character model pattern", { name: "k", allowedModels: ["m".repeat(257)] }, "allowed_models[0]"],
      ["101 model patterns", { name: "k", allowedModels: Array.from({ length: 101 }, (_, i) => `m${i}`) }, "allowed_models"],
      ["2^63 tokens per day", { name: "k", tokensPerDay: 2n ** 63n }, "tokens_per_day"],
      ["an expiry in the past", { name: "k", expireTime: timestampFromMs(T0 - 1) }, "expire_time"],
    ])("refuses %s", async (_name, request, param) => {
      const err = await errorOf(admin(alice.token).createApiKey(request));
      expect([err.code, err.findDetails(ErrorInfoSchema)[0]?.param]).toEqual([Code.InvalidArgument, param]);
    });

    it("revocation stops the key at once on this replica; expiry stops it when the time comes", async () => {
      const first = await admin(alice.token).createApiKey({ name: "one" });
      plane.clock.now = T0 + 1;
      const second = await admin(alice.token).createApiKey({ name: "two", expireTime: timestampFromMs(T0 + 60_000) });
      expect(await codeOf(admin(first.secret).getCurrentUser({}))).toBe("ok");
      const revoked = await admin(alice.token).revokeApiKey({ id: first.key!.id });
      expect(revoked.key?.revokeTime).toEqual(timestampFromMs(T0 + 1));
      expect(await codeOf(admin(first.secret).getCurrentUser({}))).toBe("Unauthenticated");
      expect(await codeOf(admin(second.secret).getCurrentUser({}))).toBe("ok");
      plane.clock.now = T0 + 60_000;
      expect(await codeOf(admin(second.secret).getCurrentUser({}))).toBe("Unauthenticated");
      expect((await admin(alice.token).listApiKeys({})).keys).toEqual([]);
      expect((await admin(alice.token).listApiKeys({ includeInactive: true })).keys.map((k) => k.name)).toEqual(["two", "one"]);
    });

    it("admins list and revoke anyone's keys; configuration tokens own none", async () => {
      const { key } = await admin(alice.token).createApiKey({ name: "alice's" });
      await admin(bob.token).createApiKey({ name: "bob's" });
      expect((await admin(plane.root.token).listApiKeys({})).keys.map((k) => k.name).sort()).toEqual(["alice's", "bob's"]);
      expect((await admin(plane.root.token).listApiKeys({ ownerId: alice.id })).keys.map((k) => k.name)).toEqual(["alice's"]);
      expect(await codeOf(admin(plane.root.token).revokeApiKey({ id: key!.id }))).toBe("ok");
      expect((await admin(CONFIG_TOKEN).listApiKeys({})).keys).toEqual([]);
      expect(await codeOf(admin(CONFIG_TOKEN).revokeApiKey({ id: key!.id }))).toBe("NotFound");
    });
  });

  describe("usage", () => {
    const row = (id: string, overrides: Partial<NewUsageRow>): NewUsageRow => ({
      request_id: id, at: T0 - 1000, principal: null, key_id: null, user_id: null, client_dialect: "openai", model: "m1", backend: "b1", provider: "openai",
      outcome: "ok", status: 200, input_tokens: 10, output_tokens: 1, cache_read_tokens: 0, cache_creation_tokens: 0, latency_ms: 5, ttft_ms: null,
      attempts: 1, stream: 0, error: null, usage_estimated: 0, truncated: 0, ...overrides,
    });
    let alice: TestUser;
    let bob: TestUser;
    let aliceKey: string;

    beforeEach(async () => {
      alice = await plane.addUser("alice", Role.USER);
      bob = await plane.addUser("bob", Role.USER);
      aliceKey = (await admin(alice.token).createApiKey({ name: "k" })).key!.id;
      await insertUsage(store.db, store.dialect, [
        row("1", { principal: "alice", user_id: alice.id, key_id: aliceKey, model: "m1" }),
        row("2", { principal: "alice", user_id: alice.id, model: "m2", outcome: "upstream_error", status: 200, truncated: 1 }),
        row("3", { principal: "bob", user_id: bob.id, model: "m1", input_tokens: 100, usage_estimated: 1 }),
        row("4", { principal: "ci", model: "m3", backend: "b2" }),
        row("old", { principal: "alice", user_id: alice.id, at: T0 - 10_000_000 }),
      ]);
    });

    const summary = (res: { rows: { key: string; requests: bigint; inputTokens: bigint; outputTokens: bigint; errors: bigint }[] }) =>
      res.rows.map((r) => [r.key, Number(r.requests), Number(r.inputTokens), Number(r.outputTokens), Number(r.errors)]);

    it("shows a user only their own usage", async () => {
      const res = await admin(alice.token).getUsage({ startTime: timestampFromMs(T0 - 60_000), groupBy: UsageGroupBy.MODEL });
      expect(summary(res)).toEqual([["m1", 1, 10, 1, 0], ["m2", 1, 10, 1, 1]]);
      expect(summary(await admin(alice.token).getUsage({ startTime: timestampFromMs(T0 - 60_000), keyId: aliceKey, groupBy: UsageGroupBy.KEY }))).toEqual([[aliceKey, 1, 10, 1, 0]]);
    });

    it("shows admins everything, grouped as asked and filtered by user, key or backend", async () => {
      const usage = (request: Parameters<ReturnType<typeof admin>["getUsage"]>[0]) =>
        admin(plane.root.token).getUsage({ startTime: timestampFromMs(T0 - 60_000), ...request }).then(summary);
      expect(await usage({})).toEqual([["b1", 3, 120, 3, 1], ["b2", 1, 10, 1, 0]]);
      expect(await usage({ groupBy: UsageGroupBy.USER })).toEqual([["", 1, 10, 1, 0], [alice.id, 2, 20, 2, 1], [bob.id, 1, 100, 1, 0]].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)));
      expect(await usage({ groupBy: UsageGroupBy.KEY, userId: alice.id })).toEqual([["", 1, 10, 1, 1], [aliceKey, 1, 10, 1, 0]]);
      expect(await usage({ groupBy: UsageGroupBy.MODEL, backend: "b2" })).toEqual([["m3", 1, 10, 1, 0]]);
      // How many requests' tokens are llmux's estimate (the upstream reported none it could trust).
      const estimated = await admin(plane.root.token).getUsage({ startTime: timestampFromMs(T0 - 60_000), groupBy: UsageGroupBy.USER });
      expect(estimated.rows.map((r) => [r.key, Number(r.estimated)]).sort()).toEqual([["", 0], [alice.id, 0], [bob.id, 1]].sort());
      expect(estimated.rows.map((r) => [r.key, Number(r.truncated)]).sort()).toEqual([["", 0], [alice.id, 1], [bob.id, 0]].sort());
      expect(await usage({ startTime: timestampFromMs(T0 - 20_000_000), userId: alice.id, groupBy: UsageGroupBy.USER })).toEqual([[alice.id, 3, 30, 3, 1]]);
    });

    it("shows a configuration token only the requests it made itself", async () => {
      expect(summary(await admin(CONFIG_TOKEN).getUsage({ groupBy: UsageGroupBy.MODEL }))).toEqual([["m3", 1, 10, 1, 0]]);
    });

    it("refuses an empty range", async () => {
      expect(await codeOf(admin(plane.root.token).getUsage({ startTime: timestampFromMs(T0), endTime: timestampFromMs(T0) }))).toBe("InvalidArgument");
    });
  });

  describe("audit log", () => {
    it("lists events newest first in pages, and by actor", async () => {
      const bob = await plane.addUser("bob", Role.USER);
      plane.clock.now = T0 + 1;
      await admin(bob.token).createApiKey({ name: "k1" });
      plane.clock.now = T0 + 2;
      await admin(bob.token).createApiKey({ name: "k2" });
      const client = admin(plane.root.token);
      const first = await client.listAuditEvents({ pageSize: 2 });
      expect(first.events.map((e) => e.detail.replace(/key_\S+|llmux_\S+/g, "…"))).toEqual([
        `created API key … for ${bob.id}`,
        `created API key … for ${bob.id}`,
      ]);
      const second = await client.listAuditEvents({ pageSize: 2, pageToken: first.nextPageToken });
      expect(second.events.map((e) => [e.actor, e.action])).toEqual([[bob.id, `${A}Login`], [plane.root.id, `${A}CreateUser`]]);
      const third = await client.listAuditEvents({ pageSize: 2, pageToken: second.nextPageToken });
      expect(third.events.map((e) => [e.actor, e.action, e.detail])).toEqual([["system", `${A}CreateUser`, "created super admin root with a generated password"]]);
      expect(third.nextPageToken).toBe("");
      expect((await client.listAuditEvents({ actor: plane.root.id })).events.map((e) => e.action)).toEqual([`${A}CreateUser`]);
      expect(await codeOf(client.listAuditEvents({ pageToken: "bad" }))).toBe("InvalidArgument");
    });
  });

  it("no response carries a password, a password hash, a key hash or a key secret (except CreateApiKey's secret)", async () => {
    const responses: unknown[] = [];
    const keep = async <T>(call: Promise<T>): Promise<T> => {
      const res = await call;
      responses.push(res);
      return res;
    };
    const root = admin(plane.root.token);
    const bob = await plane.addUser("bob", Role.USER);
    const bobClient = admin(bob.token);
    const passwords = [plane.root.password, bob.password, "ann's long password"];
    await keep(admin().login({ username: "root", password: plane.root.password }));
    const ann = await keep(root.createUser({ username: "ann", password: "ann's long password", role: Role.ADMIN }));
    const secrets: string[] = [];
    for (const client of [root, bobClient]) {
      const created = await client.createApiKey({ name: "k" });
      secrets.push(created.secret);
      responses.push({ ...created, secret: "(the one-time secret)" });
    }
    await keep(bobClient.getCurrentUser({}));
    await keep(admin(secrets[1]).getCurrentUser({}));
    await keep(root.listUsers({}));
    await keep(root.getUser({ id: ann.user!.id }));
    await keep(root.updateUserRole({ id: ann.user!.id, role: Role.USER }));
    await keep(root.disableUser({ id: ann.user!.id, disabled: true }));
    await keep(root.listApiKeys({ includeInactive: true }));
    await keep(bobClient.listApiKeys({}));
    await keep(root.getUsage({ groupBy: UsageGroupBy.KEY }));
    await keep(root.listAuditEvents({ pageSize: 1000 }));
    const hashes = [
      ...(await store.db.selectFrom("user").select("password_hash").execute()).map((r) => r.password_hash),
      ...(await store.db.selectFrom("api_key").select("key_hash").execute()).map((r) => r.key_hash),
    ];
    const text = JSON.stringify(responses, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
    const leaks = [...passwords, ...hashes, ...secrets, ...secrets.map((s) => s.slice(10, -4))].filter((secret) => text.includes(secret));
    expect(leaks).toEqual([]);
    expect(hashes).toHaveLength(5);
    expect(text).toContain(secrets[0]!.slice(0, 10));
  });
});
