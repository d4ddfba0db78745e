import type { BackendConfig } from "../config/types.js";
import { globMatch } from "../lib/glob.js";
import type { Requirements } from "../translate/requirements.js";
import type { Unavailability } from "./backend-state.js";

/** Why a backend was skipped. Mirrors llmux.route.v1.SkipReason. */
export type SkipReason =
  | "model_name_mismatch"
  | "context_too_small"
  | "no_vision"
  | "no_thinking"
  | "model_pattern_mismatch"
  | "cooling_down"
  | "rate_window_full"
  | "unhealthy";

/** What selection decided about one configured backend. */
export interface Decision {
  backend: BackendConfig;
  kept: boolean;
  reason?: SkipReason;
  detail?: string;
  /** For cooldown and rate windows: Unix ms when the backend is available again. */
  availableAt?: number;
}

/** The outcome of selection: candidates in the order they are tried, and a decision per configured backend. */
export interface Selection {
  mode: "model_name" | "capability";
  candidates: BackendConfig[];
  decisions: Decision[];
}

/** The names a backend answers to: "provider:model", the model part, and its alias. */
export function servesByName(backend: BackendConfig, model: string): boolean {
  return backend.model === model || backend.alias === model || `${backend.provider}:${backend.model}` === model || backend.name === model;
}

/** How close to a context limit (as a fraction of it) the estimate is replaced by an exact count, when one exists. */
const EXACT_COUNT_MARGIN = 0.25;

function fitsContext(backend: BackendConfig, req: Requirements): string | undefined {
  const context = backend.context;
  if (context === undefined) return undefined;
  let prompt = req.promptTokens;
  // The chars/4 estimate is off by tens of percent; near the limit, ask the tokenizer (if the backend has one).
  if (req.exactPromptTokens && Math.abs(prompt + req.maxOutputTokens - context) <= context * EXACT_COUNT_MARGIN) {
    prompt = req.exactPromptTokens(backend.model) ?? prompt;
  }
  const needed = prompt + req.maxOutputTokens;
  return needed > context ? `needs about ${needed} tokens, context is ${context}` : undefined;
}

/**
 * Picks the candidate backends for a request. Pure: state enters as a function of the backend.
 *
 * 1. Model-name routing: if any backend serves the requested model by name, only those backends (in configuration
 *    order) are candidates, followed by the backends of the models they name in `fallbacks`. They are filtered by
 *    context, vision, cooldown and rate windows; `model_match` and `thinking` do not apply (the client chose the
 *    model).
 * 2. Capability routing otherwise: every backend in configuration order is a candidate when the request fits its
 *    context, it has vision if the request carries images, thinking if it asks for reasoning, its `model_match`
 *    globs (if any) match the model, and it is neither cooling down nor out of rate window.
 */
export function selectBackends(
  backends: readonly BackendConfig[],
  req: Requirements,
  unavailable: (backend: BackendConfig) => Unavailability | undefined,
): Selection {
  const named = backends.filter((b) => servesByName(b, req.model));
  if (named.length > 0) return selectByName(backends, named, req, unavailable);
  const { candidates, decisions } = judgeAll(backends, req, unavailable, true);
  return { mode: "capability", candidates, decisions };
}

/** The decision on each of `backends`, in order, and the ones kept. */
function judgeAll(
  backends: readonly BackendConfig[],
  req: Requirements,
  unavailable: (backend: BackendConfig) => Unavailability | undefined,
  byCapability: boolean,
): { candidates: BackendConfig[]; decisions: Decision[] } {
  const decisions: Decision[] = [];
  const candidates: BackendConfig[] = [];
  for (const backend of backends) {
    const decision = judge(backend, req, unavailable, byCapability);
    decisions.push(decision);
    if (decision.kept) candidates.push(backend);
  }
  return { candidates, decisions };
}

function selectByName(
  backends: readonly BackendConfig[],
  named: BackendConfig[],
  req: Requirements,
  unavailable: (backend: BackendConfig) => Unavailability | undefined,
): Selection {
  // The named backends first, then fallback models' backends, each backend once (most requests name no fallback).
  const ordered = named.some((b) => b.fallbacks.length > 0) ? withFallbacks(backends, named) : named;
  const { candidates, decisions } = judgeAll(ordered, req, unavailable, false);
  return new NameSelection(candidates, backends, decisions, req.model);
}

function withFallbacks(backends: readonly BackendConfig[], named: BackendConfig[]): BackendConfig[] {
  const ordered: BackendConfig[] = [...named];
  const seen = new Set(named);
  for (const backend of named) {
    for (const fallback of backend.fallbacks) {
      for (const other of backends) {
        if (!seen.has(other) && servesByName(other, fallback)) {
          seen.add(other);
          ordered.push(other);
        }
      }
    }
  }
  return ordered;
}

/**
 * A model-name selection whose `decisions` are built on first read: most requests never read them (only
 * explanations, errors and debug logs do), and with many backends a decision for each one that does not serve the
 * model would be built for nothing. A class, not an object literal with a getter: that literal, built per request
 * with a getter closure of its own, kept every selection and what it reaches alive past minor GCs (~1 kB a request
 * promoted to the old generation, measured with `--trace-gc-nvp`).
 */
class NameSelection implements Selection {
  readonly mode = "model_name";
  #decisions: Decision[] | undefined;

  constructor(
    readonly candidates: BackendConfig[],
    private readonly backends: readonly BackendConfig[],
    /** The decisions on the backends that serve the model or a fallback (a few: searched, not indexed). */
    private readonly judged: readonly Decision[],
    private readonly model: string,
  ) {}

  get decisions(): Decision[] {
    return (this.#decisions ??= this.backends.map(
      (backend) =>
        this.judged.find((d) => d.backend === backend) ?? { backend, kept: false, reason: "model_name_mismatch" as const, detail: `does not serve ${this.model}` },
    ));
  }
}

function judge(
  backend: BackendConfig,
  req: Requirements,
  unavailable: (backend: BackendConfig) => Unavailability | undefined,
  capability: boolean,
): Decision {
  const tooSmall = fitsContext(backend, req);
  if (tooSmall) return { backend, kept: false, reason: "context_too_small", detail: tooSmall };
  if (req.hasImages && !backend.vision) return { backend, kept: false, reason: "no_vision", detail: "request has images, backend has no vision" };
  if (capability) {
    if (req.wantsThinking && !backend.thinking) return { backend, kept: false, reason: "no_thinking", detail: "request asks for reasoning, backend has no thinking" };
    if (backend.modelMatch.length > 0 && !backend.modelMatch.some((pattern) => globMatch(pattern, req.model))) {
      return { backend, kept: false, reason: "model_pattern_mismatch", detail: `${req.model} matches none of ${backend.modelMatch.join(", ")}` };
    }
  }
  const state = unavailable(backend);
  if (state) {
    return {
      backend,
      kept: false,
      reason: state.kind === "cooldown" ? "cooling_down" : state.kind === "unhealthy" ? "unhealthy" : "rate_window_full",
      detail: state.detail,
      availableAt: state.until,
    };
  }
  return { backend, kept: true };
}
