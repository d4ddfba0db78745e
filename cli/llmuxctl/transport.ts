import { readFile } from "node:fs/promises";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { UsageError } from "./usage-error.js";

/** Where the gateway is and how to prove who we are; the global options of every llmuxctl command. */
export interface GatewayOptions {
  /** The gateway's base URL, `http://` or `https://`. */
  server: string;
  /** The client token; sent as `Authorization: Bearer <token>` when present. */
  token?: string;
  /** A PEM file of certificates to trust for an `https://` gateway (a self-signed certificate or a private CA). */
  ca?: string;
  /** Speak gRPC over HTTP/2 (h2c for `http://`, h2 for `https://`) instead of the Connect protocol. */
  grpc?: boolean;
  /** Run around every call, after the one that adds the token. */
  interceptors?: Interceptor[];
}

/** Long enough for any control-plane call; short enough that a wedged gateway does not hang a script. */
const CALL_TIMEOUT_MS = 10_000;

/** Adds the client token to every call. Only the header carries it: it never appears in output or errors. */
function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/** Parses `--server`, refusing anything but http(s) so a typo fails here instead of as an obscure network error. */
export function parseServerUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server must be a URL such as http://127.0.0.1:8082, got ${JSON.stringify(server)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    // "localhost:8083" parses as a URL with the scheme "localhost:": suggest the URL that was meant.
    const meant = server.includes("://") ? "" : ` (did you mean http://${server}?)`;
    throw new UsageError(`--server must start with http:// or https://, got ${JSON.stringify(server)}${meant}`);
  }
  return url;
}

/**
 * Creates the transport. By default the Connect protocol over HTTP/1.1, which the gateway's own port and its
 * admin port both speak, also behind HTTP/1.1-only proxies; with `grpc`, gRPC over HTTP/2, which only the admin
 * port speaks. TLS verification is never disabled: `--ca` adds trust for a self-signed gateway instead, and is
 * refused for a plain-HTTP URL where it would silently do nothing.
 */
export async function createGatewayTransport(options: GatewayOptions): Promise<Transport> {
  const url = parseServerUrl(options.server);
  let ca: Buffer | undefined;
  if (options.ca !== undefined) {
    if (url.protocol !== "https:") throw new UsageError(`--ca only applies to an https:// server, got ${url.origin}`);
    try {
      ca = await readFile(options.ca);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
      throw new UsageError(`cannot read the --ca file ${options.ca} (${code})`);
    }
  }
  const token = options.token?.trim();
  const common = {
    baseUrl: url.href.replace(/\/+$/, ""),
    defaultTimeoutMs: CALL_TIMEOUT_MS,
    ...(ca ? { nodeOptions: { ca } } : {}),
    interceptors: [...(token ? [bearer(token)] : []), ...(options.interceptors ?? [])],
  };
  return options.grpc ? createGrpcTransport(common) : createConnectTransport({ ...common, httpVersion: "1.1" });
}
