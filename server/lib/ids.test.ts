import { describe, expect, it } from "vitest";
import { randomId, timeOrderedId } from "./ids.js";

describe("ids", () => {
  it("randomId: the prefix and 16 URL-safe characters, never repeated", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => randomId("msg_")));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(/^msg_[A-Za-z0-9_-]{16}$/);
  });

  it("timeOrderedId: 10 base32 characters of time, then 16 random ones", () => {
    expect(timeOrderedId("req_", 0).slice(0, 14)).toBe("req_0000000000");
    expect(timeOrderedId("req_", 1_795_330_000_123).slice(4, 14)).toBe("01M8103H7V") // checked against an independent encoder;
    expect(timeOrderedId("req_", 2 ** 50 - 1).slice(4, 14)).toBe("ZZZZZZZZZZ");
    expect(timeOrderedId("req_", 1).length).toBe(30);
  });

  it("timeOrderedId: ids sort as their times do, and ids of one millisecond differ", () => {
    const times = [0, 1, 31, 32, 1_000, 999_999, 1_795_330_000_000, 1_795_330_000_001, 4_102_444_800_000];
    const ids = times.map((t) => timeOrderedId("req_", t));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 1_000 }, () => timeOrderedId("req_", 1_795_330_000_000)));
    expect(same.size).toBe(1_000);
  });
});
