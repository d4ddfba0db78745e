import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport, type Client, type Interceptor } from "@connectrpc/connect";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import { BackendSchema, ProviderKind, ProviderSchema, Source } from "../../../gen/llmux/admin/v1/resources_pb.js";
import { ErrorInfoSchema } from "../../../gen/llmux/type/v1/error_pb.js";
import { createCatalog, type Catalog } from "../../catalog/catalog.js";
import { parseConfig } from "../../config/load.js";
import type { ProviderConfig } from "../../config/types.js";
import type { ProviderAdapter } from "../../providers/provider.js";
import { createDatabase, type Store } from "../../store/database.js";
import { listAuditEvents } from "../../store/repos/audit-repo.js";
import { principalKey } from "../call-context.js";
import type { Principal } from "./authenticator.js";
import { createCatalogAdmin, type AuditWriter } from "./catalog-admin.js";

const T0 = 1_795_000_000_000;
const SECRET = "sk-canary-31c6a0e4d9";
const A = "llmux.admin.v1.AdminService/";
const ADMIN: Principal = { kind: "user", id: "usr_admin", name: "admin", role: "admin", userId: "usr_admin" };

const FILE = parseConfig(
  `
[provider.file-p]
base_url = "http://file-p:1/v1"
api_key = "file-key"
[[backend]]
model = "file-p:m1"
`,
  { source: "llmux.toml", baseDir: "/etc/llmux", env: { VLLM_SERVERS: "gpu:8000" } },
);

/** DNS for the tests: one name leads to the metadata service, every other name to a private address. */
const lookup = async (hostname: string): Promise<string[]> => (hostname === "sneaky.example" ? ["169.254.169.254"] : ["10.0.0.9"]);

function fakeAdapter(provider: ProviderConfig): ProviderAdapter {
  return { name: provider.name, kind: provider.kind, dialect: "openai", send: () => Promise.reject(new Error("unused")), probe: async () => true, redact: (text) => text, close: async () => {} };
}

/** The error a call fails with: code, message without the code prefix, and the ErrorInfo param. */
async function failure(call: Promise<unknown>): Promise<[string, string, string | undefined]> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (err === undefined) throw new Error("the call succeeded");
  return [Code[err.code], err.rawMessage, err.findDetails(ErrorInfoSchema)[0]?.param];
}

type BackendInit = MessageInitShape<typeof BackendSchema>;

describe("AdminService providers and backends", () => {
  let store: Store;
  let catalog: Catalog;
  let client: Client<typeof AdminService>;
  let responses: unknown[];

  async function start(options: { audit?: AuditWriter; principal?: Principal | undefined } = {}): Promise<void> {
    catalog = await createCatalog({
      file: FILE,
      db: store.db,
      timeouts: { connectMs: 1000, headersMs: 1000, idleMs: 1000 },
      pollMs: 0,
      createAdapter: fakeAdapter,
      discovery: {
        providers: () => [{ name: "vllm-gpu-8000", kind: "openai", baseUrl: "http://gpu:8000/v1", apiKey: undefined, mock: undefined }],
        current: () => ({ backends: [], fallback: true }),
        subscribe: () => () => {},
      },
    });
    // Every change gets its own millisecond, so the audit trail has one order.
    let clock = T0;
    const admin = createCatalogAdmin({ db: store.db, catalog, now: () => ++clock, lookup, ...(options.audit ? { audit: options.audit } : {}) });
    const principal = "principal" in options ? options.principal : ADMIN;
    // Stands in for the access interceptor: the caller is authenticated and holds the role.
    const authenticated: Interceptor = (next) => async (req) => {
      if (principal !== undefined) req.contextValues.set(principalKey, principal);
      const res = await next(req);
      if (!res.stream) responses.push(toJson(res.method.output, res.message));
      return res;
    };
    client = createClient(AdminService, createRouterTransport(({ service }) => service(AdminService, admin), { router: { interceptors: [authenticated] } }));
  }

  beforeEach(async () => {
    responses = [];
    store = await createDatabase({ sqlitePath: ":memory:" });
    await start();
  });
  afterEach(async () => {
    // No response ever carried a provider key.
    expect(JSON.stringify(responses)).not.toContain(SECRET);
    await catalog.close();
    await store.close();
  });

  const audit = async () => (await listAuditEvents(store.db, { limit: 100 })).reverse().map(({ actor, action, target, allowed, detail }) => ({ actor, action, target, allowed, detail }));

  const backend = (init: BackendInit) => ({ backend: create(BackendSchema, init) });

  describe("providers", () => {
    it("creates a provider: key sealed at rest, never returned, effective at once, audited", async () => {
      const res = await client.createProvider({ name: "vllm-a", kind: ProviderKind.OPENAI, baseUrl: "http://10.0.0.5:8000/v1/", apiKey: SECRET });
      expect(toJson(ProviderSchema, res.provider!)).toEqual({ name: "vllm-a", kind: "PROVIDER_KIND_OPENAI", baseUrl: "http://10.0.0.5:8000/v1", hasApiKey: true, source: "SOURCE_DATABASE" });
      expect(catalog.providers().get("vllm-a")).toEqual({ name: "vllm-a", kind: "openai", baseUrl: "http://10.0.0.5:8000/v1", apiKey: SECRET, mock: undefined });
      const raw = await sql<Record<string, unknown>>`select * from provider`.execute(store.db);
      expect(JSON.stringify(raw.rows)).not.toContain(SECRET);
      expect(await audit()).toEqual([
        { actor: "usr_admin", action: `${A}CreateProvider`, target: "vllm-a", allowed: 1, detail: "created provider vllm-a (openai at http://10.0.0.5:8000/v1, with a key)" },
      ]);
      expect(JSON.stringify(await sql`select * from audit_event`.execute(store.db))).not.toContain(SECRET);
    });

    it("lists file, database and discovery providers, saying only whether a key is set", async () => {
      await client.createProvider({ name: "mocky", kind: ProviderKind.MOCK });
      await client.createProvider({ name: "claude", kind: ProviderKind.ANTHROPIC, baseUrl: "https://api.anthropic.com/v1", apiKey: SECRET });
      const res = await client.listProviders({});
      expect(res.providers.map((p) => [p.name, ProviderKind[p.kind], p.baseUrl, p.hasApiKey, Source[p.source]])).toEqual([
        ["file-p", "OPENAI", "http://file-p:1/v1", true, "FILE"],
        ["claude", "ANTHROPIC", "https://api.anthropic.com", true, "DATABASE"],
        ["mocky", "MOCK", "", false, "DATABASE"],
        ["vllm-gpu-8000", "OPENAI", "http://gpu:8000/v1", false, "DISCOVERY"],
      ]);
    });

    it("defaults the kind to OpenAI, as the file does", async () => {
      const res = await client.createProvider({ name: "p", baseUrl: "http://localhost:8000/v1" });
      expect(res.provider?.kind).toBe(ProviderKind.OPENAI);
    });

    it("updates the URL and replaces or removes the key", async () => {
      await client.createProvider({ name: "p", baseUrl: "http://a:1/v1", apiKey: "old-key" });
      const moved = await client.updateProvider({ name: "p", baseUrl: "http://b:2/v1" });
      expect([moved.provider?.baseUrl, moved.provider?.hasApiKey]).toEqual(["http://b:2/v1", true]);
      expect(catalog.providers().get("p")?.apiKey).toBe("old-key");
      await client.updateProvider({ name: "p", apiKey: SECRET });
      expect(catalog.providers().get("p")).toMatchObject({ baseUrl: "http://b:2/v1", apiKey: SECRET });
      const cleared = await client.updateProvider({ name: "p", clearApiKey: true });
      expect(cleared.provider?.hasApiKey).toBe(false);
      expect(catalog.providers().get("p")?.apiKey).toBeUndefined();
      expect(await failure(client.updateProvider({ name: "p", apiKey: "k", clearApiKey: true }))).toEqual(["InvalidArgument", "set api_key or clear_api_key, not both", "clear_api_key"]);
      expect(await failure(client.updateProvider({ name: "nope", baseUrl: "http://c:3/v1" }))).toEqual(["NotFound", "provider nope not found", ""]);
      expect((await audit()).map((e) => e.detail)).toEqual([
        "created provider p (openai at http://a:1/v1, with a key)",
        "updated provider p: base_url http://b:2/v1",
        "updated provider p: key replaced",
        "updated provider p: key removed",
      ]);
    });

    it("refuses to delete a provider in use, then deletes it", async () => {
      await client.createProvider({ name: "p", baseUrl: "http://a:1/v1" });
      await client.createBackend(backend({ provider: "p", model: "m" }));
      expect(await failure(client.deleteProvider({ name: "p" }))).toEqual(["InvalidArgument", "provider p is used by backend(s) p:m; delete or change them first", "name"]);
      expect(catalog.providers().has("p")).toBe(true);
      await client.deleteBackend({ name: "p:m" });
      await client.deleteProvider({ name: "p" });
      expect(catalog.providers().has("p")).toBe(false);
      expect(await failure(client.deleteProvider({ name: "p" }))).toEqual(["NotFound", "provider p not found", ""]);
    });

    it.each([
      ["a duplicate of a file provider", { name: "file-p", baseUrl: "http://x:1/v1" }, ["InvalidArgument", "provider name file-p is taken", "name"]],
      ["a duplicate of a discovery provider", { name: "vllm-gpu-8000", baseUrl: "http://x:1/v1" }, ["InvalidArgument", "provider name vllm-gpu-8000 is taken", "name"]],
      ["a bad name", { name: "a:b", baseUrl: "http://x:1/v1" }, ["InvalidArgument", "name must be 1 to 64 letters, digits, _ . or -", "name"]],
      ["an unknown kind", { name: "p", kind: 99 as ProviderKind, baseUrl: "http://x:1/v1" }, ["InvalidArgument", "kind must be OPENAI, ANTHROPIC or MOCK", "kind"]],
      ["no URL", { name: "p" }, ["InvalidArgument", "base_url is required for kind openai", "base_url"]],
      ["a URL for the mock", { name: "p", kind: ProviderKind.MOCK, baseUrl: "http://x:1/v1" }, ["InvalidArgument", "base_url is not used by the mock provider; leave it empty", "base_url"]],
      ["a key with a line break", { name: "p", baseUrl: "http://x:1/v1", apiKey: `${SECRET}\r\nx-evil: 1` }, ["InvalidArgument", "api_key must be at most 4096 characters without control characters", "api_key"]],
      // Row 36 of the bad-input catalogue.
      ["file://", { name: "p", baseUrl: "file:///etc/passwd" }, ["InvalidArgument", "base_url must be an http or https URL, got file:", "base_url"]],
      ["gopher://", { name: "p", baseUrl: "gopher://127.0.0.1:6379/_x" }, ["InvalidArgument", "base_url must be an http or https URL, got gopher:", "base_url"]],
      ["169.254.169.254", { name: "p", baseUrl: "http://169.254.169.254/v1" }, ["InvalidArgument", "base_url points at a cloud metadata address, which is always refused", "base_url"]],
      ["[fd00:ec2::254]", { name: "p", baseUrl: "http://[fd00:ec2::254]/v1" }, ["InvalidArgument", "base_url points at a cloud metadata address, which is always refused", "base_url"]],
      ["0xa9fea9fe", { name: "p", baseUrl: "http://0xa9fea9fe/v1" }, ["InvalidArgument", "base_url points at a cloud metadata address, which is always refused", "base_url"]],
      ["metadata.google.internal", { name: "p", baseUrl: "http://metadata.google.internal/v1" }, ["InvalidArgument", "base_url points at a cloud metadata address, which is always refused", "base_url"]],
      ["user@host", { name: "p", baseUrl: "http://user@vllm:8000/v1" }, ["InvalidArgument", "base_url must not contain credentials; use api_key", "base_url"]],
      ["a name resolving to the metadata service", { name: "p", baseUrl: "http://sneaky.example/v1" }, ["InvalidArgument", "base_url points at a cloud metadata address, which is always refused (its host name resolves to one)", "base_url"]],
    ])("refuses %s", async (_, request, expected) => {
      expect(await failure(client.createProvider(request))).toEqual(expected);
      expect(catalog.providerEntries().filter((e) => e.source === "database")).toEqual([]);
      expect(await audit()).toEqual([]);
    });

    it.each([
      // Private and loopback addresses are allowed (a local vLLM is the main use); numeric forms are normalised.
      ["http://127.1:8000/v1", "http://127.0.0.1:8000/v1"],
      ["http://0x7f000001:8000/v1", "http://127.0.0.1:8000/v1"],
      ["http://[::1]:8000/v1/", "http://[::1]:8000/v1"],
    ])("accepts the private address %s", async (baseUrl, stored) => {
      expect((await client.createProvider({ name: "local", baseUrl })).provider?.baseUrl).toBe(stored);
    });

    it.each([
      ["update", (c: Client<typeof AdminService>) => c.updateProvider({ name: "file-p", baseUrl: "http://x:1/v1" })],
      ["delete", (c: Client<typeof AdminService>) => c.deleteProvider({ name: "file-p" })],
    ])("refuses to %s a file provider", async (_, call) => {
      expect(await failure(call(client))).toEqual(["InvalidArgument", "provider file-p is defined by the configuration file or environment and is read-only through the API", "name"]);
    });

    it("refuses to change a discovery provider", async () => {
      expect(await failure(client.deleteProvider({ name: "vllm-gpu-8000" }))).toEqual(["InvalidArgument", "provider vllm-gpu-8000 is defined by discovery and is read-only through the API", "name"]);
    });
  });

  describe("backends", () => {
    beforeEach(async () => {
      await client.createProvider({ name: "p", baseUrl: "http://a:1/v1" });
    });

    it("creates backends after the file's, named provider:model by default, effective at once", async () => {
      const res = await client.createBackend(
        backend({
          provider: "p",
          model: "Qwen/Qwen3-8B",
          alias: "qwen",
          context: 32768,
          vision: true,
          maxPerHour: 10,
          modelMatch: ["qwen*"],
          keyRename: { max_tokens: "max_completion_tokens" },
          keyDelete: ["logprobs"],
          keyAdd: { temperature: 0.2 },
          fallbacks: ["file-p:m1"],
          gptOssFix: true,
          source: Source.FILE,
        }),
      );
      expect(toJson(BackendSchema, res.backend!)).toEqual({
        name: "p:Qwen/Qwen3-8B",
        provider: "p",
        model: "Qwen/Qwen3-8B",
        alias: "qwen",
        context: 32768,
        vision: true,
        maxPerHour: 10,
        modelMatch: ["qwen*"],
        keyRename: { max_tokens: "max_completion_tokens" },
        keyDelete: ["logprobs"],
        keyAdd: { temperature: 0.2 },
        fallbacks: ["file-p:m1"],
        gptOssFix: true,
        source: "SOURCE_DATABASE",
      });
      await client.createBackend(backend({ name: "second", provider: "file-p", model: "m2" }));
      expect(catalog.backends().map((b) => b.name)).toEqual(["file-p:m1", "p:Qwen/Qwen3-8B", "second"]);
      expect(catalog.backends()[1]).toMatchObject({ context: 32768, alias: "qwen", maxPerHour: 10, maxPerDay: undefined, keyAdd: { temperature: 0.2 } });
      const listed = await client.listBackends({});
      expect(listed.backends.map((b) => [b.name, Source[b.source]])).toEqual([["file-p:m1", "FILE"], ["p:Qwen/Qwen3-8B", "DATABASE"], ["second", "DATABASE"]]);
      expect((await audit()).slice(1)).toEqual([
        { actor: "usr_admin", action: `${A}CreateBackend`, target: "p:Qwen/Qwen3-8B", allowed: 1, detail: "created backend p:Qwen/Qwen3-8B (p:Qwen/Qwen3-8B)" },
        { actor: "usr_admin", action: `${A}CreateBackend`, target: "second", allowed: 1, detail: "created backend second (file-p:m2)" },
      ]);
    });

    it("replaces a backend's settings, reorders and deletes", async () => {
      for (const model of ["a", "b", "c"]) await client.createBackend(backend({ provider: "p", model }));
      const updated = await client.updateBackend(backend({ name: "p:b", provider: "file-p", model: "b2", context: 4096 }));
      expect([updated.backend?.provider, updated.backend?.model, updated.backend?.context]).toEqual(["file-p", "b2", 4096]);
      expect(catalog.backends().find((b) => b.name === "p:b")).toMatchObject({ provider: "file-p", model: "b2", context: 4096 });

      const reordered = await client.reorderBackends({ names: ["p:c", "p:a", "p:b"] });
      expect(reordered.backends.map((b) => b.name)).toEqual(["file-p:m1", "p:c", "p:a", "p:b"]);
      expect(catalog.backends().map((b) => b.name)).toEqual(["file-p:m1", "p:c", "p:a", "p:b"]);

      await client.deleteBackend({ name: "p:a" });
      expect(catalog.backends().map((b) => b.name)).toEqual(["file-p:m1", "p:c", "p:b"]);
      expect((await audit()).map((e) => [e.action.slice(A.length), e.target])).toEqual([
        ["CreateProvider", "p"],
        ["CreateBackend", "p:a"],
        ["CreateBackend", "p:b"],
        ["CreateBackend", "p:c"],
        ["UpdateBackend", "p:b"],
        ["ReorderBackends", ""],
        ["DeleteBackend", "p:a"],
      ]);
    });

    it.each([
      ["one missing", ["p:a"]],
      ["a duplicate", ["p:a", "p:a"]],
      ["an unknown name", ["p:a", "x"]],
      ["a file backend", ["p:a", "p:b", "file-p:m1"]],
    ])("refuses a reorder with %s", async (_, names) => {
      for (const model of ["a", "b"]) await client.createBackend(backend({ provider: "p", model }));
      expect(await failure(client.reorderBackends({ names }))).toEqual(["InvalidArgument", "names must list every database backend exactly once (p:a, p:b)", "names"]);
      expect(catalog.backends().map((b) => b.name)).toEqual(["file-p:m1", "p:a", "p:b"]);
    });

    it.each([
      ["no backend", {}, ["InvalidArgument", "backend is required", "backend"]],
      ["a missing provider", backend({ provider: "ghost", model: "m" }), ["InvalidArgument", "provider ghost is not defined; create it first", "backend.provider"]],
      ["a name taken by the file", backend({ name: "file-p:m1", provider: "p", model: "m" }), ["InvalidArgument", "backend name file-p:m1 is taken; choose another name", "backend.name"]],
      ["no model", backend({ provider: "p" }), ["InvalidArgument", "backend.model must be 1 to 256 characters without control characters", "backend.model"]],
      // Rows 37 and 38 of the bad-input catalogue.
      ["a 10k-character model_match", backend({ provider: "p", model: "m", modelMatch: ["*a".repeat(5000)] }), ["InvalidArgument", "backend.model_match[0] must be 1 to 256 characters without control characters", "backend.model_match[0]"]],
      ["101 model_match globs", backend({ provider: "p", model: "m", modelMatch: Array.from({ length: 101 }, (_, i) => `m${i}`) }), ["InvalidArgument", "backend.model_match may have at most 100 entries", "backend.model_match"]],
      ["a rate limit above 1e9", backend({ provider: "p", model: "m", maxPerDay: 4_000_000_000 }), ["InvalidArgument", "backend.max_per_day must be 0 (no limit) to 1000000000", "backend.max_per_day"]],
      ["a key edit of model", backend({ provider: "p", model: "m", keyAdd: { model: "x" } }), ["InvalidArgument", 'backend.key_add.model: cannot add "model": the gateway sets model, messages, stream itself', "backend.key_add.model"]],
      ["a rename to stream", backend({ provider: "p", model: "m", keyRename: { a: "stream" } }), ["InvalidArgument", 'backend.key_rename.a: cannot rename to "stream": the gateway sets model, messages, stream itself', "backend.key_rename.a"]],
      ["a rename of constructor", backend({ provider: "p", model: "m", keyRename: { fine: "y", constructor: "z" } }), ["InvalidArgument", 'backend.key_rename.constructor: "constructor" is not allowed', "backend.key_rename.constructor"]],
      ["a control character in a name", backend({ name: "a\nb", provider: "p", model: "m" }), ["InvalidArgument", "backend.name must be 1 to 256 characters without control characters", "backend.name"]],
    ])("refuses a backend with %s", async (_, request, expected) => {
      expect(await failure(client.createBackend(request))).toEqual(expected);
      expect(catalog.backends().map((b) => b.name)).toEqual(["file-p:m1"]);
    });

    it.each([
      ["update", (c: Client<typeof AdminService>) => c.updateBackend(backend({ name: "file-p:m1", provider: "p", model: "m" })), "backend.name"],
      ["delete", (c: Client<typeof AdminService>) => c.deleteBackend({ name: "file-p:m1" }), "name"],
    ])("refuses to %s a file backend", async (_, call, param) => {
      expect(await failure(call(client))).toEqual(["InvalidArgument", "backend file-p:m1 is defined by the configuration file or environment and is read-only through the API", param]);
    });

    it("answers not_found for an unknown backend", async () => {
      expect(await failure(client.deleteBackend({ name: "nope" }))).toEqual(["NotFound", "backend nope not found", ""]);
      expect(await failure(client.updateBackend(backend({ name: "nope", provider: "p", model: "m" })))).toEqual(["NotFound", "backend nope not found", ""]);
    });
  });

  it("rolls the change back when its audit event cannot be written", async () => {
    await catalog.close();
    await start({ audit: async () => Promise.reject(new Error("audit table unavailable")) });
    expect((await failure(client.createProvider({ name: "p", baseUrl: "http://a:1/v1", apiKey: SECRET })))[0]).toBe("Internal");
    expect((await sql`select * from provider`.execute(store.db)).rows).toEqual([]);
    expect(catalog.providers().has("p")).toBe(false);
  });

  it("refuses every call when mounted without the access interceptor", async () => {
    await catalog.close();
    await start({ principal: undefined });
    expect(await failure(client.listProviders({}))).toEqual(["Unauthenticated", "missing credentials: send 'Authorization: Bearer <token>'", ""]);
    expect(await failure(client.createProvider({ name: "p", baseUrl: "http://a:1/v1" }))).toEqual(["Unauthenticated", "missing credentials: send 'Authorization: Bearer <token>'", ""]);
  });
});
