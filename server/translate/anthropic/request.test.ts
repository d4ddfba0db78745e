import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LlmuxError, Reason } from "../../errors/llmux-error.js";
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, ContentBlock, ImageBlock, TextBlock } from "../canonical.js";
import { anthropicRequestToCanonical, canonicalToAnthropicRequest, DROPPED_FIELDS } from "./request.js";
import { validateAnthropicRequest } from "./validate.js";

interface ErrorCase {
  reason: keyof typeof Reason;
  message: string;
  param?: string;
}

function fixtures(folder: string): Array<[string, Record<string, unknown>]> {
  const dir = new URL(`./testdata/${folder}/`, import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), "utf8")) as Record<string, unknown>]);
}

/** Runs `f`; returns its result as `expected`, or the LlmuxError it threw as `error`, to compare with a fixture. */
function outcome(f: () => unknown): { expected: unknown } | { error: ErrorCase } {
  try {
    return { expected: f() };
  } catch (err) {
    if (!(err instanceof LlmuxError)) throw err;
    const error: ErrorCase = { reason: Reason[err.reason] as keyof typeof Reason, message: err.rawMessage };
    if (err.param !== undefined) error.param = err.param;
    return { error };
  }
}

function expectedOf(c: Record<string, unknown>): unknown {
  return "error" in c ? { error: c["error"] } : { expected: c["expected"] };
}

describe("anthropicRequestToCanonical (testdata/request-to-canonical)", () => {
  it.each(fixtures("request-to-canonical"))("%s", (_file, c) => {
    expect(outcome(() => anthropicRequestToCanonical(validateAnthropicRequest(c["input"])))).toEqual(expectedOf(c));
  });

  it("drops exactly the DROPPED_FIELDS top-level keys", () => {
    const plain = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
    const values: Record<string, unknown> = {
      metadata: { user_id: '{"device_id":"d","session_id":"s"}' },
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      container: "container_1",
      mcp_servers: [{ type: "url", url: "https://mcp.example", name: "x" }],
      service_tier: "auto",
      cache_control: { type: "ephemeral" },
      speed: "fast",
      inference_geo: "us",
      diagnostics: { enabled: true },
      user_profile_id: "up_1",
      workspace_id: "ws_1",
      compaction: { enabled: true },
      fallbacks: [{ model: "other" }],
    };
    const topLevel = Object.keys(DROPPED_FIELDS).filter((k) => !k.includes("."));
    expect(topLevel.sort()).toEqual(Object.keys(values).sort());
    expect(anthropicRequestToCanonical(validateAnthropicRequest({ ...plain, ...values }))).toEqual(anthropicRequestToCanonical(validateAnthropicRequest(plain)));
  });
});

describe("canonicalToAnthropicRequest (testdata/canonical-to-request)", () => {
  it.each(fixtures("canonical-to-request"))("%s", (_file, c) => {
    const opts = c["opts"] as { model: string; defaultMaxTokens: number };
    expect(outcome(() => canonicalToAnthropicRequest(c["input"] as CanonicalRequest, opts))).toEqual(expectedOf(c));
  });

  it.each([
    [4096, 4096, 8192],
    [1000, 4096, 5096],
    [4097, 4096, 4097],
  ])("max_tokens %i with budget %i → %i (must exceed the budget)", (maxTokens, budgetTokens, expected) => {
    const req: CanonicalRequest = {
      model: "gpt-4o",
      system: [],
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      maxTokens,
      stream: false,
      includeUsage: false,
      thinking: { type: "enabled", budgetTokens },
    };
    expect(canonicalToAnthropicRequest(req, { model: "m", defaultMaxTokens: 1 })["max_tokens"]).toBe(expected);
  });

  it("produces bodies the validator accepts", () => {
    for (const [file, c] of fixtures("canonical-to-request")) {
      if ("error" in c) continue;
      expect(() => validateAnthropicRequest(JSON.parse(JSON.stringify(c["expected"]))), file).not.toThrow();
    }
  });
});

// ------------------------------------------------------------------ round-trip property

const OPTS = { model: "claude-sonnet-4-6", defaultMaxTokens: 4096 };
/** Non-blank text (blank text is dropped on the way to Anthropic, by design). */
const text = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== "");
const cacheControl = fc.option(fc.constantFrom({ type: "ephemeral" as const }, { type: "ephemeral" as const, ttl: "1h" }), { nil: undefined });
/** JSON values as they arrive parsed (no -0, no undefined). */
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 });

function withCache<T extends object>(block: T, cc: TextBlock["cacheControl"]): T {
  return cc === undefined ? block : { ...block, cacheControl: cc };
}

const textBlock = fc.tuple(text, cacheControl).map(([t, cc]) => withCache<TextBlock>({ type: "text", text: t }, cc));
const imageBlock: fc.Arbitrary<ImageBlock> = fc
  .tuple(
    fc.oneof(
      fc.record({ type: fc.constant("base64" as const), mediaType: fc.constantFrom("image/png", "image/jpeg"), data: fc.base64String({ minLength: 4, maxLength: 12 }) }),
      fc.record({ type: fc.constant("url" as const), url: fc.webUrl() }),
    ),
    cacheControl,
  )
  .map(([source, cc]) => withCache<ImageBlock>({ type: "image", source }, cc));
// Canonical ids are in the Anthropic-safe form (OpenAI decoders escape upstream ids on the way in).
const toolId = fc.stringMatching(/^[a-zA-Z0-9_-]{1,24}$/);
const toolResult: fc.Arbitrary<ContentBlock> = fc
  .tuple(toolId, fc.array(fc.oneof(textBlock, imageBlock), { maxLength: 3 }), fc.boolean(), cacheControl)
  .map(([toolUseId, content, isError, cc]) => withCache<ContentBlock>({ type: "tool_result", toolUseId, content, isError }, cc));
const toolUse: fc.Arbitrary<ContentBlock> = fc
  .tuple(toolId, text, jsonObject, cacheControl)
  .map(([id, name, input, cc]) => withCache<ContentBlock>({ type: "tool_use", id, name, input }, cc));
const signedThinking = fc.record({ type: fc.constant("thinking" as const), thinking: fc.string({ maxLength: 20 }), signature: text });
const redacted = fc.record({ type: fc.constant("redacted_thinking" as const), data: text });

/** A user turn: tool results first (Anthropic's order), then text and images. */
const userTurn: fc.Arbitrary<CanonicalMessage> = fc
  .tuple(fc.array(toolResult, { maxLength: 2 }), fc.array(fc.oneof(textBlock, imageBlock), { maxLength: 3 }))
  .filter(([results, rest]) => results.length + rest.length > 0)
  .map(([results, rest]) => ({ role: "user", content: [...results, ...rest] }));
function assistantTurn(withTools: boolean): fc.Arbitrary<CanonicalMessage> {
  const blocks: Array<fc.Arbitrary<ContentBlock>> = [textBlock, signedThinking, redacted];
  if (withTools) blocks.push(toolUse);
  return fc.array(fc.oneof(...blocks), { minLength: 1, maxLength: 4 }).map((content) => ({ role: "assistant", content }));
}
/** Alternating turns starting with the user (consecutive same-role turns would be merged). */
function conversation(withTools: boolean): fc.Arbitrary<CanonicalMessage[]> {
  return fc.array(fc.tuple(userTurn, fc.option(assistantTurn(withTools), { nil: undefined })), { minLength: 1, maxLength: 4 }).map((pairs) => {
    const out: CanonicalMessage[] = [];
    for (const [user, assistant] of pairs) {
      out.push(user);
      if (assistant === undefined) break;
      out.push(assistant);
    }
    return out;
  });
}

const tool: fc.Arbitrary<CanonicalTool> = fc
  .tuple(text, fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), jsonObject, fc.option(fc.boolean(), { nil: undefined }), cacheControl)
  .map(([name, description, inputSchema, strict, cc]) => {
    const t: CanonicalTool = { name, inputSchema };
    if (description !== undefined) t.description = description;
    if (strict !== undefined) t.strict = strict;
    return withCache(t, cc);
  });

/**
 * Canonical requests Anthropic expresses losslessly: no mid-conversation system messages (hoisted), no blank
 * text or unsigned thinking (dropped), alternating turns, the backend's model, a max_tokens (and above any
 * budget), `effort` only alongside a thinking config, no sampling parameters the thinking rules remove, no
 * tool_choice without tools, `parallelToolCalls` only as false on auto/any/tool, json_schema formats without
 * name/strict, no `user` (the Anthropic side never reads metadata).
 */
const losslessRequest: fc.Arbitrary<CanonicalRequest> = fc
  .record({
    thinking: fc.option(
      fc.oneof(
        fc.integer({ min: 1, max: 100_000 }).map((budgetTokens) => ({ type: "enabled" as const, budgetTokens })),
        fc.constant({ type: "adaptive" as const }),
        fc.constant({ type: "disabled" as const }),
      ),
      { nil: undefined },
    ),
    effort: fc.option(fc.constantFrom("low" as const, "medium" as const, "high" as const, "xhigh" as const, "max" as const), { nil: undefined }),
    stream: fc.boolean(),
    extraTokens: fc.integer({ min: 1, max: 100_000 }),
    system: fc.array(textBlock, { maxLength: 3 }),
    temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    topP: fc.option(fc.double({ min: 0.95, max: 1, noNaN: true }), { nil: undefined }),
    topK: fc.option(fc.nat(500), { nil: undefined }),
    stopSequences: fc.option(fc.array(text, { minLength: 1, maxLength: 6 }), { nil: undefined }),
    tools: fc.option(fc.array(tool, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    choice: fc.constantFrom("none", "auto", "any", "tool", "unset"),
    noParallel: fc.boolean(),
    schema: fc.option(jsonObject, { nil: undefined }),
  })
  .chain((r) => {
    const thinkingOn = r.thinking?.type === "enabled" || r.thinking?.type === "adaptive";
    // With thinking on, a pending tool turn without thinking would switch it off: keep tool calls out.
    return conversation(!thinkingOn).map((messages) => {
      const req: CanonicalRequest = {
        model: OPTS.model,
        system: r.system,
        messages,
        maxTokens: (r.thinking?.type === "enabled" ? r.thinking.budgetTokens : 0) + r.extraTokens,
        stream: r.stream,
        includeUsage: true,
      };
      if (r.thinking !== undefined) req.thinking = r.thinking;
      if (r.thinking !== undefined && r.effort !== undefined) req.effort = r.effort;
      if (!thinkingOn && r.temperature !== undefined) req.temperature = r.temperature;
      if (r.topP !== undefined) req.topP = r.topP;
      if (!thinkingOn && r.topK !== undefined) req.topK = r.topK;
      if (r.stopSequences !== undefined) req.stopSequences = r.stopSequences;
      if (r.tools !== undefined) {
        req.tools = r.tools;
        const forced = r.choice === "any" || r.choice === "tool";
        if (r.choice !== "unset" && !(thinkingOn && forced)) {
          req.toolChoice = r.choice === "tool" ? { type: "tool", name: r.tools[0]!.name } : { type: r.choice as "none" | "auto" | "any" };
          if (r.noParallel && r.choice !== "none") req.parallelToolCalls = false;
        }
      }
      if (r.schema !== undefined) req.responseFormat = { type: "json_schema", schema: r.schema };
      return req;
    });
  });

describe("canonical → Anthropic → canonical", () => {
  it("is lossless on what Anthropic expresses", () => {
    fc.assert(
      fc.property(losslessRequest, (req) => {
        // Through JSON text, as on the wire: also proves the body serialises and passes the validator.
        const wire: unknown = JSON.parse(JSON.stringify(canonicalToAnthropicRequest(req, OPTS)));
        expect(anthropicRequestToCanonical(validateAnthropicRequest(wire))).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });
});
