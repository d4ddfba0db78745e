import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Access, access } from "../../gen/llmux/type/v1/options_pb.js";
import type { SavedLogin } from "./credentials.js";

/** A failed call, described for a person: the Connect code (as on the wire) and what to do next. */
export interface Failure {
  /** The Connect code name, e.g. "unavailable", "unauthenticated". */
  code: string;
  /** One line; says what to do next where llmuxctl can tell. */
  message: string;
}

/** What llmuxctl knows about the call that failed, so the hint can name the right flag, login or role. */
export interface FailureContext {
  /** The server URL the call went to. */
  server: string;
  /** Where the credential came from: --token or LLMUX_TOKEN, a saved login, or nowhere. */
  credential: "token" | "saved" | "none";
  /** The saved login the call used (credential "saved"). */
  login?: SavedLogin;
  /** The RPC, when the call reached the point of naming one. */
  method?: DescMethod;
  /** The call used gRPC (`--grpc`), which only the admin port speaks. */
  grpc?: boolean;
  /** The clock, for "your login expired"; tests inject one. */
  now?: () => number;
}

/** Node's codes for a TLS certificate the client does not trust or that does not name the host. */
const UNTRUSTED_CERTIFICATE = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Node's codes for an HTTP/2 connection the server did not speak HTTP/2 on (an HTTP/1.1-only port). */
const NOT_HTTP2 = new Set(["ERR_HTTP2_ERROR", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_STREAM_ERROR", "ERR_HTTP2_INVALID_SESSION", "ECONNRESET", "EPIPE"]);

/** Each access level as the role a user needs for it. */
const ROLE_NEEDED: Readonly<Record<Access, string | undefined>> = {
  [Access.UNSPECIFIED]: undefined,
  [Access.PUBLIC]: undefined,
  [Access.USER]: "user",
  [Access.ADMIN]: "admin",
  [Access.SUPER_ADMIN]: "super_admin",
};

/** The `code` properties along an error's cause chain (Node puts ECONNREFUSED and TLS codes there). */
function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let e = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
  }
  return codes;
}

/** ` (what the server said)`, or nothing when it said nothing. */
function said(error: ConnectError): string {
  return error.rawMessage === "" ? "" : ` (${error.rawMessage})`;
}

function unauthenticated(error: ConnectError, ctx: FailureContext): string {
  const login = ctx.login;
  if (ctx.credential === "saved" && login !== undefined) {
    const expires = Date.parse(login.expireTime);
    if (!Number.isNaN(expires) && expires <= (ctx.now ?? Date.now)()) {
      return `your login to ${ctx.server} as ${login.username} expired at ${login.expireTime}: run \`llmuxctl login ${login.username}\``;
    }
    return `the gateway rejected your saved login as ${login.username}${said(error)}: run \`llmuxctl login ${login.username}\` again`;
  }
  if (ctx.credential === "token") {
    return `the gateway rejected the token${said(error)}: check --token or LLMUX_TOKEN, or run \`llmuxctl login USERNAME\``;
  }
  return `not logged in to ${ctx.server}${said(error)}: run \`llmuxctl login USERNAME\`, or pass --token or set LLMUX_TOKEN`;
}

function permissionDenied(error: ConnectError, ctx: FailureContext): string {
  const parts = [error.rawMessage || "permission denied"];
  const role = ctx.method === undefined ? undefined : ROLE_NEEDED[getOption(ctx.method, access)];
  // The server's message usually names the role already; say it only when it does not.
  if (role !== undefined && !parts[0]!.includes(`${role} role`)) parts.push(`${ctx.method!.name} needs the ${role} role`);
  if (ctx.credential === "saved" && ctx.login !== undefined) parts.push(`you are logged in as ${ctx.login.username} (${ctx.login.role})`);
  return `${parts.join("; ")}: log in as a user who has that role (\`llmuxctl login USERNAME\`) or ask an administrator`;
}

function unimplemented(error: ConnectError, ctx: FailureContext): string {
  const what = ctx.method === undefined ? "this RPC" : `${ctx.method.parent.typeName}/${ctx.method.name}`;
  return (
    `the server at ${ctx.server} does not serve ${what}${said(error)}: check --server ` +
    "(the RPC API is on the gateway's port and on its admin_port, 8083 by default) or upgrade the gateway"
  );
}

/**
 * Turns any error from a call into a Failure. Refused connections, unresolvable hosts, untrusted certificates,
 * a gRPC call to a port without HTTP/2, a missing or rejected login, a missing role and an RPC the server does
 * not serve each get a hint naming the flag, variable, command or role to change; anything else keeps the
 * server's code and message (which never holds secrets: the gateway keeps causes to its log).
 */
export function describeFailure(err: unknown, ctx: FailureContext): Failure {
  const error = ConnectError.from(err);
  const codes = causeCodes(err);
  const unavailable = (message: string): Failure => ({ code: codeToString(Code.Unavailable), message });
  if (codes.includes("ECONNREFUSED")) {
    const port = ctx.grpc ? " (--grpc needs the admin port, 8083 by default)" : "";
    return unavailable(`cannot reach the gateway at ${ctx.server}: is \`llmux start\` running? set --server or LLMUX_SERVER${port}`);
  }
  if (codes.includes("ENOTFOUND") || codes.includes("EAI_AGAIN")) {
    return unavailable(`cannot resolve the gateway's host in ${ctx.server}: check --server or LLMUX_SERVER`);
  }
  const tls = codes.find((c) => UNTRUSTED_CERTIFICATE.has(c));
  if (tls !== undefined) {
    return unavailable(`the gateway's TLS certificate is not trusted (${tls}): pass --ca FILE with its certificate or CA`);
  }
  if (ctx.grpc && codes.some((c) => NOT_HTTP2.has(c))) {
    return unavailable(`${ctx.server} does not speak HTTP/2: --grpc needs the gateway's admin port (admin_port, 8083 by default)`);
  }
  const code = codeToString(error.code);
  if (error.code === Code.Unauthenticated) return { code, message: unauthenticated(error, ctx) };
  if (error.code === Code.PermissionDenied) return { code, message: permissionDenied(error, ctx) };
  if (error.code === Code.Unimplemented) return { code, message: unimplemented(error, ctx) };
  return { code, message: error.rawMessage || "the call failed without a message" };
}

/** Writes a Failure to stderr: one `llmuxctl: code: message` line, or `{"error":{code,message}}` with `--json`. */
export function writeFailure(failure: Failure, json: boolean): void {
  const text = json ? JSON.stringify({ error: failure }) : `llmuxctl: ${failure.code}: ${failure.message}`;
  process.stderr.write(`${text}\n`);
}
