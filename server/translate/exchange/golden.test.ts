/**
 * Golden end-to-end fixtures for the four translation routes, without sockets: each folder under
 * `testdata/<route>/<case>/` is one request's round trip through an Exchange, exactly as the dispatcher
 * (server/route/dispatch.ts) drives it.
 *
 * Files of a case:
 * - `client-request.json`: the client's body, validated as the facade does.
 * - `upstream-request.json`: the expected `upstreamBody(backend)` (key order included).
 * - `upstream-response.json` | `.sse` | `.txt`: the upstream's raw bytes; `upstream-status.txt` gives a non-2xx
 *   status (default 200), which goes through `upstreamError`.
 * - `client-response.json` | `.sse`: the expected client bytes. A `.json` identical to `upstream-response.json`
 *   means "passed through byte for byte"; otherwise the body must be the compact serialization of the file.
 * - `client-error.json`: instead of a client response, the HTTP error the client gets (reason, status, body).
 * - `usage.json`: the upstream's final, trusted usage (canonical counters), `null` when it sent none before the
 *   stream broke (the gateway then records an estimate).
 * - `backend.json` (optional): overrides of the backend (model, keyRename, keyDelete, keyAdd, gptOssFix).
 *
 * SSE bodies are replayed whole, one byte at a time, and split in two at every byte offset; every replay must give
 * the same client output, with no U+FFFD. Every client SSE file is also checked against the event rules the SDKs
 * and Claude Code rely on (spec/translation.md §10).
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BackendConfig } from "../../config/types.js";
import { backendConfig } from "../../../test/helpers/backend-config.js";
import { renderAnthropicError, renderOpenAIError } from "../../errors/dialect-body.js";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import { createSseParser, type SseEvent } from "../../lib/sse.js";
import type { Usage } from "../canonical.js";
import { validateAnthropicRequest } from "../anthropic/validate.js";
import { validateOpenAIRequest } from "../openai/validate.js";
import { createAnthropicPassthrough } from "./anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "./anthropic-to-openai.js";
import type { Dialect, Exchange, ExchangeContext } from "./exchange.js";
import { createOpenAIToAnthropic } from "./openai-to-anthropic.js";
import { createOpenAIPassthrough } from "./openai-to-openai.js";

type Route = "openai-to-openai" | "anthropic-to-anthropic" | "anthropic-to-openai" | "openai-to-anthropic";

const ROUTES: Readonly<Record<Route, { client: Dialect; create: (body: unknown) => Exchange }>> = {
  "openai-to-openai": { client: "openai", create: (body) => createOpenAIPassthrough(() => validateOpenAIRequest(body)) },
  "anthropic-to-anthropic": { client: "anthropic", create: (body) => createAnthropicPassthrough(() => validateAnthropicRequest(body)) },
  "anthropic-to-openai": { client: "anthropic", create: (body) => createAnthropicToOpenAI(() => validateAnthropicRequest(body), ANTHROPIC_CONTEXT) },
  "openai-to-anthropic": { client: "openai", create: (body) => createOpenAIToAnthropic(() => validateOpenAIRequest(body), OPENAI_CONTEXT) },
};

/** Fixed per-request facts, so that ids and timestamps in the output are deterministic. */
const ANTHROPIC_CONTEXT: ExchangeContext = { id: "msg_golden01", created: 1767225600 };
const OPENAI_CONTEXT: ExchangeContext = { id: "chatcmpl-golden01", created: 1767225600 };

const BASE_BACKEND: Readonly<BackendConfig> = backendConfig({ name: "golden", provider: "upstream", model: "upstream-model", vision: true, thinking: true });
const BACKEND_OVERRIDES = new Set(["model", "keyRename", "keyDelete", "keyAdd", "gptOssFix"]);

const FILES = new Set([
  "client-request.json",
  "upstream-request.json",
  "upstream-response.json",
  "upstream-response.sse",
  "upstream-response.txt",
  "upstream-status.txt",
  "client-response.json",
  "client-response.sse",
  "client-error.json",
  "usage.json",
  "backend.json",
]);

interface Case {
  id: string;
  route: Route;
  dir: URL;
  files: Set<string>;
}

function text(c: Case, file: string): string {
  return readFileSync(new URL(file, c.dir), "utf8");
}

function json(c: Case, file: string): unknown {
  return JSON.parse(text(c, file));
}

const root = new URL("./testdata/", import.meta.url);
const cases: Case[] = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((routeDir) =>
    readdirSync(new URL(`${routeDir.name}/`, root)).map((name) => {
      const dir = new URL(`${routeDir.name}/${name}/`, root);
      return { id: `${routeDir.name}/${name}`, route: routeDir.name as Route, dir, files: new Set(readdirSync(dir)) };
    }),
  )
  .sort((a, b) => a.id.localeCompare(b.id));

function backendFor(c: Case): BackendConfig {
  if (!c.files.has("backend.json")) return { ...BASE_BACKEND };
  return { ...BASE_BACKEND, ...(json(c, "backend.json") as Partial<BackendConfig>) };
}

/** What the client ends up with for one upstream answer. */
type Outcome =
  | { kind: "json"; body: string; usage: Usage | null }
  | { kind: "sse"; text: string; usage: Usage | null }
  | { kind: "error"; reason: string; status: number; body: unknown; upstreamStatus?: number; upstreamType?: string };

function errorOutcome(err: unknown, client: Dialect): Outcome {
  if (!(err instanceof LlmuxError)) throw err;
  const rendered = client === "openai" ? renderOpenAIError(err) : renderAnthropicError(err);
  return {
    kind: "error",
    reason: Reason[err.reason],
    status: rendered.status,
    body: rendered.body,
    ...(err.upstreamStatus !== undefined && { upstreamStatus: err.upstreamStatus }),
    ...(err.upstreamType !== undefined && { upstreamType: err.upstreamType }),
  };
}

/**
 * Replays an upstream SSE body, cut into `chunks`, through the parser and a fresh stream translator, as the
 * dispatcher does when every event arrives in a network read of its own: an error before any client output becomes
 * an HTTP error; after it, the translator's error frame ends the stream. (The dispatcher commits at the first
 * non-empty output of a read, so an error in the same read as the first events is an HTTP error there.)
 */
function replayStream(exchange: Exchange, backend: BackendConfig, client: Dialect, chunks: Uint8Array[]): Outcome {
  const parser = createSseParser();
  const translator = exchange.stream(backend);
  let out = "";
  const push = (events: SseEvent[]) => {
    for (const event of events) out += translator.push(event);
  };
  try {
    for (const chunk of chunks) push(parser.push(chunk));
    push(parser.end());
    out += translator.end();
  } catch (err) {
    if (out === "") return errorOutcome(err, client);
    if (!(err instanceof LlmuxError)) throw err;
    out += translator.error(err);
  }
  return { kind: "sse", text: out, usage: translator.usage() ?? null };
}

/** A case's inputs, read once: the split test replays a stream thousands of times. */
interface Inputs {
  clientRequest: string;
  backend: BackendConfig;
  status: number;
  stream: boolean;
  bytes: Uint8Array;
  bodyText: string;
}

const inputs = new Map<Case, Inputs>();

function inputsOf(c: Case): Inputs {
  let found = inputs.get(c);
  if (found === undefined) {
    const responseFile = ["upstream-response.json", "upstream-response.sse", "upstream-response.txt"].find((f) => c.files.has(f))!;
    const bytes = new Uint8Array(readFileSync(new URL(responseFile, c.dir)));
    found = {
      clientRequest: text(c, "client-request.json"),
      backend: backendFor(c),
      status: c.files.has("upstream-status.txt") ? Number(text(c, "upstream-status.txt").trim()) : 200,
      stream: responseFile.endsWith(".sse"),
      bytes,
      bodyText: new TextDecoder().decode(bytes),
    };
    inputs.set(c, found);
  }
  return found;
}

/**
 * One request of the case, end to end. The returned function replays the upstream answer, cut by `chunks` (whole by
 * default), through a fresh stream translator each time, as the dispatcher does on each attempt.
 */
function requestOf(c: Case): (chunks?: (bytes: Uint8Array) => Uint8Array[]) => Outcome {
  const { client, create } = ROUTES[c.route];
  const { clientRequest, backend, status, stream, bytes, bodyText } = inputsOf(c);
  const exchange = create(JSON.parse(clientRequest));
  exchange.upstreamBody(backend);
  return (chunks = (whole) => [whole]) => {
    if (status < 200 || status >= 300) return errorOutcome(exchange.upstreamError(status, bodyText), client);
    if (stream) return replayStream(exchange, backend, client, chunks(bytes));
    try {
      const { body, usage } = exchange.response(bodyText, JSON.parse(bodyText), backend);
      return { kind: "json", body, usage: usage ?? null };
    } catch (err) {
      return errorOutcome(err, client);
    }
  };
}

function expectedOutcome(c: Case): Outcome {
  if (c.files.has("client-error.json")) return { kind: "error", ...(json(c, "client-error.json") as object) } as Outcome;
  const usage = json(c, "usage.json") as Usage | null;
  if (c.files.has("client-response.sse")) return { kind: "sse", text: text(c, "client-response.sse"), usage };
  const expected = text(c, "client-response.json");
  const verbatim = c.files.has("upstream-response.json") && expected === text(c, "upstream-response.json");
  return { kind: "json", body: verbatim ? expected : JSON.stringify(JSON.parse(expected)), usage };
}

// ---------------------------------------------------------------------------------------------------------------
// Client stream rules (spec/translation.md §10). Each returns the violations found; [] means the stream is valid.
// ---------------------------------------------------------------------------------------------------------------

function parseSse(body: string): SseEvent[] {
  const parser = createSseParser();
  return [...parser.push(new TextEncoder().encode(body)), ...parser.end()];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Delta types each Anthropic block kind may receive. */
const ANTHROPIC_DELTAS: Readonly<Record<string, readonly string[]>> = {
  text: ["text_delta", "citations_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  redacted_thinking: [],
  tool_use: ["input_json_delta"],
  server_tool_use: ["input_json_delta"],
};

/**
 * The Anthropic stream rules: message_start first; `event:` equals `data.type`; block indexes 0, 1, 2… in order;
 * one block open at a time; deltas only for the open block and of its kind; tool_use blocks start with `input:{}`;
 * a thinking block ends with exactly one signature_delta; every block stopped; message_delta carries usage with
 * `output_tokens`; message_stop last. A failed stream ends with an error event instead, possibly with a block open
 * (blocks are never closed for show: the client must not take a cut answer for a complete one).
 */
function anthropicStreamViolations(body: string): string[] {
  const problems: string[] = [];
  const events = parseSse(body);
  let nextIndex = 0;
  let open: { index: number; kind: string; signatures: number; afterSignature: boolean } | undefined;
  let sawDelta = false;
  let ended = false;
  events.forEach((event, i) => {
    const at = `event ${i}`;
    if (ended) problems.push(`${at}: after the final event`);
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      problems.push(`${at}: data is not JSON`);
      return;
    }
    if (!isObject(data)) return void problems.push(`${at}: data is not an object`);
    const type = data.type;
    if (event.event !== type) problems.push(`${at}: event ${String(event.event)} but data.type ${String(type)}`);
    if (i === 0 && type !== "message_start") problems.push(`${at}: the first event is ${String(type)}, not message_start`);
    switch (type) {
      case "message_start":
        if (i !== 0) problems.push(`${at}: message_start again`);
        break;
      case "ping":
        break;
      case "content_block_start": {
        const block = data.content_block;
        if (open !== undefined) problems.push(`${at}: block ${String(data.index)} starts while ${open.index} is open`);
        if (data.index !== nextIndex) problems.push(`${at}: block index ${String(data.index)}, expected ${nextIndex}`);
        if (!isObject(block) || typeof block.type !== "string") return void problems.push(`${at}: content_block without a type`);
        if (block.type === "tool_use" && JSON.stringify(block.input) !== "{}") problems.push(`${at}: tool_use starts with input ${JSON.stringify(block.input)}`);
        nextIndex = (typeof data.index === "number" ? data.index : nextIndex) + 1;
        open = { index: data.index as number, kind: block.type, signatures: 0, afterSignature: false };
        break;
      }
      case "content_block_delta": {
        const delta = data.delta;
        const deltaType = isObject(delta) ? String(delta.type) : "none";
        if (open === undefined || data.index !== open.index) return void problems.push(`${at}: delta for block ${String(data.index)}, which is not open`);
        if (!(ANTHROPIC_DELTAS[open.kind] ?? []).includes(deltaType)) problems.push(`${at}: ${deltaType} in a ${open.kind} block`);
        if (open.afterSignature) problems.push(`${at}: ${deltaType} after the signature_delta`);
        if (deltaType === "signature_delta") {
          open.signatures++;
          open.afterSignature = true;
        }
        break;
      }
      case "content_block_stop":
        if (open === undefined || data.index !== open.index) return void problems.push(`${at}: stop for block ${String(data.index)}, which is not open`);
        if (open.kind === "thinking" && open.signatures !== 1) problems.push(`${at}: thinking block ${open.index} has ${open.signatures} signature_delta`);
        open = undefined;
        break;
      case "message_delta":
        if (open !== undefined) problems.push(`${at}: message_delta while block ${open.index} is open`);
        if (!isObject(data.usage) || typeof data.usage.output_tokens !== "number") problems.push(`${at}: message_delta without usage.output_tokens`);
        if (!isObject(data.delta) || typeof data.delta.stop_reason !== "string") problems.push(`${at}: message_delta without a stop_reason`);
        sawDelta = true;
        break;
      case "message_stop":
        if (!sawDelta) problems.push(`${at}: message_stop before message_delta`);
        ended = true;
        break;
      case "error":
        if (!isObject(data.error) || typeof data.error.type !== "string" || typeof data.error.message !== "string") {
          problems.push(`${at}: error without error.type and error.message`);
        }
        ended = true;
        break;
      default:
        problems.push(`${at}: unknown event type ${String(type)}`);
    }
  });
  if (!ended) problems.push("the stream ends without message_stop or error");
  return problems;
}

/**
 * The OpenAI stream rules: only `data:` events; one id for every chunk; role on the first delta; each tool call's
 * first delta carries index, id, type "function", name and arguments ""; tool call indexes 0, 1, 2… in order; a
 * finish_reason; `[DONE]` last, unless an error (all four keys) ended the stream.
 */
function openaiStreamViolations(body: string): string[] {
  const problems: string[] = [];
  const events = parseSse(body);
  let id: unknown;
  let sawDelta = false;
  let sawFinish = false;
  let ended = false;
  const toolCalls = new Set<number>();
  events.forEach((event, i) => {
    const at = `event ${i}`;
    if (ended) problems.push(`${at}: after the final event`);
    if (event.event !== undefined) problems.push(`${at}: has event name ${event.event}`);
    if (event.data === "[DONE]") {
      ended = true;
      if (!sawFinish) problems.push(`${at}: [DONE] without a finish_reason`);
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      return void problems.push(`${at}: data is not JSON`);
    }
    if (!isObject(chunk)) return void problems.push(`${at}: data is not an object`);
    if (chunk.error !== undefined) {
      const error = chunk.error;
      if (!isObject(error) || JSON.stringify(Object.keys(error).sort()) !== '["code","message","param","type"]' || typeof error.message !== "string") {
        problems.push(`${at}: error without exactly message, type, param and code`);
      }
      ended = true;
      return;
    }
    if (chunk.object !== "chat.completion.chunk") problems.push(`${at}: object is ${String(chunk.object)}`);
    if (id === undefined) id = chunk.id;
    else if (chunk.id !== id) problems.push(`${at}: id ${String(chunk.id)} differs from ${String(id)}`);
    if (!Array.isArray(chunk.choices)) return void problems.push(`${at}: no choices array`);
    for (const choice of chunk.choices as unknown[]) {
      if (!isObject(choice) || !isObject(choice.delta)) {
        problems.push(`${at}: choice without a delta`);
        continue;
      }
      const delta = choice.delta;
      if (!sawDelta && delta.role !== "assistant") problems.push(`${at}: the first delta has no role "assistant"`);
      sawDelta = true;
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) sawFinish = true;
      for (const call of Array.isArray(delta.tool_calls) ? (delta.tool_calls as unknown[]) : []) {
        if (!isObject(call) || typeof call.index !== "number") {
          problems.push(`${at}: tool call delta without an index`);
          continue;
        }
        if (toolCalls.has(call.index)) continue;
        if (call.index !== toolCalls.size) problems.push(`${at}: tool call index ${call.index}, expected ${toolCalls.size}`);
        toolCalls.add(call.index);
        const fn = call.function;
        const named = isObject(fn) && typeof fn.name === "string" && fn.name !== "" && fn.arguments === "";
        const complete = typeof call.id === "string" && call.id !== "" && call.type === "function" && named;
        if (!complete) problems.push(`${at}: the first delta of tool call ${call.index} lacks id, type, name or arguments ""`);
      }
    }
  });
  if (!ended) problems.push("the stream ends without [DONE] or an error");
  if (!sawDelta) problems.push("the stream has no delta");
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------

describe("golden exchange fixtures", () => {
  it("cover every route", () => {
    expect(new Set(cases.map((c) => c.route))).toEqual(new Set(Object.keys(ROUTES)));
  });

  describe.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    it("has a complete, known set of files", () => {
      expect(Object.keys(ROUTES)).toContain(c.route);
      const unknown = [...c.files].filter((f) => !FILES.has(f));
      expect(unknown).toEqual([]);
      const count = (names: string[]) => names.filter((f) => c.files.has(f)).length;
      expect(count(["client-request.json"])).toBe(1);
      expect(count(["upstream-request.json"])).toBe(1);
      expect(count(["upstream-response.json", "upstream-response.sse", "upstream-response.txt"])).toBe(1);
      expect(count(["client-response.json", "client-response.sse", "client-error.json"])).toBe(1);
      expect(c.files.has("usage.json")).toBe(!c.files.has("client-error.json"));
      const overrides = c.files.has("backend.json") ? Object.keys(json(c, "backend.json") as object) : [];
      expect(overrides.filter((key) => !BACKEND_OVERRIDES.has(key))).toEqual([]);
    });

    it("validates the client request and encodes the upstream request", () => {
      const clientBody: unknown = json(c, "client-request.json");
      const exchange = ROUTES[c.route].create(clientBody);
      const body = exchange.upstreamBody(backendFor(c));
      const expected = json(c, "upstream-request.json");
      expect(body).toEqual(expected);
      // Key order too: the adapter serializes this object as is.
      expect(JSON.stringify(body)).toBe(JSON.stringify(expected));
      // Encoding again (failover does) gives the same body, and the client's request is left as it was.
      expect(JSON.stringify(exchange.upstreamBody(backendFor(c)))).toBe(JSON.stringify(expected));
      expect(JSON.stringify(clientBody)).toBe(JSON.stringify(json(c, "client-request.json")));
    });

    it("gives the client the expected answer", () => {
      const got = requestOf(c)();
      expect(got).toEqual(expectedOutcome(c));
      expect(JSON.stringify(got)).not.toContain("\uFFFD");
    });

    if (c.files.has("upstream-response.sse") && !c.files.has("upstream-status.txt")) {
      it("gives the same answer byte by byte and split at every offset", () => {
        const replay = requestOf(c);
        const whole = JSON.stringify(replay());
        expect(JSON.stringify(replay((bytes) => Array.from(bytes, (b) => Uint8Array.of(b))))).toBe(whole);
        const size = inputsOf(c).bytes.length;
        for (let i = 1; i < size; i++) {
          const split = replay((bytes) => [bytes.subarray(0, i), bytes.subarray(i)]);
          if (JSON.stringify(split) !== whole) expect(split, `split at byte ${i}`).toEqual(JSON.parse(whole));
        }
      });
    }

    if (c.files.has("client-response.sse")) {
      it("sends a client stream that follows the dialect's rules", () => {
        const body = text(c, "client-response.sse");
        const check = ROUTES[c.route].client === "anthropic" ? anthropicStreamViolations : openaiStreamViolations;
        expect(check(body)).toEqual([]);
      });
    }
  });

  it("has the multi-byte UTF-8 streams the split test needs", () => {
    const multiByte = cases.filter((c) => c.files.has("upstream-response.sse") && /[^\u0000-\u07ff]/u.test(text(c, "upstream-response.sse")));
    expect(new Set(multiByte.map((c) => c.route))).toEqual(new Set(Object.keys(ROUTES)));
  });
});

const frame = (type: string, data: Record<string, unknown>, name: string = type) => `event: ${name}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const START = frame("message_start", { message: { id: "msg_1", content: [] } });
const DELTA = frame("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1 } });
const STOP = frame("message_stop", {});
const textBlock = (index: number) =>
  frame("content_block_start", { index, content_block: { type: "text", text: "" } }) +
  frame("content_block_delta", { index, delta: { type: "text_delta", text: "a" } }) +
  frame("content_block_stop", { index });

describe("anthropicStreamViolations", () => {
  it.each([
    ["a valid stream", START + textBlock(0) + textBlock(1) + DELTA + STOP, []],
    ["an error ending the stream", START + frame("error", { error: { type: "api_error", message: "x" } }), []],
    ["no message_start", textBlock(0) + DELTA + STOP, ["event 0: the first event is content_block_start, not message_start"]],
    ["an event name that differs", START + frame("ping", {}, "pong") + DELTA + STOP, ["event 1: event pong but data.type ping"]],
    ["indexes out of order", START + textBlock(1) + DELTA + STOP, ["event 1: block index 1, expected 0"]],
    [
      "two blocks open",
      START + frame("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) + textBlock(1) + DELTA + STOP,
      ["event 2: block 1 starts while 0 is open"],
    ],
    [
      "a delta of the wrong kind",
      START +
        frame("content_block_start", { index: 0, content_block: { type: "tool_use", id: "t", name: "f", input: {} } }) +
        frame("content_block_delta", { index: 0, delta: { type: "text_delta", text: "a" } }) +
        frame("content_block_stop", { index: 0 }) +
        DELTA +
        STOP,
      ["event 2: text_delta in a tool_use block"],
    ],
    [
      "a thinking block without a signature",
      START +
        frame("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "", signature: "" } }) +
        frame("content_block_stop", { index: 0 }) +
        DELTA +
        STOP,
      ["event 2: thinking block 0 has 0 signature_delta"],
    ],
    [
      "a block never stopped",
      START + frame("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) + DELTA + STOP,
      ["event 2: message_delta while block 0 is open"],
    ],
    ["message_delta without usage", START + frame("message_delta", { delta: { stop_reason: "end_turn" } }) + STOP, ["event 1: message_delta without usage.output_tokens"]],
    ["no message_stop", START + DELTA, ["the stream ends without message_stop or error"]],
    ["events after message_stop", START + DELTA + STOP + frame("ping", {}), ["event 3: after the final event"]],
  ])("%s", (_name, body, problems) => {
    expect(anthropicStreamViolations(body)).toEqual(problems);
  });
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null, id = "c1") =>
  `data: ${JSON.stringify({ id, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const ROLE = chunk({ role: "assistant", content: "" });
const FINISH = chunk({}, "stop");
const DONE = "data: [DONE]\n\n";

describe("openaiStreamViolations", () => {
  it.each([
    ["a valid stream", ROLE + chunk({ content: "a" }) + FINISH + DONE, []],
    ["an error ending the stream", ROLE + `data: {"error":{"message":"x","type":"server_error","param":null,"code":null}}\n\n`, []],
    ["no role", chunk({ content: "a" }) + FINISH + DONE, ['event 0: the first delta has no role "assistant"']],
    ["two ids", ROLE + chunk({ content: "a" }, null, "c2") + FINISH + DONE, ["event 1: id c2 differs from c1"]],
    [
      "a tool call header with arguments",
      ROLE + chunk({ tool_calls: [{ index: 0, id: "t", type: "function", function: { name: "f", arguments: "{}" } }] }) + FINISH + DONE,
      ['event 1: the first delta of tool call 0 lacks id, type, name or arguments ""'],
    ],
    [
      "a tool call without a type",
      ROLE + chunk({ tool_calls: [{ index: 0, id: "t", function: { name: "f", arguments: "" } }] }) + FINISH + DONE,
      ['event 1: the first delta of tool call 0 lacks id, type, name or arguments ""'],
    ],
    [
      "tool call indexes out of order",
      ROLE + chunk({ tool_calls: [{ index: 1, id: "t", type: "function", function: { name: "f", arguments: "" } }] }) + FINISH + DONE,
      ["event 1: tool call index 1, expected 0"],
    ],
    ["no finish_reason", ROLE + DONE, ["event 1: [DONE] without a finish_reason"]],
    ["no [DONE]", ROLE + FINISH, ["the stream ends without [DONE] or an error"]],
    ["an error without all four keys", ROLE + `data: {"error":{"message":"x","type":"server_error"}}\n\n`, ["event 1: error without exactly message, type, param and code"]],
    ["[DONE] after an error", ROLE + `data: {"error":{"message":"x","type":"t","param":null,"code":null}}\n\n` + DONE, ["event 2: after the final event", "event 2: [DONE] without a finish_reason"]],
  ])("%s", (_name, body, problems) => {
    expect(openaiStreamViolations(body)).toEqual(problems);
  });
});
