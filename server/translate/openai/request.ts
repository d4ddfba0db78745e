import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { exceedsDepth, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { findUnsafeJson } from "../../lib/unsafe-json.js";
import type {
  CanonicalMessage,
  CanonicalRequest,
  CanonicalTool,
  ContentBlock,
  ImageBlock,
  ImageSource,
  ReasoningEffort,
  ResponseFormat,
  TextBlock,
  ToolChoice,
  ToolResultBlock,
  ToolUseBlock,
} from "../canonical.js";
import { fromAnthropicToolId, toAnthropicToolId } from "../tool-ids.js";
import { NO_SHORTENED_NAMES, shortenToolName, type ToolNameMap } from "./tool-names.js";
import type { OpenAIChatBody, OpenAIMessage } from "./validate.js";
import type {
  OpenAIChatRequest,
  OpenAIFunctionTool,
  OpenAIImagePart,
  OpenAIMessageParam,
  OpenAIReasoningEffort,
  OpenAIResponseFormat,
  OpenAITextPart,
  OpenAIToolCall,
  OpenAIToolChoice,
} from "./wire.js";

export { restoreToolName, type ToolNameMap } from "./tool-names.js";

/**
 * OpenAI request fields llmux deliberately does not carry into the canonical request, each with the reason. The
 * decoder drops exactly these; any other field it does not map is refused with a 400, so nothing a client asked
 * for disappears silently. (An OpenAI→OpenAI route is pass-through and never gets here.)
 */
export const DROPPED_FIELDS: Readonly<Record<string, string>> = {
  logprobs: "Anthropic returns no token log probabilities; responses carry logprobs: null",
  top_logprobs: "Anthropic returns no token log probabilities",
  seed: "Anthropic has no sampling seed",
  logit_bias: "Anthropic has no token biasing",
  presence_penalty: "Anthropic has no presence penalty",
  frequency_penalty: "Anthropic has no frequency penalty",
  prediction: "predicted outputs are OpenAI-only",
  audio: "audio output is OpenAI-only",
  modalities: "llmux translates text output only",
  store: "stored completions are OpenAI-only",
  metadata: "stored-completion tags are OpenAI-only (unrelated to Anthropic metadata.user_id)",
  service_tier: "OpenAI processing tiers have no translated equivalent",
  verbosity: "OpenAI-only output length hint",
  web_search_options: "OpenAI's built-in web search has no translated equivalent",
  prompt_cache_key: "OpenAI cache routing hint; Anthropic caches by cache_control",
  prompt_cache_retention: "OpenAI cache retention setting",
  prompt_cache_options: "OpenAI cache setting",
  moderation: "OpenAI moderation setting",
};

/** Fields the decoder maps. `top_k` is a vLLM/OpenRouter extension that Anthropic understands, so it is carried. */
const MAPPED_FIELDS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "top_k",
  "stop",
  "n",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning_effort",
  "response_format",
  "user",
  "safety_identifier",
]);

const EFFORTS: ReadonlySet<string> = new Set<ReasoningEffort>(["minimal", "low", "medium", "high", "xhigh", "max"]);
const EMPTY_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({ type: "object", properties: {} });

function invalid(message: string, param: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, message, { param });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A present, non-null field; JSON null means "not set" throughout the OpenAI API. */
function given<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAI client → canonical
// ---------------------------------------------------------------------------------------------------------------

/** Text as a block; empty text is left out. */
function textBlocks(text: string): TextBlock[] {
  return text.length > 0 ? [{ type: "text", text }] : [];
}

/** Text of a system, developer or tool message: a string or text parts; empty text is left out. */
function textContent(content: OpenAIMessage["content"], param: string): TextBlock[] {
  if (!given(content)) return [];
  if (typeof content === "string") return textBlocks(content);
  const blocks: TextBlock[] = [];
  content.forEach((part, j) => {
    if (part.type !== "text") invalid(`content parts of this message must be text, not ${part.type}`, `${param}.${j}.type`);
    blocks.push(...textBlocks(part.text));
  });
  return blocks;
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** `data:` URLs become base64 sources, http(s) URLs url sources; llmux never fetches an image itself. */
function imageSource(url: string, param: string): ImageSource {
  const data = DATA_URL.exec(url);
  if (data !== null) return { type: "base64", mediaType: data[1]!, data: data[2]! };
  if (/^https?:\/\//i.test(url)) return { type: "url", url };
  return invalid("image_url.url must be an http(s) URL or a base64 data: URL", param);
}

function userContent(content: OpenAIMessage["content"], param: string): Array<TextBlock | ImageBlock> {
  if (!given(content)) return [];
  if (typeof content === "string") return textBlocks(content);
  const blocks: Array<TextBlock | ImageBlock> = [];
  content.forEach((part, j) => {
    const at = `${param}.${j}`;
    switch (part.type) {
      case "text":
        blocks.push(...textBlocks(part.text));
        break;
      case "image_url":
        // `detail` has no Anthropic equivalent.
        blocks.push({ type: "image", source: imageSource(part.image_url.url, `${at}.image_url.url`) });
        break;
      case "input_audio":
      case "file":
      case "audio_url":
      case "video_url":
        invalid(`${part.type} content parts are not supported for this backend`, `${at}.type`);
      default:
        invalid(`unsupported content part type: ${part.type}`, `${at}.type`);
    }
  });
  return blocks;
}

/**
 * JSON arguments → tool input. `""` means no arguments; anything but a JSON object is refused. The checks the body
 * got when it was parsed could not see inside the string, so they are made here: nesting beyond the body's limit
 * (the upstream body's `JSON.stringify` would overflow), numbers that overflow to Infinity (sent as `null`) and
 * prototype keys.
 */
function toolInput(args: unknown, param: string): Record<string, unknown> {
  if (typeof args !== "string") invalid("function.arguments must be a JSON string", param);
  if (args.trim() === "") return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    invalid("function.arguments is not valid JSON", param);
  }
  if (!isRecord(input)) invalid("function.arguments must encode a JSON object", param);
  if (exceedsDepth(input, MAX_JSON_DEPTH)) invalid(`function.arguments is nested too deeply (more than ${MAX_JSON_DEPTH} levels)`, param);
  const unsafe = findUnsafeJson(input);
  if (unsafe === "non-finite") invalid("function.arguments has a number out of range (JSON numbers must be finite)", param);
  if (unsafe === "prototype") invalid('function.arguments has a "__proto__" key or a "constructor" with a "prototype"', param);
  return input;
}

const ANTHROPIC_SAFE_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * A tool id from an OpenAI client, in canonical (Anthropic-safe) form. Clients normally hold the canonical ids
 * llmux gave them and get them back unchanged; only an id Anthropic would reject (one the client got from an
 * OpenAI pass-through route, or made up) is escaped. Escaping a valid id would break it: toAnthropicToolId also
 * escapes "_x", which Anthropic ids may contain.
 */
function canonicalToolId(id: string): string {
  return ANTHROPIC_SAFE_ID.test(id) ? id : toAnthropicToolId(id);
}

function assistantContent(message: OpenAIMessage, param: string): ContentBlock[] {
  if (given(message.function_call)) invalid("function_call is not supported; use tool_calls", `${param}.function_call`);
  const blocks: ContentBlock[] = [];
  const content = message.content;
  if (typeof content === "string") blocks.push(...textBlocks(content));
  else if (given(content)) {
    content.forEach((part, j) => {
      if (part.type === "text") blocks.push(...textBlocks(part.text));
      else if (part.type === "refusal") blocks.push(...textBlocks(part.refusal));
      else invalid(`assistant content parts must be text or refusal, not ${part.type}`, `${param}.content.${j}.type`);
    });
  }
  // A refusal the client echoes back is what the assistant said; `refusal: null`, `annotations`, `audio` and
  // `name` carry nothing a translated backend can use.
  if (typeof message.refusal === "string") blocks.push(...textBlocks(message.refusal));
  const calls = message.tool_calls;
  if (given(calls)) {
    if (!Array.isArray(calls)) invalid("tool_calls must be an array", `${param}.tool_calls`);
    calls.forEach((call: unknown, j) => {
      const at = `${param}.tool_calls.${j}`;
      if (!isRecord(call)) invalid("each tool call must be an object", at);
      if (given(call.type) && call.type !== "function") invalid(`tool calls of type ${String(call.type)} are not supported`, `${at}.type`);
      if (typeof call.id !== "string") invalid("tool call id must be a string", `${at}.id`);
      const fn = call.function;
      if (!isRecord(fn) || typeof fn.name !== "string" || fn.name.length === 0) invalid("function.name must be a non-empty string", `${at}.function.name`);
      blocks.push({ type: "tool_use", id: canonicalToolId(call.id), name: fn.name, input: toolInput(fn.arguments, `${at}.function.arguments`) });
    });
  }
  return blocks;
}

function toolResult(message: OpenAIMessage, param: string): ToolResultBlock {
  if (typeof message.tool_call_id !== "string") invalid("tool_call_id must be a string", `${param}.tool_call_id`);
  return { type: "tool_result", toolUseId: canonicalToolId(message.tool_call_id), content: textContent(message.content, `${param}.content`), isError: false };
}

function isSystemRole(role: string): boolean {
  return role === "system" || role === "developer";
}

/**
 * Messages → leading system prompt + canonical turns. Leading system/developer messages become `system`; later
 * ones stay in place as `system` turns. A run of `tool` messages, plus a user message directly after it, becomes
 * ONE user turn (tool_result blocks first), because Anthropic needs every tool_use answered in the next message.
 * Messages left with no content (`content: ""` and no tool calls) are omitted: Anthropic rejects empty turns.
 * A message's `name` (participant name) has no Anthropic equivalent and is dropped.
 */
function decodeMessages(messages: OpenAIMessage[]): { system: TextBlock[]; messages: CanonicalMessage[] } {
  const system: TextBlock[] = [];
  const out: CanonicalMessage[] = [];
  const push = (role: CanonicalMessage["role"], content: ContentBlock[]): void => {
    if (content.length > 0) out.push({ role, content });
  };
  let i = 0;
  for (; i < messages.length && isSystemRole(messages[i]!.role); i++) {
    system.push(...textContent(messages[i]!.content, `messages.${i}.content`));
  }
  for (; i < messages.length; i++) {
    const message = messages[i]!;
    const param = `messages.${i}`;
    switch (message.role) {
      case "system":
      case "developer":
        push("system", textContent(message.content, `${param}.content`));
        break;
      case "user":
        push("user", userContent(message.content, `${param}.content`));
        break;
      case "assistant":
        push("assistant", assistantContent(message, param));
        break;
      case "tool": {
        const turn: ContentBlock[] = [toolResult(message, param)];
        while (messages[i + 1]?.role === "tool") {
          i++;
          turn.push(toolResult(messages[i]!, `messages.${i}`));
        }
        if (messages[i + 1]?.role === "user") {
          i++;
          turn.push(...userContent(messages[i]!.content, `messages.${i}.content`));
        }
        push("user", turn);
        break;
      }
      case "function":
        invalid("function messages are not supported; use tool messages", `${param}.role`);
    }
  }
  return { system, messages: out };
}

function decodeTools(tools: unknown): CanonicalTool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool: Record<string, unknown>, i) => {
    if (tool.type !== "function") invalid(`tools of type ${String(tool.type)} are not supported for this backend`, `tools.${i}.type`);
    const fn = tool.function;
    if (!isRecord(fn) || typeof fn.name !== "string" || fn.name.length === 0) invalid("function.name must be a non-empty string", `tools.${i}.function.name`);
    if (given(fn.parameters) && !isRecord(fn.parameters)) invalid("function.parameters must be an object", `tools.${i}.function.parameters`);
    return {
      name: fn.name,
      ...(typeof fn.description === "string" && { description: fn.description }),
      inputSchema: given(fn.parameters) ? fn.parameters : { ...EMPTY_SCHEMA },
      ...(typeof fn.strict === "boolean" && { strict: fn.strict }),
    };
  });
}

function decodeToolChoice(choice: unknown): ToolChoice | undefined {
  if (!given(choice)) return undefined;
  switch (choice) {
    case "auto":
      return { type: "auto" };
    case "none":
      return { type: "none" };
    case "required":
      return { type: "any" };
  }
  if (isRecord(choice) && choice.type === "function" && isRecord(choice.function) && typeof choice.function.name === "string") {
    return { type: "tool", name: choice.function.name };
  }
  return invalid('tool_choice must be "auto", "none", "required" or {type:"function", function:{name}}', "tool_choice");
}

function decodeResponseFormat(format: unknown): ResponseFormat | undefined {
  if (!given(format)) return undefined;
  if (!isRecord(format)) invalid("response_format must be an object", "response_format");
  switch (format.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const spec = format.json_schema;
      if (!isRecord(spec)) invalid("response_format.json_schema must be an object", "response_format.json_schema");
      if (given(spec.schema) && !isRecord(spec.schema)) invalid("json_schema.schema must be an object", "response_format.json_schema.schema");
      // `description` has no canonical field; the schema itself carries the constraints.
      return {
        type: "json_schema",
        ...(typeof spec.name === "string" && { name: spec.name }),
        schema: given(spec.schema) ? spec.schema : {},
        ...(typeof spec.strict === "boolean" && { strict: spec.strict }),
      };
    }
    default:
      return invalid(`unsupported response_format type: ${String(format.type)}`, "response_format.type");
  }
}

function decodeStop(stop: unknown): string[] | undefined {
  if (!given(stop)) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) invalid("stop must be a string or an array of strings", "stop");
  return list.length > 0 ? (list as string[]) : undefined;
}

function optionalNumber(body: OpenAIChatBody, key: string): number | undefined {
  const value = body[key];
  if (!given(value)) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) invalid(`${key} must be a number`, key);
  return value;
}

function optionalString(body: OpenAIChatBody, key: string): string | undefined {
  const value = body[key];
  if (!given(value)) return undefined;
  if (typeof value !== "string") invalid(`${key} must be a string`, key);
  return value;
}

/**
 * OpenAI client request (already checked by validateOpenAIRequest) → canonical request, for a backend that does
 * not speak OpenAI. Throws INVALID_REQUEST with `param` for what cannot be translated: `n` ≠ 1, audio/file parts,
 * unparsable or too deeply nested tool arguments, legacy `functions`, and any field neither mapped nor listed in
 * DROPPED_FIELDS. Tool-call ids stay as the client holds them (canonical ids), escaped only when Anthropic would
 * reject them.
 */
export function openaiRequestToCanonical(body: OpenAIChatBody): CanonicalRequest {
  for (const key of Object.keys(body)) {
    if (MAPPED_FIELDS.has(key) || key in DROPPED_FIELDS || !given(body[key])) continue;
    if (key === "functions" || key === "function_call") invalid(`${key} is not supported; use tools and tool_choice`, key);
    invalid(`unrecognized request argument: ${key} (llmux cannot translate it for this backend)`, key);
  }
  const n = body.n;
  if (given(n) && n !== 1) invalid("n must be 1 for this backend", "n");

  const { system, messages } = decodeMessages(body.messages);
  const stream = body.stream === true;
  const effort = body.reasoning_effort;
  if (given(effort) && effort !== "none" && !EFFORTS.has(effort)) invalid(`unsupported reasoning_effort: ${effort}`, "reasoning_effort");
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const temperature = optionalNumber(body, "temperature");
  const topP = optionalNumber(body, "top_p");
  const topK = optionalNumber(body, "top_k");
  const stopSequences = decodeStop(body.stop);
  const tools = decodeTools(body.tools);
  const toolChoice = decodeToolChoice(body.tool_choice);
  const responseFormat = decodeResponseFormat(body.response_format);
  // `safety_identifier` is OpenAI's successor to `user`; both identify the end user.
  const user = optionalString(body, "user") ?? optionalString(body, "safety_identifier");
  return {
    model: body.model,
    system,
    messages,
    ...(maxTokens !== undefined && { maxTokens }),
    stream,
    includeUsage: stream && body.stream_options?.include_usage === true,
    ...(temperature !== undefined && { temperature }),
    ...(topP !== undefined && { topP }),
    ...(topK !== undefined && { topK }),
    ...(stopSequences !== undefined && { stopSequences }),
    ...(tools !== undefined && { tools }),
    ...(toolChoice !== undefined && { toolChoice }),
    ...(body.parallel_tool_calls === false && { parallelToolCalls: false }),
    ...(effort === "none" && { thinking: { type: "disabled" } }),
    ...(given(effort) && effort !== "none" && { thinking: { type: "adaptive" }, effort: effort as ReasoningEffort }),
    ...(responseFormat !== undefined && { responseFormat }),
    ...(user !== undefined && { user }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// canonical → OpenAI upstream
// ---------------------------------------------------------------------------------------------------------------

/** Collects the names shortened for one request, refusing the (astronomically unlikely) hash collision. */
class ToolNamer {
  /** Created by the first name shortened. */
  #shortened: Map<string, string> | undefined;

  get map(): ToolNameMap {
    return this.#shortened ?? NO_SHORTENED_NAMES;
  }

  name(original: string): string {
    const short = shortenToolName(original);
    if (short === original) return original;
    const map = (this.#shortened ??= new Map());
    const known = map.get(short);
    if (known !== undefined && known !== original) invalid(`tool names ${known} and ${original} collide when shortened`, "tools");
    map.set(short, original);
    return short;
  }
}

function imageUrl(source: ImageSource): string {
  return source.type === "base64" ? `data:${source.mediaType};base64,${source.data}` : source.url;
}

function userParts(blocks: Array<TextBlock | ImageBlock>): string | Array<OpenAITextPart | OpenAIImagePart> {
  if (blocks.length === 1 && blocks[0]!.type === "text") return blocks[0]!.text;
  return blocks.map((b): OpenAITextPart | OpenAIImagePart =>
    b.type === "text" ? { type: "text", text: b.text } : { type: "image_url", image_url: { url: imageUrl(b.source) } },
  );
}

function joinText(blocks: readonly ContentBlock[], separator: string): string {
  return blocks
    .filter((b): b is TextBlock => b.type === "text")
    .map((b) => b.text)
    .join(separator);
}

/**
 * A user turn: every tool_result becomes a `tool` message FIRST (they must directly follow the assistant's
 * tool_calls), text parts joined with "\n", an error result prefixed "Error: " (OpenAI has no error flag, and the
 * model should still know the call failed). OpenAI tool messages are text-only, so images from tool results move
 * into the user message that follows, ahead of the turn's own text and images.
 */
function encodeUserTurn(content: readonly ContentBlock[], out: OpenAIMessageParam[]): void {
  const parts: Array<TextBlock | ImageBlock> = [];
  const own: Array<TextBlock | ImageBlock> = [];
  for (const block of content) {
    if (block.type === "tool_result") {
      const text = joinText(block.content, "\n");
      out.push({ role: "tool", tool_call_id: fromAnthropicToolId(block.toolUseId), content: block.isError ? `Error: ${text}` : text });
      for (const inner of block.content) if (inner.type === "image") parts.push(inner);
    } else if (block.type === "text" || block.type === "image") {
      own.push(block);
    }
  }
  parts.push(...own);
  if (parts.length > 0) out.push({ role: "user", content: userParts(parts) });
}

/** An assistant turn: text joined (Anthropic splits one answer into blocks), tool_use → tool_calls; thinking dropped. */
function encodeAssistantTurn(content: readonly ContentBlock[], names: ToolNamer, out: OpenAIMessageParam[]): void {
  const text = joinText(content, "");
  const calls: OpenAIToolCall[] = content
    .filter((b): b is ToolUseBlock => b.type === "tool_use")
    .map((b) => ({ id: fromAnthropicToolId(b.id), type: "function", function: { name: names.name(b.name), arguments: JSON.stringify(b.input) } }));
  if (calls.length > 0) out.push({ role: "assistant", content: text.length > 0 ? text : null, tool_calls: calls });
  else if (text.length > 0) out.push({ role: "assistant", content: text });
}

/**
 * Reasoning effort for the upstream. An explicit effort wins (OpenAI has nothing above `high`); a manual budget is
 * bucketed as LiteLLM does (≥4096 high, ≥2048 medium, ≥1024 low, else minimal); adaptive without effort is
 * `medium`; disabled or absent thinking sends nothing.
 */
function reasoningEffort(req: CanonicalRequest): OpenAIReasoningEffort | undefined {
  if (req.thinking?.type === "disabled") return undefined;
  if (req.effort !== undefined) return req.effort === "xhigh" || req.effort === "max" ? "high" : req.effort;
  if (req.thinking?.type === "adaptive") return "medium";
  if (req.thinking?.type === "enabled") {
    const budget = req.thinking.budgetTokens;
    return budget >= 4096 ? "high" : budget >= 2048 ? "medium" : budget >= 1024 ? "low" : "minimal";
  }
  return undefined;
}

function encodeToolChoice(choice: ToolChoice, names: ToolNamer): OpenAIToolChoice {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: names.name(choice.name) } };
  }
}

function encodeResponseFormat(format: ResponseFormat): OpenAIResponseFormat {
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    // OpenAI requires a name; Anthropic's output format has none.
    json_schema: { name: format.name ?? "response", schema: format.schema, ...(format.strict !== undefined && { strict: format.strict }) },
  };
}

/** OpenAI accepts at most 4 stop sequences (400 `array_above_max_length` otherwise). */
const MAX_STOP_SEQUENCES = 4;

/**
 * Canonical request → OpenAI Chat Completions body for an OpenAI-compatible upstream, with `model` replaced by the
 * backend's. Returns the map of tool names shortened to fit OpenAI's 64-character limit, which the response and
 * stream decoders use to restore them. Dropped: thinking blocks (an OpenAI upstream cannot verify them),
 * `cache_control` (OpenAI caches automatically), `topK` (OpenAI rejects unknown arguments). Streaming always asks
 * for usage, since an OpenAI stream reports none otherwise.
 */
export function canonicalToOpenaiRequest(req: CanonicalRequest, opts: { model: string }): { body: Record<string, unknown>; toolNames: ToolNameMap } {
  const names = new ToolNamer();
  const messages: OpenAIMessageParam[] = [];
  const system = joinText(req.system, "\n");
  if (system.length > 0) messages.push({ role: "system", content: system });
  for (const message of req.messages) {
    if (message.role === "user") encodeUserTurn(message.content, messages);
    else if (message.role === "assistant") encodeAssistantTurn(message.content, names, messages);
    else {
      const text = joinText(message.content, "\n");
      if (text.length > 0) messages.push({ role: "system", content: text });
    }
  }
  const tools: OpenAIFunctionTool[] | undefined = req.tools?.map((t) => ({
    type: "function",
    function: {
      name: names.name(t.name),
      ...(t.description !== undefined && { description: t.description }),
      parameters: t.inputSchema,
      ...(t.strict !== undefined && { strict: t.strict }),
    },
  }));
  const hasTools = tools !== undefined && tools.length > 0;
  const effort = reasoningEffort(req);
  const body: OpenAIChatRequest = {
    model: opts.model,
    messages,
    ...(req.maxTokens !== undefined && { max_tokens: req.maxTokens }),
    ...(req.temperature !== undefined && { temperature: req.temperature }),
    ...(req.topP !== undefined && { top_p: req.topP }),
    ...(req.stopSequences !== undefined && req.stopSequences.length > 0 && { stop: req.stopSequences.slice(0, MAX_STOP_SEQUENCES) }),
    ...(hasTools && { tools }),
    // OpenAI refuses tool_choice and parallel_tool_calls without tools.
    ...(hasTools && req.toolChoice !== undefined && { tool_choice: encodeToolChoice(req.toolChoice, names) }),
    ...(hasTools && req.parallelToolCalls === false && { parallel_tool_calls: false }),
    ...(effort !== undefined && { reasoning_effort: effort }),
    ...(req.responseFormat !== undefined && { response_format: encodeResponseFormat(req.responseFormat) }),
    ...(req.user !== undefined && { user: req.user }),
    stream: req.stream,
    ...(req.stream && { stream_options: { include_usage: true } }),
  };
  return { body: { ...body }, toolNames: names.map };
}
