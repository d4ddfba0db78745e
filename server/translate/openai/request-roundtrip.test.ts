import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, ImageBlock, TextBlock, ToolResultBlock, ToolUseBlock } from "../canonical.js";
import { toAnthropicToolId } from "../tool-ids.js";
import { canonicalToOpenaiRequest, openaiRequestToCanonical } from "./request.js";
import { validateOpenAIRequest } from "./validate.js";

/*
 * canonical → canonicalToOpenaiRequest → (JSON) → openaiRequestToCanonical must give the request back, for every
 * request OpenAI can express. The generator leaves out what the OpenAI format cannot carry, each a documented
 * loss: thinking blocks, cache_control, topK, images inside tool results, is_error, several text blocks where
 * OpenAI has one string (system, assistant text, tool results), effort above high, and tool names over 64.
 */

const text = fc.string({ minLength: 1 }).map((t): TextBlock => ({ type: "text", text: t }));
const image = fc.oneof(
  fc.record({ mediaType: fc.constantFrom("image/png", "image/jpeg", "image/webp"), data: fc.base64String({ minLength: 4 }) }).map(
    ({ mediaType, data }): ImageBlock => ({ type: "image", source: { type: "base64", mediaType, data } }),
  ),
  fc.webUrl().map((url): ImageBlock => ({ type: "image", source: { type: "url", url } })),
);
const toolName = fc.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/);
/**
 * Ids as canonical holds them: what toAnthropicToolId made of an upstream's id. Left out: valid ids containing
 * "_x", which toAnthropicToolId escapes although the client would send them back unescaped (see canonicalToolId).
 */
const toolId = fc
  .string({ unit: "binary" })
  .filter((id) => !(/^[a-zA-Z0-9_-]+$/.test(id) && id.includes("_x")))
  .map(toAnthropicToolId);
/** JSON-safe values (a JSON round trip normalises -0 and key order the way the wire does). */
const jsonObject = fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

const userBlocks = fc.array(fc.oneof(text, image), { minLength: 1, maxLength: 3 });
const toolUse = fc.record({ id: toolId, name: toolName, input: jsonObject }).map((b): ToolUseBlock => ({ type: "tool_use", ...b }));
const assistant = fc
  .record({ text: fc.option(text, { nil: undefined }), calls: fc.uniqueArray(toolUse, { maxLength: 3, selector: (b) => b.id }) })
  .filter(({ text, calls }) => text !== undefined || calls.length > 0)
  .map(({ text, calls }): CanonicalMessage => ({ role: "assistant", content: [...(text ? [text] : []), ...calls] }));

/** The user turn answering an assistant turn: one result per call (if any), then optional text and images. */
function userAfter(previous: CanonicalMessage): fc.Arbitrary<CanonicalMessage> {
  const calls = previous.content.filter((b): b is ToolUseBlock => b.type === "tool_use");
  if (calls.length === 0) return userBlocks.map((content): CanonicalMessage => ({ role: "user", content }));
  const results = fc.tuple(
    ...calls.map((call) =>
      fc.option(text, { nil: undefined }).map((t): ToolResultBlock => ({ type: "tool_result", toolUseId: call.id, content: t ? [t] : [], isError: false })),
    ),
  );
  return fc.tuple(results, fc.array(fc.oneof(text, image), { maxLength: 2 })).map(([r, rest]): CanonicalMessage => ({ role: "user", content: [...r, ...rest] }));
}

const conversation: fc.Arbitrary<CanonicalMessage[]> = fc
  .tuple(
    userBlocks.map((content): CanonicalMessage => ({ role: "user", content })),
    fc.array(fc.tuple(assistant, fc.option(text, { nil: undefined })), { maxLength: 3 }),
  )
  .chain(([first, turns]) => {
    const tails = turns.map(([reply, system]) =>
      userAfter(reply).map((next): CanonicalMessage[] => [
        ...(system ? [{ role: "system" as const, content: [system] }] : []),
        reply,
        next,
      ]),
    );
    return (tails.length === 0 ? fc.constant([] as CanonicalMessage[][]) : fc.tuple(...tails)).map((t) => [first, ...t.flat()]);
  });

const tool = fc
  .record(
    { description: fc.string(), inputSchema: jsonObject, strict: fc.boolean() },
    { requiredKeys: ["inputSchema"] },
  );
const tools = fc.uniqueArray(toolName, { minLength: 1, maxLength: 3 }).chain((names) =>
  fc.tuple(...names.map((name) => tool.map((t): CanonicalTool => ({ name, ...t })))),
);
const toolSettings = fc.option(
  tools.chain((ts) =>
    fc.record(
      {
        tools: fc.constant(ts),
        toolChoice: fc.oneof(
          fc.constant({ type: "auto" as const }),
          fc.constant({ type: "any" as const }),
          fc.constant({ type: "none" as const }),
          fc.constantFrom(...ts).map((t) => ({ type: "tool" as const, name: t.name })),
        ),
        parallelToolCalls: fc.constant(false),
      },
      { requiredKeys: ["tools"] },
    ),
  ),
  { nil: undefined },
);

const fraction = (max: number) => fc.integer({ min: 0, max: max * 100 }).map((n) => n / 100);
const request: fc.Arbitrary<CanonicalRequest> = fc
  .record(
    {
      model: fc.string({ minLength: 1, maxLength: 20 }).filter((m) => !/[\u0000-\u001f\u007f]/.test(m)),
      system: fc.option(text, { nil: undefined }).map((t) => (t ? [t] : [])),
      messages: conversation,
      maxTokens: fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: undefined }),
      stream: fc.boolean(),
      temperature: fc.option(fraction(2), { nil: undefined }),
      topP: fc.option(fraction(1), { nil: undefined }),
      stopSequences: fc.option(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }), { nil: undefined }),
      effort: fc.option(fc.constantFrom("minimal" as const, "low" as const, "medium" as const, "high" as const), { nil: undefined }),
      responseFormat: fc.option(
        fc.oneof(
          fc.constant({ type: "text" as const }),
          fc.constant({ type: "json_object" as const }),
          fc.record({ type: fc.constant("json_schema" as const), name: fc.string(), schema: jsonObject, strict: fc.boolean() }, { requiredKeys: ["type", "name", "schema"] }),
        ),
        { nil: undefined },
      ),
      user: fc.option(fc.string(), { nil: undefined }),
      toolSettings,
    },
  )
  .map(({ toolSettings: ts, effort, ...r }) => {
    const req: CanonicalRequest = { ...r, includeUsage: r.stream, ...ts, ...(effort && { thinking: { type: "adaptive" as const }, effort }) };
    // Absent optional fields are absent keys, as the decoder writes them.
    return JSON.parse(JSON.stringify(req)) as CanonicalRequest;
  });

describe("canonical → OpenAI → canonical", () => {
  it("is lossless for what OpenAI can express", () => {
    fc.assert(
      fc.property(request, (req) => {
        const { body } = canonicalToOpenaiRequest(req, { model: req.model });
        const wire: unknown = JSON.parse(JSON.stringify(body));
        expect(openaiRequestToCanonical(validateOpenAIRequest(wire))).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });
});
