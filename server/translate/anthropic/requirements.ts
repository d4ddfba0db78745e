import { estimateTextTokens, IMAGE_TOKEN_ESTIMATE, type PromptText, type Requirements } from "../requirements.js";
import { jsonTextLength } from "../../lib/json-measure.js";
import type { AnthropicContentBlock, AnthropicMessagesRequest, AnthropicToolResultContentBlock } from "./wire.js";

/** Receives what the model reads, piece by piece: counted for the estimate, or collected for a tokenizer. */
interface Tally {
  text(value: string): void;
  json(value: unknown): void;
  image(): void;
}

function countToolResult(content: string | AnthropicToolResultContentBlock[] | undefined, tally: Tally): void {
  if (content === undefined) return;
  if (typeof content === "string") {
    tally.text(content);
    return;
  }
  for (const block of content) {
    if (block.type === "text") tally.text(block.text);
    else if (block.type === "image") tally.image();
  }
}

function countBlock(block: AnthropicContentBlock, tally: Tally): void {
  switch (block.type) {
    case "text":
      tally.text(block.text);
      break;
    case "image":
      tally.image();
      break;
    case "tool_use":
      tally.json(block.input);
      break;
    case "tool_result":
      countToolResult(block.content, tally);
      break;
    default:
      // Thinking from earlier turns is stripped from the context window by the API, and the remaining
      // block kinds (documents, server-tool history) are not priced by this estimate.
      break;
  }
}

/**
 * What backend selection needs to know about an Anthropic request. The prompt estimate counts the text the model
 * reads (system, message text, tool results, tool_use inputs as JSON, tool names, descriptions and schemas) at
 * chars/4 plus {@link IMAGE_TOKEN_ESTIMATE} per image, including images inside tool results. JSON is measured
 * iteratively, so deeply nested inputs cannot overflow the stack. `wantsThinking` is true for `enabled` and
 * `adaptive` (and `between_tools`, which thinks too).
 */
export function anthropicRequirements(body: AnthropicMessagesRequest): Requirements {
  let chars = 0;
  let images = 0;
  walk(body, {
    text: (value) => (chars += value.length),
    json: (value) => (chars += jsonTextLength(value)),
    image: () => images++,
  });
  const thinking = body.thinking?.type;
  return {
    model: body.model,
    promptTokens: estimateTextTokens(chars) + images * IMAGE_TOKEN_ESTIMATE,
    maxOutputTokens: body.max_tokens,
    hasImages: images > 0,
    wantsThinking: thinking === "enabled" || thinking === "adaptive" || thinking === "between_tools",
  };
}

/** The text an Anthropic request puts before the model, in order, for an exact tokenizer count. */
export function anthropicPromptText(body: AnthropicMessagesRequest): PromptText {
  const parts: string[] = [];
  let images = 0;
  walk(body, { text: (value) => parts.push(value), json: (value) => parts.push(JSON.stringify(value)), image: () => images++ });
  return { text: parts.join("\n"), messages: body.messages.length + (body.system === undefined ? 0 : 1), images };
}

function walk(body: AnthropicMessagesRequest, tally: Tally): void {
  const system = body.system;
  if (typeof system === "string") tally.text(system);
  else if (system !== undefined) for (const block of system) tally.text(block.text);
  for (const msg of body.messages) {
    if (typeof msg.content === "string") tally.text(msg.content);
    else for (const block of msg.content) countBlock(block, tally);
  }
  for (const tool of body.tools ?? []) {
    tally.text(tool.name);
    if (typeof tool["description"] === "string") tally.text(tool["description"]);
    if (tool["input_schema"] !== undefined) tally.json(tool["input_schema"]);
  }
}
