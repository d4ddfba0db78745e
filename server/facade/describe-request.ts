import type { FastifyRequest } from "fastify";
import type { RequestContext } from "./request-tracker.js";

/**
 * The tracker's context of an LLM request, with the model read from the body as soon as there is one (before
 * validation, so a rejected request's usage row still names the model it asked for).
 */
export function describeRequest(request: FastifyRequest): RequestContext {
  const ctx = request.llm;
  if (!ctx) throw new Error(`route ${request.routeOptions.url} is not configured as an LLM route`);
  const body = request.body;
  if (typeof body === "object" && body !== null && "model" in body && typeof body.model === "string") ctx.model = body.model.slice(0, 256);
  return ctx;
}
