import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  AdminService,
  CreateBackendResponseSchema,
  CreateProviderResponseSchema,
  DeleteBackendResponseSchema,
  DeleteProviderResponseSchema,
  ListBackendsResponseSchema,
  ListProvidersResponseSchema,
  ReorderBackendsResponseSchema,
  UpdateBackendResponseSchema,
  UpdateProviderResponseSchema,
} from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import type { Backend } from "../../../gen/llmux/admin/v1/resources_pb.js";
import {
  checkApiKey,
  checkBackend,
  checkProviderName,
  checkProviderUrl,
  checkResolvedHost,
  systemLookup,
  type HostLookup,
} from "../../catalog/catalog-input.js";
import type { Catalog, CatalogSource } from "../../catalog/catalog.js";
import type { BackendConfig } from "../../config/types.js";
import { LlmuxError, llmuxError, Reason } from "../../errors/llmux-error.js";
import { randomId } from "../../lib/ids.js";
import { insertAuditEvent } from "../../store/repos/audit-repo.js";
import {
  appendBackend,
  backendsUsingProvider,
  deleteBackend,
  findBackend,
  listBackends,
  setBackendPositions,
  updateBackend,
} from "../../store/repos/backend-repo.js";
import { deleteProvider, findProvider, insertProvider, updateProvider, type ProviderChanges } from "../../store/repos/provider-repo.js";
import type { Queryable } from "../../store/tables/database.js";
import type { NewBackendRow } from "../../store/tables/backend-table.js";
import { actionOf } from "../access-interceptor.js";
import { requirePrincipal } from "../call-context.js";
import { actorOf } from "./authenticator.js";
import { backendInputFromProto, backendToProto, kindFromProto, providerToProto } from "./catalog-resources.js";

/** The RPCs of AdminService this module implements; users, keys, usage and audit are implemented elsewhere. */
export type CatalogMethods =
  | "listProviders"
  | "createProvider"
  | "updateProvider"
  | "deleteProvider"
  | "listBackends"
  | "createBackend"
  | "updateBackend"
  | "reorderBackends"
  | "deleteBackend";

/** The providers and backends half of AdminService, to be merged with the identity half. */
export type AdminCatalogService = Pick<ServiceImpl<typeof AdminService>, CatalogMethods>;

/** One audit event, as a handler states it; the writer adds id and time. */
export interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  allowed: boolean;
  detail: string;
}

/** Writes an audit event through `trx`, the transaction of the change it records. */
export type AuditWriter = (trx: Queryable, record: AuditRecord) => Promise<void>;

/** The audit writer over the `audit_event` table (server/store/repos/audit-repo.ts). */
export function createAuditWriter(now: () => number): AuditWriter {
  return (trx, record) => insertAuditEvent(trx, { id: randomId("aud_"), at: now(), ...record, allowed: record.allowed ? 1 : 0 });
}

/** Dependencies of {@link createCatalogAdmin}. */
export interface CatalogAdminDeps {
  db: Queryable;
  catalog: Catalog;
  now: () => number;
  /** Defaults to {@link createAuditWriter}. */
  audit?: AuditWriter;
  /** Resolves provider hosts to refuse names that lead to a metadata address; defaults to the system resolver. */
  lookup?: HostLookup;
}

function notFound(what: string): never {
  throw llmuxError(Reason.NOT_FOUND, `${what} not found`);
}

/** The refusal for entries the API cannot change. (The error model has no FAILED_PRECONDITION reason.) */
function readOnly(what: string, source: CatalogSource, param: string): never {
  const where = source === "file" ? "the configuration file or environment" : "discovery";
  throw llmuxError(Reason.INVALID_REQUEST, `${what} is defined by ${where} and is read-only through the API`, { param });
}

function requireBackend(backend: Backend | undefined): Backend {
  if (backend === undefined) throw llmuxError(Reason.INVALID_REQUEST, "backend is required", { param: "backend" });
  return backend;
}

/** The row of a validated backend. */
function backendRow(config: BackendConfig, at: number): NewBackendRow {
  return {
    name: config.name,
    provider: config.provider,
    model: config.model,
    alias: config.alias ?? null,
    context: config.context ?? null,
    vision: config.vision ? 1 : 0,
    thinking: config.thinking ? 1 : 0,
    max_per_day: config.maxPerDay ?? null,
    max_per_hour: config.maxPerHour ?? null,
    max_per_5hours: config.maxPer5Hours ?? null,
    model_match: config.modelMatch,
    key_rename: config.keyRename,
    key_delete: config.keyDelete,
    key_add: config.keyAdd,
    fallbacks: config.fallbacks,
    gpt_oss_fix: config.gptOssFix ? 1 : 0,
    created_at: at,
    updated_at: at,
  };
}

/**
 * Creates the providers and backends half of AdminService. Handlers expect the access interceptor to have
 * checked the caller's role (every RPC here declares ADMIN). The rules:
 *
 * - names are unique across the file, the database and discovery; file and discovery entries are read-only;
 * - inputs follow the file's rules (server/catalog/catalog-input.ts), URLs the SSRF rules of lib/url-guard;
 * - a backend's provider must exist; a provider in use by a backend cannot be deleted;
 * - provider keys are sealed before they reach the store and no response carries one (only `has_api_key`);
 * - every change writes its audit event in the same transaction, then the catalog reloads, so the change is
 *   effective for the next request.
 */
export function createCatalogAdmin(deps: CatalogAdminDeps): AdminCatalogService {
  const { db, catalog, now } = deps;
  const audit = deps.audit ?? createAuditWriter(now);
  const lookup = deps.lookup ?? systemLookup;

  /**
   * Runs one change and its audit event in a transaction, then reloads the catalog. A failure that is not our
   * own error is passed to `explain`, which may turn it into one (a unique key lost to a concurrent writer).
   */
  async function change(
    ctx: HandlerContext,
    note: { target: string; detail: string },
    work: (trx: Queryable) => Promise<void>,
    explain?: () => Promise<LlmuxError | undefined>,
  ): Promise<void> {
    const principal = requirePrincipal(ctx.values);
    try {
      await db.transaction().execute(async (trx) => {
        await work(trx);
        await audit(trx, { actor: actorOf(principal), action: actionOf(ctx.method), target: note.target, allowed: true, detail: note.detail });
      });
    } catch (err) {
      const better = err instanceof LlmuxError || explain === undefined ? undefined : await explain();
      throw better ?? err;
    }
    await catalog.reload();
  }

  // File and discovery entries are refused; whether a database entry exists is for the database to say (it may
  // have been created through another replica since the last reload).
  function refuseReadOnlyProvider(name: string): void {
    const source = catalog.providerSource(name);
    if (source === "file" || source === "discovery") readOnly(`provider ${name}`, source, "name");
  }

  function refuseReadOnlyBackend(name: string, param: string): void {
    const source = catalog.backendSource(name);
    if (source === "file" || source === "discovery") readOnly(`backend ${name}`, source, param);
  }

  /** Refuses a backend whose provider does not exist (checked again in the transaction for database providers). */
  async function checkProvider(trx: Queryable, provider: string): Promise<void> {
    const source = catalog.providerSource(provider);
    const exists = source === "file" || source === "discovery" || (await findProvider(trx, provider)) !== undefined;
    if (!exists) throw llmuxError(Reason.INVALID_REQUEST, `provider ${provider} is not defined; create it first`, { param: "backend.provider" });
  }

  const backendsResponse = () => catalog.backendEntries().map((entry) => backendToProto(entry.config, entry.source));

  return {
    listProviders(_req, ctx) {
      requirePrincipal(ctx.values);
      const providers = catalog.providerEntries().map(({ config, source }) =>
        providerToProto({ name: config.name, kind: config.kind, baseUrl: config.baseUrl, hasApiKey: config.apiKey !== undefined }, source),
      );
      return create(ListProvidersResponseSchema, { providers });
    },

    async createProvider(req, ctx) {
      requirePrincipal(ctx.values);
      const name = checkProviderName(req.name);
      const kind = kindFromProto(req.kind);
      const baseUrl = checkProviderUrl(kind, req.baseUrl);
      const apiKey = req.apiKey === "" ? undefined : checkApiKey(req.apiKey);
      if (baseUrl !== "") await checkResolvedHost(baseUrl, lookup);
      const taken = () => llmuxError(Reason.INVALID_REQUEST, `provider name ${name} is taken`, { param: "name" });
      if (catalog.providerSource(name) !== undefined) throw taken();
      const at = now();
      const sealed = apiKey === undefined ? null : catalog.sealApiKey(name, apiKey);
      await change(
        ctx,
        { target: name, detail: `created provider ${name} (${kind}${baseUrl === "" ? "" : ` at ${baseUrl}`}${apiKey === undefined ? "" : ", with a key"})` },
        async (trx) => {
          if (await findProvider(trx, name)) throw taken();
          await insertProvider(trx, { name, kind, base_url: baseUrl, api_key_sealed: sealed, created_at: at, updated_at: at });
        },
        async () => ((await findProvider(db, name)) ? taken() : undefined),
      );
      return create(CreateProviderResponseSchema, { provider: providerToProto({ name, kind, baseUrl, hasApiKey: sealed !== null }, "database") });
    },

    async updateProvider(req, ctx) {
      requirePrincipal(ctx.values);
      const name = req.name;
      refuseReadOnlyProvider(name);
      const existing = (await findProvider(db, name)) ?? notFound(`provider ${name}`);
      if (req.apiKey !== "" && req.clearApiKey) {
        throw llmuxError(Reason.INVALID_REQUEST, "set api_key or clear_api_key, not both", { param: "clear_api_key" });
      }
      const changes: ProviderChanges = { updated_at: now() };
      const changed: string[] = [];
      if (req.baseUrl !== "") {
        changes.base_url = checkProviderUrl(existing.kind, req.baseUrl);
        await checkResolvedHost(changes.base_url, lookup);
        changed.push(`base_url ${changes.base_url}`);
      }
      if (req.apiKey !== "") {
        changes.api_key_sealed = catalog.sealApiKey(name, checkApiKey(req.apiKey));
        changed.push("key replaced");
      } else if (req.clearApiKey) {
        changes.api_key_sealed = null;
        changed.push("key removed");
      }
      await change(ctx, { target: name, detail: `updated provider ${name}: ${changed.length === 0 ? "no change" : changed.join(", ")}` }, async (trx) => {
        if (!(await updateProvider(trx, name, changes))) notFound(`provider ${name}`);
      });
      const baseUrl = changes.base_url ?? existing.base_url;
      const sealed = changes.api_key_sealed === undefined ? existing.api_key_sealed : changes.api_key_sealed;
      return create(UpdateProviderResponseSchema, {
        provider: providerToProto({ name, kind: existing.kind, baseUrl, hasApiKey: sealed !== null }, "database"),
      });
    },

    async deleteProvider(req, ctx) {
      requirePrincipal(ctx.values);
      const name = req.name;
      refuseReadOnlyProvider(name);
      await change(ctx, { target: name, detail: `deleted provider ${name}` }, async (trx) => {
        const users = await backendsUsingProvider(trx, name);
        if (users.length > 0) {
          const shown = users.slice(0, 10).join(", ") + (users.length > 10 ? `, … (${users.length} in all)` : "");
          throw llmuxError(Reason.INVALID_REQUEST, `provider ${name} is used by backend(s) ${shown}; delete or change them first`, { param: "name" });
        }
        if (!(await deleteProvider(trx, name))) notFound(`provider ${name}`);
      });
      return create(DeleteProviderResponseSchema, {});
    },

    listBackends(_req, ctx) {
      requirePrincipal(ctx.values);
      return create(ListBackendsResponseSchema, { backends: backendsResponse() });
    },

    async createBackend(req, ctx) {
      requirePrincipal(ctx.values);
      const config = checkBackend(backendInputFromProto(requireBackend(req.backend)));
      const taken = () => llmuxError(Reason.INVALID_REQUEST, `backend name ${config.name} is taken; choose another name`, { param: "backend.name" });
      if (catalog.backendSource(config.name) !== undefined) throw taken();
      await change(
        ctx,
        { target: config.name, detail: `created backend ${config.name} (${config.provider}:${config.model})` },
        async (trx) => {
          await checkProvider(trx, config.provider);
          if (await findBackend(trx, config.name)) throw taken();
          await appendBackend(trx, backendRow(config, now()));
        },
        async () => ((await findBackend(db, config.name)) ? taken() : undefined),
      );
      return create(CreateBackendResponseSchema, { backend: backendToProto(config, "database") });
    },

    async updateBackend(req, ctx) {
      requirePrincipal(ctx.values);
      const backend = requireBackend(req.backend);
      if (backend.name === "") throw llmuxError(Reason.INVALID_REQUEST, "backend.name is required: it names the backend to change", { param: "backend.name" });
      refuseReadOnlyBackend(backend.name, "backend.name");
      const config = checkBackend(backendInputFromProto(backend));
      await change(ctx, { target: config.name, detail: `updated backend ${config.name} (${config.provider}:${config.model})` }, async (trx) => {
        await checkProvider(trx, config.provider);
        if (!(await updateBackend(trx, backendRow(config, now())))) notFound(`backend ${config.name}`);
      });
      return create(UpdateBackendResponseSchema, { backend: backendToProto(config, "database") });
    },

    async reorderBackends(req, ctx) {
      requirePrincipal(ctx.values);
      const names = req.names;
      const shown = names.slice(0, 20).join(", ") + (names.length > 20 ? `, … (${names.length} in all)` : "");
      await change(ctx, { target: "", detail: `reordered database backends: ${shown}` }, async (trx) => {
        const stored = (await listBackends(trx)).map((row) => row.name);
        const given = new Set(names);
        if (given.size !== names.length || names.length !== stored.length || stored.some((name) => !given.has(name))) {
          throw llmuxError(Reason.INVALID_REQUEST, `names must list every database backend exactly once (${stored.join(", ") || "there are none"})`, { param: "names" });
        }
        await setBackendPositions(trx, names, now());
      });
      return create(ReorderBackendsResponseSchema, { backends: backendsResponse() });
    },

    async deleteBackend(req, ctx) {
      requirePrincipal(ctx.values);
      const name = req.name;
      refuseReadOnlyBackend(name, "name");
      await change(ctx, { target: name, detail: `deleted backend ${name}` }, async (trx) => {
        if (!(await deleteBackend(trx, name))) notFound(`backend ${name}`);
      });
      return create(DeleteBackendResponseSchema, {});
    },
  };
}
