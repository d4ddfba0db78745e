import type { ProviderConfig } from "../config/types.js";
import { createHttpTransport, probeSucceeded, type TransportTimeouts } from "./http-transport.js";
import type { ProviderAdapter } from "./provider.js";

/** The API version sent when the client did not name one. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/**
 * A provider speaking Anthropic Messages. `base_url` is the origin without `/v1` (as in the Anthropic SDK); the
 * adapter appends `/v1/messages`. The provider key travels as `x-api-key`; the client's `anthropic-version` and
 * `anthropic-beta` arrive in `call.headers` and are forwarded byte for byte. Health probes use the free
 * `GET {base}/v1/models` with the same key and the default API version.
 */
export function createAnthropicProvider(config: ProviderConfig, timeouts: TransportTimeouts): ProviderAdapter {
  const transport = createHttpTransport(config.baseUrl, timeouts);
  return {
    name: config.name,
    kind: config.kind,
    dialect: "anthropic",
    send(call) {
      // The body says whether the answer is SSE: the accept header and the transport's idle bound follow it.
      const stream = call.body.stream === true;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: stream ? "text/event-stream" : "application/json",
        "user-agent": "llmux",
        "anthropic-version": call.headers["anthropic-version"] ?? DEFAULT_ANTHROPIC_VERSION,
      };
      const beta = call.headers["anthropic-beta"];
      if (beta !== undefined) headers["anthropic-beta"] = beta;
      if (config.apiKey) headers["x-api-key"] = config.apiKey;
      const path = call.operation === "count_tokens" ? "/v1/messages/count_tokens" : "/v1/messages";
      return transport.post(path, headers, JSON.stringify(call.body), call.signal, stream);
    },
    probe(signal) {
      const headers: Record<string, string> = {
        accept: "application/json",
        "user-agent": "llmux",
        "anthropic-version": DEFAULT_ANTHROPIC_VERSION,
      };
      if (config.apiKey) headers["x-api-key"] = config.apiKey;
      return probeSucceeded(transport.get("/v1/models", headers, signal));
    },
    redact: (text) => (config.apiKey ? text.split(config.apiKey).join("[redacted]") : text),
    close: () => transport.close(),
  };
}
