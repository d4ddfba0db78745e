import type { MockSettings, ProviderConfig } from "../../config/types.js";
import { type LlmuxError, llmuxError, Reason, toLlmuxError } from "../../errors/llmux-error.js";
import { abortableSleep, type CancelSignal } from "../../lib/cancellation.js";
import { formatSse } from "../../lib/sse.js";
import type { ProviderAdapter, UpstreamResponse } from "../provider.js";

/** Waits `ms` milliseconds; rejects (and leaves no timer behind) when `signal` aborts first. */
export type Sleep = (ms: number, signal: CancelSignal) => Promise<void>;

/** What the mock takes from its surroundings, so tests control time without fake timers. */
export interface MockProviderDeps {
  /** Used for `latencyMs` and `chunkDelayMs`. Default: a setTimeout-based sleep. */
  sleep?: Sleep;
  /** Wall clock in epoch milliseconds, for the `created` field. Default: `Date.now`. */
  now?: () => number;
}

/** What the mock answers with, decided from the request alone. */
type Reply = { type: "text"; text: string } | { type: "tool"; name: string };

/** The fields every object of one completion shares. */
interface Head {
  id: string;
  created: number;
  model: string;
}

interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The id of the one tool call a mock reply can make. Fixed so tests can assert it. */
const TOOL_CALL_ID = "call_mock_0";
/** Arguments of a mock tool call: always the empty object. */
const TOOL_ARGUMENTS = "{}";
/** `call:NAME`, NAME as OpenAI allows tool names (`^[a-zA-Z0-9_-]+$`). */
const TOOL_MARKER = /call:([\w-]+)/g;
const JSON_TYPE = "application/json";
const SSE_TYPE = "text/event-stream";
const encoder = new TextEncoder();

/**
 * Creates the built-in fake LLM (`kind = "mock"`). It answers in-process (no socket) in the exact OpenAI Chat
 * Completions wire format, bytes included, so everything behind the adapter interface (decoders, routing, usage,
 * failover) runs unchanged against it. Used by demos and by tests that must not call a real model.
 *
 * The reply is a tool call (id `call_mock_0`, arguments `{}`) when the request declares the tool and the last user
 * message contains `call:NAME`; otherwise `settings.reply`, or else an echo of the last user message's text (text
 * parts joined with "\n"). Streams carry `chunkChars` code points per content chunk. Ids are `chatcmpl-mock-1`,
 * `-2`… per provider instance, so runs are reproducible. Token counts are `ceil(code points / 4)`: of all message
 * texts for the prompt, of the reply text (or tool name plus arguments) for the completion.
 *
 * `latencyMs` passes before `send` resolves and `chunkDelayMs` between body chunks, both through `deps.sleep`.
 * Aborting `call.signal` rejects a pending `send`, and makes the body iterator throw, with CANCELED.
 */
export function createMockProvider(config: ProviderConfig, deps: MockProviderDeps = {}): ProviderAdapter {
  const settings = config.mock;
  if (settings === undefined) throw llmuxError(Reason.INTERNAL, `provider "${config.name}" has no mock settings`);
  const sleep = deps.sleep ?? abortableSleep;
  const now = deps.now ?? Date.now;
  let completions = 0;

  /** A response whose body yields `frames` one by one, `delayMs` apart. */
  const respond = (status: number, type: string, frames: string[], delayMs: number, signal: CancelSignal) => ({
    status,
    headers: { "content-type": type },
    body: emit(sleep, frames, delayMs, signal),
  });

  return {
    name: config.name,
    kind: "mock",
    dialect: "openai",

    async send({ operation, body, signal }): Promise<UpstreamResponse> {
      if (operation === "count_tokens") {
        throw llmuxError(Reason.INVALID_REQUEST, "count_tokens is not supported by mock providers");
      }
      await pause(sleep, settings.latencyMs, signal);
      const invalid = validate(body);
      if (invalid !== undefined) return respond(400, JSON_TYPE, [JSON.stringify({ error: invalid })], 0, signal);

      const messages = body.messages as unknown[];
      const reply = planReply(messages, body.tools, settings);
      const head: Head = {
        id: `chatcmpl-mock-${++completions}`,
        created: Math.floor(now() / 1000),
        model: body.model as string,
      };
      const promptTokens = Math.ceil(messages.reduce<number>((n, m) => n + codePointCount(messageText(m)), 0) / 4);
      const completionText = reply.type === "text" ? reply.text : reply.name + TOOL_ARGUMENTS;
      const completionTokens = Math.ceil(codePointCount(completionText) / 4);
      const usage: OpenAIUsage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };

      if (body.stream !== true) return respond(200, JSON_TYPE, [completionJson(head, reply, usage)], 0, signal);
      const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
      const frames = streamChunks(head, reply, usage, includeUsage, settings.chunkChars).map((c) => formatSse(c));
      return respond(200, SSE_TYPE, frames, settings.chunkDelayMs, signal);
    },

    /** The mock lives in-process, so it is healthy whenever llmux is. */
    async probe(): Promise<boolean> {
      return true;
    },

    redact: (text) => text,
    async close(): Promise<void> {},
  };
}

/** The non-streaming `chat.completion` object. */
function completionJson(head: Head, reply: Reply, usage: OpenAIUsage): string {
  const message =
    reply.type === "text"
      ? { role: "assistant", content: reply.text, refusal: null }
      : { role: "assistant", content: null, refusal: null, tool_calls: [toolCall(reply.name, TOOL_ARGUMENTS)] };
  return JSON.stringify({
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(reply) }],
    usage,
  });
}

/** The `data:` payloads of a stream, in order, ending with `[DONE]`. */
function streamChunks(
  head: Head,
  reply: Reply,
  usage: OpenAIUsage,
  includeUsage: boolean,
  chunkChars: number,
): string[] {
  const base = { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      // With include_usage, real OpenAI sends `"usage": null` on every chunk but the usage chunk.
      ...(includeUsage ? { usage: null } : {}),
    });
  const out: string[] = [];
  if (reply.type === "text") {
    out.push(chunk({ role: "assistant", content: "" }));
    for (const piece of pieces(reply.text, chunkChars)) out.push(chunk({ content: piece }));
  } else {
    out.push(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, ...toolCall(reply.name, "") }] }));
    for (const piece of pieces(TOOL_ARGUMENTS, chunkChars)) {
      out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    }
  }
  out.push(chunk({}, finishReason(reply)));
  if (includeUsage) out.push(JSON.stringify({ ...base, choices: [], usage }));
  out.push("[DONE]");
  return out;
}

function finishReason(reply: Reply): string {
  return reply.type === "tool" ? "tool_calls" : "stop";
}

function toolCall(name: string, args: string) {
  return { id: TOOL_CALL_ID, type: "function", function: { name, arguments: args } };
}

/** Yields each frame as UTF-8, `delayMs` apart; throws CANCELED instead of yielding once `signal` has aborted. */
async function* emit(sleep: Sleep, frames: string[], delayMs: number, signal: CancelSignal): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < frames.length; i++) {
    await pause(sleep, i === 0 ? 0 : delayMs, signal);
    yield encoder.encode(frames[i]);
  }
}

/**
 * Waits through the injected sleep and turns an abort into CANCELED, what every adapter reports when the caller
 * gave up. Checks the signal even when there is nothing to wait for, so an aborted call never goes on.
 */
async function pause(sleep: Sleep, ms: number, signal: CancelSignal): Promise<void> {
  if (signal.aborted) throw canceled();
  if (ms <= 0) return;
  try {
    await sleep(ms, signal);
  } catch (err) {
    throw signal.aborted ? canceled(err) : toLlmuxError(err);
  }
  if (signal.aborted) throw canceled();
}

function canceled(cause?: unknown): LlmuxError {
  return llmuxError(Reason.CANCELED, "request canceled", { cause });
}

/** The OpenAI error object the real API would answer this body with (status 400), or undefined if acceptable. */
function validate(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const invalid = (message: string, param: string | null) => ({
    message,
    type: "invalid_request_error",
    param,
    code: null,
  });
  if (typeof body.model !== "string") return invalid("you must provide a model parameter", null);
  if (body.messages === undefined) return invalid("Missing required parameter: 'messages'.", "messages");
  if (!Array.isArray(body.messages)) {
    const value = body.messages;
    const got = value === null ? "null" : typeof value === "object" ? "an object" : `a ${typeof value}`;
    return invalid(`Invalid type for 'messages': expected an array of objects, but got ${got} instead.`, "messages");
  }
  return undefined;
}

/** Decides the reply: a tool call when asked for with `call:NAME`, else the configured reply, else an echo. */
function planReply(messages: unknown[], tools: unknown, settings: MockSettings): Reply {
  const text = messageText(messages.findLast((m) => isRecord(m) && m.role === "user"));
  const declared = new Set<string>();
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      if (isRecord(tool) && isRecord(tool.function) && typeof tool.function.name === "string") {
        declared.add(tool.function.name);
      }
    }
  }
  for (const [, name] of text.matchAll(TOOL_MARKER)) {
    if (name !== undefined && declared.has(name)) return { type: "tool", name };
  }
  return { type: "text", text: settings.reply ?? text };
}

/** A message's text: string content as is, text parts joined with "\n", anything else "". */
function messageText(message: unknown): string {
  if (!isRecord(message)) return "";
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const texts: string[] = [];
  for (const part of content) {
    if (isRecord(part) && part.type === "text" && typeof part.text === "string") texts.push(part.text);
  }
  return texts.join("\n");
}

/** Cuts `text` into pieces of `size` code points (at least 1), so no piece ends inside a surrogate pair. */
function pieces(text: string, size: number): string[] {
  const codePoints = Array.from(text);
  const step = Math.max(1, Math.floor(size));
  const out: string[] = [];
  for (let i = 0; i < codePoints.length; i += step) out.push(codePoints.slice(i, i + step).join(""));
  return out;
}

function codePointCount(text: string): number {
  return Array.from(text).length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
