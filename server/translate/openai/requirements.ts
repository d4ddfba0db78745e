import { estimateTextTokens, IMAGE_TOKEN_ESTIMATE, type Requirements } from "../requirements.js";
import type { OpenAIChatBody } from "./validate.js";

/**
 * What selection needs to know about an OpenAI request: the model, an estimate of the prompt's size, the output
 * it asks for, whether it carries images and whether it asks for reasoning. Counts characters of message text,
 * tool-call arguments and tool definitions; one pass, no serialization of message objects.
 */
export function openaiRequirements(body: OpenAIChatBody): Requirements {
  let chars = 0;
  let images = 0;
  for (const message of body.messages) {
    const content = message.content;
    if (typeof content === "string") chars += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === "text" && typeof part.text === "string") chars += part.text.length;
        else if (part.type === "image_url") images++;
      }
    }
    const toolCalls = message.tool_calls;
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof call?.function?.arguments === "string") chars += call.function.arguments.length;
        if (typeof call?.function?.name === "string") chars += call.function.name.length;
      }
    }
  }
  if (body.tools) {
    // Tool schemas are sent to the model as text; their JSON length is a fair stand-in.
    for (const tool of body.tools) chars += JSON.stringify(tool).length;
  }
  const maxOutput = body.max_completion_tokens ?? body.max_tokens ?? 0;
  const effort = body.reasoning_effort;
  return {
    model: body.model,
    promptTokens: estimateTextTokens(chars) + images * IMAGE_TOKEN_ESTIMATE,
    maxOutputTokens: maxOutput,
    hasImages: images > 0,
    wantsThinking: typeof effort === "string" && effort !== "none",
  };
}
