import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  BackendDecisionSchema,
  CandidateSchema,
  RouteMode,
  RouteService,
  SkipReason,
  type RouteRequirements,
} from "../../../gen/llmux/route/v1/route_service_pb.js";
import type { BackendConfig, ProviderConfig } from "../../config/types.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type { BackendState } from "../../route/backend-state.js";
import { selectBackends, type Decision, type Selection, type SkipReason as SelectSkipReason } from "../../route/select.js";
import type { Requirements } from "../../translate/requirements.js";

const SKIP_REASONS: Readonly<Record<SelectSkipReason, SkipReason>> = {
  model_name_mismatch: SkipReason.MODEL_NAME_MISMATCH,
  context_too_small: SkipReason.CONTEXT_TOO_SMALL,
  no_vision: SkipReason.NO_VISION,
  no_thinking: SkipReason.NO_THINKING,
  model_pattern_mismatch: SkipReason.MODEL_PATTERN_MISMATCH,
  cooling_down: SkipReason.COOLING_DOWN,
  rate_window_full: SkipReason.RATE_WINDOW_FULL,
};

export interface RouteServiceDeps {
  /** The current backends, in configuration order. */
  backends: () => readonly BackendConfig[];
  providers: () => ReadonlyMap<string, ProviderConfig>;
  state: BackendState;
}

/** The Route service: the RPC implementation, plus the same selection as a direct in-process call. */
export interface RouteServiceImpl {
  /** Selection for one request, in-process (nothing serialized); used by the gateway for every request. */
  select(req: Requirements): Selection;
  /** The Connect/gRPC implementation of llmux.route.v1.RouteService. */
  rpc: ServiceImpl<typeof RouteService>;
}

/** Creates the Route service over the configured backends and their runtime state. */
export function createRouteService(deps: RouteServiceDeps): RouteServiceImpl {
  const select = (req: Requirements) => selectBackends(deps.backends(), req, (backend) => deps.state.unavailable(backend));

  function candidate(backend: BackendConfig) {
    return create(CandidateSchema, {
      backend: backend.name,
      provider: backend.provider,
      model: backend.model,
      providerKind: deps.providers().get(backend.provider)?.kind ?? "",
      context: backend.context ?? 0,
    });
  }

  function decision(d: Decision) {
    return create(BackendDecisionSchema, {
      backend: d.backend.name,
      kept: d.kept,
      reason: d.reason ? SKIP_REASONS[d.reason] : SkipReason.UNSPECIFIED,
      detail: d.detail ?? "",
      availableAtMs: BigInt(d.availableAt ?? 0),
    });
  }

  const mode = (selection: Selection) => (selection.mode === "model_name" ? RouteMode.MODEL_NAME : RouteMode.CAPABILITY);

  return {
    select,
    rpc: {
      selectBackend(request) {
        const selection = select(requirementsFrom(request.requirements));
        return { candidates: selection.candidates.map(candidate), mode: mode(selection) };
      },
      explainRoute(request) {
        const selection = select(requirementsFrom(request.requirements));
        return {
          candidates: selection.candidates.map(candidate),
          mode: mode(selection),
          decisions: selection.decisions.map(decision),
        };
      },
    },
  };
}

function requirementsFrom(req: RouteRequirements | undefined): Requirements {
  if (!req) throw llmuxError(Reason.INVALID_REQUEST, "requirements are required", { param: "requirements" });
  if (req.model.length === 0) throw llmuxError(Reason.INVALID_REQUEST, "requirements.model is required", { param: "requirements.model" });
  return {
    model: req.model,
    promptTokens: req.promptTokens,
    maxOutputTokens: req.maxOutputTokens,
    hasImages: req.hasImages,
    wantsThinking: req.wantsThinking,
  };
}
