/**
 * GPT-OSS function-call repair, a per-backend option (seed: LLMMux "GPT-OSS Function Calling Transformation").
 * GPT-OSS served behind some OpenAI-compatible engines writes a function call as JSON text in `content`,
 * `{"name":"get_weather","arguments":{…}}` (arguments an object or a JSON string, sometimes in a ```json fence),
 * instead of `tool_calls`. When the request declared that tool, the content is turned into a real tool call.
 * Works on the OpenAI wire format, so it serves OpenAI pass-through routes and the hub alike.
 */

import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";

/** The id given to a repaired call (the model issued none). */
export const GPT_OSS_CALL_ID = "call_gptoss_0";

/** Where the scanner is in the content. */
enum ScanPhase {
  /** Only whitespace so far. */
  Lead,
  /** Inside the opening backticks of a fence. */
  FenceTicks,
  /** Reading the fence's language tag (`json`). */
  FenceTag,
  /** Whitespace between the fence line and the object. */
  FenceGap,
  /** Inside the JSON object. */
  Body,
  /** The object closed; only whitespace and a closing fence may follow. */
  After,
  /** The content cannot be a bare JSON object: it is text. */
  NotACall,
}

const FENCE = 3;
const WHITESPACE = /\s/;
const TAG_CHAR = /[A-Za-z0-9_-]/;

/**
 * An incremental scanner answering "could this content still be exactly one JSON object, optionally fenced?".
 * It tracks strings and escapes so braces inside string values do not count, and keeps the object's text.
 */
class CallScanner {
  phase = ScanPhase.Lead;
  /** Backticks seen in the opening fence, then in the closing one. */
  #ticks = 0;
  #fenced = false;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** The object's text, from "{" to the matching "}". */
  object = "";

  feed(text: string): void {
    for (let i = 0; i < text.length && this.phase !== ScanPhase.NotACall; i++) this.#step(text[i]!);
  }

  #step(ch: string): void {
    switch (this.phase) {
      case ScanPhase.Lead:
        if (ch === "{") this.#openObject();
        else if (ch === "`") {
          this.#fenced = true;
          this.#ticks = 1;
          this.phase = ScanPhase.FenceTicks;
        } else if (!WHITESPACE.test(ch)) this.phase = ScanPhase.NotACall;
        return;
      case ScanPhase.FenceTicks:
        if (ch === "`" && this.#ticks < FENCE) this.#ticks++;
        else if (this.#ticks < FENCE || ch === "`") this.phase = ScanPhase.NotACall;
        else this.#afterFenceTicks(ch);
        return;
      case ScanPhase.FenceTag:
        if (!TAG_CHAR.test(ch)) this.#afterFenceTicks(ch);
        return;
      case ScanPhase.FenceGap:
        if (ch === "{") this.#openObject();
        else if (!WHITESPACE.test(ch)) this.phase = ScanPhase.NotACall;
        return;
      case ScanPhase.Body:
        this.object += ch;
        if (this.#escaped) this.#escaped = false;
        else if (this.#inString) {
          if (ch === "\\") this.#escaped = true;
          else if (ch === '"') this.#inString = false;
        } else if (ch === '"') this.#inString = true;
        else if (ch === "{") this.#depth++;
        else if (ch === "}" && --this.#depth === 0) {
          this.phase = ScanPhase.After;
          this.#ticks = 0;
        }
        return;
      case ScanPhase.After:
        if (this.#fenced && ch === "`" && this.#ticks < FENCE) this.#ticks++;
        else if (!WHITESPACE.test(ch)) this.phase = ScanPhase.NotACall;
        return;
      case ScanPhase.NotACall:
        return;
    }
  }

  /** The character after three backticks: a language tag, whitespace, or the object itself. */
  #afterFenceTicks(ch: string): void {
    if (ch === "{") this.#openObject();
    else if (WHITESPACE.test(ch)) this.phase = ScanPhase.FenceGap;
    else if (TAG_CHAR.test(ch) && this.phase === ScanPhase.FenceTicks) this.phase = ScanPhase.FenceTag;
    else this.phase = ScanPhase.NotACall;
  }

  #openObject(): void {
    this.phase = ScanPhase.Body;
    this.#depth = 1;
    this.object = "{";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The call a complete object stands for: exactly the keys `name` (a declared tool) and `arguments` (an object,
 * or a string holding a JSON object). Extra keys or an undeclared name mean it is an answer that happens to be
 * JSON, which must reach the client untouched; so do arguments nested deeper than {@link MAX_JSON_DEPTH}, which
 * could not be serialised again without overflowing the stack.
 */
function parseCall(object: string, toolNames: ReadonlySet<string>): { name: string; arguments: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(object);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || Object.keys(value).length !== 2 || typeof value.name !== "string" || !toolNames.has(value.name)) return undefined;
  let args: unknown = value.arguments;
  if (typeof args === "string") {
    try {
      args = JSON.parse(args);
    } catch {
      return undefined;
    }
  }
  return isRecord(args) && !exceedsDepth(args, MAX_JSON_DEPTH) ? { name: value.name, arguments: JSON.stringify(args) } : undefined;
}

function callIn(content: string, toolNames: ReadonlySet<string>): { name: string; arguments: string } | undefined {
  const scanner = new CallScanner();
  scanner.feed(content);
  return scanner.phase === ScanPhase.After ? parseCall(scanner.object, toolNames) : undefined;
}

function toolCall(call: { name: string; arguments: string }) {
  return { id: GPT_OSS_CALL_ID, type: "function", function: call };
}

function hasToolCalls(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/**
 * Repairs a non-streaming `chat.completion`: every choice whose content is a call to a declared tool (and that
 * has no tool_calls of its own) gets `tool_calls`, `content: null` and finish_reason "tool_calls". Returns the
 * body itself when nothing needed repair; never mutates it.
 */
export function fixGptOssResponse(body: Record<string, unknown>, toolNames: ReadonlySet<string>): Record<string, unknown> {
  if (toolNames.size === 0 || !Array.isArray(body.choices)) return body;
  let changed = false;
  const choices = body.choices.map((choice: unknown) => {
    if (!isRecord(choice) || !isRecord(choice.message)) return choice;
    const message = choice.message;
    if (typeof message.content !== "string" || hasToolCalls(message.tool_calls)) return choice;
    const call = callIn(message.content, toolNames);
    if (call === undefined) return choice;
    changed = true;
    return { ...choice, message: { ...message, content: null, tool_calls: [toolCall(call)] }, finish_reason: "tool_calls" };
  });
  return changed ? { ...body, choices } : body;
}

/** Where the stream fixer is. */
enum FixerPhase {
  /** Choice 0 has sent no content yet: chunks pass straight through. */
  Idle,
  /** Content so far could still be a call: chunks are held, in order. */
  Holding,
  /** Decided (text, native tool calls, or finished): chunks pass through. */
  PassThrough,
}

function choiceZero(chunk: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!Array.isArray(chunk.choices)) return undefined;
  const choice: unknown = chunk.choices.find((c: unknown) => isRecord(c) && (c.index ?? 0) === 0);
  return isRecord(choice) ? choice : undefined;
}

/** The chunk with choice 0's `content` removed (and its finish_reason replaced when given); never mutates. */
function withoutContent(chunk: Record<string, unknown>, finishReason?: string): Record<string, unknown> {
  const choices = (chunk.choices as unknown[]).map((c: unknown) => {
    if (!isRecord(c) || (c.index ?? 0) !== 0) return c;
    const { content: _content, ...delta } = isRecord(c.delta) ? c.delta : {};
    return { ...c, delta, ...(finishReason !== undefined && { finish_reason: finishReason }) };
  });
  return { ...chunk, choices };
}

/** True when a held chunk, its content removed, carries nothing else worth sending. */
function isEmptyAfterStrip(chunk: Record<string, unknown>): boolean {
  const choice = choiceZero(chunk);
  const delta = choice !== undefined && isRecord(choice.delta) ? choice.delta : {};
  const rest = Object.keys(delta).filter((k) => k !== "content" && delta[k] !== null && delta[k] !== undefined);
  return rest.length === 0 && (chunk.choices as unknown[]).length === 1 && (chunk.usage === undefined || chunk.usage === null);
}

/**
 * The streaming repair, a state machine over `chat.completion.chunk` objects. While the content of choice 0 could
 * still be the start of a call (first non-space character `{` or a ``` fence, braces not yet closed or closed with
 * only whitespace/fence after), its chunks are held back whole. As soon as the content is clearly text, or the
 * model uses native tool_calls, the held chunks go out unchanged and the rest passes through. When the finishing
 * chunk arrives while holding and the content is a call to a declared tool, the held chunks go out without their
 * content (role, reasoning and other fields are kept), then two tool_calls deltas (id, type and name with empty
 * arguments, then the arguments), then the finishing chunk with finish_reason "tool_calls".
 */
export class GptOssStreamFixer {
  readonly #toolNames: ReadonlySet<string>;
  #phase: FixerPhase;
  readonly #held: Array<Record<string, unknown>> = [];
  readonly #scanner = new CallScanner();

  constructor(toolNames: ReadonlySet<string>) {
    this.#toolNames = toolNames;
    this.#phase = toolNames.size === 0 ? FixerPhase.PassThrough : FixerPhase.Idle;
  }

  /** The chunks to send for one upstream chunk, in order (none while holding). */
  push(chunk: Record<string, unknown>): Record<string, unknown>[] {
    if (this.#phase === FixerPhase.PassThrough) return [chunk];
    const choice = choiceZero(chunk);
    const delta = choice !== undefined && isRecord(choice.delta) ? choice.delta : {};
    const content = typeof delta.content === "string" ? delta.content : "";
    const finished = choice !== undefined && choice.finish_reason !== undefined && choice.finish_reason !== null;
    if (hasToolCalls(delta.tool_calls)) return this.#release(chunk);
    if (this.#phase === FixerPhase.Idle) {
      if (content === "" && !finished) return [chunk];
      this.#phase = FixerPhase.Holding;
    }
    this.#scanner.feed(content);
    if (this.#scanner.phase === ScanPhase.NotACall) return this.#release(chunk);
    if (this.#scanner.phase === ScanPhase.After && parseCall(this.#scanner.object, this.#toolNames) === undefined) {
      return this.#release(chunk);
    }
    if (!finished) {
      this.#held.push(chunk);
      return [];
    }
    const call = this.#scanner.phase === ScanPhase.After ? parseCall(this.#scanner.object, this.#toolNames) : undefined;
    if (call === undefined) return this.#release(chunk);
    this.#phase = FixerPhase.PassThrough;
    const out = this.#held.filter((c) => !isEmptyAfterStrip(c)).map((c) => withoutContent(c));
    this.#held.length = 0;
    const { choices: _choices, usage: _usage, ...envelope } = chunk;
    const callChunk = (fragment: Record<string, unknown>) => ({
      ...envelope,
      choices: [{ index: 0, delta: { tool_calls: [fragment] }, logprobs: null, finish_reason: null }],
    });
    // As OpenAI streams a call: the first fragment names it with empty arguments (spec/translation.md §10), the next carries them.
    out.push(callChunk({ index: 0, ...toolCall({ name: call.name, arguments: "" }) }), callChunk({ index: 0, function: { arguments: call.arguments } }));
    out.push(withoutContent(chunk, "tool_calls"));
    return out;
  }

  /** Releases whatever is still held (call when the upstream body ends without a finishing chunk). */
  end(): Record<string, unknown>[] {
    this.#phase = FixerPhase.PassThrough;
    return this.#held.splice(0);
  }

  #release(chunk: Record<string, unknown>): Record<string, unknown>[] {
    this.#phase = FixerPhase.PassThrough;
    const out = this.#held.splice(0);
    out.push(chunk);
    return out;
  }
}
