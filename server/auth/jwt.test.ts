import { randomBytes } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ACCESS_TOKEN_TYP, createJwtCodec, generateJwtSecret, parseJwtSecret, TOKEN_LIFETIME_MS } from "./jwt.js";

const T0 = 1_795_000_000_000;
const secret = randomBytes(32);
const S0 = T0 / 1000;

/** A token signed with `key` (default: the codec's secret), starting from valid claims and header. */
async function forge(
  edit: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: Uint8Array; omit?: string[] } = {},
): Promise<string> {
  const claims: Record<string, unknown> = { sub: "usr_1", ver: 0, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 3600, ...edit.claims };
  for (const name of edit.omit ?? []) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYP, ...edit.header } as { alg: string }).sign(edit.key ?? secret);
}

describe("access tokens", () => {
  const codec = createJwtCodec(secret, () => T0);

  it("issue and verify round-trip, valid for 12 hours", async () => {
    const issued = await codec.issue("usr_1", 7);
    expect(issued.expiresAt).toBe(T0 + TOKEN_LIFETIME_MS);
    expect(await codec.verify(issued.token)).toEqual({ userId: "usr_1", version: 7 });
  });

  it("carry only ids and times: no secret, no role, nothing else", async () => {
    const { token } = await codec.issue("usr_1", 3);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "llmux+access" });
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "sub", "ver"]);
    expect(payload).toMatchObject({ sub: "usr_1", ver: 3, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 12 * 3600 });
    expect(token).not.toContain(secret.toString("base64url"));
  });

  it("accepts a well-formed forged-by-us token (the baseline the attacks below edit)", async () => {
    expect(await codec.verify(await forge())).toEqual({ userId: "usr_1", version: 0 });
  });

  it.each<[string, () => Promise<string>]>([
    ["alg none", async () => new UnsecuredJWT({ sub: "usr_1", ver: 0, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 60 }).encode()],
    ["HS256 under another key", () => forge({ key: randomBytes(32) })],
    ["HS512 under the right key", () => forge({ header: { alg: "HS512" } })],
    ["the wrong issuer", () => forge({ claims: { iss: "someone-else" } })],
    ["the wrong audience", () => forge({ claims: { aud: "other-service" } })],
    ["no issuer", () => forge({ omit: ["iss"] })],
    ["no exp", () => forge({ omit: ["exp"] })],
    ["no iat", () => forge({ omit: ["iat"] })],
    ["no sub", () => forge({ omit: ["sub"] })],
    ["no ver", () => forge({ omit: ["ver"] })],
    ["a string ver", () => forge({ claims: { ver: "0" } })],
    ["a negative ver", () => forge({ claims: { ver: -1 } })],
    ["an expired exp (beyond the 30 s tolerance)", () => forge({ claims: { iat: S0 - 7200, exp: S0 - 31 } })],
    ["an nbf in the future (beyond the tolerance)", () => forge({ claims: { nbf: S0 + 31 } })],
    ["an iat older than the 12 h lifetime, with a far exp", () => forge({ claims: { iat: S0 - 13 * 3600, exp: S0 + 3600 } })],
    ["the wrong typ", () => forge({ header: { typ: "llmux+refresh" } })],
    ["no typ", () => forge({ header: { typ: undefined } })],
    ["the typ JWT", () => forge({ header: { typ: "JWT" } })],
    ["a tampered payload", async () => {
      const [h, , s] = (await forge()).split(".");
      return [h, Buffer.from(JSON.stringify({ sub: "usr_admin", ver: 0, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 60 })).toString("base64url"), s].join(".");
    }],
    ["garbage", async () => "eyJhbGciOiJIUzI1NiJ9.not-json.sig"],
  ])("refuses %s", async (_name, make) => {
    expect(await codec.verify(await make())).toBeUndefined();
  });

  it("tolerates 30 s of clock skew on exp and nbf", async () => {
    expect(await codec.verify(await forge({ claims: { iat: S0 - 3600, exp: S0 - 29 } }))).toEqual({ userId: "usr_1", version: 0 });
    expect(await codec.verify(await forge({ claims: { nbf: S0 + 29 } }))).toEqual({ userId: "usr_1", version: 0 });
  });

  it("expires 12 hours after issue", async () => {
    let now = T0;
    const moving = createJwtCodec(secret, () => now);
    const { token } = await moving.issue("usr_1", 0);
    now = T0 + TOKEN_LIFETIME_MS + 31_000;
    expect(await moving.verify(token)).toBeUndefined();
  });

  it("refuses a secret shorter than 32 bytes", () => {
    expect(() => createJwtCodec(randomBytes(31))).toThrow("[invalid_argument] the JWT secret must be at least 32 bytes");
  });
});

describe("JWT_SECRET", () => {
  const bytes = randomBytes(32);

  it.each([
    ["hex", bytes.toString("hex")],
    ["base64", bytes.toString("base64")],
    ["base64url", bytes.toString("base64url")],
    ["base64 with surrounding whitespace", ` ${bytes.toString("base64")}\n`],
  ])("decodes %s", (_name, text) => {
    expect(Buffer.from(parseJwtSecret(text))).toEqual(bytes);
  });

  it.each([
    ["a short passphrase", "secret"],
    ["31 bytes", randomBytes(31).toString("base64")],
    ["31 bytes of hex", randomBytes(31).toString("hex")],
    ["text with spaces", "your super secret jwt key change in production"],
    ["empty", ""],
  ])("refuses %s", (_name, text) => {
    expect(() => parseJwtSecret(text)).toThrow(
      "[invalid_argument] JWT_SECRET must be at least 32 random bytes, hex or base64 encoded (e.g. the output of `openssl rand -base64 32`)",
    );
  });

  it("generates 32 random bytes that parse back", () => {
    const text = generateJwtSecret();
    expect(parseJwtSecret(text)).toHaveLength(32);
    expect(generateJwtSecret()).not.toBe(text);
  });
});
