import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { defaultMockScript, startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";

const TOKEN = "count-tokens-test";
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setup(tokenize: "vllm" | "none"): Promise<{ gw: TestGateway; upstream: MockUpstream; client: Anthropic }> {
  const upstream = await startMockUpstream((req) => {
    if (req.path === "/tokenize") {
      return tokenize === "vllm"
        ? { type: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ count: 42, max_model_len: 32768, tokens: [] }) }
        : { type: "raw", status: 404, headers: { "content-type": "application/json" }, body: '{"detail":"Not Found"}' };
    }
    return defaultMockScript(req);
  });
  const gw = await startGateway(`
[provider.vllm]
base_url = "${upstream.url}/v1"
[[backend]]
model = "vllm:Qwen/Qwen3-8B"
alias = "qwen"
[tokens]
t = "${TOKEN}"
`);
  cleanups.push(() => upstream.close(), () => gw.close());
  return { gw, upstream, client: new Anthropic({ baseURL: gw.url, apiKey: TOKEN, maxRetries: 0 }) };
}

describe("count_tokens for OpenAI-compatible backends", () => {
  it("asks the server's own tokenizer (vLLM /tokenize) with the messages it would really see", async () => {
    const { upstream, client } = await setup("vllm");
    const counted = await client.messages.countTokens({ model: "qwen", system: "Be brief.", messages: [{ role: "user", content: "Hello there" }] });
    expect(counted).toEqual({ input_tokens: 42 });
    const asked = upstream.requests.filter((r) => r.path === "/tokenize");
    expect(asked).toHaveLength(1);
    expect(asked[0]!.json).toEqual({
      model: "Qwen/Qwen3-8B",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hello there" },
      ],
    });
    // Counting never costs a completion.
    expect(upstream.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(0);
  });

  it("falls back to the documented estimate when the server has no tokenizer", async () => {
    const { client } = await setup("none");
    // "Be brief." + "Hello there" = 20 characters → ceil(20 / 4) = 5.
    const counted = await client.messages.countTokens({ model: "qwen", system: "Be brief.", messages: [{ role: "user", content: "Hello there" }] });
    expect(counted).toEqual({ input_tokens: 5 });
  });
});
