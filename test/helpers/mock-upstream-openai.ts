import type { MockReply, RecordedRequest } from "./mock-upstream.js";
import type { ResponseIdentity } from "./mock-upstream-wire.js";
import { DEFAULT_CHUNK_CHARS, estimateTokens, isRecord, requestModel, splitText } from "./mock-upstream-wire.js";

/** The `openai-chat` member of {@link MockReply}. */
export type OpenAIChatReply = Extract<MockReply, { type: "openai-chat" }>;

/** Real responses carry a backend fingerprint; a fixed one keeps the bytes predictable. */
const MOCK_SYSTEM_FINGERPRINT = "fp_mock";

/**
 * Real chunks carry `obfuscation`, random padding that hides token lengths. A fixed cycle of lengths keeps the
 * bytes predictable while still varying like the real field, so parsers cannot rely on its size.
 */
const OBFUSCATION = "Xq3vB7kLm9Pz";

/** The `obfuscation` value of the n-th chunk (0-based) of a stream. */
function obfuscation(n: number): string {
  return OBFUSCATION.slice(0, 1 + ((n * 5) % OBFUSCATION.length));
}

function finishReason(reply: OpenAIChatReply): string {
  return reply.finishReason ?? (reply.toolCalls !== undefined && reply.toolCalls.length > 0 ? "tool_calls" : "stop");
}

/**
 * The `usage` object, in the key order OpenAI sends. Without `reply.usage` it is estimated: prompt from the request
 * body, completion from everything generated (reasoning, content, tool arguments), as a real upstream counts.
 */
function openaiUsage(reply: OpenAIChatReply, req: RecordedRequest): Record<string, unknown> {
  const generated = (reply.reasoning ?? "") + (reply.content ?? "") + (reply.toolCalls ?? []).map((c) => c.name + c.arguments).join("");
  const usage = reply.usage ?? {
    prompt: estimateTokens(req.body),
    completion: estimateTokens(generated),
    reasoning: reply.reasoning !== undefined ? estimateTokens(reply.reasoning) : 0,
  };
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    prompt_tokens_details: { cached_tokens: usage.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * A non-streaming `chat.completion` body as OpenAI returns it (https://platform.openai.com/docs/api-reference/chat/object),
 * key order included. `content` is null when the reply only calls tools, as the real API sends it;
 * `reasoning_content` (DeepSeek/vLLM style) appears only when the reply has reasoning.
 */
export function openaiChatCompletion(reply: OpenAIChatReply, req: RecordedRequest, identity: ResponseIdentity): Record<string, unknown> {
  const toolCalls = reply.toolCalls ?? [];
  const message: Record<string, unknown> = {
    role: "assistant",
    content: reply.content ?? (toolCalls.length > 0 ? null : ""),
    refusal: null,
    annotations: [],
  };
  if (toolCalls.length > 0) {
    message["tool_calls"] = toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  }
  if (reply.reasoning !== undefined) message["reasoning_content"] = reply.reasoning;
  return {
    id: identity.id,
    object: "chat.completion",
    created: identity.created,
    model: requestModel(req.json),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(reply) }],
    usage: openaiUsage(reply, req),
    service_tier: "default",
    system_fingerprint: MOCK_SYSTEM_FINGERPRINT,
  };
}

/** True when the request asks for the trailing usage chunk (`stream_options.include_usage: true`). */
function includesUsage(json: unknown): boolean {
  const options = isRecord(json) ? json["stream_options"] : undefined;
  return isRecord(options) && options["include_usage"] === true;
}

/**
 * The tool-call deltas in stream order. Each call opens with a delta carrying id, type, name and `arguments: ""`,
 * then its argument fragments follow. Interleaved, the calls take turns fragment by fragment, as some
 * OpenAI-compatible servers stream parallel calls; clients must assemble by `index`, not by position.
 */
function toolCallDeltas(reply: OpenAIChatReply, size: number): Array<Record<string, unknown>> {
  const calls = (reply.toolCalls ?? []).map((call, index) => ({
    head: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] },
    fragments: splitText(call.arguments, size).map((piece) => ({ tool_calls: [{ index, function: { arguments: piece } }] })),
  }));
  if (reply.interleaveToolArgs !== true) return calls.flatMap((c) => [c.head, ...c.fragments]);
  const deltas: Array<Record<string, unknown>> = [];
  const rounds = Math.max(1, ...calls.map((c) => c.fragments.length));
  for (let round = 0; round < rounds; round++) {
    for (const call of calls) {
      if (round === 0) deltas.push(call.head);
      const fragment = call.fragments[round];
      if (fragment !== undefined) deltas.push(fragment);
    }
  }
  return deltas;
}

/** One OpenAI SSE frame: `data: <json>\n\n`, no `event:` line. */
function dataFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/**
 * The frames of a streamed Chat Completion, ending with `data: [DONE]`
 * (https://platform.openai.com/docs/api-reference/chat-streaming). Order: role delta; reasoning deltas; content
 * deltas; tool-call deltas; an empty delta with `finish_reason`; the usage chunk (`choices: []`) only when the
 * request set `stream_options.include_usage`, which also puts `"usage": null` on every other chunk, as OpenAI does.
 */
export function openaiChatFrames(reply: OpenAIChatReply, req: RecordedRequest, identity: ResponseIdentity): string[] {
  const size = reply.chunkChars ?? DEFAULT_CHUNK_CHARS;
  const withUsage = includesUsage(req.json);
  const head = {
    id: identity.id,
    object: "chat.completion.chunk",
    created: identity.created,
    model: requestModel(req.json),
    service_tier: "default",
    system_fingerprint: MOCK_SYSTEM_FINGERPRINT,
  };
  const frames: string[] = [];
  const chunk = (choices: unknown[], usage: unknown): void => {
    const usageField = withUsage ? { usage } : {};
    frames.push(dataFrame({ ...head, choices, ...usageField, obfuscation: obfuscation(frames.length) }));
  };
  const delta = (d: Record<string, unknown>, finish: string | null = null): void =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }], null);

  delta({ role: "assistant", content: "", refusal: null });
  for (const piece of splitText(reply.reasoning ?? "", size)) delta({ reasoning_content: piece });
  for (const piece of splitText(reply.content ?? "", size)) delta({ content: piece });
  for (const d of toolCallDeltas(reply, size)) delta(d);
  delta({}, finishReason(reply));
  if (withUsage) chunk([], openaiUsage(reply, req));
  frames.push("data: [DONE]\n\n");
  return frames;
}
