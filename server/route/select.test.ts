import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import type { BackendConfig } from "../config/types.js";
import type { Requirements } from "../translate/requirements.js";
import type { Unavailability } from "./backend-state.js";
import { selectBackends } from "./select.js";

const complexPath = fileURLToPath(new URL("../config/testdata/complex.toml", import.meta.url));
const complex = parseConfig(readFileSync(complexPath, "utf8"), { source: "complex.toml", baseDir: ".", env: {} }).backends;

const req = (over: Partial<Requirements> = {}): Requirements => ({
  model: "claude-sonnet-4-5",
  promptTokens: 1_000,
  maxOutputTokens: 1_000,
  hasImages: false,
  wantsThinking: false,
  ...over,
});
const available = () => undefined;
const names = (backends: BackendConfig[]) => backends.map((b) => b.name);

describe("selection: the seed's Selection Flow over its Complex Example", () => {
  it.each([
    // Simple text: the first backend fits. (The seed names cerebras:gpt-4-small, which is not in its own config;
    // by the rule it is the first configured backend.)
    ["simple text", req(), "synthetic:hf:Qwen/Qwen3-Coder-480B-A35B-Instruct"],
    // Images skip the first backend (no vision).
    ["images", req({ hasImages: true }), "openai:gpt-4o"],
    // Over 128K but within 256K: the first backend's context is 256000, so it still fits. The seed says
    // gpt-4-turbo here, which contradicts its own config; llmux follows the rule (README, "Selection").
    ["large context (200K)", req({ promptTokens: 199_000 }), "synthetic:hf:Qwen/Qwen3-Coder-480B-A35B-Instruct"],
    // Over 256K: exceeds the first two contexts, so the large-context backend.
    ["large context (300K)", req({ promptTokens: 300_000 }), "openai:gpt-4-turbo"],
    // An opus model asking for thinking: only o3 has thinking, and its model_match matches *opus*.
    ["opus + thinking", req({ model: "claude-opus-4-1", wantsThinking: true }), "openai:o3"],
  ])("%s → %s", (_, request, first) => {
    const selection = selectBackends(complex, request, available);
    expect(selection.mode).toBe("capability");
    expect(selection.candidates[0]?.name).toBe(first);
  });

  it("thinking for a model no pattern matches finds no candidate, with a reason for each backend", () => {
    const selection = selectBackends(complex, req({ model: "gpt-5", wantsThinking: true }), available);
    expect(selection.candidates).toEqual([]);
    expect(selection.decisions.map((d) => d.reason)).toEqual(["no_thinking", "no_thinking", "no_thinking", "model_pattern_mismatch"]);
  });

  it("keeps configuration order for the failover list", () => {
    expect(names(selectBackends(complex, req(), available).candidates)).toEqual([
      "synthetic:hf:Qwen/Qwen3-Coder-480B-A35B-Instruct",
      "openai:gpt-4o",
      "openai:gpt-4-turbo",
    ]);
  });
});

const toml = `
[provider.a]
base_url = "http://127.0.0.1:1/v1"
[provider.b]
base_url = "http://127.0.0.1:2/v1"
[[backend]]
model = "a:qwen3-8b"
context = 32000
[[backend]]
model = "b:qwen3-8b"
context = 32000
[[backend]]
model = "b:llama-70b"
alias = "big"
context = 128000
vision = true
[[backend]]
model = "a:tiny"
context = 4000
fallbacks = ["big"]
`;
const backends = parseConfig(toml, { source: "t.toml", baseDir: ".", env: {} }).backends;

describe("selection: model-name routing", () => {
  it.each([
    ["model part at two providers", "qwen3-8b", ["a:qwen3-8b", "b:qwen3-8b"]],
    ["provider:model", "b:qwen3-8b", ["b:qwen3-8b"]],
    ["alias", "big", ["b:llama-70b"]],
    ["fallbacks follow the named backends", "tiny", ["a:tiny", "b:llama-70b"]],
  ])("%s: %s → %j", (_, model, expected) => {
    const selection = selectBackends(backends, req({ model, promptTokens: 100, maxOutputTokens: 100 }), available);
    expect(selection.mode).toBe("model_name");
    expect(names(selection.candidates)).toEqual(expected);
    expect(selection.decisions).toHaveLength(backends.length);
  });

  it("does not apply thinking or model_match to a model the client named", () => {
    const selection = selectBackends(backends, req({ model: "qwen3-8b", wantsThinking: true }), available);
    expect(names(selection.candidates)).toEqual(["a:qwen3-8b", "b:qwen3-8b"]);
  });

  it("still checks context: a named backend that is too small is skipped, with the numbers", () => {
    const selection = selectBackends(backends, req({ model: "tiny", promptTokens: 5_000, maxOutputTokens: 0 }), available);
    expect(names(selection.candidates)).toEqual(["b:llama-70b"]);
    expect(selection.decisions[3]).toMatchObject({ kept: false, reason: "context_too_small", detail: "needs about 5000 tokens, context is 4000" });
    expect(selection.decisions[0]).toMatchObject({ kept: false, reason: "model_name_mismatch" });
  });

  it("a context exactly full still fits", () => {
    const selection = selectBackends(backends, req({ model: "tiny", promptTokens: 3_000, maxOutputTokens: 1_000 }), available);
    expect(names(selection.candidates)).toEqual(["a:tiny", "b:llama-70b"]);
  });
});

describe("selection: cooldown and rate windows remove candidates", () => {
  it("skips unavailable backends and says until when", () => {
    const until = 1_800_000_000_000;
    const unavailable = (b: BackendConfig): Unavailability | undefined =>
      b.name === "a:qwen3-8b" ? { kind: "cooldown", until, detail: "cooling down after a failure" }
        : b.name === "b:qwen3-8b" ? { kind: "rate_window", until: until + 1, detail: "10 requests per hour reached" }
        : undefined;
    const selection = selectBackends(backends, req({ model: "qwen3-8b" }), unavailable);
    expect(selection.candidates).toEqual([]);
    expect(selection.decisions.slice(0, 2)).toMatchObject([
      { reason: "cooling_down", availableAt: until },
      { reason: "rate_window_full", availableAt: until + 1 },
    ]);
  });
});

describe("selection: exact counts near a context limit", () => {
  const [small] = parseConfig(`[provider.p]\nbase_url = "http://127.0.0.1:1/v1"\n[[backend]]\nmodel = "p:gpt-4o"\ncontext = 1000\n`, { source: "t", baseDir: ".", env: {} }).backends;
  const asked: string[] = [];
  const exact = (tokens: number) => (model: string) => {
    asked.push(model);
    return tokens;
  };

  it("asks the tokenizer only near the limit, and trusts it there", () => {
    // The estimate (1100) says it does not fit; the exact count (900) says it does.
    const near = selectBackends([small!], req({ model: "x", promptTokens: 1100, maxOutputTokens: 0, exactPromptTokens: exact(900) }), available);
    expect(names(near.candidates)).toEqual(["p:gpt-4o"]);
    expect(asked).toEqual(["gpt-4o"]);
    // Far from the limit the estimate decides, and the tokenizer is not run.
    const far = selectBackends([small!], req({ model: "x", promptTokens: 100, maxOutputTokens: 0, exactPromptTokens: exact(5000) }), available);
    expect(names(far.candidates)).toEqual(["p:gpt-4o"]);
    expect(asked).toEqual(["gpt-4o"]);
  });

  it("falls back to the estimate when the model has no tokenizer", () => {
    const selection = selectBackends([small!], req({ model: "x", promptTokens: 1100, maxOutputTokens: 0, exactPromptTokens: () => undefined }), available);
    expect(selection.candidates).toEqual([]);
  });
});
