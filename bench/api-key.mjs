// The credential the bench sends to llmux: an API key issued through the control plane as an operator would issue
// one (a super admin from `llmux admin create`, a login, then AdminService/CreateApiKey over Connect JSON), so the
// measured hot path includes the key lookup and its limits.
import { spawnSync } from "node:child_process";

/** Limits far above what a run sends (requests_per_minute is a uint32, at most ~4.3e9): counted, never reached. */
const LIMITS = { requestsPerMinute: 1_000_000_000, tokensPerMinute: "1000000000000", tokensPerDay: "1000000000000" };

/** One Connect unary call with the JSON codec; resolves with the response message. */
async function connectCall(url, method, message, bearer) {
  const headers = { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) };
  const res = await fetch(`${url}/llmux.admin.v1.AdminService/${method}`, { method: "POST", headers, body: JSON.stringify(message) });
  const body = await res.text();
  if (!res.ok) throw new Error(`AdminService/${method} answered ${res.status}: ${body}`);
  return JSON.parse(body);
}

/**
 * Creates a super admin in the database of the llmux at `url` (started with `config`), logs in as it and returns
 * the secret (`llmux_…`) of a new API key for every model with {@link LIMITS}.
 */
export async function issueApiKey({ llmux, config, url, cwd }) {
  const created = spawnSync(process.execPath, [llmux, "admin", "create", "--config", config, "--username", "bench", "--json"], { cwd, encoding: "utf8" });
  if (created.status !== 0) throw new Error(`llmux admin create failed (exit ${created.status}): ${created.stderr.trim()}`);
  const { username, password } = JSON.parse(created.stdout);
  const { token } = await connectCall(url, "Login", { username, password });
  const { secret } = await connectCall(url, "CreateApiKey", { name: "bench", allowedModels: [], ...LIMITS }, token);
  if (!/^llmux_/.test(secret)) throw new Error("AdminService/CreateApiKey returned no llmux_ secret");
  return secret;
}

/** Fails unless llmux answers 401 to a chat request without a credential: the bench measures a gateway with auth on. */
export async function assertAuthRequired(url) {
  const body = JSON.stringify({ model: "gpt-bench", messages: [{ role: "user", content: "Who am I?" }] });
  const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
  await res.arrayBuffer();
  if (res.status !== 401) throw new Error(`llmux answered ${res.status} to a request without an API key; expected 401`);
}
