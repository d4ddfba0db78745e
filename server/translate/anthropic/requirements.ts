import { estimateTextTokens, IMAGE_TOKEN_ESTIMATE, type Requirements } from "../requirements.js";
import { jsonTextLength } from "../../lib/json-measure.js";
import type { AnthropicContentBlock, AnthropicMessagesRequest, AnthropicToolResultContentBlock } from "./wire.js";

interface Tally {
  chars: number;
  images: number;
}

function countToolResult(content: string | AnthropicToolResultContentBlock[] | undefined, tally: Tally): void {
  if (content === undefined) return;
  if (typeof content === "string") {
    tally.chars += content.length;
    return;
  }
  for (const block of content) {
    if (block.type === "text") tally.chars += block.text.length;
    else if (block.type === "image") tally.images++;
  }
}

function countBlock(block: AnthropicContentBlock, tally: Tally): void {
  switch (block.type) {
    case "text":
      tally.chars += block.text.length;
      break;
    case "image":
      tally.images++;
      break;
    case "tool_use":
      tally.chars += jsonTextLength(block.input);
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
  const tally: Tally = { chars: 0, images: 0 };
  const system = body.system;
  if (typeof system === "string") tally.chars += system.length;
  else if (system !== undefined) for (const block of system) tally.chars += block.text.length;

  for (const msg of body.messages) {
    if (typeof msg.content === "string") tally.chars += msg.content.length;
    else for (const block of msg.content) countBlock(block, tally);
  }

  for (const tool of body.tools ?? []) {
    tally.chars += tool.name.length;
    if (typeof tool["description"] === "string") tally.chars += tool["description"].length;
    if (tool["input_schema"] !== undefined) tally.chars += jsonTextLength(tool["input_schema"]);
  }

  const thinking = body.thinking?.type;
  return {
    model: body.model,
    promptTokens: estimateTextTokens(tally.chars) + tally.images * IMAGE_TOKEN_ESTIMATE,
    maxOutputTokens: body.max_tokens,
    hasImages: tally.images > 0,
    wantsThinking: thinking === "enabled" || thinking === "adaptive" || thinking === "between_tools",
  };
}
