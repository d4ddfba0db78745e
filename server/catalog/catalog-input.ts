import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { GATEWAY_KEYS, isProviderName, MAX_NAME, MAX_WINDOW_LIMIT, normalizeBaseUrl } from "../config/validate.js";
import type { BackendConfig, ProviderKind } from "../config/types.js";
import { llmuxError, Reason } from "../errors/llmux-error.js";
import { hasControlChars } from "../lib/control-chars.js";
import { isMetadataAddress, METADATA_REFUSED } from "../lib/url-guard.js";

// Validation of providers and backends entered through the admin API, with the rules the configuration file
// applies (names, URLs, key edits, ranges) plus caps on list sizes, since API input is not reviewed like a file.
// Every error names the field (`param`) and never repeats a key.

/** Entries per list or map (model_match, fallbacks, key_delete, key_rename, key_add). */
export const MAX_LIST_ITEMS = 100;
/** Longest provider key accepted. */
export const MAX_API_KEY_LENGTH = 4096;
/** Largest `key_add` object, serialized. */
export const MAX_KEY_ADD_BYTES = 64 * 1024;
/** Keys that could reach an object's prototype when request bodies are edited. */
const UNSAFE_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

function invalid(message: string, param: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, message, { param });
}

/** Resolves a host name to its addresses; injected so tests need no DNS. */
export type HostLookup = (hostname: string) => Promise<string[]>;

/** The system resolver (`getaddrinfo`, as connections use). */
export const systemLookup: HostLookup = async (hostname) => (await dnsLookup(hostname, { all: true })).map((a) => a.address);

/** A provider name: the file's rule (1-64 letters, digits, `_`, `.`, `-`). */
export function checkProviderName(name: string, param = "name"): string {
  if (!isProviderName(name)) invalid(`${param} must be 1 to 64 letters, digits, _ . or -`, param);
  return name;
}

/**
 * A provider's base URL, normalised like the file's `base_url` (http(s), no credentials, no query, metadata
 * addresses refused in every numeric form; private and loopback addresses allowed). The mock takes none.
 */
export function checkProviderUrl(kind: ProviderKind, text: string, param = "base_url"): string {
  if (kind === "mock") {
    if (text !== "") invalid(`${param} is not used by the mock provider; leave it empty`, param);
    return "";
  }
  if (text === "") invalid(`${param} is required for kind ${kind}`, param);
  const result = normalizeBaseUrl(text, kind);
  if ("error" in result) invalid(`${param} ${result.error}`, param);
  return result.url;
}

/**
 * Refuses a URL whose host name resolves to a metadata address (`169.254.169.254.nip.io`). A name that does not
 * resolve now is accepted: the server may not be up yet, and a literal metadata address was refused already.
 * This is a check at entry; it does not pin the address the adapter later connects to.
 */
export async function checkResolvedHost(url: string, lookup: HostLookup, param = "base_url"): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) return;
  let addresses: string[];
  try {
    addresses = await lookup(host);
  } catch {
    return;
  }
  if (addresses.some(isMetadataAddress)) invalid(`${param} ${METADATA_REFUSED} (its host name resolves to one)`, param);
}

/** A provider key: at most 4096 characters, no control characters (they would split the header it is sent in). */
export function checkApiKey(key: string, param = "api_key"): string {
  if (key.length > MAX_API_KEY_LENGTH || hasControlChars(key)) invalid(`${param} must be at most ${MAX_API_KEY_LENGTH} characters without control characters`, param);
  return key;
}

/** A backend as the API describes it: 0 and "" mean "not set", as in the proto. */
export interface BackendInput {
  name: string;
  provider: string;
  model: string;
  alias: string;
  context: number;
  vision: boolean;
  thinking: boolean;
  maxPerDay: number;
  maxPerHour: number;
  maxPer5Hours: number;
  modelMatch: readonly string[];
  keyRename: Readonly<Record<string, string>>;
  keyDelete: readonly string[];
  keyAdd: Readonly<Record<string, unknown>>;
  fallbacks: readonly string[];
  gptOssFix: boolean;
}

/** A name, model, alias or glob: 1-256 characters without control characters. */
function text(value: string, param: string): string {
  if (value.length === 0 || value.length > MAX_NAME || hasControlChars(value)) invalid(`${param} must be 1 to ${MAX_NAME} characters without control characters`, param);
  return value;
}

function list(values: readonly string[], param: string): string[] {
  if (values.length > MAX_LIST_ITEMS) invalid(`${param} may have at most ${MAX_LIST_ITEMS} entries`, param);
  return values.map((value, i) => text(value, `${param}[${i}]`));
}

/** A body key a key edit may touch: not one the gateway sets, not one that reaches a prototype. */
function editableKey(key: string, param: string, verb: string): string {
  text(key, param);
  if (GATEWAY_KEYS.includes(key)) invalid(`${param}: cannot ${verb} "${key}": the gateway sets ${GATEWAY_KEYS.join(", ")} itself`, param);
  if (UNSAFE_KEYS.includes(key)) invalid(`${param}: "${key}" is not allowed`, param);
  return key;
}

function windowLimit(value: number, param: string): number | undefined {
  if (value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_WINDOW_LIMIT) invalid(`${param} must be 0 (no limit) to ${MAX_WINDOW_LIMIT}`, param);
  return value;
}

/**
 * Validates a backend and returns it as the router sees it. The name defaults to `provider:model` as in the
 * file; whether the provider exists and the name is free is for the caller, which knows every source.
 *
 * @param param the request field holding the backend (`backend`), prefixed to every `param`
 */
export function checkBackend(input: BackendInput, param = "backend"): BackendConfig {
  const at = (field: string) => `${param}.${field}`;
  const provider = checkProviderName(input.provider, at("provider"));
  const model = text(input.model, at("model"));
  const name = text(input.name === "" ? `${provider}:${model}` : input.name, at("name"));
  const renames = Object.entries(input.keyRename);
  if (renames.length > MAX_LIST_ITEMS) invalid(`${at("key_rename")} may have at most ${MAX_LIST_ITEMS} entries`, at("key_rename"));
  for (const [from, to] of renames) {
    editableKey(from, at(`key_rename.${from}`), "rename");
    editableKey(to, at(`key_rename.${from}`), "rename to");
  }
  const keyDelete = list(input.keyDelete, at("key_delete"));
  keyDelete.forEach((key, i) => editableKey(key, at(`key_delete[${i}]`), "delete"));
  const added = Object.keys(input.keyAdd);
  if (added.length > MAX_LIST_ITEMS) invalid(`${at("key_add")} may have at most ${MAX_LIST_ITEMS} entries`, at("key_add"));
  for (const key of added) editableKey(key, at(`key_add.${key}`), "add");
  if (Buffer.byteLength(JSON.stringify(input.keyAdd)) > MAX_KEY_ADD_BYTES) invalid(`${at("key_add")} must be at most ${MAX_KEY_ADD_BYTES} bytes as JSON`, at("key_add"));
  if (!Number.isSafeInteger(input.context) || input.context < 0) invalid(`${at("context")} must be a whole number of tokens (0: unknown)`, at("context"));
  return {
    name,
    provider,
    model,
    alias: input.alias === "" ? undefined : text(input.alias, at("alias")),
    context: input.context === 0 ? undefined : input.context,
    vision: input.vision,
    thinking: input.thinking,
    maxPerDay: windowLimit(input.maxPerDay, at("max_per_day")),
    maxPerHour: windowLimit(input.maxPerHour, at("max_per_hour")),
    maxPer5Hours: windowLimit(input.maxPer5Hours, at("max_per_5hours")),
    modelMatch: list(input.modelMatch, at("model_match")),
    keyRename: Object.fromEntries(renames),
    keyDelete,
    keyAdd: { ...input.keyAdd },
    fallbacks: list(input.fallbacks, at("fallbacks")),
    gptOssFix: input.gptOssFix,
  };
}
