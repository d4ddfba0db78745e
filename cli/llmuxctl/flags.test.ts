import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { UsageGroupBy } from "../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { groupBy, list, parseTime, role, uint32, uint64 } from "./flags.js";

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

describe("parseTime", () => {
  it.each<[string, -1 | 1, string]>([
    ["now", -1, "2026-06-15T12:00:00.000Z"],
    ["30m", -1, "2026-06-15T11:30:00.000Z"],
    ["24h", -1, "2026-06-14T12:00:00.000Z"],
    ["7d", -1, "2026-06-08T12:00:00.000Z"],
    ["2w", -1, "2026-06-01T12:00:00.000Z"],
    ["90s", 1, "2026-06-15T12:01:30.000Z"],
    ["30d", 1, "2026-07-15T12:00:00.000Z"],
    ["2026-01-31", -1, "2026-01-31T00:00:00.000Z"],
    ["2026-01-31T08:15", -1, "2026-01-31T08:15:00.000Z"],
    ["2026-01-31T08:15:30Z", 1, "2026-01-31T08:15:30.000Z"],
    ["2026-01-31 08:15:30+02:00", -1, "2026-01-31T06:15:30.000Z"],
  ])("%s (direction %i)", (text, direction, iso) => {
    expect(parseTime(text, direction, NOW).toISOString()).toBe(iso);
  });

  it.each(["yesterday", "7", "-7d", "7 days", "2026-13-01", "2026-02-30T25:00", ""])("refuses %j", (text) => {
    expect(() => parseTime(text, -1, NOW)).toThrow(InvalidArgumentError);
  });
});

describe("option parsers", () => {
  it.each([
    ["0", 0],
    ["4294967295", 4_294_967_295],
  ])("uint32 %s", (text, n) => expect(uint32(text)).toBe(n));

  it.each(["-1", "1.5", "4294967296", "1e3", ""])("uint32 refuses %j", (text) => expect(() => uint32(text)).toThrow("must be a whole number from 0 to 4294967295"));

  it("uint64 keeps values beyond 2^53 exact", () => expect(uint64("18446744073709551615")).toBe(18_446_744_073_709_551_615n));
  it.each(["-1", "18446744073709551616", "x"])("uint64 refuses %j", (text) => expect(() => uint64(text)).toThrow(InvalidArgumentError));

  it.each([
    ["user", Role.USER],
    ["ADMIN", Role.ADMIN],
    ["super_admin", Role.SUPER_ADMIN],
    ["super-admin", Role.SUPER_ADMIN],
  ])("role %s", (text, value) => expect(role(text)).toBe(value));
  it.each(["unspecified", "root", ""])("role refuses %j", (text) => expect(() => role(text)).toThrow("must be user, admin or super_admin"));

  it.each([
    ["backend", UsageGroupBy.BACKEND],
    ["Model", UsageGroupBy.MODEL],
    ["key", UsageGroupBy.KEY],
    ["user", UsageGroupBy.USER],
  ])("groupBy %s", (text, value) => expect(groupBy(text)).toBe(value));
  it("groupBy refuses anything else", () => expect(() => groupBy("day")).toThrow("must be backend, model, key or user"));

  it("list splits on commas, trims, drops empties and accumulates repeats", () => {
    expect(list(" a, b ,,", list("c"))).toEqual(["c", "a", "b"]);
    // An empty value gives an empty list: how `--model-match ""` clears a list.
    expect(list("")).toEqual([]);
  });
});
