import { afterEach, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "../helpers/gateway.js";

const toml = (cors: string) => `
${cors}
[provider.mock]
kind = "mock"
[[backend]]
model = "mock:m"
[tokens]
t = "secret-token"
`;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe("CORS", () => {
  it("answers preflight without credentials and allows the listed origin only", async () => {
    gw = await startGateway(toml(`enable_cors = true\ncors_origin = "https://app.example, https://other.example"`));
    const preflight = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    const denied = await fetch(`${gw.url}/v1/models`, { headers: { origin: "https://evil.example", authorization: "Bearer secret-token" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await fetch(`${gw.url}/v1/models`, { headers: { origin: "https://other.example", authorization: "Bearer secret-token" } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://other.example");
  });

  it("is off unless enabled", async () => {
    gw = await startGateway(toml(""));
    const res = await fetch(`${gw.url}/v1/models`, { headers: { origin: "https://app.example", authorization: "Bearer secret-token" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${gw.url}/v1/models`, { method: "OPTIONS", headers: { origin: "https://app.example" } });
    // No OPTIONS route exists without CORS: a 404 in the OpenAI shape, no CORS headers.
    expect(preflight.status).toBe(404);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("ENABLE_CORS and CORS_ORIGIN from the environment", async () => {
    gw = await startGateway(toml(""), { env: { ENABLE_CORS: "true", CORS_ORIGIN: "*" } });
    const res = await fetch(`${gw.url}/healthz`, { headers: { origin: "https://anything.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});
