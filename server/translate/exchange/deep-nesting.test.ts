import { describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/helpers/backend-config.js";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import type { SseEvent } from "../canonical.js";
import { validateAnthropicRequest } from "../anthropic/validate.js";
import { validateOpenAIRequest } from "../openai/validate.js";
import { createAnthropicPassthrough } from "./anthropic-to-anthropic.js";
import { createAnthropicToOpenAI } from "./anthropic-to-openai.js";
import type { Exchange } from "./exchange.js";
import { createOpenAIToAnthropic } from "./openai-to-anthropic.js";
import { createOpenAIPassthrough } from "./openai-to-openai.js";

// Upstream answers nested 100,000 deep, as JSON text (JSON.parse copes; JSON.stringify would overflow the stack).
// Wherever llmux serialises part of an answer again, such an answer must end as an LlmuxError about the upstream,
// never a RangeError (a 500); where bytes pass through untouched, it is not llmux's business.

const DEPTH = 100_000;
const DEEP = `${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`;
const CONTEXT = { id: "id-1", created: 1 };
const TOOLS_OPENAI = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
const TOOLS_ANTHROPIC = [{ name: "f", input_schema: { type: "object" } }];

const openaiClient = (stream: boolean) => validateOpenAIRequest({ model: "m", stream, messages: [{ role: "user", content: "hi" }], tools: TOOLS_OPENAI });
const anthropicClient = (stream: boolean) => validateAnthropicRequest({ model: "m", max_tokens: 10, stream, messages: [{ role: "user", content: "hi" }], tools: TOOLS_ANTHROPIC });

const OPENAI_ROLE_CHUNK = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}';
const ANTHROPIC_START =
  '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}';

/** What an exchange makes of one upstream answer: the client's bytes, or the error it throws. */
function outcome(run: () => string): { bytes: string } | { reason: string; message: string } {
  try {
    return { bytes: run() };
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    return { reason: Reason[err.reason], message: err.rawMessage };
  }
}

function respond(exchange: Exchange, gptOssFix: boolean, text: string): string {
  const backend = backendConfig({ gptOssFix });
  exchange.upstreamBody(backend);
  return exchange.response(text, JSON.parse(text), backend).body;
}

function stream(exchange: Exchange, gptOssFix: boolean, events: SseEvent[]): string {
  const backend = backendConfig({ gptOssFix });
  exchange.upstreamBody(backend);
  const translator = exchange.stream(backend);
  return events.map((e) => translator.push(e)).join("");
}

const openaiCompletion = (message: string, extra = "") =>
  `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":${message},"finish_reason":"stop"}]${extra}}`;
const anthropicMessage = (content: string) =>
  `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[${content}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`;
const openaiEvent = (data: string): SseEvent => ({ event: undefined, data });
const anthropicEvent = (data: string): SseEvent => ({ event: (JSON.parse(data) as { type: string }).type, data });

const INVALID_RESPONSE = { reason: "UPSTREAM_FAILED", message: "upstream returned an invalid response" };
const INVALID_EVENT_OPENAI = { reason: "UPSTREAM_FAILED", message: "upstream sent an invalid stream event" };
const INVALID_EVENT_ANTHROPIC = { reason: "UPSTREAM_FAILED", message: "upstream returned an invalid stream event" };

describe("upstream answers nested too deeply to serialise", () => {
  it.each<[string, () => string, unknown]>([
    [
      "OpenAI → Anthropic: a tool_use input",
      () => respond(createOpenAIToAnthropic(() => openaiClient(false), CONTEXT), false, anthropicMessage(`{"type":"tool_use","id":"toolu_1","name":"f","input":${DEEP}}`)),
      INVALID_RESPONSE,
    ],
    [
      "Anthropic → OpenAI: tool-call arguments as a string",
      () =>
        respond(
          createAnthropicToOpenAI(() => anthropicClient(false), CONTEXT),
          false,
          openaiCompletion(`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":${JSON.stringify(DEEP)}}}]}`),
        ),
      INVALID_RESPONSE,
    ],
    [
      "Anthropic → OpenAI: tool-call arguments as an object",
      () =>
        respond(
          createAnthropicToOpenAI(() => anthropicClient(false), CONTEXT),
          false,
          openaiCompletion(`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":${DEEP}}}]}`),
        ),
      INVALID_RESPONSE,
    ],
    [
      "OpenAI → OpenAI with the GPT-OSS repair: a vendor field",
      () => respond(createOpenAIPassthrough(() => openaiClient(false)), true, openaiCompletion('{"role":"assistant","content":"hi"}', `,"vendor":${DEEP}`)),
      INVALID_RESPONSE,
    ],
  ])("%s → an invalid-response error", (_, run, expected) => {
    expect(outcome(run)).toEqual(expected);
  });

  it.each<[string, () => string, unknown]>([
    [
      "OpenAI → Anthropic: an initial tool_use input",
      () =>
        stream(createOpenAIToAnthropic(() => openaiClient(true), CONTEXT), false, [
          anthropicEvent(ANTHROPIC_START),
          anthropicEvent(`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":${DEEP}}}`),
        ]),
      INVALID_EVENT_ANTHROPIC,
    ],
    [
      "OpenAI → OpenAI with the GPT-OSS repair: a vendor field in a chunk",
      () => stream(createOpenAIPassthrough(() => openaiClient(true)), true, [openaiEvent(OPENAI_ROLE_CHUNK.slice(6)), openaiEvent(`{"choices":[],"vendor":${DEEP}}`)]),
      INVALID_EVENT_OPENAI,
    ],
    [
      "OpenAI → OpenAI: a usage chunk with choices, re-serialised to withhold the usage",
      () => stream(createOpenAIPassthrough(() => openaiClient(true)), false, [openaiEvent(`{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1},"vendor":${DEEP}}`)]),
      INVALID_EVENT_OPENAI,
    ],
    [
      "Anthropic → OpenAI with the GPT-OSS repair: a vendor field in a chunk",
      () => stream(createAnthropicToOpenAI(() => anthropicClient(true), CONTEXT), true, [openaiEvent(OPENAI_ROLE_CHUNK.slice(6)), openaiEvent(`{"choices":[],"vendor":${DEEP}}`)]),
      INVALID_EVENT_OPENAI,
    ],
  ])("streamed, %s → an invalid-event error", (_, run, expected) => {
    expect(outcome(run)).toEqual(expected);
  });

  it("leaves a GPT-OSS call written as text alone when its arguments are too deep to rewrite", () => {
    const content = `{"name":"f","arguments":${DEEP}}`;
    const body = respond(createAnthropicToOpenAI(() => anthropicClient(false), CONTEXT), true, openaiCompletion(JSON.stringify({ role: "assistant", content })));
    expect((JSON.parse(body) as { content: unknown }).content).toEqual([{ type: "text", text: content }]);
  });

  it("passes such answers through untouched where nothing is serialised again", () => {
    const openai = openaiCompletion('{"role":"assistant","content":"hi"}', `,"vendor":${DEEP}`);
    expect(respond(createOpenAIPassthrough(() => openaiClient(false)), false, openai)).toBe(openai);
    const anthropic = anthropicMessage(`{"type":"tool_use","id":"toolu_1","name":"f","input":${DEEP}}`);
    expect(respond(createAnthropicPassthrough(() => anthropicClient(false)), false, anthropic)).toBe(anthropic);
    const chunk = `{"choices":[{"index":0,"delta":{"content":"x"}}],"vendor":${DEEP}}`;
    expect(stream(createOpenAIPassthrough(() => openaiClient(true)), false, [openaiEvent(chunk)])).toBe(`data: ${chunk}\n\n`);
  });
});
