import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, type Store } from "../store/database.js";
import { getSetting } from "../store/repos/setting-repo.js";
import { createSecretBox, loadSecretKey, SECRET_KEY_SETTING } from "./secret-box.js";

const KEY_A = Buffer.alloc(32, 1);
const KEY_B = Buffer.alloc(32, 2);

describe("createSecretBox", () => {
  const box = createSecretBox(KEY_A);

  it("seals to a versioned value that does not contain the plaintext and opens it again", () => {
    const sealed = box.seal("sk-live-0123456789", "openai");
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain("sk-live");
    expect(box.open(sealed, "openai")).toBe("sk-live-0123456789");
  });

  it("uses a fresh nonce each time", () => {
    expect(box.seal("same", "p")).not.toBe(box.seal("same", "p"));
  });

  it("does not open a value bound to another provider, under another key, altered or malformed", () => {
    const sealed = box.seal("secret", "openai");
    expect(box.open(sealed, "anthropic")).toBeUndefined();
    expect(createSecretBox(KEY_B).open(sealed, "openai")).toBeUndefined();
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 1;
    expect(box.open([...parts.slice(0, 3), body.toString("base64url"), parts[4]].join("."), "openai")).toBeUndefined();
    for (const bad of ["", "secret", "v2.x.y.z.w", `${sealed}.extra`, "v1.00000000.a.b.c"]) expect(box.open(bad, "openai")).toBeUndefined();
  });

  it("names its key by a fingerprint that differs between keys", () => {
    expect(box.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(createSecretBox(KEY_B).keyId).not.toBe(box.keyId);
    expect(box.seal("x", "p").split(".")[1]).toBe(box.keyId);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => createSecretBox(Buffer.alloc(16))).toThrow("the secret key must be 32 bytes");
  });
});

describe("loadSecretKey", () => {
  let store: Store;
  beforeEach(async () => {
    store = await createDatabase({ sqlitePath: ":memory:" });
  });
  afterEach(async () => {
    await store.close();
  });

  it("uses the configured key and stores nothing", async () => {
    expect(await loadSecretKey(store.db, KEY_A, 1)).toBe(KEY_A);
    expect(await getSetting(store.db, SECRET_KEY_SETTING)).toBeUndefined();
  });

  it("generates a key once and returns the stored one afterwards", async () => {
    const first = await loadSecretKey(store.db, undefined, 1);
    expect(first.length).toBe(32);
    expect(await getSetting(store.db, SECRET_KEY_SETTING)).toBe(Buffer.from(first).toString("base64"));
    expect(Buffer.from(await loadSecretKey(store.db, undefined, 2))).toEqual(Buffer.from(first));
  });
});
