import Anthropic from "@anthropic-ai/sdk";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { readJson, startGateway, type TestGateway } from "../helpers/gateway.js";
import { startMockUpstream, type MockUpstream } from "../helpers/mock-upstream.js";

/**
 * API keys on the facade, end to end: an admin logs in over the /auth wrapper, creates keys through AdminService,
 * and the keys work like `[tokens]` entries on /v1/chat/completions and /v1/messages with their limits enforced.
 */
let upstream: MockUpstream;
let gw: TestGateway;
let admin: Client<typeof AdminService>;
let jwt: string;

function adminClient(token: string): Client<typeof AdminService> {
  return createClient(
    AdminService,
    createConnectTransport({
      baseUrl: gw.url,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
    }),
  );
}

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ type: "openai-chat", content: "hi from upstream", usage: { prompt: 10, completion: 5 } }));
  gw = await startGateway(`
[provider.up]
base_url = "${upstream.url}/v1"
[[backend]]
model = "up:gpt-small"
[[backend]]
model = "up:gpt-large"
[tokens]
ops = "config-token-for-tests"
`);
  const login = await fetch(`${gw.url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: gw.admin!.username, password: gw.admin!.password }),
  });
  expect(login.status).toBe(200);
  const body = await readJson(login);
  expect(body.token_type).toBe("Bearer");
  jwt = body.access_token;
  admin = adminClient(jwt);
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe("API keys on the facade", () => {
  it("works as a client credential on both dialects, and never reaches the upstream", async () => {
    const { secret, key } = await admin.createApiKey({ name: "laptop" });
    expect(secret).toMatch(/^llmux_[A-Za-z0-9_-]{43}$/);
    expect(key?.prefix).toBe(secret.slice(0, 10));
    expect(key?.lastFour).toBe(secret.slice(-4));
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: "gpt-small", messages: [{ role: "user", content: "x" }] });
    expect(completion.choices[0]?.message.content).toBe("hi from upstream");
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: "gpt-small", max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    expect(message.content).toEqual([{ type: "text", text: "hi from upstream" }]);
    expect(JSON.stringify(upstream.requests)).not.toContain(secret);
  });

  it("refuses models outside the key's globs with 403 in the client's dialect", async () => {
    const { secret } = await admin.createApiKey({ name: "small-only", allowedModels: ["*small*"] });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: "gpt-large", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toEqual({
      message: "this API key may not use model 'gpt-large'",
      type: "invalid_request_error",
      param: "model",
      code: "permission_denied",
    });
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": secret, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-large", max_tokens: 5, messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(403);
    expect(await readJson(res)).toEqual({ type: "error", error: { type: "permission_error", message: "this API key may not use model 'gpt-large'" } });
  });

  it("enforces requests per minute with 429 and Retry-After, before any upstream call", async () => {
    const { secret } = await admin.createApiKey({ name: "slow", requestsPerMinute: 2 });
    const send = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-small", messages: [{ role: "user", content: "x" }] }),
      });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const before = upstream.requests.length;
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect((await readJson(limited)).error.code).toBe("rate_limit_exceeded");
    expect(upstream.requests.length).toBe(before);
  });

  it("stops working once revoked", async () => {
    const { secret, key } = await admin.createApiKey({ name: "temporary" });
    await admin.revokeApiKey({ id: key!.id });
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(401);
  });

  it("lists users over the /auth wrapper for admins only", async () => {
    const users = await fetch(`${gw.url}/auth/users`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(users.status).toBe(200);
    expect((await readJson(users)).users.map((u: { username: string; role: string }) => [u.username, u.role])).toEqual([["admin", "SUPER_ADMIN"]]);
    expect(JSON.stringify(await (await fetch(`${gw.url}/auth/users`, { headers: { authorization: `Bearer ${jwt}` } })).json())).not.toMatch(/scrypt|hash/i);
    const anonymous = await fetch(`${gw.url}/auth/users`);
    expect(anonymous.status).toBe(401);
  });

  it("serves the discovery wrappers with the same access rules as the RPCs", async () => {
    const stats = await fetch(`${gw.url}/v1/models/discovery/stats`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(stats.status).toBe(200);
    expect(await readJson(stats)).toMatchObject({ intervalSeconds: 30 });
    expect((await fetch(`${gw.url}/v1/models/discovery/stats`)).status).toBe(401);
  });
});
