import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_TOKEN, LLMUXCTL, runCli, startLlmux, stopAll, type RunningLlmux } from "../helpers/cli.js";
import { createSelfSignedCert, type SelfSignedCert } from "../helpers/tls.js";

let cert: SelfSignedCert;
let gateway: RunningLlmux;

beforeAll(async () => {
  cert = await createSelfSignedCert();
  gateway = await startLlmux(["--https", "--ssl-key", cert.keyFile, "--ssl-cert", cert.certFile, "--port", "0", "--config", "examples/llmux.toml"]);
});
afterAll(async () => {
  await gateway?.stop();
  await stopAll();
  await cert?.cleanup();
});

/** GET over HTTPS trusting only `ca`; rejects with Node's TLS error when the certificate does not verify. */
function get(url: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject).end();
  });
}

describe("llmux start --https", () => {
  it("serves /healthz over TLS to a client that trusts the certificate", async () => {
    expect(gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(`${gateway.url}/healthz`, cert.cert);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: "ok" });
  });

  it("is refused by a client that does not trust the certificate", async () => {
    await expect(get(`${gateway.url}/healthz`)).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
  });

  it("answers llmuxctl given the certificate with --ca", async () => {
    const result = await runCli(LLMUXCTL, ["--ca", cert.certFile, "--server", gateway.url, "--token", DEMO_TOKEN, "route", "select", "fast"]);
    expect(result).toEqual({
      code: 0,
      stdout: [
        "mode: model name",
        "ORDER  BACKEND          PROVIDER  MODEL       KIND  CONTEXT",
        "1      mock:mock-small  mock      mock-small  mock  32000",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  it("tells llmuxctl without --ca how to trust the certificate", async () => {
    expect(await runCli(LLMUXCTL, ["--server", gateway.url, "--token", DEMO_TOKEN, "route", "select", "fast"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "llmuxctl: unavailable: the gateway's TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT): pass --ca FILE with its certificate or CA\n",
    });
  });
});
