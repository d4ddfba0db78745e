import { sql } from "kysely";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../database.js";
import type { NewUsageRow, UsageOutcome } from "../tables/usage-table.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { insertUsage, queryUsage, summarizeUsage, type UsageFilter, type UsageGroupBy, type UsageSummary } from "./usage-repo.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

function row(id: string, at: number, overrides: Partial<NewUsageRow> = {}): NewUsageRow {
  return {
    request_id: id,
    at,
    principal: "alice",
    key_id: null,
    user_id: null,
    client_dialect: "openai",
    model: "gpt-x",
    backend: "b1",
    provider: "openai",
    outcome: "ok",
    status: 200,
    input_tokens: 10,
    output_tokens: 20,
    cache_read_tokens: 0,
    cache_creation_tokens: 0,
    latency_ms: 100,
    ttft_ms: null,
    attempts: 1,
    stream: 0,
    error: null,
    usage_estimated: 0,
    truncated: 0,
    ...overrides,
  };
}

/** The integer columns of `usage`. */
const INTEGER_COLUMNS = [
  "at", "status", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "latency_ms", "ttft_ms", "attempts", "stream",
  "usage_estimated", "truncated",
] as const;

/** SQLite's storage class (`typeof()`) of some columns, per stored row in time order. */
async function sqliteStorageClasses(store: Store, columns: readonly string[]): Promise<Record<string, string>[]> {
  const classes = sql.join(columns.map((column) => sql`typeof(${sql.ref(column)}) as ${sql.ref(column)}`));
  return (await sql<Record<string, string>>`select ${classes} from usage order by at`.execute(store.db)).rows;
}

describe.each(dialects)("usage repo on $name", (dialect) => {
  let store: Store;
  beforeEach(async () => {
    store = await dialect.open();
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("stores every column and reads it back with the same types", async () => {
    const full = row("req-full", T0, {
      principal: null,
      key_id: "key_1",
      user_id: "usr_1",
      client_dialect: "anthropic",
      model: "claude-x",
      backend: "anthropic-main",
      provider: "anthropic",
      outcome: "upstream_error",
      status: 502,
      input_tokens: 1234,
      output_tokens: 56,
      cache_read_tokens: 7,
      cache_creation_tokens: 8,
      latency_ms: 4321,
      ttft_ms: 250,
      attempts: 3,
      stream: 1,
      error: "upstream 500 after 3 attempts",
      usage_estimated: 1,
    });
    expect(await insertUsage(store.db, store.dialect, [full])).toBe(1);
    expect(await queryUsage(store.db, { from: T0, to: T0 + 1 })).toEqual([full]);
  });

  it("round-trips awkward text exactly and keeps integers integers", async () => {
    const awkward = [
      row("quotes'\"`\\;--", T0, { principal: "", model: "null", ttft_ms: 12, error: "line 1\nline 2\r\n\ttab \u0001\u001f\u007f" }),
      row("unicode-Ωμ-日本-🦀-e\u0301", T0 + 1, { client_dialect: "true", ttft_ms: 1, backend: "123", provider: "{\"a\":[1]}", error: "🦀".repeat(1000) }),
      row("escapes", T0 + 2, { model: "\\ud800 \\u0000 $.model ' \\\"", ttft_ms: 99, error: "" }),
      row("limits", Number.MAX_SAFE_INTEGER - 1, {
        status: 0,
        input_tokens: 2_147_483_647,
        output_tokens: 0,
        cache_read_tokens: 1,
        latency_ms: 0,
        ttft_ms: 0,
        attempts: 0,
        stream: 1,
        usage_estimated: 1,
      }),
    ];
    expect(await insertUsage(store.db, store.dialect, awkward)).toBe(4);
    const stored = await queryUsage(store.db, { from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(stored).toEqual(awkward);
    for (const read of stored) {
      for (const column of INTEGER_COLUMNS) expect(Number.isSafeInteger(read[column]), column).toBe(true);
    }
    if (dialect.dialect === "sqlite") {
      const integer = Object.fromEntries(INTEGER_COLUMNS.map((column) => [column, "integer"]));
      expect(await sqliteStorageClasses(store, INTEGER_COLUMNS)).toEqual(awkward.map(() => integer));
    }
  });

  it("stores absent and null optional columns as NULL, and the text 'null' as text", async () => {
    const { principal: _p, key_id: _k, user_id: _u, backend: _b, provider: _pr, ttft_ms: _t, error: _e, ...required } = row("absent", T0);
    const withUndefined: NewUsageRow = { ...row("undefined", T0 + 1), principal: undefined, ttft_ms: undefined, error: undefined };
    expect(await insertUsage(store.db, store.dialect, [required, withUndefined, row("null-text", T0 + 2, { principal: "null", error: "null" })])).toBe(3);
    expect((await queryUsage(store.db, { from: T0, to: T0 + 3 })).map((r) => [r.request_id, r.principal, r.backend, r.ttft_ms, r.error])).toEqual([
      ["absent", null, null, null, null],
      ["undefined", null, "b1", null, null],
      ["null-text", "null", "b1", null, "null"],
    ]);
    if (dialect.dialect === "sqlite") {
      expect(await sqliteStorageClasses(store, ["principal", "ttft_ms", "error", "model"])).toEqual([
        { principal: "null", ttft_ms: "null", error: "null", model: "text" },
        { principal: "null", ttft_ms: "null", error: "null", model: "text" },
        { principal: "text", ttft_ms: "null", error: "text", model: "text" },
      ]);
    }
  });

  it("stores a lone surrogate as U+FFFD, with the rest of the batch", async () => {
    const rows = [
      row("lone", T0, { model: "a\ud800b", error: "x\udfff" }),
      row("after-pair", T0 + 1, { model: "🦀\ud83e" }),
      row("escape-text", T0 + 2, { model: "\\ud800\\\udc00" }),
    ];
    expect(await insertUsage(store.db, store.dialect, rows)).toBe(3);
    expect((await queryUsage(store.db, { from: T0, to: T0 + 3 })).map((r) => [r.model, r.error])).toEqual([
      ["a\ufffdb", "x\ufffd"],
      ["🦀\ufffd", null],
      ["\\ud800\\\ufffd", null],
    ]);
  });

  it("counts only new rows: a request_id repeated within one call is stored once, the first", async () => {
    expect(await insertUsage(store.db, store.dialect, [row("dup", T0, { model: "first" }), row("dup", T0 + 1, { model: "second" }), row("other", T0 + 2)])).toBe(2);
    expect(await insertUsage(store.db, store.dialect, [row("new", T0 + 3), row("dup", T0 + 4), row("new", T0 + 5)])).toBe(1);
    expect((await queryUsage(store.db, { from: 0, to: T0 + 10 })).map((r) => [r.request_id, r.at, r.model])).toEqual([
      ["dup", T0, "first"],
      ["other", T0 + 2, "gpt-x"],
      ["new", T0 + 3, "gpt-x"],
    ]);
  });

  it("stores the estimated flag as 0 or 1, and 0 for a row written without it (as before the column existed)", async () => {
    await insertUsage(store.db, store.dialect, [row("reported", T0), row("estimated", T0 + 1, { usage_estimated: 1 })]);
    const { usage_estimated: _flag, ...older } = row("older", T0 + 2);
    await store.db.insertInto("usage").values(older as NewUsageRow).execute();
    expect((await queryUsage(store.db, { from: T0, to: T0 + 3 })).map((r) => [r.request_id, r.usage_estimated])).toEqual([
      ["reported", 0],
      ["estimated", 1],
      ["older", 0],
    ]);
  });

  it("fails the statement when a required column is missing", async () => {
    const { model: _model, ...withoutModel } = row("no-model", T0);
    await expect(insertUsage(store.db, store.dialect, [row("req-ok", T0), withoutModel as NewUsageRow])).rejects.toThrow(/not[- ]null/i);
    expect(await queryUsage(store.db, { from: 0, to: T0 + 10 })).toEqual([]);
  });

  it.each<UsageOutcome>(["ok", "upstream_error", "client_closed", "timeout", "rate_limited", "rejected", "shutdown_aborted"])(
    "stores outcome %s",
    async (outcome) => {
      await insertUsage(store.db, store.dialect, [row("r", T0, { outcome, backend: null, provider: null })]);
      expect((await queryUsage(store.db, { from: T0, to: T0 + 1 })).map((r) => [r.outcome, r.backend, r.provider])).toEqual([
        [outcome, null, null],
      ]);
    },
  );

  it("is idempotent: a request_id already stored is neither duplicated nor overwritten", async () => {
    expect(await insertUsage(store.db, store.dialect, [row("req-1", T0)])).toBe(1);
    expect(await insertUsage(store.db, store.dialect, [row("req-1", T0 + 5, { model: "other" }), row("req-2", T0 + 1)])).toBe(1);
    expect(await insertUsage(store.db, store.dialect, [row("req-1", T0), row("req-2", T0 + 1)])).toBe(0);
    expect(await queryUsage(store.db, { from: 0, to: T0 + 10 })).toEqual([row("req-1", T0), row("req-2", T0 + 1)]);
  });

  it("refuses an empty request_id and stores nothing of that statement", async () => {
    await expect(insertUsage(store.db, store.dialect, [row("req-ok", T0), row("", T0)])).rejects.toThrow(/check constraint/i);
    expect(await queryUsage(store.db, { from: 0, to: T0 + 10 })).toEqual([]);
  });

  it("does nothing for an empty batch", async () => {
    expect(await insertUsage(store.db, store.dialect, [])).toBe(0);
  });

  it("writes a call larger than one statement takes, in several statements", async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => row(`req-${String(i).padStart(4, "0")}`, T0 + i));
    expect(await insertUsage(store.db, store.dialect, rows)).toBe(2500);
    const stored = await queryUsage(store.db, { from: 0, to: T0 + 2500 });
    expect(stored.map((r) => r.request_id)).toEqual(rows.map((r) => r.request_id));
  });

  it("queries a half-open range, optionally for one backend, ordered by time then id", async () => {
    await insertUsage(store.db, store.dialect, [
      row("d", T0 + 2, { backend: "b2" }),
      row("c", T0 + 1),
      row("b", T0 + 1, { backend: "b2" }),
      row("a", T0 - 1),
      row("e", T0 + 3),
    ]);
    const ids = async (query: { backend?: string }) =>
      (await queryUsage(store.db, { from: T0, to: T0 + 3, ...query })).map((r) => r.request_id);
    expect(await ids({})).toEqual(["b", "c", "d"]);
    expect(await ids({ backend: "b2" })).toEqual(["b", "d"]);
    expect(await ids({ backend: "none" })).toEqual([]);
  });

  describe("summaries", () => {
    beforeEach(async () => {
      await insertUsage(store.db, store.dialect, [
        row("1", T0, { backend: "b1", model: "m1", principal: "alice", key_id: "k1", user_id: "u1", input_tokens: 1, output_tokens: 10 }),
        row("2", T0 + 1, { backend: "b2", model: "m1", principal: "bob", user_id: "u2", input_tokens: 2, output_tokens: 20, usage_estimated: 1 }),
        row("3", T0 + 2, { backend: "b1", model: "m2", principal: null, input_tokens: 4, output_tokens: 40, outcome: "upstream_error", truncated: 1 }),
        row("4", T0 + 3, { backend: null, provider: null, model: "m2", principal: "alice", key_id: "k2", user_id: "u1", input_tokens: 0, output_tokens: 0, outcome: "rejected" }),
        row("outside", T0 + 10, { backend: "b1", model: "m1", principal: "alice", key_id: "k1", user_id: "u1", input_tokens: 1000, output_tokens: 1000 }),
      ]);
    });

    it.each<[UsageGroupBy, UsageSummary[]]>([
      [
        "backend",
        [
          { key: null, requests: 1, inputTokens: 0, outputTokens: 0, errors: 1, estimated: 0, truncated: 0 },
          { key: "b1", requests: 2, inputTokens: 5, outputTokens: 50, errors: 1, estimated: 0, truncated: 1 },
          { key: "b2", requests: 1, inputTokens: 2, outputTokens: 20, errors: 0, estimated: 1, truncated: 0 },
        ],
      ],
      [
        "model",
        [
          { key: "m1", requests: 2, inputTokens: 3, outputTokens: 30, errors: 0, estimated: 1, truncated: 0 },
          { key: "m2", requests: 2, inputTokens: 4, outputTokens: 40, errors: 2, estimated: 0, truncated: 1 },
        ],
      ],
      [
        "principal",
        [
          { key: null, requests: 1, inputTokens: 4, outputTokens: 40, errors: 1, estimated: 0, truncated: 1 },
          { key: "alice", requests: 2, inputTokens: 1, outputTokens: 10, errors: 1, estimated: 0, truncated: 0 },
          { key: "bob", requests: 1, inputTokens: 2, outputTokens: 20, errors: 0, estimated: 1, truncated: 0 },
        ],
      ],
      [
        "key_id",
        [
          { key: null, requests: 2, inputTokens: 6, outputTokens: 60, errors: 1, estimated: 1, truncated: 1 },
          { key: "k1", requests: 1, inputTokens: 1, outputTokens: 10, errors: 0, estimated: 0, truncated: 0 },
          { key: "k2", requests: 1, inputTokens: 0, outputTokens: 0, errors: 1, estimated: 0, truncated: 0 },
        ],
      ],
      [
        "user_id",
        [
          { key: null, requests: 1, inputTokens: 4, outputTokens: 40, errors: 1, estimated: 0, truncated: 1 },
          { key: "u1", requests: 2, inputTokens: 1, outputTokens: 10, errors: 1, estimated: 0, truncated: 0 },
          { key: "u2", requests: 1, inputTokens: 2, outputTokens: 20, errors: 0, estimated: 1, truncated: 0 },
        ],
      ],
    ])("groups by %s", async (groupBy, expected) => {
      expect(await summarizeUsage(store.db, { from: T0, to: T0 + 10, groupBy })).toEqual(expected);
    });

    it.each<[string, UsageFilter, UsageSummary[]]>([
      ["one backend", { backend: "b1" }, [{ key: "m1", requests: 1, inputTokens: 1, outputTokens: 10, errors: 0, estimated: 0, truncated: 0 }, { key: "m2", requests: 1, inputTokens: 4, outputTokens: 40, errors: 1, estimated: 0, truncated: 1 }]],
      ["one key", { keyId: "k2" }, [{ key: "m2", requests: 1, inputTokens: 0, outputTokens: 0, errors: 1, estimated: 0, truncated: 0 }]],
      ["one user", { userId: "u1" }, [{ key: "m1", requests: 1, inputTokens: 1, outputTokens: 10, errors: 0, estimated: 0, truncated: 0 }, { key: "m2", requests: 1, inputTokens: 0, outputTokens: 0, errors: 1, estimated: 0, truncated: 0 }]],
      ["rows without a user, of one principal", { userId: null, principal: "bob" }, []],
      ["rows without a user", { userId: null }, [{ key: "m2", requests: 1, inputTokens: 4, outputTokens: 40, errors: 1, estimated: 0, truncated: 1 }]],
      ["a user and a key that do not go together", { userId: "u2", keyId: "k1" }, []],
    ])("filters to %s", async (_name, filter, expected) => {
      expect(await summarizeUsage(store.db, { from: T0, to: T0 + 10, groupBy: "model", filter })).toEqual(expected);
    });

    it("is empty for a range without rows", async () => {
      expect(await summarizeUsage(store.db, { from: 0, to: T0, groupBy: "model" })).toEqual([]);
    });
  });
});
