import type { BackendConfig, Config, MockSettings, ProviderConfig } from "../config/types.js";
import type { TransportTimeouts } from "../providers/http-transport.js";
import type { ProviderAdapter } from "../providers/provider.js";
import { createProviders } from "../providers/registry.js";
import { listBackends } from "../store/repos/backend-repo.js";
import { listProviders } from "../store/repos/provider-repo.js";
import type { BackendRow } from "../store/tables/backend-table.js";
import type { Queryable } from "../store/tables/database.js";
import type { ProviderRow } from "../store/tables/provider-table.js";
import { createSecretBox, loadSecretKey } from "./secret-box.js";

/** Where a provider or backend is defined. File entries (the TOML file and the environment) are read-only. */
export type CatalogSource = "file" | "database" | "discovery";

/** A provider or backend with where it is defined, for listings. */
export interface CatalogEntry<T> {
  readonly config: T;
  readonly source: CatalogSource;
}

/**
 * What discovery contributes, as the catalog needs it (server/discovery implements it). Kept as an interface
 * here so the catalog does not depend on how models are found.
 */
export interface DiscoveredModels {
  /** One provider per discovery server, fixed for the process's life. */
  providers(): readonly ProviderConfig[];
  /**
   * The discovered backends; while discovery has found nothing, the `BACKENDS` fallback instead, with
   * `fallback` true (those count as file backends).
   */
  current(): { readonly backends: readonly BackendConfig[]; readonly fallback: boolean };
  /** Calls `listener` after every change of `current()`; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** Dependencies of {@link createCatalog}. */
export interface CatalogDeps {
  /** The validated configuration: its providers and backends come first and are read-only. */
  file: Config;
  db: Queryable;
  /** Timeouts of the adapters created for database and discovered providers. */
  timeouts: TransportTimeouts;
  discovery?: DiscoveredModels;
  now?: () => number;
  /**
   * How often the database is read again, in ms, so changes made through another replica apply here too;
   * 0 turns it off. Changes made through this process apply at once (the admin service calls `reload`).
   */
  pollMs?: number;
  /** Told about entries that are left out (a name taken twice, a missing provider, a key that does not open). */
  onWarning?: (message: string) => void;
  /** Creates one adapter; tests inject fakes. Defaults to the provider registry. */
  createAdapter?: (config: ProviderConfig, timeouts: TransportTimeouts) => ProviderAdapter;
}

/**
 * The live set of providers and backends: the file's, then the database's, then discovery's. Routing reads the
 * lists on every request, so a change is effective for the next request without a restart.
 */
export interface Catalog {
  /** Every provider by name (file, database, discovery). */
  providers(): ReadonlyMap<string, ProviderConfig>;
  /**
   * One adapter per provider. Always the same Map, updated in place on every change, so consumers that hold a
   * ReadonlyMap (dispatcher, health checker) see new providers without being rebuilt. A replaced or removed
   * adapter is closed; its in-flight requests finish first (undici closes gracefully).
   */
  adapters(): ReadonlyMap<string, ProviderAdapter>;
  /** Backends in routing order: file, database (by position), discovered (or the BACKENDS fallback). */
  backends(): readonly BackendConfig[];
  /** Providers with their source: file first, then database by name, then discovery. */
  providerEntries(): readonly CatalogEntry<ProviderConfig>[];
  /** Backends with their source, in routing order. */
  backendEntries(): readonly CatalogEntry<BackendConfig>[];
  /** Where a provider name is defined (whether or not it is in use); undefined when it is free. */
  providerSource(name: string): CatalogSource | undefined;
  /**
   * Where a backend name is defined; undefined when it is free. Counts the BACKENDS fallback as file even while
   * it is not in use, so the name is not given away.
   */
  backendSource(name: string): CatalogSource | undefined;
  /** Seals a provider key for the `provider.api_key_sealed` column (bound to the provider's name). */
  sealApiKey(provider: string, apiKey: string): string;
  /** Reads the database again and rebuilds the lists and adapters. Reloads run one at a time, in call order. */
  reload(): Promise<void>;
  /** Stops polling and closes every adapter. */
  close(): Promise<void>;
}

/** The mock settings of a database provider of kind mock (the file's defaults). */
const DEFAULT_MOCK: MockSettings = { reply: undefined, latencyMs: 0, chunkChars: 8, chunkDelayMs: 0 };
const DEFAULT_POLL_MS = 15_000;

function defaultAdapter(config: ProviderConfig, timeouts: TransportTimeouts): ProviderAdapter {
  return createProviders(new Map([[config.name, config]]), timeouts).get(config.name)!;
}

function sameProvider(a: ProviderConfig, b: ProviderConfig): boolean {
  return a.kind === b.kind && a.baseUrl === b.baseUrl && a.apiKey === b.apiKey && JSON.stringify(a.mock) === JSON.stringify(b.mock);
}

/** A database backend row as the router sees it. */
function backendFromRow(row: BackendRow): BackendConfig {
  return {
    name: row.name,
    provider: row.provider,
    model: row.model,
    alias: row.alias ?? undefined,
    context: row.context ?? undefined,
    vision: row.vision === 1,
    thinking: row.thinking === 1,
    maxPerDay: row.max_per_day ?? undefined,
    maxPerHour: row.max_per_hour ?? undefined,
    maxPer5Hours: row.max_per_5hours ?? undefined,
    modelMatch: row.model_match,
    keyRename: row.key_rename,
    keyDelete: row.key_delete,
    keyAdd: row.key_add,
    fallbacks: row.fallbacks,
    gptOssFix: row.gpt_oss_fix === 1,
  };
}

/** What one rebuild produced. */
interface Snapshot {
  providers: Map<string, ProviderConfig>;
  providerEntries: CatalogEntry<ProviderConfig>[];
  backends: BackendConfig[];
  backendEntries: CatalogEntry<BackendConfig>[];
  databaseProviders: ReadonlySet<string>;
  databaseBackends: ReadonlySet<string>;
}

/**
 * Creates the catalog and loads it once (the encryption key, the database rows, the adapters). The secret key
 * is `file.secretKey` (`LLMUX_SECRET_KEY`) or one generated once and kept in the database (see loadSecretKey).
 */
export async function createCatalog(deps: CatalogDeps): Promise<Catalog> {
  const { file, db, timeouts, discovery } = deps;
  const now = deps.now ?? Date.now;
  const warn = deps.onWarning ?? (() => {});
  const createAdapter = deps.createAdapter ?? defaultAdapter;
  const box = createSecretBox(await loadSecretKey(db, file.secretKey, now()));

  const adapters = new Map<string, ProviderAdapter>();
  const adapterConfigs = new Map<string, ProviderConfig>();
  const fileBackendNames = new Set([...file.backends, ...file.discovery.fallback].map((b) => b.name));
  const discoveryProviders = new Set((discovery?.providers() ?? []).map((p) => p.name));
  let rows: { providers: ProviderRow[]; backends: BackendRow[] } = { providers: [], backends: [] };
  let snapshot: Snapshot | undefined;
  let warned = new Set<string>();
  // Warnings of the rebuild in progress; only new ones are reported, so polling does not repeat them.
  let warnings: string[] = [];

  function providerFromRow(row: ProviderRow): ProviderConfig {
    let apiKey: string | undefined;
    if (row.api_key_sealed !== null) {
      apiKey = box.open(row.api_key_sealed, row.name);
      if (apiKey === undefined) {
        warnings.push(`provider ${row.name}: its stored key does not open with the current secret key (LLMUX_SECRET_KEY changed?); it is used without a key until the key is set again`);
      }
    }
    return { name: row.name, kind: row.kind, baseUrl: row.base_url, apiKey, mock: row.kind === "mock" ? DEFAULT_MOCK : undefined };
  }

  function rebuild(): void {
    warnings = [];
    const providers = new Map<string, ProviderConfig>();
    const providerEntries: CatalogEntry<ProviderConfig>[] = [];
    const addProvider = (config: ProviderConfig, source: CatalogSource): void => {
      if (providers.has(config.name)) {
        warnings.push(`${source} provider ${config.name} is left out: the name is already defined`);
        return;
      }
      providers.set(config.name, config);
      providerEntries.push({ config, source });
    };
    for (const config of file.providers.values()) addProvider(config, "file");
    for (const row of rows.providers) addProvider(providerFromRow(row), "database");
    for (const config of discovery?.providers() ?? []) addProvider(config, "discovery");

    const backends: BackendConfig[] = [];
    const backendEntries: CatalogEntry<BackendConfig>[] = [];
    const names = new Set<string>();
    const addBackend = (config: BackendConfig, source: CatalogSource): void => {
      if (names.has(config.name)) warnings.push(`${source} backend ${config.name} is left out: the name is already defined`);
      else if (!providers.has(config.provider)) warnings.push(`${source} backend ${config.name} is left out: provider ${config.provider} is not defined`);
      else {
        names.add(config.name);
        backends.push(config);
        backendEntries.push({ config, source });
      }
    };
    for (const config of file.backends) addBackend(config, "file");
    for (const row of rows.backends) addBackend(backendFromRow(row), "database");
    const tail = discovery?.current() ?? { backends: file.discovery.fallback, fallback: true };
    for (const config of tail.backends) addBackend(config, tail.fallback ? "file" : "discovery");

    syncAdapters(providers);
    snapshot = {
      providers,
      providerEntries,
      backends,
      backendEntries,
      databaseProviders: new Set(rows.providers.map((row) => row.name)),
      databaseBackends: new Set(rows.backends.map((row) => row.name)),
    };
    const current = new Set(warnings);
    for (const message of current) if (!warned.has(message)) warn(message);
    warned = current;
  }

  function syncAdapters(providers: ReadonlyMap<string, ProviderConfig>): void {
    const retired: ProviderAdapter[] = [];
    for (const [name, config] of providers) {
      const previous = adapterConfigs.get(name);
      if (previous !== undefined && sameProvider(previous, config)) continue;
      const old = adapters.get(name);
      adapters.set(name, createAdapter(config, timeouts));
      adapterConfigs.set(name, config);
      if (old !== undefined) retired.push(old);
    }
    for (const [name, adapter] of [...adapters]) {
      if (providers.has(name)) continue;
      adapters.delete(name);
      adapterConfigs.delete(name);
      retired.push(adapter);
    }
    for (const adapter of retired) {
      adapter.close().catch((err: unknown) => warn(`closing the adapter of provider ${adapter.name} failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  async function load(): Promise<void> {
    // Backends first: a provider is created before and deleted after its backends, so this order never sees a
    // backend whose provider was not read (except across a concurrent delete, fixed by the next reload).
    const backends = await listBackends(db);
    const providers = await listProviders(db);
    rows = { providers, backends };
    rebuild();
  }

  let chain: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    const next = chain.then(load);
    chain = next.catch(() => {});
    return next;
  };

  await reload();
  const unsubscribe = discovery?.subscribe(() => {
    // Discovery changes need no database read: rebuild from the rows already loaded, in turn with reloads.
    chain = chain.then(rebuild).catch((err: unknown) => warn(`rebuilding the catalog failed: ${err instanceof Error ? err.message : String(err)}`));
  });
  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  const timer =
    pollMs > 0
      ? setInterval(() => {
          reload().catch((err: unknown) => warn(`reading providers and backends failed: ${err instanceof Error ? err.message : String(err)}`));
        }, pollMs)
      : undefined;
  timer?.unref();

  const current = (): Snapshot => snapshot!;
  return {
    providers: () => current().providers,
    adapters: () => adapters,
    backends: () => current().backends,
    providerEntries: () => current().providerEntries,
    backendEntries: () => current().backendEntries,
    providerSource(name) {
      if (file.providers.has(name)) return "file";
      if (current().databaseProviders.has(name)) return "database";
      if (discoveryProviders.has(name)) return "discovery";
      return undefined;
    },
    backendSource(name) {
      if (fileBackendNames.has(name)) return "file";
      if (current().databaseBackends.has(name)) return "database";
      const tail = discovery?.current();
      if (tail !== undefined && !tail.fallback && tail.backends.some((b) => b.name === name)) return "discovery";
      return undefined;
    },
    sealApiKey: (provider, apiKey) => box.seal(apiKey, provider),
    reload,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      unsubscribe?.();
      await chain;
      const closing = [...adapters.values()].map((adapter) => adapter.close());
      adapters.clear();
      adapterConfigs.clear();
      await Promise.all(closing);
    },
  };
}
