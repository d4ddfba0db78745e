import { estimateTextTokens, IMAGE_TOKEN_ESTIMATE, type PromptText, type Requirements } from "../requirements.js";
import type { OpenAIChatBody } from "./validate.js";

/** Receives what the model reads, piece by piece: counted for the estimate, or collected for a tokenizer. */
interface Tally {
  text(value: string): void;
  image(): void;
}

function walk(body: OpenAIChatBody, tally: Tally): void {
  for (const message of body.messages) {
    const content = message.content;
    if (typeof content === "string") tally.text(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === "text") tally.text(part.text);
        else if (part.type === "image_url") tally.image();
      }
    }
    const toolCalls = message.tool_calls;
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof call?.function?.name === "string") tally.text(call.function.name);
        if (typeof call?.function?.arguments === "string") tally.text(call.function.arguments);
      }
    }
  }
  // Tool schemas are sent to the model as text; their JSON is a fair stand-in.
  for (const tool of body.tools ?? []) tally.text(JSON.stringify(tool));
}

/**
 * What selection needs to know about an OpenAI request: the model, an estimate of the prompt's size, the output
 * it asks for, whether it carries images and whether it asks for reasoning. Counts characters of message text,
 * tool-call arguments and tool definitions; one pass, no serialization of message objects.
 */
export function openaiRequirements(body: OpenAIChatBody): Requirements {
  let chars = 0;
  let images = 0;
  walk(body, { text: (value) => (chars += value.length), image: () => images++ });
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

/** The text an OpenAI request puts before the model, in order, for an exact tokenizer count. */
export function openaiPromptText(body: OpenAIChatBody): PromptText {
  const parts: string[] = [];
  let images = 0;
  walk(body, { text: (value) => parts.push(value), image: () => images++ });
  return { text: parts.join("\n"), messages: body.messages.length, images };
}
