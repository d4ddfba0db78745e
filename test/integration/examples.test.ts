import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../server/config/load.js";
import { selectBackends } from "../../server/route/select.js";

const dir = fileURLToPath(new URL("../../examples", import.meta.url));
const env = {
  OPENAI_API_KEY: "sk-x",
  ANTHROPIC_API_KEY: "sk-ant-x",
  CEREBRAS_API_KEY: "csk-x",
  SYNTHETIC_API_KEY: "syn-x",
  LLMUX_CLIENT_TOKEN: "token-x",
};

describe("examples/", () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith(".toml")))("%s is a valid configuration", (file) => {
    const config = parseConfig(readFileSync(path.join(dir, file), "utf8"), { source: file, baseDir: dir, env });
    expect(config.backends.length).toBeGreaterThan(0);
  });

  it("capability-routing.toml routes as its comments say", () => {
    const { backends } = parseConfig(readFileSync(path.join(dir, "capability-routing.toml"), "utf8"), { source: "c", baseDir: dir, env });
    const pick = (over: object) =>
      selectBackends(backends, { model: "claude-sonnet-4-5", promptTokens: 500, maxOutputTokens: 1000, hasImages: false, wantsThinking: false, ...over }, () => undefined).candidates[0]?.name;
    expect(pick({})).toBe("synthetic:hf:Qwen/Qwen3-Coder-480B-A35B-Instruct");
    expect(pick({ hasImages: true })).toBe("openai:gpt-4o");
    expect(pick({ promptTokens: 300_000 })).toBe("openai:gpt-4-turbo");
    expect(pick({ model: "claude-opus-4-1", wantsThinking: true })).toBe("openai:o3");
  });

  it("failover.toml keeps failover among the backends of the named model", () => {
    const { backends } = parseConfig(readFileSync(path.join(dir, "failover.toml"), "utf8"), { source: "f", baseDir: dir, env });
    const selection = selectBackends(backends, { model: "qwen3-coder", promptTokens: 100, maxOutputTokens: 100, hasImages: false, wantsThinking: false }, () => undefined);
    expect(selection.candidates.map((b) => b.provider)).toEqual(["vllm-a", "vllm-b", "synthetic"]);
  });
});
