import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateApiKey } from "../../auth/api-keys.js";
import { createClientTokenAuth } from "../../auth/client-tokens.js";
import { createJwtCodec, type JwtCodec } from "../../auth/jwt.js";
import type { Store } from "../../store/database.js";
import { deleteApiKeysOfOwner, findApiKeyById, insertApiKey, revokeApiKey } from "../../store/repos/api-key-repo.js";
import { deleteUser, insertUser, updateUser } from "../../store/repos/user-repo.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import { actorOf, createAuthenticator, type Authenticator } from "./authenticator.js";

const dialects = await testDialects();
const T0 = 1_795_000_000_000;

describe.each(dialects)("authenticator on $name", (dialect) => {
  let store: Store;
  let now: number;
  let jwt: JwtCodec;
  let auth: Authenticator;
  let keySecret: string;

  beforeEach(async () => {
    store = await dialect.open();
    now = T0;
    jwt = createJwtCodec(randomBytes(32), () => now);
    auth = createAuthenticator({ db: store.db, jwt, clientTokens: createClientTokenAuth([{ name: "ci", secret: "config-secret" }]), now: () => now, keyCacheMs: 60_000 });
    await insertUser(store.db, { id: "usr_a", username: "alice", email: "", role: "admin", password_hash: "h", disabled: 0, token_version: 3, created_at: T0, updated_at: T0 });
    const generated = generateApiKey();
    keySecret = generated.secret;
    await insertApiKey(store.db, {
      id: "key_1",
      owner_id: "usr_a",
      name: "ci key",
      key_hash: generated.hash,
      prefix: generated.prefix,
      last_four: generated.lastFour,
      allowed_models: ["gpt-*"],
      requests_per_minute: 60,
      tokens_per_minute: 1000,
      tokens_per_day: 50_000,
      expires_at: T0 + 3_600_000,
      revoked_at: null,
      created_at: T0,
      last_used_at: null,
    });
  });
  afterEach(async () => {
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  it("resolves a configuration token to a USER-role token principal", async () => {
    const principal = await auth.authenticate("config-secret");
    expect(principal).toEqual({ kind: "token", id: "ci", name: "ci", role: "user" });
    expect(actorOf(principal)).toBe("token:ci");
  });

  it("resolves a JWT at the user's current version to the user", async () => {
    const { token } = await jwt.issue("usr_a", 3);
    const principal = await auth.authenticate(token);
    expect(principal).toEqual({ kind: "user", id: "usr_a", name: "alice", role: "admin", userId: "usr_a" });
    expect(actorOf(principal)).toBe("usr_a");
  });

  it.each<[string, (store: Store) => Promise<unknown>]>([
    ["the version was bumped", (s) => updateUser(s.db, "usr_a", { bumpTokenVersion: true }, T0)],
    ["the user was disabled", (s) => updateUser(s.db, "usr_a", { disabled: 1 }, T0)],
    ["the user was deleted", async (s) => {
      await deleteApiKeysOfOwner(s.db, "usr_a");
      await deleteUser(s.db, "usr_a");
    }],
  ])("refuses a JWT on the very next call when %s", async (_name, change) => {
    const { token } = await jwt.issue("usr_a", 3);
    expect(await auth.authenticate(token)).toBeDefined();
    await change(store);
    expect(await auth.authenticate(token)).toBeUndefined();
  });

  it("refuses a JWT carrying another version", async () => {
    expect(await auth.authenticate((await jwt.issue("usr_a", 2)).token)).toBeUndefined();
    expect(await auth.authenticate((await jwt.issue("usr_a", 4)).token)).toBeUndefined();
    expect(await auth.authenticate((await jwt.issue("usr_missing", 0)).token)).toBeUndefined();
  });

  it("resolves an API key to its owner's role with the key's grants, and records its use", async () => {
    const principal = await auth.authenticate(keySecret);
    expect(principal).toEqual({
      kind: "api_key",
      id: "key_1",
      name: "alice",
      role: "admin",
      userId: "usr_a",
      keyId: "key_1",
      key: { allowedModels: ["gpt-*"], requestsPerMinute: 60, tokensPerMinute: 1000, tokensPerDay: 50_000, expiresAt: T0 + 3_600_000 },
    });
    expect(actorOf(principal)).toBe("key:key_1");
    await expect.poll(async () => (await findApiKeyById(store.db, "key_1"))?.last_used_at).toBe(T0);
  });

  it("writes the last use at most once a minute", async () => {
    await auth.authenticate(keySecret);
    await expect.poll(async () => (await findApiKeyById(store.db, "key_1"))?.last_used_at).toBe(T0);
    now = T0 + 59_999;
    await auth.authenticate(keySecret);
    now = T0 + 60_000;
    await auth.authenticate(keySecret);
    await expect.poll(async () => (await findApiKeyById(store.db, "key_1"))?.last_used_at).toBe(T0 + 60_000);
  });

  it("refuses an expired key on the first call after expiry, cache or not", async () => {
    expect(await auth.authenticate(keySecret)).toBeDefined();
    now = T0 + 3_600_000;
    expect(await auth.authenticate(keySecret)).toBeUndefined();
  });

  it("sees a revocation made elsewhere within 5 seconds, however long the cache was configured", async () => {
    expect(await auth.authenticate(keySecret)).toBeDefined();
    await revokeApiKey(store.db, "key_1", T0);
    now = T0 + 4_999;
    expect(await auth.authenticate(keySecret)).toBeDefined();
    now = T0 + 5_000;
    expect(await auth.authenticate(keySecret)).toBeUndefined();
  });

  it("sees a revocation at once after forgetKeys", async () => {
    expect(await auth.authenticate(keySecret)).toBeDefined();
    await updateUser(store.db, "usr_a", { disabled: 1 }, T0);
    auth.forgetKeys();
    expect(await auth.authenticate(keySecret)).toBeUndefined();
  });

  it.each([
    ["empty", ""],
    ["SQL", "' OR 1=1--"],
    ["SQL shaped like a key", `llmux_' OR '1'='1${"A".repeat(32)}`],
    ["a NUL byte", "config-secret\u0000"],
    ["10 KB", "k".repeat(10_000)],
    ["the key prefix alone", "llmux_"],
    ["a key one character short", keySecretPlaceholder(42)],
    ["a well-formed unknown key", keySecretPlaceholder(43)],
    ["non-ASCII", "ключ-доступа"],
    ["a JWT-shaped string", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c3JfYSJ9."],
  ])("refuses %s without throwing", async (_name, secret) => {
    expect(await auth.authenticate(secret)).toBeUndefined();
  });
});

function keySecretPlaceholder(length: number): string {
  return `llmux_${"A".repeat(length)}`;
}
