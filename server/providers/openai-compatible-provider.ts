import type { ProviderConfig } from "../config/types.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { createHttpTransport, probeSucceeded, type TransportTimeouts } from "./http-transport.js";
import type { ProviderAdapter } from "./provider.js";

/**
 * A provider speaking OpenAI Chat Completions: OpenAI itself, vLLM, LM Studio, Ollama, and the many hosted
 * "OpenAI-compatible" APIs. `base_url` includes the `/v1` part, as in the OpenAI SDK. Health probes use
 * `GET {base_url}/models`, which all of them serve for free.
 */
export function createOpenAICompatibleProvider(config: ProviderConfig, timeouts: TransportTimeouts): ProviderAdapter {
  const transport = createHttpTransport(config.baseUrl, timeouts);
  const auth = config.apiKey ? `Bearer ${config.apiKey}` : undefined;
  return {
    name: config.name,
    kind: config.kind,
    dialect: "openai",
    send(call) {
      if (call.operation !== "chat") {
        return Promise.reject(llmuxError(Reason.INVALID_REQUEST, `${call.operation} is not supported by OpenAI-compatible providers`));
      }
      // The body says whether the answer is SSE: the accept header and the transport's idle bound follow it.
      const stream = call.body.stream === true;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: stream ? "text/event-stream" : "application/json",
        "user-agent": "llmux",
      };
      if (auth) headers.authorization = auth;
      return transport.post("/chat/completions", headers, JSON.stringify(call.body), call.signal, stream);
    },
    probe(signal) {
      const headers: Record<string, string> = { accept: "application/json", "user-agent": "llmux" };
      if (auth) headers.authorization = auth;
      return probeSucceeded(transport.get("/models", headers, signal));
    },
    async tokenize(body, signal) {
      // vLLM serves /tokenize at the server's root; other OpenAI-compatible servers answer 404.
      const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "llmux" };
      if (auth) headers.authorization = auth;
      try {
        const res = await transport.postAtRoot("/tokenize", headers, JSON.stringify({ model: body.model, messages: body.messages }), signal);
        if (res.status !== 200) return undefined;
        const count = (JSON.parse(res.text) as { count?: unknown }).count;
        return typeof count === "number" && Number.isInteger(count) && count >= 0 ? count : undefined;
      } catch {
        return undefined;
      }
    },
    redact: (text) => (config.apiKey ? text.split(config.apiKey).join("[redacted]") : text),
    close: () => transport.close(),
  };
}
