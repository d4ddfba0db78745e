import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import type { Store } from "../../store/database.js";
import { startControlPlane, T0, type ControlPlane } from "../../../test/helpers/control-plane.js";
import { testDialects } from "../../../test/helpers/store-dialects.js";
import type { AdminIdentityService } from "./admin-service.js";

const dialects = await testDialects();
const S0 = T0 / 1000;

/** Reliability catalogue rows 31-33, over real HTTP: every bad token is unauthenticated and no handler runs. */
describe.each(dialects)("forged and stale tokens on $name", (dialect) => {
  let store: Store;
  let plane: ControlPlane;
  let handled: string[];

  beforeEach(async () => {
    store = await dialect.open();
    handled = [];
    plane = await startControlPlane(store, {
      routes: (router, admin) => {
        // Every handler records that it ran, so a refused call can be shown never to have reached one.
        const recording = Object.fromEntries(
          Object.entries(admin).map(([name, impl]) => [name, (req: never, ctx: never) => (handled.push(name), (impl as (r: never, c: never) => unknown)(req, ctx))]),
        ) as unknown as AdminIdentityService;
        router.service(AdminService, recording);
      },
    });
  });
  afterEach(async () => {
    await plane.close();
    await store.close();
  });
  afterAll(() => dialect.cleanup());

  /** A token signed with the server's own secret unless told otherwise, starting from valid claims for root. */
  const forge = (edit: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: Uint8Array; omit?: string[] } = {}) => {
    const claims: Record<string, unknown> = { sub: plane.root.id, ver: 0, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 3600, ...edit.claims };
    for (const name of edit.omit ?? []) delete claims[name];
    return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "llmux+access", ...edit.header } as { alg: string }).sign(edit.key ?? plane.secret);
  };

  async function outcome(token: string | undefined): Promise<string> {
    try {
      await plane.client(AdminService, token).listUsers({});
      return "ok";
    } catch (err) {
      return Code[ConnectError.from(err).code];
    }
  }

  it("accepts the unedited forgery (so each refusal below is about its one edit)", async () => {
    expect(await outcome(await forge())).toBe("ok");
    expect(handled).toEqual(["listUsers"]);
  });

  it.each<[string, () => Promise<string | undefined>]>([
    ["no token", async () => undefined],
    ["a garbage token", async () => "garbage"],
    ["alg none", async () => new UnsecuredJWT({ sub: plane.root.id, ver: 0, iss: "llmux", aud: "llmux", iat: S0, exp: S0 + 3600 }).setIssuer("llmux").encode()],
    ["HS256 under another key", () => forge({ key: randomBytes(32) })],
    ["the wrong issuer", () => forge({ claims: { iss: "evil" } })],
    ["the wrong audience", () => forge({ claims: { aud: "evil" } })],
    ["no exp", () => forge({ omit: ["exp"] })],
    ["an expired token", () => forge({ claims: { iat: S0 - 7200, exp: S0 - 60 } })],
    ["a future nbf", () => forge({ claims: { nbf: S0 + 600 } })],
    ["the wrong typ", () => forge({ header: { typ: "JWT" } })],
    ["a version from the future", () => forge({ claims: { ver: 1 } })],
    ["another user's id", () => forge({ claims: { sub: "usr_nobody" } })],
  ])("refuses %s as unauthenticated before any handler runs", async (_name, make) => {
    expect(await outcome(await make())).toBe("Unauthenticated");
    expect(handled).toEqual([]);
  });

  it.each([
    ["disabled", (id: string) => plane.client(AdminService, plane.root.token).disableUser({ id, disabled: true })],
    ["downgraded", (id: string) => plane.client(AdminService, plane.root.token).updateUserRole({ id, role: Role.USER })],
  ])("refuses a valid token of a user who was %s since, on the next call", async (_name, change) => {
    const ann = await plane.addUser("ann", Role.ADMIN);
    expect(await outcome(ann.token)).toBe("ok");
    await change(ann.id);
    handled = [];
    expect(await outcome(ann.token)).toBe("Unauthenticated");
    expect(handled).toEqual([]);
  });
});
