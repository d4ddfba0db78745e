import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type {
  CacheControl,
  CanonicalMessage,
  CanonicalRequest,
  CanonicalTool,
  ContentBlock,
  ImageBlock,
  TextBlock,
  ThinkingConfig,
  ToolChoice,
  ToolResultBlock,
} from "../canonical.js";
import { NO_NAMES } from "../no-names.js";
import { ensureAnthropicToolId } from "../tool-ids.js";
import { quote } from "./validate.js";
import {
  ANTHROPIC_SERVER_TOOL_BLOCK_TYPES,
  type AnthropicCacheControl,
  type AnthropicContentBlock,
  type AnthropicCustomTool,
  type AnthropicEffort,
  type AnthropicImageBlock,
  type AnthropicMessagesRequest,
  type AnthropicMessageParam,
  type AnthropicTextBlock,
  type AnthropicThinkingConfig,
  type AnthropicToolChoice,
  type AnthropicToolResultBlock,
} from "./wire.js";

/**
 * Every Anthropic request field deliberately not carried into the canonical request, with the reason. Top-level
 * keys are plain names; nested ones use `parent.field` / `parent[].field`. Fields not listed here and not read
 * by {@link anthropicRequestToCanonical} are unknown to llmux and are not carried either (the canonical model has
 * no passthrough); Anthropic→Anthropic routes never go through the hub, so nothing is lost there.
 */
export const DROPPED_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  metadata:
    "metadata.user_id is not forwarded as `user`: Claude Code sends a ~150-char JSON blob of device/account/session ids, which is neither an end-user id nor something to hand to another provider",
  context_management: "beta context editing (clear_thinking, clear_tool_uses) is applied by Anthropic's API; no other backend has it",
  container: "code-execution container reuse is state held by Anthropic",
  mcp_servers: "the MCP connector runs on Anthropic's side",
  service_tier: "Anthropic capacity tier; other backends have their own",
  cache_control: "top-level automatic prompt caching; OpenAI-compatible backends cache automatically",
  speed: "Anthropic fast-mode selector",
  inference_geo: "Anthropic data-residency selector",
  diagnostics: "Anthropic request diagnostics",
  user_profile_id: "Anthropic account scoping",
  workspace_id: "Anthropic account scoping",
  compaction: "beta server-side compaction, applied by Anthropic's API",
  fallbacks: "beta server-side model fallbacks; llmux routes and fails over itself",
  "thinking.display": "summarized/omitted thinking display is an Anthropic rendering option",
  "tools[].eager_input_streaming": "Anthropic streaming hint (sent by the AI SDK)",
  "tools[].defer_loading": "Anthropic tool-search option",
  "tools[].input_examples": "Anthropic-only tool option",
  "tools[].allowed_callers": "Anthropic programmatic tool calling",
  "text.citations": "citations refer to Anthropic-side documents",
  "image.transformations": "Anthropic image pre-processing option",
  "tool_use.caller": "Anthropic programmatic tool calling",
  "tool_result.toolset_name": "Anthropic toolsets",
});

/**
 * Tool `type` prefixes dropped from `tools` (with the reason). Server tools run inside Anthropic's API, and the
 * Anthropic-defined client tools have no JSON schema (the model knows them by type), so neither can be offered to
 * another backend as a function. Any other non-custom type is rejected with a 400 rather than guessed at.
 */
export const DROPPED_TOOL_TYPES: Readonly<Record<string, string>> = Object.freeze({
  web_search_: "server tool: Anthropic runs the search",
  web_fetch_: "server tool: Anthropic fetches the page",
  code_execution_: "server tool: runs in an Anthropic container",
  tool_search_tool_: "server tool: searches deferred tools",
  mcp_toolset: "MCP connector toolset run by Anthropic",
  bash_: "Anthropic-defined tool without a JSON schema",
  text_editor_: "Anthropic-defined tool without a JSON schema",
  computer_: "Anthropic-defined tool without a JSON schema",
  memory_: "Anthropic-defined tool without a JSON schema",
  browser_: "Anthropic-defined tool without a JSON schema",
});

/**
 * Content block types dropped from message history: the calls and results of server tools, whose definitions
 * are dropped (see {@link DROPPED_TOOL_TYPES}); another backend could not interpret them.
 */
export const DROPPED_BLOCK_TYPES: ReadonlySet<string> = new Set(ANTHROPIC_SERVER_TOOL_BLOCK_TYPES);

function unsupported(param: string, message: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, message, { param });
}

function droppedToolType(type: string): boolean {
  for (const prefix of Object.keys(DROPPED_TOOL_TYPES)) if (type.startsWith(prefix)) return true;
  return false;
}

// ---------------------------------------------------------------- Anthropic client → canonical

function cacheControlIn(cc: AnthropicCacheControl | null | undefined): CacheControl | undefined {
  if (cc === undefined || cc === null || cc.type !== "ephemeral") return undefined;
  return cc.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: cc.ttl };
}

/** Appends a text block unless it is empty (empty text carries nothing and Anthropic itself rejects it). */
function pushTextIn(out: Array<TextBlock | ContentBlock>, block: AnthropicTextBlock): void {
  if (block.text === "") return;
  const text: TextBlock = { type: "text", text: block.text };
  const cc = cacheControlIn(block.cache_control);
  if (cc !== undefined) text.cacheControl = cc;
  out.push(text);
}

function imageIn(block: AnthropicImageBlock, at: string): ImageBlock {
  const src = block.source;
  let image: ImageBlock;
  if (src.type === "base64") image = { type: "image", source: { type: "base64", mediaType: src.media_type, data: src.data } };
  else if (src.type === "url") image = { type: "image", source: { type: "url", url: src.url } };
  else unsupported(`${at}.source.type`, "image file sources (Files API) are not supported for this backend");
  const cc = cacheControlIn(block.cache_control);
  if (cc !== undefined) image.cacheControl = cc;
  return image;
}

function toolResultIn(block: AnthropicToolResultBlock, at: string): ToolResultBlock {
  const content: Array<TextBlock | ImageBlock> = [];
  if (typeof block.content === "string") {
    pushTextIn(content, { type: "text", text: block.content });
  } else if (block.content !== undefined) {
    for (let k = 0; k < block.content.length; k++) {
      const inner = block.content[k]!;
      if (inner.type === "text") pushTextIn(content, inner);
      else if (inner.type === "image") content.push(imageIn(inner, `${at}.content.${k}`));
      else unsupported(`${at}.content.${k}.type`, `${inner.type} blocks are not supported for this backend`);
    }
  }
  const result: ToolResultBlock = { type: "tool_result", toolUseId: block.tool_use_id, content, isError: block.is_error === true };
  const cc = cacheControlIn(block.cache_control);
  if (cc !== undefined) result.cacheControl = cc;
  return result;
}

function blockIn(block: AnthropicContentBlock, at: string, out: ContentBlock[]): void {
  switch (block.type) {
    case "text":
      pushTextIn(out, block);
      return;
    case "image":
      out.push(imageIn(block, at));
      return;
    case "tool_use": {
      const use: ContentBlock = { type: "tool_use", id: block.id, name: block.name, input: block.input };
      const cc = cacheControlIn(block.cache_control);
      if (cc !== undefined) use.cacheControl = cc;
      out.push(use);
      return;
    }
    case "tool_result":
      out.push(toolResultIn(block, at));
      return;
    case "thinking":
      // An empty signature marks thinking llmux synthesised itself (see canonicalToAnthropicResponse): unsigned.
      out.push(block.signature ? { type: "thinking", thinking: block.thinking, signature: block.signature } : { type: "thinking", thinking: block.thinking });
      return;
    case "redacted_thinking":
      out.push({ type: "redacted_thinking", data: block.data });
      return;
    default:
      if (DROPPED_BLOCK_TYPES.has(block.type)) return;
      unsupported(`${at}.type`, `${block.type} blocks are not supported for this backend`);
  }
}

function messageIn(msg: AnthropicMessageParam, i: number): CanonicalMessage {
  const content: ContentBlock[] = [];
  if (typeof msg.content === "string") {
    pushTextIn(content, { type: "text", text: msg.content });
  } else {
    for (let j = 0; j < msg.content.length; j++) blockIn(msg.content[j]!, `messages.${i}.content.${j}`, content);
  }
  return { role: msg.role, content };
}

function systemIn(system: AnthropicMessagesRequest["system"]): TextBlock[] {
  const out: TextBlock[] = [];
  if (typeof system === "string") pushTextIn(out, { type: "text", text: system });
  else if (system !== undefined) for (const block of system) pushTextIn(out, block);
  return out;
}

function toolsIn(body: AnthropicMessagesRequest): { tools: CanonicalTool[]; dropped: ReadonlySet<string> } {
  const tools: CanonicalTool[] = [];
  let dropped: Set<string> | undefined;
  const list = body.tools ?? [];
  for (let i = 0; i < list.length; i++) {
    const tool = list[i]!;
    const type = tool.type;
    if (typeof type === "string" && type !== "custom") {
      if (!droppedToolType(type)) unsupported(`tools.${i}.type`, `tool type ${quote(type)} is not supported for this backend`);
      (dropped ??= new Set()).add(tool.name);
      continue;
    }
    const custom = tool as AnthropicCustomTool;
    const out: CanonicalTool = { name: custom.name, inputSchema: custom.input_schema };
    if (custom.description !== undefined) out.description = custom.description;
    if (custom.strict !== undefined) out.strict = custom.strict;
    const cc = cacheControlIn(custom.cache_control);
    if (cc !== undefined) out.cacheControl = cc;
    tools.push(out);
  }
  return { tools, dropped: dropped ?? NO_NAMES };
}

function thinkingIn(thinking: AnthropicThinkingConfig): ThinkingConfig {
  switch (thinking.type) {
    case "enabled":
      return { type: "enabled", budgetTokens: thinking.budget_tokens };
    case "disabled":
      return { type: "disabled" };
    default:
      // "adaptive", and "between_tools" (thinking the model schedules itself, which is what adaptive means
      // to every other backend).
      return { type: "adaptive" };
  }
}

/**
 * Anthropic client body → canonical request (for a non-Anthropic backend). Keeps system blocks (with
 * cache_control), mid-conversation `system` messages in place, text/image (base64, url), tool_use, tool_result,
 * signed thinking and redacted_thinking; custom tools; tool_choice (`disable_parallel_tool_use` →
 * `parallelToolCalls:false`); thinking and `output_config.effort`; `output_config.format` / beta `output_format`
 * json_schema; sampling and stop sequences. Tool ids are kept as the client sent them (canonical ids are the
 * Anthropic-safe form; the OpenAI encoder unescapes them), so an id an OpenAI-compatible upstream issued goes back
 * to it unchanged. Empty text blocks are dropped. What is dropped on
 * purpose is listed in {@link DROPPED_FIELDS}, {@link DROPPED_TOOL_TYPES} and {@link DROPPED_BLOCK_TYPES}.
 *
 * @throws LlmuxError INVALID_REQUEST for content no other backend can take: documents, search results, container
 *   uploads, Files-API image sources, unknown tool types, and a `tool_choice` forcing a dropped server tool.
 */
export function anthropicRequestToCanonical(body: AnthropicMessagesRequest): CanonicalRequest {
  const { tools, dropped } = toolsIn(body);
  const req: CanonicalRequest = {
    model: body.model,
    system: systemIn(body.system),
    messages: body.messages.map(messageIn),
    maxTokens: body.max_tokens,
    stream: body.stream ?? false,
    // Anthropic streams always carry usage (message_start / message_delta).
    includeUsage: true,
  };
  if (body.temperature !== undefined) req.temperature = body.temperature;
  if (body.top_p !== undefined) req.topP = body.top_p;
  if (body.top_k !== undefined) req.topK = body.top_k;
  if (body.stop_sequences !== undefined) req.stopSequences = body.stop_sequences;
  if (tools.length > 0) req.tools = tools;

  const choice = body.tool_choice;
  if (choice?.type === "tool" && dropped.has(choice.name)) {
    unsupported("tool_choice.name", `forcing the server tool ${quote(choice.name)} is not supported for this backend`);
  }
  // A tool_choice without tools (all of them server tools, or none given) means nothing to another backend.
  if (choice !== undefined && tools.length > 0) {
    req.toolChoice = choice.type === "tool" ? { type: "tool", name: choice.name } : { type: choice.type };
    if (choice.type !== "none" && choice.disable_parallel_tool_use === true) req.parallelToolCalls = false;
  }

  if (body.thinking !== undefined) req.thinking = thinkingIn(body.thinking);
  const effort = body.output_config?.effort;
  if (effort !== undefined && effort !== null) req.effort = effort;
  const format = body.output_config?.format ?? body.output_format;
  if (format !== undefined && format !== null) req.responseFormat = { type: "json_schema", schema: format.schema };
  return req;
}

// ---------------------------------------------------------------- canonical → Anthropic upstream

/** A block of an outgoing Anthropic message. */
type OutBlock = Record<string, unknown> & { type: string };

interface OutTurn {
  role: "user" | "assistant";
  content: OutBlock[];
}

/** Anthropic rejects empty and whitespace-only text blocks. */
function isBlank(text: string): boolean {
  return text.trim() === "";
}

function withCacheControl<T extends Record<string, unknown>>(obj: T, cc: CacheControl | undefined): T {
  if (cc !== undefined) (obj as Record<string, unknown>)["cache_control"] = cc.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: cc.ttl };
  return obj;
}

function textOut(block: TextBlock): OutBlock {
  return withCacheControl({ type: "text", text: block.text }, block.cacheControl);
}

function imageOut(block: ImageBlock): OutBlock {
  const src = block.source;
  const source = src.type === "base64" ? { type: "base64", media_type: src.mediaType, data: src.data } : { type: "url", url: src.url };
  return withCacheControl({ type: "image", source }, block.cacheControl);
}

function blockOut(block: ContentBlock): OutBlock | undefined {
  switch (block.type) {
    case "text":
      return isBlank(block.text) ? undefined : textOut(block);
    case "image":
      return imageOut(block);
    case "tool_use":
      return withCacheControl({ type: "tool_use", id: ensureAnthropicToolId(block.id), name: block.name, input: block.input }, block.cacheControl);
    case "tool_result": {
      const content: OutBlock[] = [];
      for (const inner of block.content) {
        if (inner.type === "image") content.push(imageOut(inner));
        else if (!isBlank(inner.text)) content.push(textOut(inner));
      }
      const out: OutBlock = { type: "tool_result", tool_use_id: ensureAnthropicToolId(block.toolUseId) };
      if (content.length > 0) out["content"] = content;
      if (block.isError) out["is_error"] = true;
      return withCacheControl(out, block.cacheControl);
    }
    case "thinking":
      // Thinking synthesised from an OpenAI-style reasoning_content has no signature; Anthropic rejects it.
      return block.signature ? { type: "thinking", thinking: block.thinking, signature: block.signature } : undefined;
    case "redacted_thinking":
      return { type: "redacted_thinking", data: block.data };
  }
}

/**
 * Hoists system text into `system` and builds strictly alternating user/assistant turns: blocks converted
 * (blank text and unsigned thinking dropped), empty turns dropped, consecutive same-role turns merged, and
 * tool_result blocks moved to the front of their user turn (Anthropic wants the answers to the previous turn's
 * tool calls first).
 */
function turnsOut(req: CanonicalRequest): { system: OutBlock[]; turns: OutTurn[] } {
  const system: OutBlock[] = [];
  for (const block of req.system) if (!isBlank(block.text)) system.push(textOut(block));
  const turns: OutTurn[] = [];
  for (const msg of req.messages) {
    if (msg.role === "system") {
      // Anthropic's system prompt is text only; a system message has nothing else in practice.
      for (const block of msg.content) if (block.type === "text" && !isBlank(block.text)) system.push(textOut(block));
      continue;
    }
    const content: OutBlock[] = [];
    for (const block of msg.content) {
      const out = blockOut(block);
      if (out !== undefined) content.push(out);
    }
    if (content.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === msg.role) for (const block of content) last.content.push(block);
    else turns.push({ role: msg.role, content });
  }
  for (const turn of turns) {
    if (turn.role !== "user" || !turn.content.some((b) => b.type === "tool_result")) continue;
    turn.content = [...turn.content.filter((b) => b.type === "tool_result"), ...turn.content.filter((b) => b.type !== "tool_result")];
  }
  return { system, turns };
}

/**
 * True when the last assistant turn made tool calls that the following user turn answers, and does not start
 * with a thinking block. With thinking on, Anthropic rejects that ("a final assistant message must start with a
 * thinking block"); it happens whenever the calls came from a backend that issued no signed thinking.
 */
function toolTurnLacksThinking(turns: OutTurn[]): boolean {
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!;
    if (turn.role !== "assistant") continue;
    const answered = turns[i + 1]?.content.some((b) => b.type === "tool_result") ?? false;
    if (!answered || !turn.content.some((b) => b.type === "tool_use")) return false;
    const first = turn.content[0]!.type;
    return first !== "thinking" && first !== "redacted_thinking";
  }
  return false;
}

function effortOut(effort: CanonicalRequest["effort"]): AnthropicEffort | undefined {
  return effort === "minimal" ? "low" : effort;
}

function toolChoiceOut(choice: ToolChoice, disableParallel: boolean): AnthropicToolChoice {
  if (choice.type === "none") return { type: "none" };
  const parallel = disableParallel ? { disable_parallel_tool_use: true } : {};
  return choice.type === "tool" ? { type: "tool", name: choice.name, ...parallel } : { type: choice.type, ...parallel };
}

function toolOut(tool: CanonicalTool): Record<string, unknown> {
  const out: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) out["description"] = tool.description;
  out["input_schema"] = tool.inputSchema;
  if (tool.strict !== undefined) out["strict"] = tool.strict;
  return withCacheControl(out, tool.cacheControl);
}

/**
 * Canonical request → body for an Anthropic upstream (`POST /v1/messages`).
 *
 * - All system text (leading and mid-conversation system messages) becomes `system` text blocks, in order.
 * - Turns alternate user/assistant (see `turnsOut`); no empty or whitespace-only text block anywhere; unsigned
 *   thinking is stripped; tool ids go through `ensureAnthropicToolId` (ids from OpenAI clients may contain `.`/`:`).
 * - `max_tokens` is `maxTokens ?? opts.defaultMaxTokens` (Anthropic requires it); with an `enabled` budget it is
 *   raised to budget + that value when it would not exceed the budget.
 * - Thinking: the canonical config is kept; `effort` alone becomes `{type:"adaptive"}` + `output_config.effort`
 *   (minimal → low). Thinking is turned off (`disabled`) when the pending tool turn has no thinking block, which
 *   Anthropic would reject. With thinking on, temperature and top_k are dropped, top_p below 0.95 is dropped, and
 *   a forced tool_choice (any/tool) is relaxed to auto — the API rejects each of these combinations.
 * - temperature is clamped to Anthropic's 0..1; whitespace-only stop sequences are dropped (Anthropic rejects
 *   them; it has no count limit, unlike OpenAI's 4).
 * - tool_choice is sent only with tools; `parallelToolCalls:false` → `disable_parallel_tool_use:true`.
 * - `responseFormat` json_schema → `output_config.format` (json_object has no equivalent and is dropped);
 *   `user` → `metadata.user_id`.
 *
 * @throws LlmuxError INVALID_REQUEST when no user/assistant content remains (Anthropic needs one message).
 */
export function canonicalToAnthropicRequest(req: CanonicalRequest, opts: { model: string; defaultMaxTokens: number }): Record<string, unknown> {
  const { system, turns } = turnsOut(req);
  if (turns.length === 0) throw llmuxError(Reason.INVALID_REQUEST, "at least one user or assistant message with content is required", { param: "messages" });

  const effort = effortOut(req.effort);
  let thinking: AnthropicThinkingConfig | undefined;
  if (req.thinking?.type === "enabled") thinking = { type: "enabled", budget_tokens: req.thinking.budgetTokens };
  else if (req.thinking !== undefined) thinking = { type: req.thinking.type };
  else if (effort !== undefined) thinking = { type: "adaptive" };
  if ((thinking?.type === "enabled" || thinking?.type === "adaptive") && toolTurnLacksThinking(turns)) thinking = { type: "disabled" };
  const thinkingOn = thinking?.type === "enabled" || thinking?.type === "adaptive";

  let maxTokens = req.maxTokens ?? opts.defaultMaxTokens;
  if (thinking?.type === "enabled" && maxTokens <= thinking.budget_tokens) maxTokens += thinking.budget_tokens;

  const body: Record<string, unknown> = { model: opts.model, max_tokens: maxTokens };
  if (system.length > 0) body["system"] = system;
  body["messages"] = turns;

  if (req.tools !== undefined && req.tools.length > 0) {
    body["tools"] = req.tools.map(toolOut);
    if (req.toolChoice !== undefined || req.parallelToolCalls === false) {
      let choice = req.toolChoice ?? { type: "auto" };
      if (thinkingOn && (choice.type === "any" || choice.type === "tool")) choice = { type: "auto" };
      body["tool_choice"] = toolChoiceOut(choice, req.parallelToolCalls === false);
    }
  }

  if (thinking !== undefined) body["thinking"] = thinking;
  const outputConfig: Record<string, unknown> = {};
  if (effort !== undefined) outputConfig["effort"] = effort;
  if (req.responseFormat?.type === "json_schema") outputConfig["format"] = { type: "json_schema", schema: req.responseFormat.schema };
  if (Object.keys(outputConfig).length > 0) body["output_config"] = outputConfig;

  if (req.stopSequences !== undefined) {
    const stops = req.stopSequences.filter((s) => !isBlank(s));
    if (stops.length > 0) body["stop_sequences"] = stops;
  }
  if (req.temperature !== undefined && !thinkingOn) body["temperature"] = Math.min(1, Math.max(0, req.temperature));
  if (req.topP !== undefined && !(thinkingOn && req.topP < 0.95)) body["top_p"] = req.topP;
  if (req.topK !== undefined && !thinkingOn) body["top_k"] = req.topK;
  if (req.user !== undefined) body["metadata"] = { user_id: req.user };
  body["stream"] = req.stream;
  return body;
}
