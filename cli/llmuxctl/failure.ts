import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/** A failed call, described for a person: the Connect code (as on the wire) and what to do next. */
export interface Failure {
  /** The Connect code name, e.g. "unavailable", "unauthenticated". */
  code: string;
  /** One line; says what to do next where llmuxctl can tell. */
  message: string;
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

/**
 * Turns any error from a call into a Failure. Refused connections, unresolvable hosts, untrusted certificates and
 * rejected tokens get a hint naming the flag or variable to change; anything else keeps the server's code and
 * message (which never holds secrets: the gateway keeps causes to its log).
 */
export function describeFailure(err: unknown, server: string): Failure {
  const error = ConnectError.from(err);
  const codes = causeCodes(err);
  if (codes.includes("ECONNREFUSED")) {
    return {
      code: codeToString(Code.Unavailable),
      message: `cannot reach the gateway at ${server}: is \`llmux start\` running? set --server or LLMUX_SERVER`,
    };
  }
  if (codes.includes("ENOTFOUND") || codes.includes("EAI_AGAIN")) {
    return {
      code: codeToString(Code.Unavailable),
      message: `cannot resolve the gateway's host in ${server}: check --server or LLMUX_SERVER`,
    };
  }
  const tls = codes.find((c) => UNTRUSTED_CERTIFICATE.has(c));
  if (tls !== undefined) {
    return {
      code: codeToString(Code.Unavailable),
      message: `the gateway's TLS certificate is not trusted (${tls}): pass --ca FILE with its certificate or CA`,
    };
  }
  if (error.code === Code.Unauthenticated) {
    const said = error.rawMessage === "" ? "" : ` (${error.rawMessage})`;
    return {
      code: codeToString(Code.Unauthenticated),
      message: `the gateway rejected the token${said}: pass --token or set LLMUX_TOKEN`,
    };
  }
  return { code: codeToString(error.code), message: error.rawMessage || "the call failed without a message" };
}

/** Writes a Failure to stderr: one `llmuxctl: code: message` line, or `{"error":{code,message}}` with `--json`. */
export function writeFailure(failure: Failure, json: boolean): void {
  const text = json ? JSON.stringify({ error: failure }) : `llmuxctl: ${failure.code}: ${failure.message}`;
  process.stderr.write(`${text}\n`);
}
