import type { MockReply, RecordedRequest } from "./mock-upstream.js";
import type { ResponseIdentity } from "./mock-upstream-wire.js";
import { DEFAULT_CHUNK_CHARS, estimateTokens, requestModel, splitText } from "./mock-upstream-wire.js";

/** The `anthropic-message` member of {@link MockReply}. */
export type AnthropicMessageReply = Extract<MockReply, { type: "anthropic-message" }>;

type Block = NonNullable<AnthropicMessageReply["content"]>[number];

/** The text a block generates, for the default `output_tokens` estimate. */
function generatedText(block: Block): string {
  switch (block.type) {
    case "text":
      return block.text;
    case "thinking":
      return block.thinking;
    case "tool_use":
      return block.name + JSON.stringify(block.input ?? {});
  }
}

function stopReason(reply: AnthropicMessageReply): string {
  return reply.stopReason ?? ((reply.content ?? []).some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
}

interface Counts {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}

/** The reply's usage, or an estimate: input from the request body, output from every generated block. */
function counts(reply: AnthropicMessageReply, req: RecordedRequest): Counts {
  const usage = reply.usage ?? {
    input: estimateTokens(req.body),
    output: estimateTokens((reply.content ?? []).map(generatedText).join("")),
  };
  return { input: usage.input, output: usage.output, cacheRead: usage.cacheRead ?? 0, cacheCreation: usage.cacheCreation ?? 0 };
}

/**
 * A Message `usage` object in the key order the API sends, including the `cache_creation` TTL breakdown the live
 * API adds (all cache writes are reported as 5-minute ones). `output` is a parameter because `message_start`
 * reports 1 output token, not the final count.
 */
function messageUsage(c: Counts, output: number): Record<string, unknown> {
  return {
    input_tokens: c.input,
    cache_creation_input_tokens: c.cacheCreation,
    cache_read_input_tokens: c.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: c.cacheCreation, ephemeral_1h_input_tokens: 0 },
    output_tokens: output,
    service_tier: "standard",
  };
}

/**
 * A non-streaming Message as the Messages API returns it (https://docs.anthropic.com/en/api/messages). `stop_reason`
 * defaults to "tool_use" when a tool_use block is present, else "end_turn".
 */
export function anthropicMessage(reply: AnthropicMessageReply, req: RecordedRequest, identity: ResponseIdentity): Record<string, unknown> {
  const c = counts(reply, req);
  return {
    id: identity.id,
    type: "message",
    role: "assistant",
    model: requestModel(req.json),
    content: reply.content ?? [],
    stop_reason: stopReason(reply),
    stop_sequence: null,
    usage: messageUsage(c, c.output),
  };
}

/** One Anthropic SSE frame: `event: <data.type>\ndata: <json>\n\n`. */
function eventFrame(data: { type: string } & Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The `ping` frame byte for byte as the live API sends it: its JSON has a space after the colon, unlike every other
 * event, so a client that matches bytes instead of parsing JSON fails here as it would in production.
 */
const PING_FRAME = 'event: ping\ndata: {"type": "ping"}\n\n';

/** The `content_block_start` placeholder and the deltas of one block, as the streaming API splits it. */
function blockEvents(block: Block, size: number): { start: Record<string, unknown>; deltas: Array<Record<string, unknown>> } {
  switch (block.type) {
    case "text":
      return {
        start: { type: "text", text: "" },
        deltas: splitText(block.text, size).map((text) => ({ type: "text_delta", text })),
      };
    case "thinking":
      return {
        start: { type: "thinking", thinking: "", signature: "" },
        deltas: [
          ...splitText(block.thinking, size).map((thinking) => ({ type: "thinking_delta", thinking })),
          { type: "signature_delta", signature: block.signature },
        ],
      };
    case "tool_use":
      // The live API opens every tool input with an empty partial_json before the real fragments.
      return {
        start: { type: "tool_use", id: block.id, name: block.name, input: {} },
        deltas: ["", ...splitText(JSON.stringify(block.input ?? {}), size)].map((partial_json) => ({ type: "input_json_delta", partial_json })),
      };
  }
}

/**
 * The frames of a streamed Message (https://docs.anthropic.com/en/docs/build-with-claude/streaming): `message_start`
 * (empty content, `output_tokens: 1`), `ping`, then each block start/deltas/stop with one block open at a time,
 * `message_delta` carrying stop_reason and the final usage, and `message_stop`.
 */
export function anthropicMessageFrames(reply: AnthropicMessageReply, req: RecordedRequest, identity: ResponseIdentity): string[] {
  const size = reply.chunkChars ?? DEFAULT_CHUNK_CHARS;
  const c = counts(reply, req);
  const frames = [
    eventFrame({
      type: "message_start",
      message: {
        id: identity.id,
        type: "message",
        role: "assistant",
        model: requestModel(req.json),
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: messageUsage(c, 1),
      },
    }),
    PING_FRAME,
  ];
  (reply.content ?? []).forEach((block, index) => {
    const { start, deltas } = blockEvents(block, size);
    frames.push(eventFrame({ type: "content_block_start", index, content_block: start }));
    for (const delta of deltas) frames.push(eventFrame({ type: "content_block_delta", index, delta }));
    frames.push(eventFrame({ type: "content_block_stop", index }));
  });
  frames.push(
    eventFrame({
      type: "message_delta",
      delta: { stop_reason: stopReason(reply), stop_sequence: null },
      usage: {
        input_tokens: c.input,
        cache_creation_input_tokens: c.cacheCreation,
        cache_read_input_tokens: c.cacheRead,
        output_tokens: c.output,
      },
    }),
    eventFrame({ type: "message_stop" }),
  );
  return frames;
}
