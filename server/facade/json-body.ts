import type { FastifyRequest } from "fastify";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { findUnsafeJson, pathToNonFinite } from "../lib/unsafe-json.js";

/** Most path segments named in an error: the depth of a refused body is unchecked, and a param is a hint, not a dump. */
const MAX_PARAM_SEGMENTS = 16;

declare module "fastify" {
  interface FastifyRequest {
    /** The JSON body's bytes as read, until an LLM handler takes them with its body (see takeRequestSource). */
    jsonBytes: Buffer | undefined;
  }
}

/** A JSON body's text: its bytes decoded as UTF-8, without a leading byte-order mark (as Fastify's parser does). */
export function jsonText(bytes: Buffer): string {
  const text = bytes.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The `application/json` body parser of every route (Fastify reads the body, within its limit, as bytes; they stay
 * on the request as `jsonBytes`, what a long request keeps instead of its parsed tree while it waits). It refuses
 * what Fastify's default parser refuses (an empty body, invalid JSON, `__proto__` and `constructor.prototype`
 * keys), with errors that say which, and checks for those keys with one walk of the parsed value instead of two
 * regular-expression scans of the text (see {@link findUnsafeJson}). The same walk refuses numbers that overflow
 * to ±Infinity (`1e309`), which would reach an upstream as `null`; that error names the field in `param` and in
 * the message (Anthropic error bodies have no `param`). A leading byte-order mark is ignored, as Fastify's parser
 * does.
 */
export function parseJsonBody(request: FastifyRequest, bytes: Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = jsonText(bytes);
  if (text.length === 0) {
    done(llmuxError(Reason.INVALID_REQUEST, "request body is empty; send a JSON object"));
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    done(llmuxError(Reason.INVALID_REQUEST, "request body is not valid JSON", { cause }));
    return;
  }
  const unsafe = findUnsafeJson(value);
  if (unsafe === "prototype") {
    done(llmuxError(Reason.INVALID_REQUEST, "request body has a \"__proto__\" key or a \"constructor\" with a \"prototype\", which llmux refuses"));
    return;
  }
  if (unsafe === "non-finite") {
    const param = pathToNonFinite(value)!.slice(0, MAX_PARAM_SEGMENTS).join(".");
    done(llmuxError(Reason.INVALID_REQUEST, `${param}: number out of range (it overflows to Infinity; JSON numbers must be finite)`, { param }));
    return;
  }
  request.jsonBytes = bytes;
  done(null, value);
}
