import { readFileSync } from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockReply, type MockUpstream } from "../helpers/mock-upstream.js";

// A request shaped like Claude Code 2.1.197's (spec/clients.md), routed by capability to an OpenAI-compatible
// backend: the client must get a valid Anthropic event stream, and the upstream a valid OpenAI request.

const TOKEN = "client-token-claude-code";
const BETA =
  "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24";
/** The body, byte for byte as Claude Code would send it (trimmed to three tools). */
const BODY = readFileSync(new URL("./testdata/claude-code-request.json", import.meta.url), "utf8");
const REQUEST = JSON.parse(BODY) as { stream: true; tools: Array<{ name: string; description: string; input_schema: Record<string, unknown> }>; [key: string]: unknown };

/** The upstream's answer: reasoning, text, then two tool calls whose argument fragments interleave. */
const ANSWER: MockReply = {
  type: "openai-chat",
  reasoning: "main.ts starts the server; check server.ts too.",
  content: "It starts the server.",
  toolCalls: [
    { id: "call_read_1", name: "Read", arguments: '{"file_path":"/repo/server.ts"}' },
    { id: "call_bash_2", name: "Bash", arguments: '{"command":"git log -1 --oneline","timeout":5000}' },
  ],
  interleaveToolArgs: true,
  chunkChars: 4,
  usage: { prompt: 4200, completion: 120, cached: 4000, reasoning: 40 },
};

let oai: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  oai = await startMockUpstream(() => ANSWER);
  // No backend is named after the client's model, so llmux picks by capability: thinking and a large context.
  gw = await startGateway(`
[provider.oai]
kind = "openai"
base_url = "${oai.url}/v1"
api_key = "sk-openai-provider-key-6"
[[backend]]
model = "oai:gpt-upstream"
context = 400000
thinking = true
[tokens]
claude-code = "${TOKEN}"
`);
});

afterAll(async () => {
  await gw?.close();
  await oai?.close();
});

beforeEach(() => {
  oai.requests.length = 0;
});

interface Frame {
  event: string;
  data: Record<string, unknown>;
}

function frames(text: string): Frame[] {
  return text
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => {
      const lines = block.split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: /);
      expect(lines[1]).toMatch(/^data: /);
      return { event: lines[0]!.slice("event: ".length), data: JSON.parse(lines[1]!.slice("data: ".length)) as Record<string, unknown> };
    });
}

type Block = { type: "text"; text: string } | { type: "thinking"; thinking: string; signature: string } | { type: "tool_use"; id: string; name: string; input: unknown };

/**
 * Checks the ordering rules the Anthropic SDK and Claude Code rely on (spec/translation.md §10) and rebuilds the
 * message from the events: event name = data.type; message_start first; block indexes 0, 1, 2… in order, one block
 * open at a time, deltas only for the open block and of its kind, thinking closed by a signature_delta; one
 * message_delta with usage after every block is stopped; message_stop last.
 */
function replay(events: Frame[]): { content: Block[]; stopReason: unknown; usage: Record<string, unknown>; startUsage: unknown } {
  for (const frame of events) expect(frame.event).toBe(frame.data.type);
  const meaningful = events.filter((f) => f.event !== "ping");
  expect(meaningful[0]!.event).toBe("message_start");
  expect(meaningful.at(-1)!.event).toBe("message_stop");
  expect(meaningful.filter((f) => f.event === "message_start" || f.event === "message_stop")).toHaveLength(2);

  const content: Block[] = [];
  const partialJson: string[] = [];
  let open = -1;
  let signed = false;
  let messageDelta: Frame | undefined;
  for (const { event, data } of meaningful.slice(1, -1)) {
    expect(messageDelta).toBeUndefined();
    switch (event) {
      case "content_block_start": {
        expect(open).toBe(-1);
        expect(data.index).toBe(content.length);
        open = data.index as number;
        const block = data.content_block as Block;
        if (block.type === "tool_use") expect(block.input).toEqual({});
        content.push({ ...block });
        partialJson.push("");
        signed = false;
        break;
      }
      case "content_block_delta": {
        expect(data.index).toBe(open);
        const block = content[open]!;
        const delta = data.delta as Record<string, string>;
        if (delta.type === "text_delta" && block.type === "text") block.text += delta.text;
        else if (delta.type === "thinking_delta" && block.type === "thinking" && !signed) block.thinking += delta.thinking;
        else if (delta.type === "signature_delta" && block.type === "thinking" && !signed) {
          block.signature = delta.signature!;
          signed = true;
        } else if (delta.type === "input_json_delta" && block.type === "tool_use") partialJson[open] += delta.partial_json;
        else throw new Error(`${delta.type} for an open ${block.type} block`);
        break;
      }
      case "content_block_stop": {
        expect(data.index).toBe(open);
        const block = content[open]!;
        if (block.type === "thinking") expect(signed).toBe(true);
        if (block.type === "tool_use") block.input = JSON.parse(partialJson[open] || "{}");
        open = -1;
        break;
      }
      case "message_delta":
        expect(open).toBe(-1);
        messageDelta = { event, data };
        break;
      default:
        throw new Error(`unexpected event ${event}`);
    }
  }
  expect(messageDelta).toBeDefined();
  const delta = messageDelta!.data;
  return {
    content,
    stopReason: (delta.delta as Record<string, unknown>).stop_reason,
    usage: delta.usage as Record<string, unknown>,
    startUsage: (meaningful[0]!.data.message as Record<string, unknown>).usage,
  };
}

describe("Claude Code → OpenAI-compatible backend", () => {
  it("gets a valid Anthropic event stream with thinking, text, sequential tool_use blocks and usage", async () => {
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: {
        "x-api-key": TOKEN,
        "content-type": "application/json",
        accept: "application/json",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": BETA,
        "anthropic-dangerous-direct-browser-access": "true",
        "x-app": "cli",
        "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
      },
      body: BODY,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = frames(await res.text());
    const message = events[0]!.data.message as Record<string, unknown>;
    expect(message).toMatchObject({ type: "message", role: "assistant", model: "claude-opus-4-8", content: [], stop_reason: null, stop_sequence: null });
    expect(message.id).toMatch(/^msg_/);

    const replayed = replay(events);
    expect(replayed.content).toEqual([
      { type: "thinking", thinking: "main.ts starts the server; check server.ts too.", signature: "" },
      { type: "text", text: "It starts the server." },
      { type: "tool_use", id: "call_read_1", name: "Read", input: { file_path: "/repo/server.ts" } },
      { type: "tool_use", id: "call_bash_2", name: "Bash", input: { command: "git log -1 --oneline", timeout: 5000 } },
    ]);
    expect(replayed.stopReason).toBe("tool_use");
    // Claude Code's context accounting: input excludes the cached tokens, which are reported apart.
    expect(replayed.usage).toEqual({ input_tokens: 200, cache_read_input_tokens: 4000, cache_creation_input_tokens: 0, output_tokens: 120 });
    expect(replayed.startUsage).toMatchObject({ output_tokens: expect.any(Number) });
  });

  it("sends the upstream a valid OpenAI request: no Anthropic-only fields or headers, thinking history dropped, tools as functions", async () => {
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": TOKEN, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA },
      body: BODY,
    });
    await res.text();
    expect(oai.requests).toHaveLength(1);
    const seen = oai.requests[0]!;
    expect(seen.path).toBe("/v1/chat/completions");
    expect(Object.keys(seen.headers).filter((h) => h.startsWith("anthropic") || h === "x-api-key" || h === "x-app")).toEqual([]);
    const tools = REQUEST.tools.map((tool) => ({ type: "function", function: { name: tool.name, description: tool.description, parameters: tool.input_schema } }));
    expect(seen.json).toEqual({
      model: "gpt-upstream",
      messages: [
        {
          role: "system",
          content:
            "x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;\nYou are Claude Code, Anthropic's official CLI for Claude.\n\nYou are an interactive CLI tool that helps users with software engineering tasks.",
        },
        {
          role: "user",
          content: [
            { type: "text", text: "<system-reminder>\nAs you answer the user's questions, you can use the following context.\n</system-reminder>" },
            { type: "text", text: "What does main.ts do?" },
          ],
        },
        { role: "system", content: "<system-reminder>Available agent types: general-purpose, Explore.</system-reminder>" },
        {
          role: "assistant",
          content: "Let me read the file.",
          tool_calls: [{ id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "Read", arguments: '{"file_path":"/repo/main.ts"}' } }],
        },
        { role: "tool", tool_call_id: "toolu_01A09q90qw90lq917835lq9", content: '     1\timport { start } from "./server.js";\n     2\tstart();' },
        { role: "user", content: "Keep it short." },
      ],
      max_tokens: 32000,
      tools,
      reasoning_effort: "high",
      stream: true,
      stream_options: { include_usage: true },
    });
    // `$schema` stays in the schemas (OpenAI accepts it); every Anthropic-only key is gone.
    expect(tools.every((t) => "$schema" in (t.function.parameters as object))).toBe(true);
    for (const key of ["cache_control", "context_management", "thinking", "signature", "output_config", "metadata", "eager_input_streaming", "user_id"]) {
      expect(seen.body).not.toContain(`"${key}"`);
    }
    expect(seen.body).not.toContain(TOKEN);
  });

  it("is read to the end by the Anthropic SDK (finalMessage after message_stop)", async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0, defaultHeaders: { "anthropic-beta": BETA } });
    const { stream: _stream, ...params } = REQUEST;
    // The beta-only mid-conversation system message is outside the SDK's types; the request is sent as Claude Code sends it.
    const final = await client.messages.stream(params as unknown as Anthropic.MessageStreamParams).finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use", "tool_use"]);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage).toMatchObject({ input_tokens: 200, cache_read_input_tokens: 4000, output_tokens: 120 });
  });
});

describe("an agent-sized request that fails over", () => {
  // Over the size at which llmux parks a request's parsed body while it waits for its upstream (PARK_MIN_BYTES):
  // the second attempt parses it again from its bytes, and must send what the first would have.
  const padding = "Prefer the dedicated tools over shell commands; quote paths with spaces (é, ☃, 𝄞). ".repeat(500);
  const large = { ...REQUEST, tools: REQUEST.tools.map((tool, i) => (i === 0 ? { ...tool, description: `${tool.description}\n${padding}` } : tool)) };
  let failing: MockUpstream;
  let serving: MockUpstream;
  let pair: TestGateway;

  beforeAll(async () => {
    failing = await startMockUpstream(() => ({ type: "error", status: 503 }));
    serving = await startMockUpstream(() => ANSWER);
    pair = await startGateway(`
[provider.first]
kind = "openai"
base_url = "${failing.url}/v1"
[provider.second]
kind = "openai"
base_url = "${serving.url}/v1"
[[backend]]
model = "first:gpt-upstream"
alias = "claude-opus-4-8"
thinking = true
[[backend]]
model = "second:gpt-upstream"
alias = "claude-opus-4-8"
thinking = true
# The first backend cools down after its 503: each test has a pair of its own.
[[backend]]
model = "first:gpt-chat"
[[backend]]
model = "second:gpt-chat"
[tokens]
claude-code = "${TOKEN}"
`);
  });

  afterAll(async () => {
    await pair?.close();
    await failing?.close();
    await serving?.close();
  });

  it("reaches the second backend with the same OpenAI request the first got, and the client gets the answer", async () => {
    const body = JSON.stringify(large);
    expect(Buffer.byteLength(body)).toBeGreaterThan(40_000);
    const res = await fetch(`${pair.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": TOKEN, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA },
      body,
    });
    expect(res.status).toBe(200);
    const replayed = replay(frames(await res.text()));
    expect(replayed.content.map((block) => block.type)).toEqual(["thinking", "text", "tool_use", "tool_use"]);
    expect([failing.requests.length, serving.requests.length]).toEqual([1, 1]);
    expect(serving.requests[0]!.body).toBe(failing.requests[0]!.body);
    const sent = serving.requests[0]!.json as { model: string; tools: Array<{ function: { description: string } }> };
    expect(sent.model).toBe("gpt-upstream");
    expect(sent.tools[0]!.function.description).toBe(large.tools[0]!.description);
  });

  it("passes an OpenAI client's request to the second backend as the first got it", async () => {
    const request = { model: "gpt-chat", stream: false, messages: [{ role: "system", content: padding }, { role: "user", content: "Keep it short." }] };
    const res = await fetch(`${pair.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe("It starts the server.");
    expect(failing.requests.at(-1)!.body).toBe(serving.requests.at(-1)!.body);
    expect(serving.requests.at(-1)!.json).toEqual(request);
  });
});
