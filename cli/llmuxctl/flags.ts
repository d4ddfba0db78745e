import { InvalidArgumentError } from "commander";
import { UsageGroupBy } from "../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { ROLE_NAMES } from "./admin-output.js";

// Parsers for commander options: each throws InvalidArgumentError, which commander reports as a usage error
// naming the flag (exit 2) before anything is sent.

/** uint32 on the wire (token counts, requests per minute, context). */
export function uint32(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffff_ffff) throw new InvalidArgumentError("must be a whole number from 0 to 4294967295");
  return n;
}

/** uint64 on the wire (tokens per minute or day). */
export function uint64(value: string): bigint {
  if (!/^\d{1,20}$/.test(value) || BigInt(value) > 0xffff_ffff_ffff_ffffn) throw new InvalidArgumentError("must be a whole number of at least 0");
  return BigInt(value);
}

/** A role by the name tables show (user, admin, super_admin); `super-admin` is accepted too. */
export function role(value: string): Role {
  const wanted = value.toLowerCase().replace(/-/g, "_");
  const found = (Object.entries(ROLE_NAMES) as [string, string][]).find(([number, name]) => name === wanted && Number(number) !== Role.UNSPECIFIED);
  if (!found) throw new InvalidArgumentError("must be user, admin or super_admin");
  return Number(found[0]) as Role;
}

const GROUP_BY: Readonly<Record<string, UsageGroupBy>> = {
  backend: UsageGroupBy.BACKEND,
  model: UsageGroupBy.MODEL,
  key: UsageGroupBy.KEY,
  user: UsageGroupBy.USER,
};

/** How `usage` groups rows. */
export function groupBy(value: string): UsageGroupBy {
  const found = GROUP_BY[value.toLowerCase()];
  if (found === undefined) throw new InvalidArgumentError("must be backend, model, key or user");
  return found;
}

/** Collects a repeatable, comma-separated option (`--models a,b --models c` → a, b, c). */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter((v) => v !== "")];
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: an ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`; a date is midnight UTC),
 * `now`, or a duration such as `30m`, `24h`, `7d` counted from now in `direction` (-1: ago, as in `--from 7d`;
 * +1: ahead, as in `--expires 30d`).
 */
export function parseTime(value: string, direction: -1 | 1, now: number = Date.now()): Date {
  if (value === "now") return new Date(now);
  const duration = /^(\d+)([smhdw])$/.exec(value);
  if (duration) return new Date(now + direction * Number(duration[1]) * UNIT_MS[duration[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    // A date-time without a zone is read as UTC too, so a script means the same thing on every machine.
    const text = /^\d{4}-\d{2}-\d{2}$/.test(value) || /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
    const date = new Date(text.replace(" ", "T"));
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new InvalidArgumentError(`must be an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z), "now", or a duration such as 30m, 24h, 7d`);
}
