import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestGateway } from "../helpers/gateway.js";
import { startTwoUpstreams, type TwoUpstreams } from "../helpers/two-upstreams.js";
import type { MockUpstream, RecordedRequest } from "../helpers/mock-upstream.js";

// Same-dialect routes pass bytes through (only `model` changes), headers go only where they belong, and no
// upstream ever sees the client's token: only the provider key, in that provider's own header.

const TOKEN = "client-token-passthrough";
const OPENAI_KEY = "sk-openai-provider-key-4";
const ANTHROPIC_KEY = "sk-ant-provider-key-4";
const BETA = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-system-2026-04-07";

let oai: MockUpstream;
let ant: MockUpstream;
let gw: TestGateway;

let upstreams: TwoUpstreams;
beforeAll(async () => {
  upstreams = await startTwoUpstreams({ token: TOKEN, openaiKey: OPENAI_KEY, anthropicKey: ANTHROPIC_KEY, claudeVision: false });
  ({ oai, ant, gw } = upstreams);
});
afterAll(() => upstreams?.close());
beforeEach(() => upstreams.reset());

/** The only request the mock received. */
function only(mock: MockUpstream): RecordedRequest {
  expect(mock.requests).toHaveLength(1);
  return mock.requests[0]!;
}

/** The upstream got llmux's provider credential in its provider's header, and nothing of the client's token. */
function expectProviderAuthOnly(req: RecordedRequest, dialect: "openai" | "anthropic"): void {
  if (dialect === "anthropic") {
    expect([req.headers["x-api-key"], req.headers.authorization]).toEqual([ANTHROPIC_KEY, undefined]);
  } else {
    expect([req.headers.authorization, req.headers["x-api-key"]]).toEqual([`Bearer ${OPENAI_KEY}`, undefined]);
  }
  expect(JSON.stringify(req.headers)).not.toContain(TOKEN);
  expect(req.body).not.toContain(TOKEN);
}

/** A Claude Code-like body with everything a translator would lose: the pass-through must keep every byte. */
function anthropicBody(stream: boolean): string {
  return JSON.stringify({
    model: "claude-up",
    max_tokens: 1024,
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197.123;", cache_control: null },
      { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral", ttl: "1h" } },
    ],
    messages: [
      { role: "user", content: "Grüße 👋 — what does main.ts do?" },
      { role: "system", content: "<system-reminder>Agents: Explore.</system-reminder>" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "I should read it.", signature: "EqQBCkYIBxgCKkDv1y0Jd3+sig/==" },
          { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4a" },
          { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "Read", input: { file_path: "/repo/main.ts" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01A09q90qw90lq917835lq9", content: "start();", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Keep it short.", cache_control: { type: "ephemeral", ttl: "5m" } },
        ],
      },
    ],
    tools: [{ name: "Read", input_schema: { $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", additionalProperties: false }, defer_loading: false }],
    thinking: { type: "adaptive" },
    output_config: { effort: "high" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    metadata: { user_id: '{"device_id":"d1","session_id":"s1"}' },
    future_field: { nested: [1, "two", null, true] },
    stream,
  });
}

describe("Anthropic client → Anthropic backend: pass-through", () => {
  it("sends the body byte for byte apart from model, returns the upstream's body byte for byte, and forwards the Anthropic headers verbatim", async () => {
    const upstreamAnswer =
      '{"id":"msg_01","type":"message","role":"assistant","model":"claude-upstream","content":[{"type":"text","text":"Grüße"}],"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,"usage":{"input_tokens":3,"output_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":null,"service_tier":"standard","inference_geo":"us"},"container":null}';
    ant.script(() => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: upstreamAnswer }));
    const body = anthropicBody(false);
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": TOKEN, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA, "x-app": "cli" },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(upstreamAnswer);
    const seen = only(ant);
    expect(seen.path).toBe("/v1/messages");
    expect(seen.body).toBe(body.replace('"model":"claude-up"', '"model":"claude-upstream"'));
    expect([seen.headers["anthropic-version"], seen.headers["anthropic-beta"], seen.headers["x-app"]]).toEqual(["2023-06-01", BETA, undefined]);
    expectProviderAuthOnly(seen, "anthropic");
  });

  it("streams the upstream's events byte for byte, unknown events and fields included", async () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-upstream","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":7,"output_tokens":1}}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hm."}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBsig=="}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: future_event\ndata: {"type":"future_event","payload":{"x":1}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":"","citations":null}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Grüße"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null,"stop_details":null},"usage":{"output_tokens":9},"context_management":{"applied_edits":[]}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    ant.script(() => ({ type: "sse", events }));
    const body = anthropicBody(true);
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": TOKEN, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(events.join(""));
    const seen = only(ant);
    expect(seen.body).toBe(body.replace('"model":"claude-up"', '"model":"claude-upstream"'));
    expect(seen.headers["anthropic-beta"]).toBe(BETA);
    expectProviderAuthOnly(seen, "anthropic");
  });

  it("forwards the SDK's anthropic-version and betas, and sends the default version when the client gives none", async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 });
    await client.beta.messages.create({ model: "claude-up", max_tokens: 16, betas: ["interleaved-thinking-2025-05-14", "effort-2025-11-24"], messages: [{ role: "user", content: "hi" }] });
    const sdk = only(ant);
    expect([sdk.headers["anthropic-version"], sdk.headers["anthropic-beta"]]).toEqual(["2026-10-21", "interleaved-thinking-2025-05-14,effort-2025-11-24"]);
    expectProviderAuthOnly(sdk, "anthropic");

    ant.requests.length = 0;
    await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-up", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    });
    const bare = only(ant);
    expect([bare.headers["anthropic-version"], bare.headers["anthropic-beta"]]).toEqual(["2023-06-01", undefined]);
    expectProviderAuthOnly(bare, "anthropic");
  });
});

describe("OpenAI client → OpenAI backend: pass-through", () => {
  it("sends the body byte for byte apart from model and returns the upstream's body byte for byte, without Anthropic headers", async () => {
    const upstreamAnswer =
      '{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"Grüße","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"service_tier":"default","system_fingerprint":"fp_x"}';
    oai.script(() => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: upstreamAnswer }));
    const body = JSON.stringify({
      model: "gpt-up",
      messages: [
        { role: "developer", content: "Be terse." },
        { role: "user", content: [{ type: "text", text: "Grüße 👋" }, { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } }] },
      ],
      max_completion_tokens: 64,
      reasoning_effort: "low",
      seed: 7,
      logit_bias: { "50256": -100 },
      prompt_cache_key: "k1",
      vendor_extension: { nested: [1, null] },
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(upstreamAnswer);
    const seen = only(oai);
    expect(seen.path).toBe("/v1/chat/completions");
    expect(seen.body).toBe(body.replace('"model":"gpt-up"', '"model":"gpt-upstream"'));
    expect([seen.headers["anthropic-version"], seen.headers["anthropic-beta"]]).toEqual([undefined, undefined]);
    expectProviderAuthOnly(seen, "openai");
  });

  it("passes an answer's malformed UTF-8 on as U+FFFD, as in the text it parsed", async () => {
    const head = '{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-upstream","choices":[{"index":0,"message":{"role":"assistant","content":"a';
    const tail = 'b"},"finish_reason":"stop"}]}';
    // A lone 0xff, then the first three bytes of a four-byte sequence: one U+FFFD each.
    const answer = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xf0, 0x9f, 0x98]), Buffer.from(tail)]);
    oai.script(() => ({ type: "raw", status: 200, headers: { "content-type": "application/json" }, body: answer }));
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-up", messages: [{ role: "user", content: "hi" }] }),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(bytes.toString("latin1")).toBe(Buffer.from(`${head}\ufffd\ufffd${tail}`).toString("latin1"));
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
  });
});

describe("cross-dialect routes send only the backend's own headers", () => {
  it("Anthropic client → OpenAI backend: no anthropic-version or anthropic-beta, Bearer provider key", async () => {
    await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": TOKEN, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": BETA },
      body: JSON.stringify({ model: "gpt-up", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
    });
    const seen = only(oai);
    expect([seen.path, seen.headers["anthropic-version"], seen.headers["anthropic-beta"]]).toEqual(["/v1/chat/completions", undefined, undefined]);
    expectProviderAuthOnly(seen, "openai");
  });

  it("OpenAI client → Anthropic backend: x-api-key provider key and the default anthropic-version, no beta", async () => {
    await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: TOKEN, maxRetries: 0 }).chat.completions.create({ model: "claude-up", messages: [{ role: "user", content: "hi" }] });
    const seen = only(ant);
    expect([seen.path, seen.headers["anthropic-version"], seen.headers["anthropic-beta"]]).toEqual(["/v1/messages", "2023-06-01", undefined]);
    expectProviderAuthOnly(seen, "anthropic");
  });
});
