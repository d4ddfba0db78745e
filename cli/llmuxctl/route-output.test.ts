import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ExplainRouteResponseSchema,
  RouteMode,
  SelectBackendResponseSchema,
  SkipReason,
} from "../../gen/llmux/route/v1/route_service_pb.js";
import { formatExplain, formatSelect } from "./route-output.js";

describe("formatExplain", () => {
  it("numbers candidates by the order they are tried, not by configuration order, and shows when a backend is back", () => {
    const res = create(ExplainRouteResponseSchema, {
      mode: RouteMode.MODEL_NAME,
      // A fallback configured first is tried second.
      candidates: [{ backend: "b" }, { backend: "a" }],
      decisions: [
        { backend: "a", kept: true },
        { backend: "b", kept: true },
        {
          backend: "c",
          kept: false,
          reason: SkipReason.COOLING_DOWN,
          detail: "failed 2 times",
          availableAtMs: BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)),
        },
        { backend: "d", kept: false, reason: SkipReason.RATE_WINDOW_FULL, availableAtMs: BigInt(Date.UTC(2026, 0, 3)) },
      ],
    });
    expect(formatExplain(res)).toBe(
      [
        "mode: model name",
        "BACKEND  DECISION      REASON            DETAIL",
        "a        candidate #2",
        "b        candidate #1",
        "c        skipped       cooling down      failed 2 times; available at 2026-01-02T03:04:05.000Z",
        "d        skipped       rate window full  available at 2026-01-03T00:00:00.000Z",
        "",
      ].join("\n"),
    );
  });

  it.each([
    [SkipReason.MODEL_NAME_MISMATCH, "model name does not match"],
    [SkipReason.CONTEXT_TOO_SMALL, "context too small"],
    [SkipReason.NO_VISION, "no vision"],
    [SkipReason.NO_THINKING, "no thinking"],
    [SkipReason.MODEL_PATTERN_MISMATCH, "model_match does not match"],
    [SkipReason.COOLING_DOWN, "cooling down"],
    [SkipReason.RATE_WINDOW_FULL, "rate window full"],
    [SkipReason.UNHEALTHY, "unhealthy"],
    [99 as SkipReason, "reason 99"],
  ])("words skip reason %i as %j", (reason, words) => {
    const res = create(ExplainRouteResponseSchema, { mode: RouteMode.CAPABILITY, decisions: [{ backend: "x", reason }] });
    expect(formatExplain(res).split("\n")[2]).toBe(`x        skipped   ${words}`);
  });
});

describe("formatSelect", () => {
  it("shows a backend without a configured context as -", () => {
    const res = create(SelectBackendResponseSchema, {
      mode: RouteMode.CAPABILITY,
      candidates: [{ backend: "local:qwen", provider: "local", model: "qwen", providerKind: "openai", context: 0 }],
    });
    expect(formatSelect(res)).toBe(
      "mode: capability\nORDER  BACKEND     PROVIDER  MODEL  KIND    CONTEXT\n1      local:qwen  local     qwen   openai  -\n",
    );
  });

  it("names a mode this client does not know by number", () => {
    const res = create(SelectBackendResponseSchema, { mode: 7 as RouteMode });
    expect(formatSelect(res)).toBe(
      "mode: mode 7\nno backend can serve this request; run `llmuxctl route explain` with the same flags to see why\n",
    );
  });
});
