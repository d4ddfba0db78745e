import type { BackendConfig, ProviderConfig } from "../../config/types.js";
import type { CancelSignal } from "../../lib/cancellation.js";
import type { BackendState } from "../../route/backend-state.js";
import type { Dispatcher, DispatchResult, DispatchTrace } from "../../route/dispatch.js";
import { noCandidateError } from "../../route/no-candidate.js";
import type { Selection } from "../../route/select.js";
import type { Dialect, Exchange } from "../../translate/exchange/exchange.js";
import type { Requirements } from "../../translate/requirements.js";
import type { Principal } from "../admin/authenticator.js";
import type { RouteServiceImpl } from "../route/route-service.js";
import type { KeyLimiter } from "./key-limits.js";

/** A committed answer: a JSON body, or a stream whose first frames are already validated. */
export type ChatResult = DispatchResult;

/** What the facade learns about how a request was routed and answered, for its log line and usage row. */
export interface RouteTrace extends DispatchTrace {
  selection: Selection | undefined;
  /** The prompt's estimated tokens (`Requirements.promptTokens`), for a usage row the upstream left without usage. */
  promptTokens?: number;
}

/** One chat request from the facade, already validated and in the client's dialect. */
export interface ChatCall {
  /** Who sent it; API keys carry limits that are enforced before routing. */
  principal?: Principal;
  requirements: Requirements;
  stream: boolean;
  operation: "chat" | "count_tokens";
  exchangeFor(dialect: Dialect): Exchange;
  /** See `DispatchCall.parkRequest`. */
  parkRequest?(): void;
  headers: Record<string, string>;
  signal: CancelSignal;
  trace: RouteTrace;
}

/** A client-visible model, for `GET /v1/models`. */
export interface ModelEntry {
  id: string;
  ownedBy: string;
}

/** A backend's state, for `/healthz`. */
export interface BackendHealth {
  name: string;
  provider: string;
  state: "available" | "cooling_down" | "rate_limited";
  /** Unix ms when it is available again (absent when available). */
  availableAt?: number;
}

export interface GatewayService {
  /** Routes one request: selection (through the Route service, in-process), then the retry loop. */
  chat(call: ChatCall): Promise<ChatResult>;
  /**
   * Anthropic `count_tokens`: forwarded when the backend selection picks first is an Anthropic one (failing over
   * among Anthropic candidates only); otherwise counted exactly when the backend's model has a public tokenizer
   * (the same counter feeds selection) or its server has one (vLLM's `/tokenize`), else estimated.
   */
  countTokens(call: ChatCall): Promise<ChatResult>;
  /** Client-visible model names: each backend's model and alias, first occurrence wins, in configuration order. */
  models(): ModelEntry[];
  health(): BackendHealth[];
}

export interface GatewayServiceDeps {
  keyLimits: KeyLimiter;
  route: RouteServiceImpl;
  dispatcher: Dispatcher;
  state: BackendState;
  backends: () => readonly BackendConfig[];
  providers: () => ReadonlyMap<string, ProviderConfig>;
  now: () => number;
}

/** Creates the gateway service that the HTTP facade calls for every request. */
export function createGatewayService(deps: GatewayServiceDeps): GatewayService {
  return {
    async chat(call) {
      const refused = deps.keyLimits.admit(call.principal, call.requirements.model);
      if (refused) throw refused;
      call.trace.promptTokens = call.requirements.promptTokens;
      const selection = deps.route.select(call.requirements);
      call.trace.selection = selection;
      if (selection.candidates.length === 0) throw noCandidateError(selection, call.requirements, deps.now());
      // A ChatCall is a DispatchCall with more in it: passed as is, not copied.
      return deps.dispatcher.dispatch(call, selection.candidates);
    },
    async countTokens(call) {
      const refused = deps.keyLimits.admit(call.principal, call.requirements.model);
      if (refused) throw refused;
      const selection = deps.route.select(call.requirements);
      call.trace.selection = selection;
      if (selection.candidates.length === 0) throw noCandidateError(selection, call.requirements, deps.now());
      const kindOf = (backend: BackendConfig) => deps.providers().get(backend.provider)?.kind;
      const first = selection.candidates[0]!;
      if (kindOf(first) !== "anthropic") {
        // Exact where a tokenizer is known (tiktoken encodings, then the server's own, as vLLM's /tokenize), else
        // the documented estimate.
        const tokens =
          call.requirements.exactPromptTokens?.(first.model) ??
          (await deps.dispatcher.tokenize(first, call.exchangeFor("openai").upstreamBody(first), call.signal)) ??
          call.requirements.promptTokens;
        return { kind: "json", backend: first, body: JSON.stringify({ input_tokens: tokens }), usage: undefined };
      }
      return deps.dispatcher.dispatch(
        { exchangeFor: call.exchangeFor, stream: false, operation: "count_tokens", headers: call.headers, signal: call.signal, trace: call.trace },
        selection.candidates.filter((backend) => kindOf(backend) === "anthropic"),
      );
    },
    models() {
      const seen = new Set<string>();
      const entries: ModelEntry[] = [];
      for (const backend of deps.backends()) {
        for (const id of [backend.alias, backend.model]) {
          if (id !== undefined && !seen.has(id)) {
            seen.add(id);
            entries.push({ id, ownedBy: backend.provider });
          }
        }
      }
      return entries;
    },
    health() {
      return deps.backends().map((backend) => {
        const unavailable = deps.state.unavailable(backend);
        if (!unavailable) return { name: backend.name, provider: backend.provider, state: "available" as const };
        return {
          name: backend.name,
          provider: backend.provider,
          state: unavailable.kind === "cooldown" ? ("cooling_down" as const) : ("rate_limited" as const),
          availableAt: unavailable.until,
        };
      });
    },
  };
}

export type { RequestOutcome, RequestRecord, Telemetry } from "../../route/telemetry.js";
