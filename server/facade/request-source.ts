import type { FastifyRequest } from "fastify";
import type { RequestSource } from "../translate/exchange/exchange.js";
import { jsonText } from "./json-body.js";

/**
 * Smallest body parked while its request waits for an upstream. Below it the parsed tree is cheap to keep, and the
 * bytes may be a slice of Node's shared 8 KB buffer pool, which keeping would pin.
 */
export const PARK_MIN_BYTES = 16 * 1024;

/** An LLM request's validated body, kept parsed until the dispatcher parks it (see `DispatchCall.parkRequest`). */
export interface ParkableRequest<T> {
  /** The validated body: the one parsed on arrival, or, once parked, parsed and validated again from its bytes. */
  get: RequestSource<T>;
  /** Drops the parsed body of a large request; the bytes stay (off the JS heap) for an attempt that fails over. */
  park: () => void;
}

/**
 * Takes an LLM request's body off the Fastify request, validated. What stays reachable through the request for its
 * whole life (Fastify's `request.body`, the bytes) is let go; the result holds the parsed body and, for a body of at
 * least {@link PARK_MIN_BYTES}, its bytes. An agent's request (~100 KB of prompt and tools) waits tens of
 * milliseconds for its upstream's first byte, long enough for its parsed tree to be promoted to the old generation
 * at every request; parked, only its bytes wait, and the tree dies young. Parsing again gives the same body: the
 * bytes passed the parser's checks and `validate` once already.
 */
export function takeRequestSource<T>(request: FastifyRequest, validate: (body: unknown) => T): ParkableRequest<T> {
  let held: T | undefined = validate(request.body);
  const bytes = request.jsonBytes;
  request.body = undefined;
  request.jsonBytes = undefined;
  if (bytes === undefined || bytes.length < PARK_MIN_BYTES) {
    const body = held;
    return { get: () => body, park: () => {} };
  }
  return {
    get: () => (held ??= validate(JSON.parse(jsonText(bytes)))),
    park: () => {
      held = undefined;
    },
  };
}
