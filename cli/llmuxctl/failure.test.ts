import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { describeFailure } from "./failure.js";

/** A Node-style error with a `code`, wrapped the way connect-node reports network failures. */
function network(code: string): ConnectError {
  return new ConnectError("network failure", Code.Unavailable, undefined, undefined, Object.assign(new Error(code), { code }));
}

const SERVER = "https://gw.example:8443";

describe("describeFailure", () => {
  it.each([
    [network("ECONNREFUSED"), "unavailable", `cannot reach the gateway at ${SERVER}: is \`llmux start\` running? set --server or LLMUX_SERVER`],
    [network("ENOTFOUND"), "unavailable", `cannot resolve the gateway's host in ${SERVER}: check --server or LLMUX_SERVER`],
    [network("EAI_AGAIN"), "unavailable", `cannot resolve the gateway's host in ${SERVER}: check --server or LLMUX_SERVER`],
    [
      network("ERR_TLS_CERT_ALTNAME_INVALID"),
      "unavailable",
      "the gateway's TLS certificate is not trusted (ERR_TLS_CERT_ALTNAME_INVALID): pass --ca FILE with its certificate or CA",
    ],
    [new ConnectError("", Code.Unauthenticated), "unauthenticated", "the gateway rejected the token: pass --token or set LLMUX_TOKEN"],
    [
      new ConnectError("invalid API key", Code.Unauthenticated),
      "unauthenticated",
      "the gateway rejected the token (invalid API key): pass --token or set LLMUX_TOKEN",
    ],
    [new ConnectError("no such backend", Code.NotFound), "not_found", "no such backend"],
    [new ConnectError("", Code.Internal), "internal", "the call failed without a message"],
    [new Error("boom"), "unknown", "boom"],
  ])("%s", (err, code, message) => {
    expect(describeFailure(err, SERVER)).toEqual({ code, message });
  });
});
