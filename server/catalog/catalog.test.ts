import { sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { testDialects } from "../../test/helpers/store-dialects.js";
import { parseConfig } from "../config/load.js";
import type { BackendConfig, Config, ProviderConfig } from "../config/types.js";
import type { ProviderAdapter } from "../providers/provider.js";
import type { Store } from "../store/database.js";
import { appendBackend, deleteBackend, setBackendPositions } from "../store/repos/backend-repo.js";
import { deleteProvider, insertProvider, updateProvider } from "../store/repos/provider-repo.js";
import { getSetting } from "../store/repos/setting-repo.js";
import type { NewBackendRow } from "../store/tables/backend-table.js";
import { createCatalog, type Catalog, type CatalogDeps, type DiscoveredModels } from "./catalog.js";
import { SECRET_KEY_SETTING } from "./secret-box.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;
const TIMEOUTS = { connectMs: 1000, headersMs: 1000, idleMs: 1000 };
const SECRET = "sk-canary-7f3e9b1d";

const FILE = `
[provider.file-p]
base_url = "http://file-p:1/v1"
api_key = "file-key"
[[backend]]
model = "file-p:m1"
`;

function config(text = FILE, env: Record<string, string> = {}): Config {
  return parseConfig(text, { source: "llmux.toml", baseDir: "/etc/llmux", env });
}

/** Adapters that record their creation and closing. */
function fakeAdapters() {
  const created: ProviderConfig[] = [];
  const closed: string[] = [];
  const createAdapter = (provider: ProviderConfig): ProviderAdapter => {
    created.push(provider);
    return {
      name: provider.name,
      kind: provider.kind,
      dialect: "openai",
      send: () => Promise.reject(new Error("not used")),
      redact: (text: string) => text,
      probe: async () => true,
      close: async () => void closed.push(provider.name),
    };
  };
  return { created, closed, createAdapter };
}

/** A discovery whose state the test sets. */
function fakeDiscovery(providers: ProviderConfig[], fallback: BackendConfig[]) {
  const listeners = new Set<() => void>();
  let current: { backends: BackendConfig[]; fallback: boolean } = { backends: fallback, fallback: true };
  const discovery: DiscoveredModels = {
    providers: () => providers,
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    discovery,
    set(backends: BackendConfig[]) {
      current = backends.length > 0 ? { backends, fallback: false } : { backends: fallback, fallback: true };
      for (const listener of listeners) listener();
    },
  };
}

function backendRow(name: string, provider: string, overrides: Partial<NewBackendRow> = {}): NewBackendRow {
  return {
    name,
    provider,
    model: name,
    alias: null,
    context: null,
    vision: 0,
    thinking: 0,
    max_per_day: null,
    max_per_hour: null,
    max_per_5hours: null,
    model_match: [],
    key_rename: {},
    key_delete: [],
    key_add: {},
    fallbacks: [],
    gpt_oss_fix: 0,
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

function discoveredBackend(provider: string, model: string, context?: number): BackendConfig {
  return {
    name: `${provider}:${model}`,
    provider,
    model,
    alias: undefined,
    context,
    vision: false,
    thinking: false,
    maxPerDay: undefined,
    maxPerHour: undefined,
    maxPer5Hours: undefined,
    modelMatch: [model],
    keyRename: {},
    keyDelete: [],
    keyAdd: {},
    fallbacks: [],
    gptOssFix: false,
  };
}

describe.each(dialects)("catalog on $name", (dialect) => {
  let store: Store;
  const open: Catalog[] = [];
  async function catalog(deps: Partial<CatalogDeps> = {}): Promise<Catalog> {
    const created = await createCatalog({ file: config(), db: store.db, timeouts: TIMEOUTS, pollMs: 0, now: () => T0, ...deps });
    open.push(created);
    return created;
  }
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores provider keys sealed: the raw row never holds the key, the catalog opens it", async () => {
    const adapters = fakeAdapters();
    const cat = await catalog({ createAdapter: adapters.createAdapter });
    await insertProvider(store.db, { name: "db-p", kind: "openai", base_url: "http://db-p:2/v1", api_key_sealed: cat.sealApiKey("db-p", SECRET), created_at: T0, updated_at: T0 });
    await cat.reload();

    const raw = await sql<Record<string, unknown>>`select * from provider`.execute(store.db);
    expect(raw.rows.length).toBe(1);
    expect(JSON.stringify(raw.rows)).not.toContain(SECRET);
    expect(String(raw.rows[0]!["api_key_sealed"])).toMatch(/^v1\./);
    expect(cat.providers().get("db-p")).toEqual({ name: "db-p", kind: "openai", baseUrl: "http://db-p:2/v1", apiKey: SECRET, mock: undefined });
    expect(adapters.created.find((p) => p.name === "db-p")?.apiKey).toBe(SECRET);
    // The generated key is in the settings table, and a second catalog (another replica) opens the same rows.
    expect(await getSetting(store.db, SECRET_KEY_SETTING)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const replica = await catalog();
    expect(replica.providers().get("db-p")?.apiKey).toBe(SECRET);
  });

  it("with LLMUX_SECRET_KEY stores no key, and reports (once) a value sealed under another key", async () => {
    const generated = await catalog();
    await insertProvider(store.db, { name: "db-p", kind: "openai", base_url: "http://db-p:2/v1", api_key_sealed: generated.sealApiKey("db-p", SECRET), created_at: T0, updated_at: T0 });
    const onWarning = vi.fn();
    const keyed = await catalog({ file: config(FILE, { LLMUX_SECRET_KEY: "ab".repeat(32) }), onWarning });
    expect(keyed.providers().get("db-p")?.apiKey).toBeUndefined();
    await keyed.reload();
    expect(onWarning.mock.calls).toEqual([
      ["provider db-p: its stored key does not open with the current secret key (LLMUX_SECRET_KEY changed?); it is used without a key until the key is set again"],
    ]);
    expect(JSON.stringify(onWarning.mock.calls)).not.toContain(SECRET);
  });

  it("orders file, then database by position, then discovered backends, with their sources", async () => {
    const discovery = fakeDiscovery([{ name: "vllm-h-8000", kind: "openai", baseUrl: "http://h:8000/v1", apiKey: undefined, mock: undefined }], []);
    await insertProvider(store.db, { name: "db-p", kind: "mock", base_url: "", api_key_sealed: null, created_at: T0, updated_at: T0 });
    await appendBackend(store.db, backendRow("db-2", "db-p"));
    await appendBackend(store.db, backendRow("db-1", "file-p", { context: 8192, model_match: ["a*"] }));
    await setBackendPositions(store.db, ["db-1", "db-2"], T0);
    const cat = await catalog({ discovery: discovery.discovery });
    discovery.set([discoveredBackend("vllm-h-8000", "qwen", 32768)]);
    await cat.reload();

    expect(cat.backendEntries().map((e) => [e.config.name, e.source])).toEqual([
      ["file-p:m1", "file"],
      ["db-1", "database"],
      ["db-2", "database"],
      ["vllm-h-8000:qwen", "discovery"],
    ]);
    expect(cat.backends().map((b) => b.name)).toEqual(["file-p:m1", "db-1", "db-2", "vllm-h-8000:qwen"]);
    expect(cat.backends()[1]).toEqual({ ...discoveredBackend("file-p", "db-1"), name: "db-1", context: 8192, modelMatch: ["a*"] });
    expect(cat.providerEntries().map((e) => [e.config.name, e.source])).toEqual([
      ["file-p", "file"],
      ["db-p", "database"],
      ["vllm-h-8000", "discovery"],
    ]);
    expect(cat.providers().get("db-p")?.mock).toEqual({ reply: undefined, latencyMs: 0, chunkChars: 8, chunkDelayMs: 0 });
    expect([cat.providerSource("file-p"), cat.providerSource("db-p"), cat.providerSource("vllm-h-8000"), cat.providerSource("x")]).toEqual([
      "file",
      "database",
      "discovery",
      undefined,
    ]);
    expect([cat.backendSource("file-p:m1"), cat.backendSource("db-1"), cat.backendSource("vllm-h-8000:qwen"), cat.backendSource("x")]).toEqual([
      "file",
      "database",
      "discovery",
      undefined,
    ]);
  });

  it("applies discovery changes at once, and serves the BACKENDS fallback while nothing is discovered", async () => {
    const file = config(FILE, { VLLM_SERVERS: "h:8000", BACKENDS: "fb:h2:9000" });
    const vllm: ProviderConfig = { name: "vllm-h-8000", kind: "openai", baseUrl: "http://h:8000/v1", apiKey: undefined, mock: undefined };
    const discovery = fakeDiscovery([vllm], file.discovery.fallback);
    const cat = await catalog({ file, discovery: discovery.discovery });
    expect(cat.backendEntries().map((e) => [e.config.name, e.source])).toEqual([["file-p:m1", "file"], ["env-fb:fb", "file"]]);
    // The fallback's name stays reserved while discovered models are served.
    discovery.set([discoveredBackend("vllm-h-8000", "qwen")]);
    await vi.waitFor(() => expect(cat.backends().map((b) => b.name)).toEqual(["file-p:m1", "vllm-h-8000:qwen"]));
    expect(cat.backendSource("env-fb:fb")).toBe("file");
    discovery.set([]);
    await vi.waitFor(() => expect(cat.backends().map((b) => b.name)).toEqual(["file-p:m1", "env-fb:fb"]));
  });

  it("serves the BACKENDS fallback as file backends when no discovery is wired", async () => {
    const cat = await catalog({ file: config(FILE, { VLLM_SERVERS: "h:8000", BACKENDS: "fb:h2:9000" }) });
    expect(cat.backendEntries().map((e) => [e.config.name, e.source])).toEqual([["file-p:m1", "file"], ["env-fb:fb", "file"]]);
  });

  it("keeps one adapters Map, creating, replacing and closing adapters as providers change", async () => {
    const adapters = fakeAdapters();
    const cat = await catalog({ createAdapter: adapters.createAdapter });
    const map = cat.adapters();
    expect([...map.keys()]).toEqual(["file-p"]);

    await insertProvider(store.db, { name: "db-p", kind: "openai", base_url: "http://a:1/v1", api_key_sealed: null, created_at: T0, updated_at: T0 });
    await cat.reload();
    expect(cat.adapters()).toBe(map);
    expect([...map.keys()]).toEqual(["file-p", "db-p"]);
    const first = map.get("db-p");

    // Unchanged providers keep their adapter across reloads.
    await cat.reload();
    expect(map.get("db-p")).toBe(first);
    expect(adapters.created.map((p) => p.name)).toEqual(["file-p", "db-p"]);

    await updateProvider(store.db, "db-p", { base_url: "http://b:1/v1", updated_at: T0 + 1 });
    await cat.reload();
    expect(map.get("db-p")).not.toBe(first);
    expect(map.get("db-p")).toBeDefined();
    expect(adapters.closed).toEqual(["db-p"]);

    await deleteProvider(store.db, "db-p");
    await cat.reload();
    expect([...map.keys()]).toEqual(["file-p"]);
    expect(adapters.closed).toEqual(["db-p", "db-p"]);

    await cat.close();
    expect(adapters.closed).toEqual(["db-p", "db-p", "file-p"]);
    expect(map.size).toBe(0);
  });

  it("leaves out database entries whose name is taken or whose provider is missing, warning once", async () => {
    await insertProvider(store.db, { name: "file-p", kind: "openai", base_url: "http://shadow:1/v1", api_key_sealed: null, created_at: T0, updated_at: T0 });
    await appendBackend(store.db, backendRow("file-p:m1", "file-p"));
    await appendBackend(store.db, backendRow("orphan", "gone"));
    const onWarning = vi.fn();
    const cat = await catalog({ onWarning });
    await cat.reload();
    expect(cat.providers().get("file-p")?.baseUrl).toBe("http://file-p:1/v1");
    expect(cat.backends().map((b) => b.name)).toEqual(["file-p:m1"]);
    expect(onWarning.mock.calls).toEqual([
      ["database provider file-p is left out: the name is already defined"],
      ["database backend file-p:m1 is left out: the name is already defined"],
      ["database backend orphan is left out: provider gone is not defined"],
    ]);
    await deleteBackend(store.db, "orphan");
    await cat.reload();
    expect(onWarning).toHaveBeenCalledTimes(3);
  });

  it("polls the database, so a change made through another replica applies here", async () => {
    const here = await catalog({ pollMs: 20 });
    const there = await catalog();
    await insertProvider(store.db, { name: "db-p", kind: "mock", base_url: "", api_key_sealed: null, created_at: T0, updated_at: T0 });
    await appendBackend(store.db, backendRow("new", "db-p"));
    await there.reload();
    expect(there.backends().map((b) => b.name)).toEqual(["file-p:m1", "new"]);
    await vi.waitFor(() => expect(here.backends().map((b) => b.name)).toEqual(["file-p:m1", "new"]));
  });
});
