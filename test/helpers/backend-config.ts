import type { BackendConfig } from "../../server/config/types.js";

/**
 * A resolved backend as tests need one: `provider:model`, every optional setting at its default (what the config
 * file gives when a key is absent), then `fields`. `name` follows `provider` and `model` unless given.
 */
export function backendConfig(fields: Partial<BackendConfig> = {}): BackendConfig {
  const provider = fields.provider ?? "p";
  const model = fields.model ?? "m";
  return {
    name: `${provider}:${model}`,
    provider,
    model,
    alias: undefined,
    context: undefined,
    vision: false,
    thinking: false,
    maxPerDay: undefined,
    maxPerHour: undefined,
    maxPer5Hours: undefined,
    modelMatch: [],
    keyRename: {},
    keyDelete: [],
    keyAdd: {},
    fallbacks: [],
    gptOssFix: false,
    ...fields,
  };
}
