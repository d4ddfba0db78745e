import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import {
  ZERO_USAGE,
  type CanonicalResponse,
  type EncodeContext,
  type StopReason,
  type TextBlock,
  type ThinkingBlock,
  type ToolUseBlock,
} from "../canonical.js";
import { toAnthropicToolId } from "../tool-ids.js";
import { finishReasonToStopReason, stopReasonToFinishReason } from "./finish-reason.js";
import { restoreToolName, type ToolNameMap } from "./tool-names.js";
import { canonicalUsageToOpenai, openaiUsageToCanonical } from "./usage.js";
import type { OpenAIChatCompletion, OpenAIResponseMessage, OpenAIToolCall } from "./wire.js";

/**
 * The key under which tool arguments that are not a JSON object (models do emit broken JSON) are handed on:
 * canonical input must be an object (Anthropic answers a string with 400), and the raw text stays visible to the
 * client, whose schema check then tells the model what went wrong, instead of the call silently getting `{}`.
 */
export const RAW_ARGUMENTS_KEY = "_raw_arguments";

function invalidResponse(): never {
  throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Upstream `function.arguments` → tool input: "" or absent → {}, a JSON object as is, anything else kept raw. */
function parseToolArguments(args: unknown): Record<string, unknown> {
  if (isRecord(args)) return bounded(args); // a few servers send the object itself
  if (typeof args !== "string" || args.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return { [RAW_ARGUMENTS_KEY]: args };
  }
  return isRecord(parsed) ? bounded(parsed) : { [RAW_ARGUMENTS_KEY]: args };
}

/** A tool input nested deeper than {@link MAX_JSON_DEPTH} is an invalid answer: serialising it would overflow the stack. */
function bounded(input: Record<string, unknown>): Record<string, unknown> {
  if (exceedsDepth(input, MAX_JSON_DEPTH)) invalidResponse();
  return input;
}

/** Message text: a string, or (some compatible servers) an array of text parts. */
function messageText(content: unknown): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) invalidResponse();
  return content.map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : "")).join("");
}

function toolUse(call: unknown, position: number, toolNames: ToolNameMap): ToolUseBlock {
  if (!isRecord(call) || !isRecord(call.function)) invalidResponse();
  const name = nonEmpty(call.function.name) ?? invalidResponse();
  // Servers that omit ids still need distinct ones for the tool_result to refer to.
  const id = nonEmpty(call.id) ?? `call_${position}`;
  return { type: "tool_use", id: toAnthropicToolId(id), name: restoreToolName(toolNames, name), input: parseToolArguments(call.function.arguments) };
}

/**
 * An OpenAI-compatible upstream's `chat.completion` → canonical response. Reads choice 0 only (llmux asks for
 * n=1). `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter) becomes a leading thinking block with no
 * signature; a refusal becomes text; tool ids are made Anthropic-safe and shortened tool names restored. A
 * response with tool calls but finish_reason "stop" (some vLLM versions) reads as tool_use, since that is what the
 * client must act on. Anything that is not a completion throws UPSTREAM_FAILED.
 */
export function openaiResponseToCanonical(body: unknown, toolNames: ToolNameMap): CanonicalResponse {
  if (!isRecord(body) || !Array.isArray(body.choices)) invalidResponse();
  const choice: unknown = body.choices[0];
  if (!isRecord(choice) || !isRecord(choice.message)) invalidResponse();
  const message = choice.message;
  const content: CanonicalResponse["content"] = [];
  const reasoning = nonEmpty(message.reasoning_content) ?? nonEmpty(message.reasoning);
  if (reasoning !== undefined) content.push({ type: "thinking", thinking: reasoning });
  const text = messageText(message.content) + (nonEmpty(message.refusal) ?? "");
  if (text.length > 0) content.push({ type: "text", text });
  const calls = message.tool_calls;
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) invalidResponse();
  calls?.forEach((call: unknown, i: number) => content.push(toolUse(call, i, toolNames)));
  let stopReason: StopReason = finishReasonToStopReason(choice.finish_reason);
  if (stopReason === "end_turn" && calls?.length) stopReason = "tool_use";
  return {
    id: nonEmpty(body.id) ?? "",
    model: nonEmpty(body.model) ?? "",
    content,
    stopReason,
    stopSequence: null,
    usage: openaiUsageToCanonical(body.usage) ?? { ...ZERO_USAGE },
  };
}

/**
 * Canonical response → a `chat.completion` as OpenAI shapes it, for an OpenAI client: text blocks joined into
 * `content` (null when there is none), tool_use blocks as `tool_calls` with their canonical ids (the client sends
 * them back as they are; canonicalToOpenaiRequest restores an OpenAI upstream's own id), thinking as the non-standard
 * `reasoning_content` (redacted thinking has no readable form and is left out), `logprobs: null`.
 */
export function canonicalToOpenaiResponse(resp: CanonicalResponse, ctx: EncodeContext): Record<string, unknown> {
  const text = resp.content
    .filter((b): b is TextBlock => b.type === "text")
    .map((b) => b.text)
    .join("");
  const thinking = resp.content
    .filter((b): b is ThinkingBlock => b.type === "thinking")
    .map((b) => b.thinking)
    .join("");
  const calls: OpenAIToolCall[] = resp.content
    .filter((b): b is ToolUseBlock => b.type === "tool_use")
    .map((b) => ({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input) } }));
  const message: OpenAIResponseMessage = {
    role: "assistant",
    content: text.length > 0 ? text : null,
    refusal: null,
    ...(thinking.length > 0 && { reasoning_content: thinking }),
    ...(calls.length > 0 && { tool_calls: calls }),
  };
  const completion: OpenAIChatCompletion = {
    id: ctx.id,
    object: "chat.completion",
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: stopReasonToFinishReason(resp.stopReason) }],
    usage: canonicalUsageToOpenai(resp.usage),
  };
  return { ...completion };
}
