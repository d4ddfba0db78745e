import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { findTooDeep, MAX_JSON_DEPTH } from "../../lib/json-measure.js";
import { isObject } from "../../lib/is-object.js";
import { forbiddenField } from "../forbidden-fields.js";
import { MAX_TOOLS, modelNameProblem } from "../requirements.js";
import type { OpenAIImagePart, OpenAIRefusalPart, OpenAITextPart, OpenAIUnsupportedPart } from "./wire.js";

/**
 * A content part after validation: one of the types below, carrying its field (`text` and `refusal` strings,
 * `image_url.url` a string, the others' field an object). Extra members (`cache_control`, `detail`) are kept.
 */
export type OpenAIContentPart = OpenAITextPart | OpenAIImagePart | OpenAIRefusalPart | OpenAIUnsupportedPart;

/** An OpenAI chat message after validation; content is checked for shape, not for every optional field. */
export interface OpenAIMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool" | "function";
  content?: string | OpenAIContentPart[] | null;
  [key: string]: unknown;
}

/**
 * A validated OpenAI Chat Completions request. Unknown fields are kept (they pass through to OpenAI-compatible
 * backends unchanged); the fields llmux reads are type-checked.
 */
export interface OpenAIChatBody {
  model: string;
  messages: OpenAIMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean; [key: string]: unknown } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  reasoning_effort?: string | null;
  tools?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
const MAX_MESSAGES = 100_000;
/** Real uses bias a handful of tokens; the bound keeps a request from making every upstream parse a huge map. */
const MAX_LOGIT_BIAS = 1024;

/**
 * Content part types a client may send, each with the shape of the field named after it: OpenAI's own (text,
 * image_url, input_audio, file, refusal) and vLLM's audio and video URLs. Any other type is refused here, with its
 * `param`, rather than by whichever backend it reaches.
 */
const PART_FIELDS: Readonly<Record<OpenAIContentPart["type"], "string" | "object" | "url">> = {
  text: "string",
  refusal: "string",
  image_url: "url",
  audio_url: "url",
  video_url: "url",
  input_audio: "object",
  file: "object",
};

function invalid(message: string, param: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, message, { param });
}


function checkOptionalNumber(body: Record<string, unknown>, key: string, min: number, max: number, integer: boolean): void {
  const value = body[key];
  if (value === undefined || value === null) return;
  if (typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    invalid(`${key} must be ${integer ? "an integer" : "a number"} between ${min} and ${max}`, key);
  }
}

function checkPart(part: Record<string, unknown>, type: string, at: string): void {
  const kind = Object.hasOwn(PART_FIELDS, type) ? PART_FIELDS[type as OpenAIContentPart["type"]] : undefined;
  if (kind === undefined) invalid(`unsupported content part type: ${type.slice(0, 64)}`, `${at}.type`);
  const value = part[type];
  if (kind === "string") {
    if (typeof value !== "string") invalid(`${type} must be a string`, `${at}.${type}`);
  } else if (!isObject(value)) {
    invalid(`${type} must be an object`, `${at}.${type}`);
  } else if (kind === "url" && typeof value.url !== "string") {
    invalid(`${type}.url must be a string`, `${at}.${type}.url`);
  }
}

function checkLogitBias(bias: unknown): void {
  if (bias === undefined || bias === null) return;
  if (!isObject(bias)) invalid("logit_bias must be an object mapping token ids to numbers", "logit_bias");
  let count = 0;
  for (const token in bias) {
    if (++count > MAX_LOGIT_BIAS) invalid(`logit_bias must have at most ${MAX_LOGIT_BIAS} entries`, "logit_bias");
    const value = bias[token];
    if (typeof value !== "number" || !(value >= -100 && value <= 100)) {
      invalid("logit_bias values must be numbers between -100 and 100", `logit_bias.${token.slice(0, 32)}`);
    }
  }
}

/**
 * Validates an OpenAI Chat Completions request body. Checks exactly what llmux relies on, plus what must never
 * reach an upstream (non-finite numbers, string booleans, redirecting fields); everything else is left for the
 * backend to judge. Linear in the number of messages and content parts; never recurses into user data.
 */
export function validateOpenAIRequest(body: unknown): OpenAIChatBody {
  if (!isObject(body)) invalid("request body must be a JSON object", "");
  const tooDeep = findTooDeep(body, MAX_JSON_DEPTH);
  if (tooDeep !== undefined) invalid(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, tooDeep.slice(0, 5).join("."));
  const model = body.model;
  if (typeof model !== "string" || model.length === 0) invalid("model must be a non-empty string", "model");
  const modelProblem = modelNameProblem(model);
  if (modelProblem !== undefined) invalid(`model ${modelProblem}`, "model");
  const forbidden = forbiddenField(body);
  if (forbidden !== undefined) invalid(`${forbidden} is not allowed: llmux decides where requests go`, forbidden);
  const messages = body.messages;
  if (!Array.isArray(messages)) invalid("messages must be an array", "messages");
  if (messages.length === 0) invalid("messages must contain at least one message", "messages");
  if (messages.length > MAX_MESSAGES) invalid(`messages must contain at most ${MAX_MESSAGES} items`, "messages");
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isObject(message)) invalid("each message must be an object", `messages.${i}`);
    if (typeof message.role !== "string" || !ROLES.has(message.role)) {
      invalid("role must be one of system, developer, user, assistant, tool", `messages.${i}.role`);
    }
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== "string") {
      if (!Array.isArray(content)) invalid("content must be a string or an array of content parts", `messages.${i}.content`);
      for (let j = 0; j < content.length; j++) {
        const part: unknown = content[j];
        if (!isObject(part) || typeof part.type !== "string") {
          invalid("each content part must be an object with a type", `messages.${i}.content.${j}`);
        }
        checkPart(part, part.type, `messages.${i}.content.${j}`);
      }
    }
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") invalid("stream must be a boolean", "stream");
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isObject(streamOptions)) invalid("stream_options must be an object", "stream_options");
    if (streamOptions.include_usage !== undefined && typeof streamOptions.include_usage !== "boolean") {
      invalid("stream_options.include_usage must be a boolean", "stream_options.include_usage");
    }
  }
  checkOptionalNumber(body, "max_tokens", 1, 2 ** 31 - 1, true);
  checkOptionalNumber(body, "max_completion_tokens", 1, 2 ** 31 - 1, true);
  checkOptionalNumber(body, "temperature", 0, 2, false);
  checkOptionalNumber(body, "top_p", 0, 1, false);
  checkOptionalNumber(body, "n", 1, 128, true);
  // Legacy, but vLLM still reads it: each extra candidate is a whole extra generation.
  checkOptionalNumber(body, "best_of", 1, 20, true);
  checkLogitBias(body.logit_bias);
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) invalid("tools must be an array", "tools");
    if (body.tools.length > MAX_TOOLS) invalid(`tools must contain at most ${MAX_TOOLS} items`, "tools");
    for (let i = 0; i < body.tools.length; i++) {
      if (!isObject(body.tools[i])) invalid("each tool must be an object", `tools.${i}`);
    }
  }
  return body as OpenAIChatBody;
}
