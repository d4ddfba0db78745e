import { describe, expect, it } from "vitest";
import { createPasswordHasher, DEFAULT_SCRYPT_PARAMS } from "./passwords.js";

const cheap = createPasswordHasher({ logN: 8, r: 8, p: 1 });

describe("password hashing", () => {
  it("uses scrypt N=2^15, r=8, p=1 by default and writes a self-describing hash", async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ logN: 15, r: 8, p: 1 });
    const stored = await createPasswordHasher().hash("correct horse battery");
    expect(stored).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await createPasswordHasher().verify("correct horse battery", stored)).toBe(true);
  });

  it("salts every hash, and verifies only the right password", async () => {
    const [a, b] = [await cheap.hash("same password"), await cheap.hash("same password")];
    expect(a).not.toBe(b);
    expect(await cheap.verify("same password", a)).toBe(true);
    expect(await cheap.verify("same password", b)).toBe(true);
    expect(await cheap.verify("same passwore", a)).toBe(false);
    expect(await cheap.verify("", a)).toBe(false);
  });

  it("verifies with the cost recorded in the hash, not the hasher's", async () => {
    const stored = await cheap.hash("pässwörd");
    expect(await createPasswordHasher({ logN: 10, r: 8, p: 1 }).verify("pässwörd", stored)).toBe(true);
  });

  it("treats composed and decomposed Unicode as the same password", async () => {
    const stored = await cheap.hash("caf\u00e9-password");
    expect(await cheap.verify("cafe\u0301-password", stored)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["another scheme", "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"],
    ["a truncated hash", "$scrypt$ln=8,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"],
    ["an absurd cost", "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
    ["a zero cost", "$scrypt$ln=0,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
  ])("answers false, without throwing, for a stored value that is %s", async (_name, stored) => {
    expect(await cheap.verify("anything", stored)).toBe(false);
  });

  it("dummyVerify does a verification's work and never succeeds", async () => {
    expect(await cheap.dummyVerify("whatever")).toBe(false);
    expect(await cheap.dummyVerify("")).toBe(false);
  });
});
