import type { FastifyRequest } from "fastify";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { findUnsafeJson, pathToNonFinite } from "../lib/unsafe-json.js";

/** Most path segments named in an error: the depth of a refused body is unchecked, and a param is a hint, not a dump. */
const MAX_PARAM_SEGMENTS = 16;

/**
 * The `application/json` body parser of every route (Fastify reads the body, within its limit, as a string). It
 * refuses what Fastify's default parser refuses (an empty body, invalid JSON, `__proto__` and
 * `constructor.prototype` keys), with errors that say which, and checks for those keys with one walk of the
 * parsed value instead of two regular-expression scans of the text (see {@link findUnsafeJson}). The same walk
 * refuses numbers that overflow to ±Infinity (`1e309`), which would reach an upstream as `null`; that error names
 * the field in `param` and in the message (Anthropic error bodies have no `param`). A leading byte-order mark is
 * ignored, as Fastify's parser does.
 */
export function parseJsonBody(_request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void): void {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
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
  done(null, value);
}
