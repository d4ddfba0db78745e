import {
  RouteMode,
  SkipReason,
  type ExplainRouteResponse,
  type SelectBackendResponse,
} from "../../gen/llmux/route/v1/route_service_pb.js";
import { formatTable } from "./table.js";

/** Each skip reason in words; a Record so a reason added to the proto fails to compile until it is named here. */
const SKIP_REASON_WORDS: Readonly<Record<SkipReason, string>> = {
  [SkipReason.UNSPECIFIED]: "unspecified",
  [SkipReason.MODEL_NAME_MISMATCH]: "model name does not match",
  [SkipReason.CONTEXT_TOO_SMALL]: "context too small",
  [SkipReason.NO_VISION]: "no vision",
  [SkipReason.NO_THINKING]: "no thinking",
  [SkipReason.MODEL_PATTERN_MISMATCH]: "model_match does not match",
  [SkipReason.COOLING_DOWN]: "cooling down",
  [SkipReason.RATE_WINDOW_FULL]: "rate window full",
  [SkipReason.UNHEALTHY]: "unhealthy",
};

const MODE_WORDS: Readonly<Record<RouteMode, string>> = {
  [RouteMode.UNSPECIFIED]: "unspecified",
  [RouteMode.MODEL_NAME]: "model name",
  [RouteMode.CAPABILITY]: "capability",
};

/** Printed instead of an empty candidate table, so "nothing fits" is never mistaken for "no output". */
const NO_CANDIDATES = "no backend can serve this request; run `llmuxctl route explain` with the same flags to see why";

/**
 * Renders ExplainRoute for a person: the routing mode, then one row per configured backend in configuration
 * order saying whether it is a candidate (and in which position it is tried) or why it was skipped.
 */
export function formatExplain(res: ExplainRouteResponse): string {
  const order = new Map(res.candidates.map((c, i) => [c.backend, i + 1]));
  const rows = res.decisions.map((d) => {
    const position = order.get(d.backend);
    const decision = d.kept ? (position === undefined ? "candidate" : `candidate #${position}`) : "skipped";
    const reason = d.kept ? "" : SKIP_REASON_WORDS[d.reason] ?? `reason ${d.reason}`;
    const until = d.availableAtMs > 0n ? `available at ${new Date(Number(d.availableAtMs)).toISOString()}` : "";
    const detail = [d.detail, until].filter((part) => part !== "").join("; ");
    return [d.backend, decision, reason, detail];
  });
  return `mode: ${modeWords(res.mode)}\n${formatTable(["BACKEND", "DECISION", "REASON", "DETAIL"], rows)}\n`;
}

/** Renders SelectBackend for a person: the routing mode, then the candidates in the order they are tried. */
export function formatSelect(res: SelectBackendResponse): string {
  if (res.candidates.length === 0) return `mode: ${modeWords(res.mode)}\n${NO_CANDIDATES}\n`;
  const rows = res.candidates.map((c, i) => [
    String(i + 1),
    c.backend,
    c.provider,
    c.model,
    c.providerKind,
    c.context === 0 ? "-" : String(c.context),
  ]);
  return `mode: ${modeWords(res.mode)}\n${formatTable(["ORDER", "BACKEND", "PROVIDER", "MODEL", "KIND", "CONTEXT"], rows)}\n`;
}

/** A mode from a newer gateway than this client is shown by number rather than hidden. */
function modeWords(mode: RouteMode): string {
  return MODE_WORDS[mode] ?? `mode ${mode}`;
}
