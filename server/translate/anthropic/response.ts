import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { ZERO_USAGE, type CanonicalResponse, type EncodeContext } from "../canonical.js";
import { ensureAnthropicToolId } from "../tool-ids.js";
import { stopReasonFromAnthropic, usageFromAnthropic, usageToAnthropic } from "./usage.js";
import type { AnthropicResponseBlock } from "./wire.js";
import { isObject } from "../../lib/is-object.js";

type Json = Record<string, unknown>;
type ResponseBlock = CanonicalResponse["content"][number];


function invalid(): never {
  throw llmuxError(Reason.UPSTREAM_FAILED, "upstream returned an invalid response");
}

function str(v: unknown): string {
  if (typeof v !== "string") invalid();
  return v;
}

/** One upstream content block → canonical, or undefined for blocks the hub does not carry. */
function blockIn(block: unknown): ResponseBlock | undefined {
  if (!isObject(block)) invalid();
  switch (block["type"]) {
    case "text": {
      const text = str(block["text"]);
      return text === "" ? undefined : { type: "text", text };
    }
    case "thinking": {
      const thinking = str(block["thinking"]);
      const signature = block["signature"];
      return typeof signature === "string" && signature !== "" ? { type: "thinking", thinking, signature } : { type: "thinking", thinking };
    }
    case "redacted_thinking":
      return { type: "redacted_thinking", data: str(block["data"]) };
    case "tool_use": {
      const input = block["input"];
      // Deeper nesting would overflow the stack when the client's answer is serialised.
      if (!isObject(input) || exceedsDepth(input, MAX_JSON_DEPTH)) invalid();
      return { type: "tool_use", id: str(block["id"]), name: str(block["name"]), input };
    }
    default:
      // server_tool_use, web_search_tool_result, … and block types newer than llmux.
      return undefined;
  }
}

/** Thinking first, everything else after, each group in upstream order (a stable partition). */
function thinkingFirst<T extends { type: string }>(blocks: T[]): T[] {
  const isThinking = (b: T): boolean => b.type === "thinking" || b.type === "redacted_thinking";
  return [...blocks.filter(isThinking), ...blocks.filter((b) => !isThinking(b))];
}

/**
 * Anthropic upstream Message → canonical response. Unknown fields and block types (server tools) are tolerated
 * and skipped; empty text blocks are dropped; thinking blocks come first; tool ids are kept exactly as the
 * upstream issued them. Usage includes the cache counters.
 *
 * @throws LlmuxError UPSTREAM_FAILED "upstream returned an invalid response" when the body is not a Message
 *   (no content array, or a malformed text/thinking/tool_use block, or a tool input nested deeper than
 *   {@link MAX_JSON_DEPTH}). Missing usage counts read as 0 and an untrusted usage as all 0; accounting reads
 *   the upstream's usage itself.
 */
export function anthropicResponseToCanonical(body: unknown): CanonicalResponse {
  if (!isObject(body) || !Array.isArray(body["content"])) invalid();
  // Usage that is missing or malformed is treated as unknown (zero), not as a broken answer: the content is fine.
  const usage = isObject(body["usage"]) ? body["usage"] : {};
  const stopSequence = body["stop_sequence"];
  const content: ResponseBlock[] = [];
  for (const block of body["content"]) {
    const out = blockIn(block);
    if (out !== undefined) content.push(out);
  }
  return {
    id: str(body["id"]),
    model: typeof body["model"] === "string" ? body["model"] : "",
    content: thinkingFirst(content),
    stopReason: stopReasonFromAnthropic(body["stop_reason"]),
    stopSequence: typeof stopSequence === "string" ? stopSequence : null,
    usage: usageFromAnthropic(usage, ZERO_USAGE) ?? { ...ZERO_USAGE },
  };
}

/**
 * Canonical response → Anthropic Message for an Anthropic client. Id and model come from `ctx`. Thinking blocks
 * come first; a thinking block without a signature (synthesised from an OpenAI-style `reasoning_content`) gets
 * `signature: ""` so SDK types hold (llmux reads `""` back as unsigned and never sends it to Anthropic); empty
 * text is skipped; tool ids go through `ensureAnthropicToolId`, since an OpenAI-compatible upstream's ids may
 * contain characters Anthropic clients reject.
 */
export function canonicalToAnthropicResponse(resp: CanonicalResponse, ctx: EncodeContext): Record<string, unknown> {
  const content: AnthropicResponseBlock[] = [];
  for (const block of thinkingFirst(resp.content)) {
    switch (block.type) {
      case "text":
        if (block.text !== "") content.push({ type: "text", text: block.text });
        break;
      case "thinking":
        content.push({ type: "thinking", thinking: block.thinking, signature: block.signature ?? "" });
        break;
      case "redacted_thinking":
        content.push({ type: "redacted_thinking", data: block.data });
        break;
      case "tool_use":
        content.push({ type: "tool_use", id: ensureAnthropicToolId(block.id), name: block.name, input: block.input });
        break;
    }
  }
  return {
    id: ctx.id,
    type: "message",
    role: "assistant",
    model: ctx.model,
    content,
    stop_reason: resp.stopReason,
    stop_sequence: resp.stopSequence,
    usage: usageToAnthropic(resp.usage),
  };
}
