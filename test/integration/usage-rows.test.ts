import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import SqliteDatabase from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../server/store/database.js";
import { queryUsage } from "../../server/store/repos/usage-repo.js";
import type { UsageRow } from "../../server/store/tables/usage-table.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream, type RecordedRequest } from "../helpers/mock-upstream.js";

// spec/reliability.md §5.3: every request gets exactly one terminal usage row, whatever its outcome. Each case
// sends its requests to a fresh gateway on its own SQLite file, closes the gateway (which flushes the write-behind
// queue) and reads the file back.

const TOKEN = "usage-rows-token";

const rawJson = (body: unknown): MockReply => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const MESSAGE = { id: "msg_1", type: "message", role: "assistant", model: "m", stop_reason: "end_turn", stop_sequence: null };
const anthropicFrame = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
/** Three pieces of content, 5 + 5 + 6 = 16 characters (4 tokens by the estimate), and no usage. */
const PIECES = ["Once ", "upon ", "a time"];
const OPENAI_PIECES = [{ role: "assistant", content: "" }, ...PIECES.map((content) => ({ content }))].map(
  (delta) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`,
);
/** The same after message_start, which reports the input (13) and a placeholder output (1). */
const ANTHROPIC_PIECES = [
  anthropicFrame({ type: "message_start", message: { ...MESSAGE, content: [], stop_reason: null, usage: { input_tokens: 13, output_tokens: 1 } } }),
  anthropicFrame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  ...PIECES.map((text) => anthropicFrame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
];

let dir: string;
let mock: MockUpstream;
let cleanups: Array<() => Promise<void>> = [];

/** Upstream model → what the mock answers; the model names the fault. */
function reply(req: RecordedRequest): MockReply {
  const body = req.json as { model?: string };
  switch (body.model) {
    case "gpt-up":
      return { type: "openai-chat", content: "four little words", usage: { prompt: 11, completion: 7 } };
    case "claude-up":
      return { type: "anthropic-message", content: [{ type: "text", text: "four little words" }], usage: { input: 13, output: 5 } };
    case "limited-up":
      return { type: "openai-chat", content: "fine", usage: { prompt: 2, completion: 1 } };
    case "broken-up":
      return { type: "error", status: 500 };
    case "slow-up":
      return { type: "openai-chat", content: "too late", delayMs: 5_000 };
    case "nousage-up":
      return rawJson({ id: "c1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "four little words" }, finish_reason: "stop" }] });
    case "absurd-up":
      return rawJson({ ...MESSAGE, content: [{ type: "text", text: "four little words" }], usage: { input_tokens: 1e15, output_tokens: 1.5 } });
    case "reset-up":
      return { type: "sse", events: [...OPENAI_PIECES], end: "reset" };
    case "cut-up":
      return { type: "sse", events: [...ANTHROPIC_PIECES], end: "close" };
    case "cut-after-usage-up":
      return { type: "sse", events: [...ANTHROPIC_PIECES, anthropicFrame({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } })], end: "close" };
    case "dribble-up":
      return { type: "openai-chat", content: "one piece at a time, far too slowly", chunkChars: 1, chunkDelayMs: 200, usage: { prompt: 3, completion: 9 } };
    default:
      return { type: "error", status: 404 };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmux-usage-rows-"));
  mock = await startMockUpstream(reply);
});
afterAll(async () => {
  await mock.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/**
 * One backend per fault. Every backend has `model_match`, so a model no backend is named after and no pattern
 * matches is a 404. `first_byte_timeout` is short for the `slow-up` backend; every other one answers at once.
 */
const CONFIG = () => `
first_byte_timeout = 0.3
max_retries = 0
[provider.oa]
base_url = "${mock.url}/v1"
api_key = "sk-oa"
[provider.an]
kind = "anthropic"
base_url = "${mock.url}"
api_key = "sk-an"
[[backend]]
model = "oa:gpt-up"
alias = "gpt"
model_match = ["gpt-*"]
[[backend]]
model = "an:claude-up"
alias = "claude"
model_match = ["claude-*"]
[[backend]]
model = "oa:broken-up"
alias = "broken"
model_match = ["broken-*"]
[[backend]]
model = "oa:slow-up"
alias = "slow"
model_match = ["slow-*"]
[[backend]]
model = "oa:dribble-up"
alias = "dribble"
model_match = ["dribble-*"]
[[backend]]
model = "oa:nousage-up"
alias = "nousage"
model_match = ["nousage-*"]
[[backend]]
model = "an:absurd-up"
alias = "absurd"
model_match = ["absurd-*"]
[[backend]]
model = "oa:reset-up"
alias = "reset"
model_match = ["reset-*"]
[[backend]]
model = "an:cut-up"
alias = "cut"
model_match = ["cut-*"]
[[backend]]
model = "an:cut-after-usage-up"
alias = "cut-after-usage"
model_match = ["cut-after-usage-*"]
[[backend]]
model = "oa:limited-up"
alias = "limited"
model_match = ["limited-*"]
max_per_hour = 1
[tokens]
tests = "${TOKEN}"
`;

let files = 0;

/** A gateway on a fresh SQLite file; `rows()` closes it (flushing every queued row) and reads the file back. */
async function gateway(): Promise<{ gw: TestGateway; database: string; rows: () => Promise<UsageRow[]> }> {
  const database = path.join(dir, `usage-${++files}.db`);
  const gw = await startGateway(CONFIG(), { database });
  let closed = false;
  cleanups.push(async () => {
    if (!closed) await gw.close();
  });
  return {
    gw,
    database,
    async rows() {
      closed = true;
      await gw.close();
      return readRows(database);
    },
  };
}

async function readRows(database: string): Promise<UsageRow[]> {
  const store = await createDatabase({ sqlitePath: database });
  try {
    return await queryUsage(store.db, { from: 0, to: Number.MAX_SAFE_INTEGER });
  } finally {
    await store.close();
  }
}

function openai(gw: TestGateway, body: unknown, token = TOKEN, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

function anthropic(gw: TestGateway, body: unknown): Promise<Response> {
  return fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": TOKEN, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const hi = [{ role: "user", content: "hi" }];

/** The columns a case asserts; `at`, latencies and ttft vary run to run. */
function essentials(row: UsageRow) {
  return {
    request_id: row.request_id,
    principal: row.principal,
    client_dialect: row.client_dialect,
    model: row.model,
    backend: row.backend,
    provider: row.provider,
    outcome: row.outcome,
    status: row.status,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    attempts: row.attempts,
    stream: row.stream,
    error: row.error === null ? null : "present",
    usage_estimated: row.usage_estimated,
    truncated: row.truncated,
  };
}

type Row = ReturnType<typeof essentials>;

/** A response's request id, after reading its body to the end (so the request has really finished). */
async function finished(res: Response): Promise<string> {
  await res.text();
  const id = res.headers.get("x-request-id");
  expect(id).toMatch(/^req_/);
  return id!;
}

const ok = { principal: "tests", outcome: "ok", status: 200, error: null, usage_estimated: 0, truncated: 0 } as const;
const gptRow = { ...ok, client_dialect: "openai", model: "gpt", backend: "oa:gpt-up", provider: "oa", input_tokens: 11, output_tokens: 7, attempts: 1 } as const;
const claudeRow = { ...ok, client_dialect: "anthropic", model: "claude", backend: "an:claude-up", provider: "an", input_tokens: 13, output_tokens: 5, attempts: 1 } as const;

describe("one usage row per request", () => {
  it.each<{ name: string; send: (gw: TestGateway) => Promise<Response>; status: number; row: Omit<Row, "request_id"> }>([
    {
      name: "ok: OpenAI client, non-streaming",
      send: (gw) => openai(gw, { model: "gpt", messages: hi }),
      status: 200,
      row: { ...gptRow, stream: 0 },
    },
    {
      name: "ok: OpenAI client, streaming",
      send: (gw) => openai(gw, { model: "gpt", messages: hi, stream: true }),
      status: 200,
      row: { ...gptRow, stream: 1 },
    },
    {
      name: "ok: Anthropic client, non-streaming",
      send: (gw) => anthropic(gw, { model: "claude", max_tokens: 50, messages: hi }),
      status: 200,
      row: { ...claudeRow, stream: 0 },
    },
    {
      name: "ok: Anthropic client, streaming",
      send: (gw) => anthropic(gw, { model: "claude", max_tokens: 50, messages: hi, stream: true }),
      status: 200,
      row: { ...claudeRow, stream: 1 },
    },
    {
      name: "upstream_error: 500 from the only backend",
      send: (gw) => openai(gw, { model: "broken", messages: hi }),
      status: 502,
      row: { principal: "tests", client_dialect: "openai", model: "broken", backend: "oa:broken-up", provider: "oa", outcome: "upstream_error", status: 502, input_tokens: 0, output_tokens: 0, attempts: 1, stream: 0, error: "present", usage_estimated: 0, truncated: 0 },
    },
    {
      name: "rejected: 400 for a body without messages",
      send: (gw) => openai(gw, { model: "gpt" }),
      status: 400,
      row: { principal: "tests", client_dialect: "openai", model: "gpt", backend: null, provider: null, outcome: "rejected", status: 400, input_tokens: 0, output_tokens: 0, attempts: 0, stream: 0, error: null, usage_estimated: 0, truncated: 0 },
    },
    {
      name: "rejected: 401 for an unknown token",
      send: (gw) => openai(gw, { model: "gpt", messages: hi }, "not-a-token"),
      status: 401,
      row: { principal: null, client_dialect: "openai", model: "", backend: null, provider: null, outcome: "rejected", status: 401, input_tokens: 0, output_tokens: 0, attempts: 0, stream: 0, error: null, usage_estimated: 0, truncated: 0 },
    },
    {
      name: "rejected: 404 for a model no backend serves or matches",
      send: (gw) => anthropic(gw, { model: "llama-3", max_tokens: 50, messages: hi }),
      status: 404,
      row: { principal: "tests", client_dialect: "anthropic", model: "llama-3", backend: null, provider: null, outcome: "rejected", status: 404, input_tokens: 0, output_tokens: 0, attempts: 0, stream: 0, error: null, usage_estimated: 0, truncated: 0 },
    },
    {
      name: "timeout: the upstream's first byte comes after first_byte_timeout",
      send: (gw) => openai(gw, { model: "slow", messages: hi, stream: true }),
      status: 504,
      row: { principal: "tests", client_dialect: "openai", model: "slow", backend: "oa:slow-up", provider: "oa", outcome: "timeout", status: 504, input_tokens: 0, output_tokens: 0, attempts: 1, stream: 1, error: "present", usage_estimated: 0, truncated: 0 },
    },
  ])("$name", async ({ send, status, row }) => {
    const { gw, rows } = await gateway();
    const res = await send(gw);
    expect(res.status).toBe(status);
    const id = await finished(res);
    expect((await rows()).map(essentials)).toEqual([{ request_id: id, ...row }]);
  });

  it("rate_limited: the second request of a full hourly window gets 429 and its own row", async () => {
    const { gw, rows } = await gateway();
    const first = await openai(gw, { model: "limited", messages: hi });
    expect(first.status).toBe(200);
    const second = await openai(gw, { model: "limited", messages: hi });
    expect(second.status).toBe(429);
    const ids = [await finished(first), await finished(second)];
    const byId = new Map((await rows()).map((r) => [r.request_id, essentials(r)]));
    expect(byId.size).toBe(2);
    const base = { principal: "tests", client_dialect: "openai", model: "limited", provider: "oa", input_tokens: 0, output_tokens: 0, stream: 0, usage_estimated: 0, truncated: 0 } as const;
    expect(byId.get(ids[0]!)).toEqual({ ...base, request_id: ids[0], backend: "oa:limited-up", outcome: "ok", status: 200, input_tokens: 2, output_tokens: 1, attempts: 1, error: null });
    expect(byId.get(ids[1]!)).toEqual({ ...base, request_id: ids[1], backend: null, provider: null, outcome: "rate_limited", status: 429, attempts: 0, error: null });
  });

  /**
   * Starts a `dribble` stream on a connection of its own (node:http, so no pooled client connection is left behind),
   * reads its first bytes, then drops the connection; resolves with the request id once the row is in the file.
   */
  async function abortedStream(gw: TestGateway, database: string): Promise<string> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: "POST", agent: false, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } }, resolve);
      req.once("error", reject);
      req.end(JSON.stringify({ model: "dribble", messages: hi, stream: true }));
    });
    expect(res.statusCode).toBe(200);
    const id = String(res.headers["x-request-id"]);
    await once(res, "data");
    res.destroy();
    // The row is written when the gateway has wound the stream down; wait for it, bounded.
    const file = new SqliteDatabase(database, { readonly: true });
    try {
      const found = file.prepare("SELECT 1 FROM usage WHERE request_id = ?");
      for (let i = 0; i < 100 && found.get(id) === undefined; i++) await sleep(30);
      expect(found.get(id)).toBeDefined();
    } finally {
      file.close();
    }
    return id;
  }

  it("client_closed: a client that aborts mid-stream gets a row naming the backend that was streaming", async () => {
    const { gw, rows, database } = await gateway();
    const id = await abortedStream(gw, database);
    // The status is asserted by the next test.
    expect((await rows()).map(essentials)).toEqual([
      // Usage comes at the end of a stream: the partial one is estimated, "hi" as 1 input token and the first
      // character sent (the next comes 200 ms later, after the client left) as 1 output token.
      { request_id: id, principal: "tests", client_dialect: "openai", model: "dribble", backend: "oa:dribble-up", provider: "oa", outcome: "client_closed", status: expect.any(Number), input_tokens: 1, output_tokens: 1, attempts: 1, stream: 1, error: "present", usage_estimated: 1, truncated: 0 },
    ]);
  });

  it("client_closed: the row's status is 499", async () => {
    const { gw, rows, database } = await gateway();
    await abortedStream(gw, database);
    expect((await rows()).map((r) => r.status)).toEqual([499]);
  });
});

describe("usage the upstream did not report, or not believably (F19, F21, F24)", () => {
  // The input estimate is the request's own: "hi" is 2 characters, 1 token, unless the upstream counted the prompt
  // before answering (Anthropic's message_start: 13). The output estimate is what the client was sent: "four little
  // words" is 17 characters, 5 tokens; the three pieces are 16, 4 tokens. A stream that broke off after it started
  // is flagged truncated.
  const estimated = { principal: "tests", attempts: 1, usage_estimated: 1, truncated: 0 } as const;
  const truncated = { ...estimated, truncated: 1 } as const;
  it.each<{ name: string; send: (gw: TestGateway) => Promise<Response>; row: Omit<Row, "request_id"> }>([
    {
      name: "F24 missing: an OpenAI answer without usage is estimated and flagged",
      send: (gw) => openai(gw, { model: "nousage", messages: hi }),
      row: { ...estimated, client_dialect: "openai", model: "nousage", backend: "oa:nousage-up", provider: "oa", outcome: "ok", status: 200, input_tokens: 1, output_tokens: 5, stream: 0, error: null },
    },
    {
      name: "F24 absurd: an Anthropic answer with 1e15 input and 1.5 output tokens, for an OpenAI client, is estimated and flagged",
      send: (gw) => openai(gw, { model: "absurd", messages: hi }),
      row: { ...estimated, client_dialect: "openai", model: "absurd", backend: "an:absurd-up", provider: "an", outcome: "ok", status: 200, input_tokens: 1, output_tokens: 5, stream: 0, error: null },
    },
    {
      name: "F19: an OpenAI stream reset after three pieces of content gets partial, estimated tokens",
      send: (gw) => openai(gw, { model: "reset", messages: hi, stream: true }),
      row: { ...truncated, client_dialect: "openai", model: "reset", backend: "oa:reset-up", provider: "oa", outcome: "upstream_error", status: 200, input_tokens: 1, output_tokens: 4, stream: 1, error: "present" },
    },
    {
      name: "F19: the same stream for an Anthropic client",
      send: (gw) => anthropic(gw, { model: "reset", max_tokens: 50, messages: hi, stream: true }),
      row: { ...truncated, client_dialect: "anthropic", model: "reset", backend: "oa:reset-up", provider: "oa", outcome: "upstream_error", status: 200, input_tokens: 1, output_tokens: 4, stream: 1, error: "present" },
    },
    {
      name: "F21: an Anthropic stream cut before message_delta: message_start's input is kept, its placeholder output is not believed",
      send: (gw) => anthropic(gw, { model: "cut", max_tokens: 50, messages: hi, stream: true }),
      row: { ...truncated, client_dialect: "anthropic", model: "cut", backend: "an:cut-up", provider: "an", outcome: "upstream_error", status: 200, input_tokens: 13, output_tokens: 4, stream: 1, error: "present" },
    },
    {
      name: "F21: the same stream translated for an OpenAI client",
      send: (gw) => openai(gw, { model: "cut", messages: hi, stream: true }),
      row: { ...truncated, client_dialect: "openai", model: "cut", backend: "an:cut-up", provider: "an", outcome: "upstream_error", status: 200, input_tokens: 13, output_tokens: 4, stream: 1, error: "present" },
    },
    {
      name: "F21: an Anthropic stream cut after message_delta keeps the upstream's usage, through the OpenAI translation too",
      send: (gw) => openai(gw, { model: "cut-after-usage", messages: hi, stream: true }),
      row: { ...truncated, client_dialect: "openai", model: "cut-after-usage", backend: "an:cut-after-usage-up", provider: "an", outcome: "upstream_error", status: 200, input_tokens: 13, output_tokens: 5, stream: 1, error: "present", usage_estimated: 0 },
    },
  ])("$name", async ({ send, row }) => {
    const { gw, rows } = await gateway();
    const res = await send(gw);
    expect(res.status).toBe(200);
    const id = await finished(res);
    expect((await rows()).map(essentials)).toEqual([{ request_id: id, ...row }]);
  });
});
