import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, createContextValues, type Client, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/llmux/admin/v1/admin_service_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { createClientTokenAuth } from "../../server/auth/client-tokens.js";
import { createJwtCodec, type JwtCodec } from "../../server/auth/jwt.js";
import { createPasswordHasher, type PasswordHasher } from "../../server/auth/passwords.js";
import { createAccessInterceptor } from "../../server/services/access-interceptor.js";
import { createAdminService, type AdminIdentityService } from "../../server/services/admin/admin-service.js";
import { createAuthenticator, type Authenticator } from "../../server/services/admin/authenticator.js";
import { createSuperAdmin } from "../../server/services/admin/bootstrap.js";
import { clientAddressKey } from "../../server/services/call-context.js";
import type { Store } from "../../server/store/database.js";

/** The configuration client token every control plane accepts (role USER). */
export const CONFIG_TOKEN = "config-token-for-control-plane-tests";
/** A fixed start time, epoch ms. */
export const T0 = 1_795_000_000_000;
/** Header the test server reads the client address from (a real deployment uses the socket). */
export const ADDRESS_HEADER = "x-test-client-address";

/** A user created through the API, with a fresh login token. */
export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
}

/** A control plane served over real HTTP on 127.0.0.1, port 0, with a settable clock. */
export interface ControlPlane {
  url: string;
  store: Store;
  /** The current time of every component; tests move it. */
  clock: { now: number };
  jwt: JwtCodec;
  secret: Uint8Array;
  authenticator: Authenticator;
  admin: AdminIdentityService;
  passwords: PasswordHasher;
  /** A client of `service` presenting `credential` as a bearer token (none when undefined). */
  client<S extends DescService>(service: S, credential?: string, headers?: Record<string, string>): Client<S>;
  /** The first super admin, created by `createSuperAdmin`, with a valid token. */
  root: TestUser;
  /** Creates a user through CreateUser as the super admin and logs them in. */
  addUser(username: string, role: Role): Promise<TestUser>;
  /** Logs in again (a fresh token). */
  login(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** More services (stubs) to mount next to AdminService; `admin` is the identity half under test. */
  routes?: (router: ConnectRouter, admin: AdminIdentityService) => void;
  /** Extra interceptors placed before the access interceptor. */
  interceptors?: Interceptor[];
  passwords?: PasswordHasher;
}

/**
 * Test support: the identity half of AdminService behind the access interceptor, on a real node HTTP server
 * (Connect protocol, HTTP/1.1), over a fresh store. Passwords use a cheap scrypt cost to keep tests fast.
 */
export async function startControlPlane(store: Store, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const clock = { now: T0 };
  const now = () => clock.now;
  const secret = randomBytes(32);
  const jwt = createJwtCodec(secret, now);
  const passwords = options.passwords ?? createPasswordHasher({ logN: 8, r: 8, p: 1 });
  const authenticator = createAuthenticator({ db: store.db, jwt, clientTokens: createClientTokenAuth([{ name: "ci", secret: CONFIG_TOKEN }]), now });
  const admin = createAdminService({ db: store.db, jwt, authenticator, now, passwords });
  const handler = connectNodeAdapter({
    routes: (router) => {
      if (options.routes) options.routes(router, admin);
      else router.service(AdminService, admin);
    },
    interceptors: [...(options.interceptors ?? []), createAccessInterceptor({ authenticator, db: store.db, now })],
    contextValues: (req) => {
      const values = createContextValues();
      const header = req.headers[ADDRESS_HEADER];
      values.set(clientAddressKey, typeof header === "string" ? header : (req.socket.remoteAddress ?? ""));
      return values;
    },
  });
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function client<S extends DescService>(service: S, credential?: string, headers: Record<string, string> = {}): Client<S> {
    const auth: Interceptor = (next) => async (req) => {
      if (credential !== undefined) req.header.set("authorization", `Bearer ${credential}`);
      for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
      return next(req);
    };
    return createClient(service, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth] }));
  }

  async function login(username: string, password: string): Promise<string> {
    return (await client(AdminService).login({ username, password })).token;
  }

  // The root's token is issued directly, so the fixture works whatever implements Login (the role matrix stubs it).
  const created = await createSuperAdmin(store.db, { username: "root", now, passwords });
  const root: TestUser = { id: created.userId, username: created.username, password: created.password, token: (await jwt.issue(created.userId, 0)).token };

  return {
    url,
    store,
    clock,
    jwt,
    secret,
    authenticator,
    admin,
    passwords,
    client,
    root,
    login,
    async addUser(username, role) {
      const password = `pw-${username}-${randomBytes(8).toString("hex")}`;
      const res = await client(AdminService, root.token).createUser({ username, password, role });
      return { id: res.user!.id, username, password, token: await login(username, password) };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
