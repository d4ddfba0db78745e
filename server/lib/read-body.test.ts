import { describe, expect, it } from "vitest";
import { BodyTooLargeError, readBody, readBodyBytes } from "./read-body.js";

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

describe("readBodyBytes", () => {
  it("returns a body of one Buffer chunk as that Buffer", async () => {
    const only = Buffer.from('{"a":1}');
    expect(await readBodyBytes(chunks(only), 100)).toBe(only);
  });

  it("returns a body of one Uint8Array chunk as a Buffer over the same bytes", async () => {
    const backing = new Uint8Array([0, 0x7b, 0x7d, 0]);
    const bytes = await readBodyBytes(chunks(backing.subarray(1, 3)), 100);
    expect([Buffer.isBuffer(bytes), bytes.toString("utf8")]).toEqual([true, "{}"]);
  });

  it("joins several chunks, and reads an empty body as an empty Buffer", async () => {
    expect((await readBodyBytes(chunks(Buffer.from("ab"), new Uint8Array([0x63]), Buffer.from("d")), 100)).toString()).toBe("abcd");
    expect((await readBodyBytes(chunks(), 100)).length).toBe(0);
  });

  it("takes the body whole, with its limit, where the body offers that", async () => {
    const whole = Buffer.from("{}");
    const limits: number[] = [];
    const body = {
      readAll: async (limit: number) => (limits.push(limit), whole),
      [Symbol.asyncIterator]: () => {
        throw new Error("iterated a body that offers itself whole");
      },
    };
    expect(await readBodyBytes(body, 100)).toBe(whole);
    expect(limits).toEqual([100]);
  });

  it("stops with BodyTooLargeError once more than the limit has arrived", async () => {
    await expect(readBodyBytes(chunks(Buffer.from("abc"), Buffer.from("de")), 4)).rejects.toEqual(new BodyTooLargeError(4));
    expect((await readBodyBytes(chunks(Buffer.from("abcd")), 4)).toString()).toBe("abcd");
  });
});

describe("readBody", () => {
  it("decodes UTF-8 once, so a character split across chunks survives", async () => {
    const smile = Buffer.from("😀");
    expect(await readBody(chunks(Buffer.from("a"), smile.subarray(0, 2), smile.subarray(2), Buffer.from("b")), 100)).toBe("a😀b");
  });
});
