import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import type { SavedLogin } from "./credentials.js";
import { describeFailure, type FailureContext } from "./failure.js";

/** A Node-style error with a `code`, wrapped the way connect-node reports network failures. */
function network(code: string): ConnectError {
  return new ConnectError("network failure", Code.Unavailable, undefined, undefined, Object.assign(new Error(code), { code }));
}

const SERVER = "https://gw.example:8443";
const NOW = Date.UTC(2026, 0, 2);
const bob: SavedLogin = { token: "t", username: "bob", role: "user", expireTime: "2026-01-03T00:00:00.000Z" };
const base: FailureContext = { server: SERVER, credential: "none", now: () => NOW };
const method = (name: string) => AdminService.method[name as keyof typeof AdminService.method];

describe("describeFailure", () => {
  it.each<[string, unknown, Partial<FailureContext>, string, string]>([
    ["refused", network("ECONNREFUSED"), {}, "unavailable", `cannot reach the gateway at ${SERVER}: is \`llmux start\` running? set --server or LLMUX_SERVER`],
    [
      "refused, gRPC",
      network("ECONNREFUSED"),
      { grpc: true },
      "unavailable",
      `cannot reach the gateway at ${SERVER}: is \`llmux start\` running? set --server or LLMUX_SERVER (--grpc needs the admin port, 8083 by default)`,
    ],
    ["unknown host", network("ENOTFOUND"), {}, "unavailable", `cannot resolve the gateway's host in ${SERVER}: check --server or LLMUX_SERVER`],
    ["DNS failure", network("EAI_AGAIN"), {}, "unavailable", `cannot resolve the gateway's host in ${SERVER}: check --server or LLMUX_SERVER`],
    [
      "untrusted certificate",
      network("ERR_TLS_CERT_ALTNAME_INVALID"),
      {},
      "unavailable",
      "the gateway's TLS certificate is not trusted (ERR_TLS_CERT_ALTNAME_INVALID): pass --ca FILE with its certificate or CA",
    ],
    [
      "gRPC to a port without HTTP/2",
      network("ERR_HTTP2_ERROR"),
      { grpc: true },
      "unavailable",
      `${SERVER} does not speak HTTP/2: --grpc needs the gateway's admin port (admin_port, 8083 by default)`,
    ],
    ["a reset without --grpc keeps the server's words", network("ECONNRESET"), {}, "unavailable", "network failure"],
    [
      "no credential",
      new ConnectError("missing credentials", Code.Unauthenticated),
      {},
      "unauthenticated",
      `not logged in to ${SERVER} (missing credentials): run \`llmuxctl login USERNAME\`, or pass --token or set LLMUX_TOKEN`,
    ],
    [
      "a rejected --token",
      new ConnectError("invalid credentials", Code.Unauthenticated),
      { credential: "token" },
      "unauthenticated",
      "the gateway rejected the token (invalid credentials): check --token or LLMUX_TOKEN, or run `llmuxctl login USERNAME`",
    ],
    [
      "a rejected saved login",
      new ConnectError("invalid or expired credentials", Code.Unauthenticated),
      { credential: "saved", login: bob },
      "unauthenticated",
      "the gateway rejected your saved login as bob (invalid or expired credentials): run `llmuxctl login bob` again",
    ],
    [
      "an expired saved login",
      new ConnectError("invalid or expired credentials", Code.Unauthenticated),
      { credential: "saved", login: { ...bob, expireTime: "2026-01-01T00:00:00.000Z" } },
      "unauthenticated",
      `your login to ${SERVER} as bob expired at 2026-01-01T00:00:00.000Z: run \`llmuxctl login bob\``,
    ],
    [
      "a role the server already names",
      new ConnectError("ListUsers needs the admin role", Code.PermissionDenied),
      { credential: "saved", login: bob, method: method("listUsers") },
      "permission_denied",
      "ListUsers needs the admin role; you are logged in as bob (user): log in as a user who has that role (`llmuxctl login USERNAME`) or ask an administrator",
    ],
    [
      "a finer rule: the declared role is named too",
      new ConnectError("only super admins create admins", Code.PermissionDenied),
      { credential: "token", method: method("createUser") },
      "permission_denied",
      "only super admins create admins; CreateUser needs the admin role: log in as a user who has that role (`llmuxctl login USERNAME`) or ask an administrator",
    ],
    [
      "an RPC the server does not serve",
      new ConnectError("no RPC at /llmux.admin.v1.AdminService/Login", Code.Unimplemented),
      { method: method("login") },
      "unimplemented",
      `the server at ${SERVER} does not serve llmux.admin.v1.AdminService/Login (no RPC at /llmux.admin.v1.AdminService/Login): check --server ` +
        "(the RPC API is on the gateway's port and on its admin_port, 8083 by default) or upgrade the gateway",
    ],
    ["not found keeps the server's words", new ConnectError("no such backend", Code.NotFound), {}, "not_found", "no such backend"],
    ["an empty message", new ConnectError("", Code.Internal), {}, "internal", "the call failed without a message"],
    ["not a ConnectError", new Error("boom"), {}, "unknown", "boom"],
  ])("%s", (_title, err, ctx, code, message) => {
    expect(describeFailure(err, { ...base, ...ctx })).toEqual({ code, message });
  });
});
