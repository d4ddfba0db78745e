import { Cancellation } from "../../server/lib/cancellation.js";
import type { DispatchCall } from "../../server/route/dispatch.js";
import { createOpenAIPassthrough } from "../../server/translate/exchange/openai-to-openai.js";
import { validateOpenAIRequest } from "../../server/translate/openai/validate.js";

/**
 * What the gateway hands the dispatcher for an OpenAI client saying "hi" to model `gpt`, served by a backend of the
 * same dialect: for tests of the dispatcher itself, below the facade.
 */
export function openaiDispatchCall(stream: boolean): DispatchCall {
  const body = validateOpenAIRequest({ model: "gpt", stream, messages: [{ role: "user", content: "hi" }] });
  return { exchangeFor: () => createOpenAIPassthrough(() => body), stream, operation: "chat", headers: {}, signal: new Cancellation(), trace: { attempts: [] } };
}
