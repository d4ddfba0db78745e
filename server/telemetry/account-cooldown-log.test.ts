import pino from "pino";
import { describe, expect, it } from "vitest";
import { backendConfig } from "../../test/helpers/backend-config.js";
import { openaiDispatchCall } from "../../test/helpers/dispatch-call.js";
import { Reason } from "../errors/llmux-error.js";
import { Cancellation } from "../lib/cancellation.js";
import type { ProviderAdapter, UpstreamResponse } from "../providers/provider.js";
import { AUTH_FAILURE_COOLDOWN_MS, createBackendState } from "../route/backend-state.js";
import { createDispatcher } from "../route/dispatch.js";
import { createRetryBudget } from "../route/retry-budget.js";
import { createAccountCooldownLog } from "./account-cooldown-log.js";

const backend = backendConfig({ provider: "up", model: "gpt" });
/** Planted in the upstream's error bodies: it must never reach the log. */
const SECRET = "sk-live-revoked-7731";
const MESSAGE = "backend taken out of rotation: the upstream refused llmux's provider account";

/** An upstream answer with an OpenAI error body that quotes the secret. */
function answer(status: number, type: string, code: string): UpstreamResponse {
  const text = JSON.stringify({ error: { message: `Incorrect API key provided: ${SECRET}`, type, code } });
  const body = (async function* () {
    yield new TextEncoder().encode(text);
  })();
  return { status, headers: { "content-type": "application/json" }, body };
}

const UNAUTHORIZED = () => answer(401, "invalid_request_error", "invalid_api_key");
const FORBIDDEN = () => answer(403, "invalid_request_error", "unsupported_country_region_territory");
const RATE_LIMITED = () => answer(429, "requests", "rate_limit_exceeded");

/**
 * The real dispatcher and backend state on a fixed clock, reporting to the account cooldown log on a pino logger
 * whose lines are captured (no time or pid, so they compare exactly). The upstream gives the `answers` in order.
 */
function gateway(answers: Array<() => UpstreamResponse>) {
  const lines: unknown[] = [];
  const logger = pino({ base: undefined, timestamp: false }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let calls = 0;
  const provider: ProviderAdapter = {
    name: "up",
    kind: "openai",
    dialect: "openai",
    send: async () => answers[calls++]!(),
    probe: async () => true,
    redact: (text) => text.replaceAll(SECRET, "[redacted]"),
    close: async () => {},
  };
  const clock = { now: 1_000_000 };
  const dispatcher = createDispatcher({
    providers: new Map([["up", provider]]),
    state: createBackendState({ now: () => clock.now, random: () => 0, cooldownMs: 5_000, maxCooldownMs: 60_000 }),
    budget: createRetryBudget({ ratio: 0.2, minRetries: 3 }),
    telemetry: createAccountCooldownLog(logger),
    now: () => clock.now,
    random: () => 0,
    sleep: async () => {},
    maxRetries: 0,
    requestTimeoutMs: 10_000,
    firstByteTimeoutMs: 10_000,
    streamTimeoutMs: 10_000,
    shutdown: new Cancellation(),
  });
  /** One request to the backend (even while it cools down, as requests already routed to it are); its error reason. */
  const request = async (): Promise<Reason> => {
    return dispatcher.dispatch(openaiDispatchCall(false), [backend]).then(
      () => expect.fail("the upstream refused, the request cannot succeed"),
      (err: { reason: Reason }) => err.reason,
    );
  };
  return { lines, clock, request, calls: () => calls };
}

describe("account cooldown log", () => {
  it("warns once when an auth failure takes a backend out, not again for the next auth failure during the cooldown", async () => {
    const gw = gateway([UNAUTHORIZED, FORBIDDEN]);
    expect(await gw.request()).toBe(Reason.UPSTREAM_AUTH);
    gw.clock.now += 1_000;
    expect(await gw.request()).toBe(Reason.UPSTREAM_AUTH);
    expect(gw.calls()).toBe(2);
    expect(gw.lines).toEqual([
      { level: 40, backend: "up:gpt", provider: "up", reason: "upstream_auth", cooldownMs: AUTH_FAILURE_COOLDOWN_MS, upstreamStatus: 401, msg: MESSAGE },
    ]);
  });

  it("warns when an auth failure lands during a shorter cooldown, and says nothing of the upstream's own faults", async () => {
    const gw = gateway([RATE_LIMITED, UNAUTHORIZED]);
    expect(await gw.request()).toBe(Reason.RATE_LIMITED);
    expect(gw.lines).toEqual([]);
    gw.clock.now += 1_000;
    expect(await gw.request()).toBe(Reason.UPSTREAM_AUTH);
    expect(gw.lines).toEqual([
      { level: 40, backend: "up:gpt", provider: "up", reason: "upstream_auth", cooldownMs: AUTH_FAILURE_COOLDOWN_MS, upstreamStatus: 401, msg: MESSAGE },
    ]);
  });

  it("warns when the account's quota is exhausted", async () => {
    const gw = gateway([() => answer(429, "insufficient_quota", "insufficient_quota")]);
    expect(await gw.request()).toBe(Reason.RATE_LIMITED);
    expect(gw.lines).toEqual([
      { level: 40, backend: "up:gpt", provider: "up", reason: "rate_limited", cooldownMs: AUTH_FAILURE_COOLDOWN_MS, upstreamStatus: 429, msg: MESSAGE },
    ]);
  });
});
