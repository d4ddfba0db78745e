import { create, type DescMethod } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import {
  AdminService,
  CreateUserRequestSchema,
  CreateUserResponseSchema,
  ListUsersRequestSchema,
  ListUsersResponseSchema,
  LoginRequestSchema,
  LoginResponseSchema,
} from "../../../gen/llmux/admin/v1/admin_service_pb.js";
import type { User } from "../../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../../gen/llmux/type/v1/options_pb.js";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import type { Queryable } from "../../store/tables/database.js";
import { checkAccess } from "../access-interceptor.js";
import { clientAddressKey, principalKey } from "../call-context.js";
import type { AdminIdentityService } from "./admin-service.js";
import type { Principal } from "./authenticator.js";

/** What a wrapper answers on success; failures are thrown as LlmuxError for the facade's error handler. */
export interface HttpResult {
  status: number;
  body: unknown;
}

/** Facts about the HTTP request that the RPC implementation needs. */
export interface HttpRequestInfo {
  /** The client's address (Fastify's `request.ip`), for login throttling. */
  address?: string;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
}

/** The `/auth/*` routes of the original LLMMux, as plain handlers over the AdminService implementation. */
export interface AuthHttpHandlers {
  /** `POST /auth/login` — public. Body `{username, password}`; 200 `{access_token, token_type, expires_at, user}`. */
  login(body: unknown, principal: Principal | undefined, info?: HttpRequestInfo): Promise<HttpResult>;
  /** `POST /auth/register` — admins. Body `{username, password, email?, role?}` (role `USER`, `ADMIN`, `SUPER_ADMIN`); 201 `{user}`. */
  register(body: unknown, principal: Principal | undefined, info?: HttpRequestInfo): Promise<HttpResult>;
  /** `GET /auth/users` — admins. Query `{page_size?, page_token?}`; 200 `{users, next_page_token}`. */
  listUsers(query: unknown, principal: Principal | undefined, info?: HttpRequestInfo): Promise<HttpResult>;
}

/** Dependencies of {@link createAuthHttpHandlers}. */
export interface AuthHttpDeps {
  admin: AdminIdentityService;
  /** Where denials are audited. */
  db: Queryable;
  now: () => number;
}

/** The HTTP JSON of a user: snake_case, role as `USER`/`ADMIN`/`SUPER_ADMIN`, RFC 3339 times; never a hash. */
export interface HttpUser {
  id: string;
  username: string;
  email: string;
  role: string;
  disabled: boolean;
  created_at: string | null;
  updated_at: string | null;
}

const iso = (ts: Timestamp | undefined) => (ts ? timestampDate(ts).toISOString() : null);

function userJson(user: User | undefined): HttpUser | null {
  if (!user) return null;
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: Role[user.role],
    disabled: user.disabled,
    created_at: iso(user.createTime),
    updated_at: iso(user.updateTime),
  };
}

/** The body as a plain object; anything else (an array, a string, null) is the client's error. */
function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw llmuxError(Reason.INVALID_REQUEST, "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** A string field; absent is "", any other type is an error naming the field. */
function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw llmuxError(Reason.INVALID_REQUEST, `${name} must be a string`, { param: name });
  return value;
}

const ROLES: Readonly<Record<string, Role>> = { USER: Role.USER, ADMIN: Role.ADMIN, SUPER_ADMIN: Role.SUPER_ADMIN };

/** `USER`, `admin`, `ROLE_SUPER_ADMIN`… to the proto role; "" is unspecified (the service's default). */
function parseRole(text: string): Role {
  if (text === "") return Role.UNSPECIFIED;
  const role = ROLES[text.toUpperCase().replace(/^ROLE_/, "")];
  if (role === undefined) throw llmuxError(Reason.INVALID_REQUEST, "role must be USER, ADMIN or SUPER_ADMIN", { param: "role" });
  return role;
}

/** A non-negative integer from a query string value; "" is 0. */
function uintField(query: Record<string, unknown>, name: string): number {
  const text = stringField(query, name);
  if (text === "") return 0;
  if (!/^\d{1,9}$/.test(text)) throw llmuxError(Reason.INVALID_REQUEST, `${name} must be a whole number`, { param: name });
  return Number(text);
}

/**
 * Creates the HTTP wrappers. Each one checks the RPC's declared access exactly as the interceptor does (same
 * function, same audit of denials), then calls the same handler with a context holding the principal and the
 * client address, so the HTTP routes and the RPCs cannot drift apart. The facade mounts them: `/auth/login`
 * without its auth hook (it is public), the others behind it.
 */
export function createAuthHttpHandlers(deps: AuthHttpDeps): AuthHttpHandlers {
  async function context(method: DescMethod, principal: Principal | undefined, info: HttpRequestInfo, url: string, requestMethod: string): Promise<HandlerContext> {
    await checkAccess(deps, method, principal);
    const values = createContextValues();
    values.set(principalKey, principal);
    values.set(clientAddressKey, info.address ?? "");
    return createHandlerContext({
      service: AdminService,
      method,
      protocolName: "http",
      requestMethod,
      url,
      contextValues: values,
      requestSignal: info.signal,
    });
  }

  return {
    async login(body, principal, info = {}) {
      const input = objectBody(body);
      const ctx = await context(AdminService.method.login, principal, info, "/auth/login", "POST");
      const res = create(
        LoginResponseSchema,
        await deps.admin.login(create(LoginRequestSchema, { username: stringField(input, "username"), password: stringField(input, "password") }), ctx),
      );
      return {
        status: 200,
        body: { access_token: res.token, token_type: "Bearer", expires_at: iso(res.expireTime), user: userJson(res.user) },
      };
    },

    async register(body, principal, info = {}) {
      const input = objectBody(body);
      const ctx = await context(AdminService.method.createUser, principal, info, "/auth/register", "POST");
      const request = create(CreateUserRequestSchema, {
        username: stringField(input, "username"),
        email: stringField(input, "email"),
        password: stringField(input, "password"),
        role: parseRole(stringField(input, "role")),
      });
      const res = create(CreateUserResponseSchema, await deps.admin.createUser(request, ctx));
      return { status: 201, body: { user: userJson(res.user) } };
    },

    async listUsers(query, principal, info = {}) {
      const input = query === undefined ? {} : objectBody(query);
      const ctx = await context(AdminService.method.listUsers, principal, info, "/auth/users", "GET");
      const request = create(ListUsersRequestSchema, { pageSize: uintField(input, "page_size"), pageToken: stringField(input, "page_token") });
      const res = create(ListUsersResponseSchema, await deps.admin.listUsers(request, ctx));
      return { status: 200, body: { users: res.users.map(userJson), next_page_token: res.nextPageToken } };
    },
  };
}
