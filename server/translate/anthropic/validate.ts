import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { findTooDeep, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { ANTHROPIC_SERVER_TOOL_BLOCK_TYPES, type AnthropicMessagesRequest } from "./wire.js";
import { isObject } from "../../lib/is-object.js";
import { forbiddenField } from "../forbidden-fields.js";
import { NO_NAMES } from "../no-names.js";
import { MAX_TOOLS, modelNameProblem } from "../requirements.js";

/** Most messages in one request; bounds validation and translation work. */
export const MAX_MESSAGES = 100_000;

const ROLES = new Set(["user", "assistant", "system"]);
const MESSAGE_BLOCK_TYPES = new Set<string>([
  "text",
  "image",
  "document",
  "tool_use",
  "tool_result",
  "thinking",
  "redacted_thinking",
  "search_result",
  "container_upload",
  ...ANTHROPIC_SERVER_TOOL_BLOCK_TYPES,
]);
const TOOL_RESULT_BLOCK_TYPES = new Set(["text", "image", "document", "search_result", "tool_reference"]);
const TOOL_CHOICE_TYPES = new Set(["auto", "any", "tool", "none"]);
const THINKING_TYPES = new Set(["enabled", "adaptive", "disabled", "between_tools"]);
const EFFORTS = new Set(["low", "medium", "high", "xhigh", "max"]);

type Json = Record<string, unknown>;


function fail(param: string, detail: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, `${param}: ${detail}`, { param });
}

/** Quotes a client-supplied value for an error message: JSON-escaped, at most 64 characters. */
export function quote(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function requireString(obj: Json, key: string, at: string): void {
  if (obj[key] === undefined) fail(`${at}.${key}`, "field required");
  if (typeof obj[key] !== "string") fail(`${at}.${key}`, "must be a string");
}

function optionalBoolean(obj: Json, key: string, param: string): void {
  if (obj[key] !== undefined && typeof obj[key] !== "boolean") fail(param, "must be a boolean");
}

function requireObject(v: unknown, param: string): Json {
  if (v === undefined) fail(param, "field required");
  if (!isObject(v)) fail(param, "must be an object");
  return v;
}

function validateCacheControl(block: Json, at: string): void {
  const cc = block["cache_control"];
  if (cc === undefined || cc === null) return;
  if (!isObject(cc) || typeof cc["type"] !== "string") fail(`${at}.cache_control`, "must be null or an object with a type");
  if (cc["ttl"] !== undefined && typeof cc["ttl"] !== "string") fail(`${at}.cache_control.ttl`, "must be a string");
}

function validateText(block: Json, at: string): void {
  requireString(block, "text", at);
  validateCacheControl(block, at);
}

function validateImage(block: Json, at: string): void {
  const source = requireObject(block["source"], `${at}.source`);
  switch (source["type"]) {
    case "base64":
      requireString(source, "media_type", `${at}.source`);
      requireString(source, "data", `${at}.source`);
      break;
    case "url":
      requireString(source, "url", `${at}.source`);
      break;
    case "file":
      requireString(source, "file_id", `${at}.source`);
      break;
    default:
      fail(`${at}.source.type`, "must be one of base64, url, file");
  }
  validateCacheControl(block, at);
}

function validateToolResult(block: Json, at: string): void {
  requireString(block, "tool_use_id", at);
  optionalBoolean(block, "is_error", `${at}.is_error`);
  validateCacheControl(block, at);
  const content = block["content"];
  if (content === undefined || typeof content === "string") return;
  if (!Array.isArray(content)) fail(`${at}.content`, "must be a string or an array of content blocks");
  for (let i = 0; i < content.length; i++) {
    const inner = content[i];
    const innerAt = `${at}.content.${i}`;
    if (!isObject(inner)) fail(innerAt, "must be an object");
    const type = inner["type"];
    if (type === undefined) fail(`${innerAt}.type`, "field required");
    if (typeof type !== "string" || !TOOL_RESULT_BLOCK_TYPES.has(type)) fail(`${innerAt}.type`, `unknown tool_result content block type ${quote(type)}`);
    if (type === "text") validateText(inner, innerAt);
    else if (type === "image") validateImage(inner, innerAt);
    else if (type === "document") requireObject(inner["source"], `${innerAt}.source`);
  }
}

function validateBlock(block: unknown, at: string, systemRole: boolean): void {
  if (!isObject(block)) fail(at, "must be an object");
  const type = block["type"];
  if (type === undefined) fail(`${at}.type`, "field required");
  if (typeof type !== "string" || !MESSAGE_BLOCK_TYPES.has(type)) fail(`${at}.type`, `unknown content block type ${quote(type)}`);
  if (systemRole && type !== "text") fail(`${at}.type`, "system messages may contain only text blocks");
  switch (type) {
    case "text":
      validateText(block, at);
      break;
    case "image":
      validateImage(block, at);
      break;
    case "document":
      requireObject(block["source"], `${at}.source`);
      break;
    case "tool_use":
      requireString(block, "id", at);
      requireString(block, "name", at);
      requireObject(block["input"], `${at}.input`);
      validateCacheControl(block, at);
      break;
    case "tool_result":
      validateToolResult(block, at);
      break;
    case "thinking":
      requireString(block, "thinking", at);
      if (block["signature"] !== undefined && typeof block["signature"] !== "string") fail(`${at}.signature`, "must be a string");
      break;
    case "redacted_thinking":
      requireString(block, "data", at);
      break;
    default:
      // search_result, container_upload and server-tool history: accepted as is (passed through on
      // Anthropic routes; the canonical translation decides what to do with them).
      break;
  }
}

function validateMessage(msg: unknown, at: string): void {
  if (!isObject(msg)) fail(at, "must be an object");
  const role = msg["role"];
  if (typeof role !== "string" || !ROLES.has(role)) fail(`${at}.role`, "must be one of user, assistant, system");
  const content = msg["content"];
  if (typeof content === "string") return;
  if (!Array.isArray(content)) fail(`${at}.content`, "must be a string or an array of content blocks");
  for (let i = 0; i < content.length; i++) validateBlock(content[i], `${at}.content.${i}`, role === "system");
}

function validateSystem(system: unknown): void {
  if (typeof system === "string") return;
  if (!Array.isArray(system)) fail("system", "must be a string or an array of text blocks");
  for (let i = 0; i < system.length; i++) {
    const block = system[i];
    const at = `system.${i}`;
    if (!isObject(block)) fail(at, "must be an object");
    if (block["type"] !== "text") fail(`${at}.type`, "must be \"text\"");
    validateText(block, at);
  }
}

/** Validates `tools` and returns the declared tool names (for `tool_choice`). */
function validateTools(tools: unknown): Set<string> {
  if (!Array.isArray(tools)) fail("tools", "must be an array");
  if (tools.length > MAX_TOOLS) fail("tools", `must contain at most ${MAX_TOOLS} items`);
  const names = new Set<string>();
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i];
    const at = `tools.${i}`;
    if (!isObject(tool)) fail(at, "must be an object");
    if (tool["name"] === undefined) fail(`${at}.name`, "field required");
    if (typeof tool["name"] !== "string" || tool["name"] === "") fail(`${at}.name`, "must be a non-empty string");
    names.add(tool["name"]);
    const type = tool["type"];
    if (type === undefined || type === null || type === "custom") {
      requireObject(tool["input_schema"], `${at}.input_schema`);
      if (tool["description"] !== undefined && typeof tool["description"] !== "string") fail(`${at}.description`, "must be a string");
      optionalBoolean(tool, "strict", `${at}.strict`);
      validateCacheControl(tool, at);
    } else if (typeof type !== "string") {
      fail(`${at}.type`, "must be a string");
    }
  }
  return names;
}

function validateToolChoice(choice: unknown, declared: ReadonlySet<string>): void {
  const tc = requireObject(choice, "tool_choice");
  const type = tc["type"];
  if (typeof type !== "string" || !TOOL_CHOICE_TYPES.has(type)) fail("tool_choice.type", "must be one of auto, any, tool, none");
  optionalBoolean(tc, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use");
  if (type !== "tool") return;
  requireString(tc, "name", "tool_choice");
  if (!declared.has(tc["name"] as string)) fail("tool_choice.name", `tool ${quote(tc["name"])} is not defined in tools`);
}

function validateThinking(thinking: unknown): void {
  const t = requireObject(thinking, "thinking");
  const type = t["type"];
  if (typeof type !== "string" || !THINKING_TYPES.has(type)) fail("thinking.type", "must be one of enabled, adaptive, disabled, between_tools");
  if (type === "enabled") {
    const budget = t["budget_tokens"];
    if (budget === undefined) fail("thinking.budget_tokens", "field required");
    if (!Number.isSafeInteger(budget) || (budget as number) <= 0) fail("thinking.budget_tokens", "must be a positive integer");
  }
}

function validateOutputFormat(format: unknown, param: string): void {
  if (format === undefined || format === null) return;
  const f = requireObject(format, param);
  if (f["type"] !== "json_schema") fail(`${param}.type`, "must be \"json_schema\"");
  requireObject(f["schema"], `${param}.schema`);
}

function validateOutputConfig(config: unknown): void {
  const c = requireObject(config, "output_config");
  const effort = c["effort"];
  if (effort !== undefined && effort !== null && (typeof effort !== "string" || !EFFORTS.has(effort))) {
    fail("output_config.effort", "must be one of low, medium, high, xhigh, max");
  }
  validateOutputFormat(c["format"], "output_config.format");
}

/** A sampling parameter within Anthropic's documented range (temperature and top_p are both 0 to 1). */
function validateRange(body: Json, key: string, min: number, max: number): void {
  const v = body[key];
  if (v !== undefined && (typeof v !== "number" || !(v >= min && v <= max))) fail(key, `must be a number between ${min} and ${max}`);
}

/**
 * Checks a parsed `POST /v1/messages` body and returns it typed. Every field a translator reads is checked, so
 * translation never meets a shape it cannot handle (no TypeError → 500); the error names the field as a dotted
 * `param` ("messages.2.content.0.type") the way Anthropic's own 400s do. The walk follows the schema only (no
 * recursion into user data) and is linear in the body size; nesting is bounded by {@link MAX_JSON_DEPTH}.
 * Unknown top-level fields are allowed (Anthropic→Anthropic routes pass them through), except the fields that
 * would redirect the call ({@link forbiddenField}), refused as on the OpenAI endpoint.
 *
 * @throws LlmuxError INVALID_REQUEST with `param` set (absent only when the body is not an object).
 */
export function validateAnthropicRequest(body: unknown): AnthropicMessagesRequest {
  if (!isObject(body)) throw llmuxError(Reason.INVALID_REQUEST, "request body must be a JSON object");
  const tooDeep = findTooDeep(body, MAX_JSON_DEPTH);
  if (tooDeep !== undefined) fail(tooDeep.slice(0, 5).join("."), `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);

  const model = body["model"];
  if (model === undefined) fail("model", "field required");
  if (typeof model !== "string") fail("model", "must be a string");
  if (model === "") fail("model", "must not be empty");
  const modelProblem = modelNameProblem(model);
  if (modelProblem !== undefined) fail("model", modelProblem);
  const forbidden = forbiddenField(body);
  if (forbidden !== undefined) fail(forbidden, "not allowed: llmux decides where requests go");

  const maxTokens = body["max_tokens"];
  if (maxTokens === undefined) fail("max_tokens", "field required");
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) <= 0) fail("max_tokens", "must be a positive integer");

  const messages = body["messages"];
  if (messages === undefined) fail("messages", "field required");
  if (!Array.isArray(messages)) fail("messages", "must be an array");
  if (messages.length === 0) fail("messages", "must contain at least one message");
  if (messages.length > MAX_MESSAGES) fail("messages", `must contain at most ${MAX_MESSAGES} messages`);
  for (let i = 0; i < messages.length; i++) validateMessage(messages[i], `messages.${i}`);

  if (body["system"] !== undefined) validateSystem(body["system"]);
  optionalBoolean(body, "stream", "stream");
  validateRange(body, "temperature", 0, 1);
  validateRange(body, "top_p", 0, 1);
  const topK = body["top_k"];
  if (topK !== undefined && (!Number.isSafeInteger(topK) || (topK as number) < 0)) fail("top_k", "must be a non-negative integer");

  const stops = body["stop_sequences"];
  if (stops !== undefined) {
    if (!Array.isArray(stops)) fail("stop_sequences", "must be an array of strings");
    for (let i = 0; i < stops.length; i++) if (typeof stops[i] !== "string") fail(`stop_sequences.${i}`, "must be a string");
  }

  const declared = body["tools"] === undefined ? NO_NAMES : validateTools(body["tools"]);
  if (body["tool_choice"] !== undefined) validateToolChoice(body["tool_choice"], declared);
  if (body["thinking"] !== undefined) validateThinking(body["thinking"]);
  if (body["output_config"] !== undefined) validateOutputConfig(body["output_config"]);
  validateOutputFormat(body["output_format"], "output_format");

  return body as AnthropicMessagesRequest;
}
