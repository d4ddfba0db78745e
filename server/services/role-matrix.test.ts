import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, createFileRegistry, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { file_google_protobuf_empty, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Access } from "../../gen/llmux/type/v1/options_pb.js";
import { generateApiKey } from "../auth/api-keys.js";
import type { Store } from "../store/database.js";
import { insertApiKey } from "../store/repos/api-key-repo.js";
import { listAuditEvents } from "../store/repos/audit-repo.js";
import { insertUser } from "../store/repos/user-repo.js";
import type { UserRole } from "../store/tables/user-table.js";
import { CONFIG_TOKEN, startControlPlane, T0, type ControlPlane } from "../../test/helpers/control-plane.js";
import { testDialects } from "../../test/helpers/store-dialects.js";
import { accessOf } from "./access-interceptor.js";

/**
 * The access rule of every RPC, written out by hand. The test below fails when gen/ has an RPC missing here (or
 * here has one gen/ lacks), so a new RPC cannot ship until someone decides who may call it, and a changed rule
 * shows up in review as a change to this table.
 */
const EXPECTED: Readonly<Record<string, Access>> = {
  "llmux.admin.v1.AdminService/Login": Access.PUBLIC,
  "llmux.admin.v1.AdminService/GetCurrentUser": Access.USER,
  "llmux.admin.v1.AdminService/CreateUser": Access.ADMIN,
  "llmux.admin.v1.AdminService/ListUsers": Access.ADMIN,
  "llmux.admin.v1.AdminService/GetUser": Access.ADMIN,
  "llmux.admin.v1.AdminService/UpdateUserRole": Access.SUPER_ADMIN,
  "llmux.admin.v1.AdminService/DisableUser": Access.ADMIN,
  "llmux.admin.v1.AdminService/DeleteUser": Access.SUPER_ADMIN,
  "llmux.admin.v1.AdminService/ChangePassword": Access.USER,
  "llmux.admin.v1.AdminService/CreateApiKey": Access.USER,
  "llmux.admin.v1.AdminService/ListApiKeys": Access.USER,
  "llmux.admin.v1.AdminService/RevokeApiKey": Access.USER,
  "llmux.admin.v1.AdminService/ListProviders": Access.ADMIN,
  "llmux.admin.v1.AdminService/CreateProvider": Access.ADMIN,
  "llmux.admin.v1.AdminService/UpdateProvider": Access.ADMIN,
  "llmux.admin.v1.AdminService/DeleteProvider": Access.ADMIN,
  "llmux.admin.v1.AdminService/ListBackends": Access.ADMIN,
  "llmux.admin.v1.AdminService/CreateBackend": Access.ADMIN,
  "llmux.admin.v1.AdminService/UpdateBackend": Access.ADMIN,
  "llmux.admin.v1.AdminService/ReorderBackends": Access.ADMIN,
  "llmux.admin.v1.AdminService/DeleteBackend": Access.ADMIN,
  "llmux.admin.v1.AdminService/GetUsage": Access.USER,
  "llmux.admin.v1.AdminService/ListAuditEvents": Access.ADMIN,
  "llmux.discovery.v1.DiscoveryService/ListDiscovered": Access.USER,
  "llmux.discovery.v1.DiscoveryService/GetDiscoveryStats": Access.USER,
  "llmux.discovery.v1.DiscoveryService/RefreshDiscovery": Access.ADMIN,
  "llmux.route.v1.RouteService/SelectBackend": Access.USER,
  "llmux.route.v1.RouteService/ExplainRoute": Access.USER,
  "llmux.route.v1.RouteService/GetBackendStatus": Access.USER,
};

/** Every service generated under gen/, found by walking the folder, so a new service file is covered too. */
async function generatedServices(): Promise<DescService[]> {
  const root = fileURLToPath(new URL("../../gen", import.meta.url));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith("_pb.ts")) files.push(full);
    }
  };
  walk(root);
  const services: DescService[] = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "service") services.push(value as DescService);
    }
  }
  return services;
}

const SERVICES = await generatedServices();
const METHODS: DescMethod[] = SERVICES.flatMap((service) => service.methods);
const rpcName = (method: DescMethod) => `${method.parent.typeName}/${method.name}`;

/** A service whose only RPC declares no access: it must be closed to everyone. */
const UNRULED = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/unruled.proto",
    package: "test.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/empty.proto"],
    service: [{ name: "UnruledService", method: [{ name: "Poke", inputType: ".google.protobuf.Empty", outputType: ".google.protobuf.Empty" }] }],
  }),
  (name) => (name === "google/protobuf/empty.proto" ? file_google_protobuf_empty : undefined),
).getService("test.v1.UnruledService")!;

/** A stub for every RPC of a service: it answers an empty response, so reaching it means the call was allowed. */
function stubs(service: DescService): Partial<ServiceImpl<DescService>> {
  return Object.fromEntries(
    service.methods.map((method) => {
      if (method.methodKind === "unary") return [method.localName, () => create(method.output)];
      if (method.methodKind === "server_streaming") return [method.localName, async function* () { yield create(method.output); }];
      throw new Error(`${rpcName(method)}: teach the role matrix about ${method.methodKind} RPCs`);
    }),
  );
}

type Outcome = "allowed" | "unauthenticated" | "permission_denied";
type Caller = { name: string; role: UserRole | undefined; credential: () => string | undefined };

/** What a caller of `role` (undefined: no valid credential) gets from an RPC with access `rule`. */
function expectedOutcome(rule: Access, role: UserRole | undefined): Outcome {
  if (rule === Access.PUBLIC) return "allowed";
  if (rule === Access.UNSPECIFIED) return "permission_denied";
  if (role === undefined) return "unauthenticated";
  const rank = { user: 1, admin: 2, super_admin: 3 }[role];
  const needed = { [Access.USER]: 1, [Access.ADMIN]: 2, [Access.SUPER_ADMIN]: 3 }[rule];
  return rank >= needed ? "allowed" : "permission_denied";
}

describe("declared access", () => {
  it("covers every RPC in gen/, each with an explicit rule equal to the expected table", () => {
    expect(SERVICES.map((service) => service.typeName).sort()).toEqual([
      "llmux.admin.v1.AdminService",
      "llmux.discovery.v1.DiscoveryService",
      "llmux.route.v1.RouteService",
    ]);
    expect(Object.fromEntries(METHODS.map((method) => [rpcName(method), accessOf(method)]))).toEqual(EXPECTED);
    expect(METHODS.filter((method) => accessOf(method) === Access.UNSPECIFIED).map(rpcName)).toEqual([]);
  });
});

const dialects = await testDialects();

describe.each(dialects)("role matrix on $name", (dialect) => {
  let store: Store;
  let plane: ControlPlane;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    store = await dialect.open();
    plane = await startControlPlane(store, {
      routes: (router: ConnectRouter) => {
        for (const service of [...SERVICES, UNRULED]) router.service(service, stubs(service));
      },
    });
    for (const role of ["user", "admin", "super_admin"] as const) {
      const id = `usr_${role}`;
      await insertUser(store.db, { id, username: role.replace("_", "-"), email: "", role, password_hash: "x", disabled: 0, token_version: 0, created_at: T0, updated_at: T0 });
      tokens[`${role} jwt`] = (await plane.jwt.issue(id, 0)).token;
      const key = generateApiKey();
      await insertApiKey(store.db, {
        id: `key_${role}`, owner_id: id, name: role, key_hash: key.hash, prefix: key.prefix, last_four: key.lastFour, allowed_models: [],
        requests_per_minute: 0, tokens_per_minute: 0, tokens_per_day: 0, expires_at: null, revoked_at: null, created_at: T0, last_used_at: null,
      });
      tokens[`${role} key`] = key.secret;
    }
  });
  afterEach(async () => {
    await plane.close();
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  const callers: Caller[] = [
    { name: "anonymous", role: undefined, credential: () => undefined },
    { name: "a garbage token", role: undefined, credential: () => "garbage' OR 1=1--" },
    { name: "a user's JWT", role: "user", credential: () => tokens["user jwt"] },
    { name: "an admin's JWT", role: "admin", credential: () => tokens["admin jwt"] },
    { name: "a super admin's JWT", role: "super_admin", credential: () => tokens["super_admin jwt"] },
    { name: "a user's API key", role: "user", credential: () => tokens["user key"] },
    { name: "an admin's API key", role: "admin", credential: () => tokens["admin key"] },
    { name: "a configuration token", role: "user", credential: () => CONFIG_TOKEN },
  ];

  async function call(method: DescMethod, credential: string | undefined): Promise<Outcome | string> {
    const client = plane.client(method.parent, credential) as unknown as Record<string, (req: object) => unknown>;
    try {
      const result = client[method.localName]!({});
      if (method.methodKind === "server_streaming") for await (const _ of result as AsyncIterable<unknown>);
      else await result;
      return "allowed";
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.Unauthenticated) return "unauthenticated";
      if (code === Code.PermissionDenied) return "permission_denied";
      return `unexpected ${Code[code]}`;
    }
  }

  it.each(callers)("every RPC answers $name as its declared access says, and every denial is audited", async (caller) => {
    const actual: Record<string, Outcome | string> = {};
    const expected: Record<string, Outcome> = {};
    for (const method of [...METHODS, ...UNRULED.methods]) {
      actual[rpcName(method)] = await call(method, caller.credential());
      expected[rpcName(method)] = expectedOutcome(accessOf(method), caller.role);
    }
    expect(actual).toEqual(expected);
    const denied = METHODS.filter((method) => expected[rpcName(method)] === "permission_denied").map(rpcName).sort();
    const audited = (await listAuditEvents(store.db, { limit: 1000 })).filter((event) => event.allowed === 0).map((event) => event.action).sort();
    expect(audited).toEqual(denied);
  });
});
