import type { ProviderConfig } from "../config/types.js";
import { createAnthropicProvider } from "./anthropic-provider.js";
import type { TransportTimeouts } from "./http-transport.js";
import { createMockProvider } from "./mock/mock-provider.js";
import { createOpenAICompatibleProvider } from "./openai-compatible-provider.js";
import type { ProviderAdapter } from "./provider.js";

/** Creates one adapter per configured provider, by kind. */
export function createProviders(
  providers: ReadonlyMap<string, ProviderConfig>,
  timeouts: TransportTimeouts,
): Map<string, ProviderAdapter> {
  const adapters = new Map<string, ProviderAdapter>();
  for (const [name, config] of providers) {
    switch (config.kind) {
      case "openai":
        adapters.set(name, createOpenAICompatibleProvider(config, timeouts));
        break;
      case "anthropic":
        adapters.set(name, createAnthropicProvider(config, timeouts));
        break;
      case "mock":
        adapters.set(name, createMockProvider(config, {}));
        break;
    }
  }
  return adapters;
}
