import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ProviderKind, Source, type ApiKey, type Backend, type Provider, type User } from "../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { formatTable } from "./table.js";

/** Roles as typed on the command line and shown in tables; a Record so a new proto role fails to compile here. */
export const ROLE_NAMES: Readonly<Record<Role, string>> = {
  [Role.UNSPECIFIED]: "unspecified",
  [Role.USER]: "user",
  [Role.ADMIN]: "admin",
  [Role.SUPER_ADMIN]: "super_admin",
};

const KIND_NAMES: Readonly<Record<ProviderKind, string>> = {
  [ProviderKind.UNSPECIFIED]: "unspecified",
  [ProviderKind.OPENAI]: "openai",
  [ProviderKind.ANTHROPIC]: "anthropic",
  [ProviderKind.MOCK]: "mock",
};

const SOURCE_NAMES: Readonly<Record<Source, string>> = {
  [Source.UNSPECIFIED]: "-",
  [Source.FILE]: "file",
  [Source.DATABASE]: "database",
  [Source.DISCOVERY]: "discovery",
};

/** A role by name; values from a newer server than this client show by number rather than disappear. */
export function roleName(role: Role): string {
  return ROLE_NAMES[role] ?? `role ${role}`;
}

/** A provider kind by name (see {@link roleName}). */
export function kindName(kind: ProviderKind): string {
  return KIND_NAMES[kind] ?? `kind ${kind}`;
}

function sourceName(source: Source): string {
  return SOURCE_NAMES[source] ?? `source ${source}`;
}

/** A timestamp as UTC ISO 8601 to the second, or "-" when unset: sortable, greppable, unambiguous. */
export function formatTime(ts: Timestamp | undefined): string {
  return ts === undefined ? "-" : timestampDate(ts).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A limit where 0 means none. */
function limit(value: number | bigint): string {
  return value === 0 || value === 0n ? "-" : String(value);
}

/** Users: one row each, the id first because commands take it. */
export function formatUsers(users: readonly User[], nextPageToken = ""): string {
  if (users.length === 0) return "no users\n";
  const rows = users.map((u) => [u.id, u.username, roleName(u.role), u.disabled ? "disabled" : "active", u.email || "-", formatTime(u.createTime)]);
  return `${formatTable(["ID", "USERNAME", "ROLE", "STATUS", "EMAIL", "CREATED"], rows)}\n${morePages("users list", nextPageToken)}`;
}

/** One user, field by field. */
export function formatUser(user: User): string {
  return formatFields([
    ["id", user.id],
    ["username", user.username],
    ["role", roleName(user.role)],
    ["status", user.disabled ? "disabled" : "active"],
    ["email", user.email || "-"],
    ["created", formatTime(user.createTime)],
    ["updated", formatTime(user.updateTime)],
  ]);
}

/** A hint to fetch the next page, or nothing on the last page. */
export function morePages(command: string, nextPageToken: string): string {
  return nextPageToken === "" ? "" : `more: llmuxctl ${command} --page-token ${nextPageToken}\n`;
}

/** `name: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([name]) => name.length)) + 1;
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width)} ${value}`.trimEnd()).join("\n") + "\n";
}

/** Whether a key works now: revoked and expired keys are shown as such, never as active. */
function keyStatus(key: ApiKey, now: number): string {
  if (key.revokeTime !== undefined) return "revoked";
  if (key.expireTime !== undefined && timestampDate(key.expireTime).getTime() <= now) return "expired";
  return "active";
}

/** API keys: recognisable by prefix and last four characters (the secret itself is never shown again). */
export function formatKeys(keys: readonly ApiKey[], now: number): string {
  if (keys.length === 0) return "no API keys\n";
  const rows = keys.map((k) => [
    k.id,
    k.name,
    `${k.prefix}…${k.lastFour}`,
    k.ownerId,
    keyStatus(k, now),
    k.allowedModels.length === 0 ? "*" : k.allowedModels.join(","),
    limit(k.requestsPerMinute),
    limit(k.tokensPerMinute),
    limit(k.tokensPerDay),
    formatTime(k.expireTime),
    formatTime(k.lastUseTime),
  ]);
  return `${formatTable(["ID", "NAME", "KEY", "OWNER", "STATUS", "MODELS", "RPM", "TPM", "TPD", "EXPIRES", "LAST USED"], rows)}\n`;
}

/** Providers; a key is only ever shown as set or not. */
export function formatProviders(providers: readonly Provider[]): string {
  if (providers.length === 0) return "no providers\n";
  const rows = providers.map((p) => [p.name, kindName(p.kind), p.baseUrl || "-", p.hasApiKey ? "set" : "-", sourceName(p.source)]);
  return `${formatTable(["NAME", "KIND", "BASE URL", "API KEY", "SOURCE"], rows)}\n`;
}

/** What a backend can do, in one cell. */
function capabilities(b: Backend): string {
  const caps = [b.vision ? "vision" : "", b.thinking ? "thinking" : "", b.gptOssFix ? "gpt-oss-fix" : ""].filter((c) => c !== "");
  return caps.length === 0 ? "-" : caps.join(",");
}

/** The rate windows of a backend (hour/5 hours/day), in one cell. */
function windows(b: Backend): string {
  const parts = [
    b.maxPerHour ? `${b.maxPerHour}/h` : "",
    b.maxPer5hours ? `${b.maxPer5hours}/5h` : "",
    b.maxPerDay ? `${b.maxPerDay}/d` : "",
  ].filter((p) => p !== "");
  return parts.length === 0 ? "-" : parts.join(",");
}

/** Backends in routing order, numbered, because that order is what `backends reorder` changes. */
export function formatBackends(backends: readonly Backend[]): string {
  if (backends.length === 0) return "no backends\n";
  const rows = backends.map((b, i) => [
    String(i + 1),
    b.name,
    b.provider,
    b.model,
    b.alias || "-",
    b.context === 0 ? "-" : String(b.context),
    capabilities(b),
    windows(b),
    sourceName(b.source),
  ]);
  return `${formatTable(["#", "NAME", "PROVIDER", "MODEL", "ALIAS", "CONTEXT", "CAPABILITIES", "LIMITS", "SOURCE"], rows)}\n`;
}
