import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  BackendDecisionSchema,
  BackendState as BackendStateEnum,
  BackendStatusSchema,
  CandidateSchema,
  Health,
  RouteMode,
  RouteService,
  SkipReason,
  type RouteRequirements,
} from "../../../gen/llmux/route/v1/route_service_pb.js";
import type { BackendConfig, ProviderConfig } from "../../config/types.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type { BackendState, BackendStats, Unavailability, WindowUsage } from "../../route/backend-state.js";
import { selectBackends, type Decision, type Selection, type SkipReason as SelectSkipReason } from "../../route/select.js";
import { modelNameProblem, type Requirements } from "../../translate/requirements.js";

const SKIP_REASONS: Readonly<Record<SelectSkipReason, SkipReason>> = {
  model_name_mismatch: SkipReason.MODEL_NAME_MISMATCH,
  context_too_small: SkipReason.CONTEXT_TOO_SMALL,
  no_vision: SkipReason.NO_VISION,
  no_thinking: SkipReason.NO_THINKING,
  model_pattern_mismatch: SkipReason.MODEL_PATTERN_MISMATCH,
  cooling_down: SkipReason.COOLING_DOWN,
  rate_window_full: SkipReason.RATE_WINDOW_FULL,
  unhealthy: SkipReason.UNHEALTHY,
};

/** Whether selection may use a backend now, and if not, why (the names `/healthz` shows). */
export type BackendStateName = "available" | "cooling_down" | "rate_limited" | "unhealthy";

/** The last active health check of a backend: "unknown" until one has completed (or when checks are off). */
export type HealthName = "healthy" | "unhealthy" | "unknown";

/** One backend's runtime state, in plain values: GetBackendStatus, `/healthz` and `/readyz` all read this. */
export interface BackendStatusView {
  backend: BackendConfig;
  state: BackendStateName;
  /** Unix ms when the backend is available again; undefined when it is available now. */
  availableAt: number | undefined;
  health: HealthName;
  usage: WindowUsage;
  stats: BackendStats;
}

const STATE_NAMES: Readonly<Record<Unavailability["kind"], BackendStateName>> = {
  cooldown: "cooling_down",
  rate_window: "rate_limited",
  unhealthy: "unhealthy",
};

const STATE_ENUMS: Readonly<Record<BackendStateName, BackendStateEnum>> = {
  available: BackendStateEnum.AVAILABLE,
  cooling_down: BackendStateEnum.COOLING_DOWN,
  rate_limited: BackendStateEnum.RATE_LIMITED,
  unhealthy: BackendStateEnum.UNHEALTHY,
};

const HEALTH_ENUMS: Readonly<Record<HealthName, Health>> = {
  healthy: Health.HEALTHY,
  unhealthy: Health.UNHEALTHY,
  unknown: Health.UNKNOWN,
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
  /** Every configured backend's runtime state, in configuration order; in-process, for the health routes. */
  status(): BackendStatusView[];
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

  function status(): BackendStatusView[] {
    return deps.backends().map((backend) => {
      const unavailable = deps.state.unavailable(backend);
      const stats = deps.state.stats(backend);
      return {
        backend,
        state: unavailable ? STATE_NAMES[unavailable.kind] : "available",
        availableAt: unavailable?.until,
        health: stats.healthy === undefined ? "unknown" : stats.healthy ? "healthy" : "unhealthy",
        usage: deps.state.windowUsage(backend),
        stats,
      };
    });
  }

  function backendStatus(view: BackendStatusView) {
    const { backend, stats, usage } = view;
    return create(BackendStatusSchema, {
      name: backend.name,
      provider: backend.provider,
      model: backend.model,
      state: STATE_ENUMS[view.state],
      availableAtMs: BigInt(view.availableAt ?? 0),
      health: HEALTH_ENUMS[view.health],
      lastCheckAtMs: BigInt(stats.lastCheckAt ?? 0),
      hour: { used: usage.hour, limit: backend.maxPerHour ?? 0 },
      fiveHours: { used: usage.fiveHours, limit: backend.maxPer5Hours ?? 0 },
      day: { used: usage.day, limit: backend.maxPerDay ?? 0 },
      latencyP50Ms: Math.round(stats.latencyP50Ms),
      errorRate: stats.errorRate,
      attempts: stats.attempts,
      consecutiveFailures: stats.consecutiveFailures,
    });
  }

  const mode = (selection: Selection) => (selection.mode === "model_name" ? RouteMode.MODEL_NAME : RouteMode.CAPABILITY);

  return {
    select,
    status,
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
      getBackendStatus() {
        return { backends: status().map(backendStatus) };
      },
    },
  };
}

function requirementsFrom(req: RouteRequirements | undefined): Requirements {
  if (!req) throw llmuxError(Reason.INVALID_REQUEST, "requirements are required", { param: "requirements" });
  if (req.model.length === 0) throw llmuxError(Reason.INVALID_REQUEST, "requirements.model is required", { param: "requirements.model" });
  const modelProblem = modelNameProblem(req.model);
  if (modelProblem !== undefined) throw llmuxError(Reason.INVALID_REQUEST, `requirements.model ${modelProblem}`, { param: "requirements.model" });
  return {
    model: req.model,
    promptTokens: req.promptTokens,
    maxOutputTokens: req.maxOutputTokens,
    hasImages: req.hasImages,
    wantsThinking: req.wantsThinking,
  };
}
