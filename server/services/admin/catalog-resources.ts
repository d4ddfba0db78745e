import { create, type JsonObject } from "@bufbuild/protobuf";
import { BackendSchema, ProviderKind, ProviderSchema, Source, type Backend, type Provider } from "../../../gen/llmux/admin/v1/resources_pb.js";
import type { BackendInput } from "../../catalog/catalog-input.js";
import type { CatalogSource } from "../../catalog/catalog.js";
import type { BackendConfig, ProviderKind as Kind } from "../../config/types.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";

// Providers and backends become protos here and only here. A provider is shown through a view that has no key
// field at all, so no response can carry one: only whether one is set.

const SOURCE: Readonly<Record<CatalogSource, Source>> = {
  file: Source.FILE,
  database: Source.DATABASE,
  discovery: Source.DISCOVERY,
};

const KIND_TO_PROTO: Readonly<Record<Kind, ProviderKind>> = {
  openai: ProviderKind.OPENAI,
  anthropic: ProviderKind.ANTHROPIC,
  mock: ProviderKind.MOCK,
};

/** What the API shows of a provider. */
export interface ProviderView {
  name: string;
  kind: Kind;
  baseUrl: string;
  hasApiKey: boolean;
}

/** The stored kind of a proto kind; unset means openai, as in the file. Unknown values are refused. */
export function kindFromProto(kind: ProviderKind, param = "kind"): Kind {
  switch (kind) {
    case ProviderKind.UNSPECIFIED:
    case ProviderKind.OPENAI:
      return "openai";
    case ProviderKind.ANTHROPIC:
      return "anthropic";
    case ProviderKind.MOCK:
      return "mock";
    default:
      throw llmuxError(Reason.INVALID_REQUEST, `${param} must be OPENAI, ANTHROPIC or MOCK`, { param });
  }
}

/** A provider as the API shows it. */
export function providerToProto(view: ProviderView, source: CatalogSource): Provider {
  return create(ProviderSchema, {
    name: view.name,
    kind: KIND_TO_PROTO[view.kind],
    baseUrl: view.baseUrl,
    hasApiKey: view.hasApiKey,
    source: SOURCE[source],
  });
}

/** A backend as the API shows it; unset values are 0 or empty, as the proto documents. */
export function backendToProto(config: BackendConfig, source: CatalogSource): Backend {
  return create(BackendSchema, {
    name: config.name,
    provider: config.provider,
    model: config.model,
    alias: config.alias ?? "",
    context: config.context ?? 0,
    vision: config.vision,
    thinking: config.thinking,
    maxPerDay: config.maxPerDay ?? 0,
    maxPerHour: config.maxPerHour ?? 0,
    maxPer5hours: config.maxPer5Hours ?? 0,
    modelMatch: config.modelMatch,
    keyRename: config.keyRename,
    keyDelete: config.keyDelete,
    // Values of key_add were JSON when entered (file or API), so the object is a JSON object.
    keyAdd: config.keyAdd as JsonObject,
    fallbacks: config.fallbacks,
    gptOssFix: config.gptOssFix,
    source: SOURCE[source],
  });
}

/** A proto backend as validation input (`source` is ignored: the API only writes database backends). */
export function backendInputFromProto(backend: Backend): BackendInput {
  return {
    name: backend.name,
    provider: backend.provider,
    model: backend.model,
    alias: backend.alias,
    context: backend.context,
    vision: backend.vision,
    thinking: backend.thinking,
    maxPerDay: backend.maxPerDay,
    maxPerHour: backend.maxPerHour,
    maxPer5Hours: backend.maxPer5hours,
    modelMatch: backend.modelMatch,
    keyRename: backend.keyRename,
    keyDelete: backend.keyDelete,
    keyAdd: backend.keyAdd ?? {},
    fallbacks: backend.fallbacks,
    gptOssFix: backend.gptOssFix,
  };
}
