import type { BackendConfig } from "../../config/types.js";
import { openaiErrorBody } from "../../errors/dialect-body.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import type { Usage } from "../canonical.js";
import { applyKeyEdits } from "../key-edits.js";
import { openaiErrorFromBody, openaiUpstreamError } from "../openai/error.js";
import { fixGptOssResponse, GptOssStreamFixer } from "../openai/gpt-oss-fix.js";
import { openaiUsageToCanonical } from "../openai/usage.js";
import { textLength } from "../usage-estimate.js";
import type { OpenAIChatBody } from "../openai/validate.js";
import type { Exchange, RequestSource, StreamTranslator } from "./exchange.js";
import { isObject } from "../../lib/is-object.js";
import { NO_NAMES } from "../no-names.js";


/** Names of the function tools a request declares (what the GPT-OSS repair may turn content into). */
export function declaredToolNames(tools: ReadonlyArray<Record<string, unknown>> | undefined): ReadonlySet<string> {
  if (tools === undefined || tools.length === 0) return NO_NAMES;
  const names = new Set<string>();
  for (const tool of tools) {
    const fn = tool.function;
    if (isObject(fn) && typeof fn.name === "string") names.add(fn.name);
  }
  return names;
}

/**
 * OpenAI client → OpenAI-compatible backend: the body passes through untouched except for the documented edits
 * (the backend's model, its key edits, and `stream_options.include_usage` so usage is always known); responses
 * pass through byte for byte, except that a usage chunk the client did not ask for is withheld, and the GPT-OSS
 * repair rewrites content-encoded function calls on backends that enable it.
 */
export function createOpenAIPassthrough(request: RequestSource<OpenAIChatBody>): Exchange {
  const { stream, stream_options: streamOptions } = request();
  const clientWantsUsage = streamOptions?.include_usage === true;
  // What the GPT-OSS repair may turn content into: the tools of the request, read when the attempt is encoded.
  let declaredTools = NO_NAMES;
  return {
    upstreamBody(backend: BackendConfig) {
      const body = request();
      const out: Record<string, unknown> = { ...body, model: backend.model };
      if (stream === true) out.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
      if (backend.gptOssFix) declaredTools = declaredToolNames(body.tools);
      applyKeyEdits(out, backend);
      return out;
    },
    response(text, json, backend) {
      if (!isObject(json) || !Array.isArray(json.choices)) {
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
      }
      const usage = openaiUsageToCanonical(json.usage);
      if (!backend.gptOssFix) return { body: text, usage, outputChars: choiceChars(json.choices, "message") };
      // The repair serialises the answer again, which deeper nesting would overflow.
      if (exceedsDepth(json, MAX_JSON_DEPTH)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
      const fixed = fixGptOssResponse(json, declaredTools);
      return { body: JSON.stringify(fixed), usage, outputChars: choiceChars(fixed.choices, "message") };
    },
    stream: (backend) => createPassthroughStream(clientWantsUsage, backend.gptOssFix ? new GptOssStreamFixer(declaredTools) : undefined),
    upstreamError: openaiUpstreamError,
  };
}

/** True when a chunk carries more than the opening role: text, a tool call, reasoning, a stop reason or usage. */
function carriesContent(chunk: Record<string, unknown>): boolean {
  if (isObject(chunk.usage)) return true;
  const choices = chunk.choices;
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) {
    if (!isObject(choice)) continue;
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) return true;
    const delta = choice.delta;
    if (!isObject(delta)) continue;
    for (const key in delta) {
      if (key === "role") continue;
      const value = delta[key];
      if (value !== null && value !== undefined && value !== "") return true;
    }
  }
  return false;
}

/**
 * Characters of content, reasoning, refusal and tool-call arguments in the choices' `delta` (a chunk) or `message`
 * (a completion): what the client was sent, for estimating output tokens. Property reads only, no allocation.
 */
function choiceChars(choices: unknown, key: "delta" | "message"): number {
  if (!Array.isArray(choices)) return 0;
  let chars = 0;
  for (const choice of choices) {
    const part = isObject(choice) ? choice[key] : undefined;
    if (!isObject(part)) continue;
    chars += textLength(part.content) + textLength(part.reasoning_content ?? part.reasoning) + textLength(part.refusal);
    const calls = part.tool_calls;
    if (!Array.isArray(calls)) continue;
    for (const call of calls) if (isObject(call) && isObject(call.function)) chars += textLength(call.function.arguments);
  }
  return chars;
}

/** A chunk llmux changed, as SSE data; one nested too deeply to serialise again is an invalid upstream event. */
function serialised(chunk: Record<string, unknown>): string {
  if (exceedsDepth(chunk, MAX_JSON_DEPTH)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event");
  return JSON.stringify(chunk);
}

function createPassthroughStream(clientWantsUsage: boolean, fixer: GptOssStreamFixer | undefined): StreamTranslator {
  let done = false;
  let content = false;
  let usage: Usage | undefined;
  let chars = 0;

  /** One upstream chunk as the client should see it ("" to withhold it). */
  function frame(chunk: Record<string, unknown>, data: string | undefined): string {
    chars += choiceChars(chunk.choices, "delta");
    if (isObject(chunk.usage)) {
      usage = openaiUsageToCanonical(chunk.usage);
      if (!clientWantsUsage) {
        const choices = chunk.choices;
        if (!Array.isArray(choices) || choices.length === 0) return "";
        delete chunk.usage;
        data = undefined;
      }
    }
    return `data: ${data ?? serialised(chunk)}\n\n`;
  }

  return {
    push(event) {
      const data = event.data;
      if (data === "[DONE]") {
        // A terminator before any content (not even a stop reason) is an empty stream, not an answer.
        if (!content) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended without an answer");
        done = true;
        let out = "";
        if (fixer) for (const chunk of fixer.end()) out += frame(chunk, undefined);
        return `${out}data: [DONE]\n\n`;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch (cause) {
        throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event", { cause });
      }
      if (!isObject(chunk)) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream sent an invalid stream event");
      if (chunk.error !== undefined && chunk.error !== null) throw openaiErrorFromBody(chunk);
      if (!content && carriesContent(chunk)) content = true;
      if (!fixer) return frame(chunk, data);
      let out = "";
      for (const fixed of fixer.push(chunk)) out += frame(fixed, undefined);
      return out;
    },
    end() {
      if (!done) throw llmuxError(Reason.UPSTREAM_FAILED, "upstream stream ended before completion");
      return "";
    },
    error: (err) => `data: ${JSON.stringify(openaiErrorBody(err))}\n\n`,
    usage: () => usage,
    outputChars: () => chars,
    contentSeen: () => content,
  };
}
