import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ApiKeySchema, BackendSchema, ProviderKind, ProviderSchema, Source, UserSchema } from "../../gen/llmux/admin/v1/resources_pb.js";
import { Role } from "../../gen/llmux/type/v1/options_pb.js";
import { formatBackends, formatKeys, formatProviders, formatUser, formatUsers } from "./admin-output.js";

const at = (iso: string) => timestampFromDate(new Date(iso));
const NOW = Date.parse("2026-03-01T00:00:00Z");

describe("users", () => {
  const alice = create(UserSchema, { id: "usr_a", username: "alice", role: Role.SUPER_ADMIN, createTime: at("2026-01-02T03:04:05.678Z") });
  const bob = create(UserSchema, { id: "usr_b", username: "bob", email: "bob@x.io", role: Role.USER, disabled: true, createTime: at("2026-01-03T00:00:00Z") });

  it("lists users with the next page's command", () => {
    expect(formatUsers([alice, bob], "tok")).toBe(
      [
        "ID     USERNAME  ROLE         STATUS    EMAIL     CREATED",
        "usr_a  alice     super_admin  active    -         2026-01-02T03:04:05Z",
        "usr_b  bob       user         disabled  bob@x.io  2026-01-03T00:00:00Z",
        "more: llmuxctl users list --page-token tok",
        "",
      ].join("\n"),
    );
  });

  it("says so when there are none, and shows a role from a newer server by number", () => {
    expect(formatUsers([])).toBe("no users\n");
    expect(formatUsers([create(UserSchema, { id: "u", username: "x", role: 9 as Role })])).toContain("role 9");
  });

  it("shows one user field by field", () => {
    expect(formatUser(bob)).toBe(
      ["id:       usr_b", "username: bob", "role:     user", "status:   disabled", "email:    bob@x.io", "created:  2026-01-03T00:00:00Z", "updated:  -", ""].join("\n"),
    );
  });
});

describe("keys", () => {
  it("shows each key by prefix and last four, its limits and whether it works now", () => {
    const base = { ownerId: "usr_a", prefix: "llmux_ab12", lastFour: "wxyz", createTime: at("2026-01-01T00:00:00Z") };
    const keys = [
      create(ApiKeySchema, { ...base, id: "key_1", name: "laptop", allowedModels: ["gpt-*", "claude-*"], requestsPerMinute: 60, tokensPerDay: 1_000_000n }),
      create(ApiKeySchema, { ...base, id: "key_2", name: "old", expireTime: at("2026-02-01T00:00:00Z"), lastUseTime: at("2026-01-15T10:00:00Z") }),
      create(ApiKeySchema, { ...base, id: "key_3", name: "gone", revokeTime: at("2026-01-20T00:00:00Z"), expireTime: at("2027-01-01T00:00:00Z") }),
    ];
    expect(formatKeys(keys, NOW)).toBe(
      [
        "ID     NAME    KEY              OWNER  STATUS   MODELS          RPM  TPM  TPD      EXPIRES               LAST USED",
        "key_1  laptop  llmux_ab12…wxyz  usr_a  active   gpt-*,claude-*  60   -    1000000  -                     -",
        "key_2  old     llmux_ab12…wxyz  usr_a  expired  *               -    -    -        2026-02-01T00:00:00Z  2026-01-15T10:00:00Z",
        "key_3  gone    llmux_ab12…wxyz  usr_a  revoked  *               -    -    -        2027-01-01T00:00:00Z  -",
        "",
      ].join("\n"),
    );
    expect(formatKeys([], NOW)).toBe("no API keys\n");
  });
});

describe("providers and backends", () => {
  it("shows a provider's key only as set or not", () => {
    const providers = [
      create(ProviderSchema, { name: "mock", kind: ProviderKind.MOCK, source: Source.FILE }),
      create(ProviderSchema, { name: "groq", kind: ProviderKind.OPENAI, baseUrl: "https://api.groq.com/openai/v1", hasApiKey: true, source: Source.DATABASE }),
    ];
    expect(formatProviders(providers)).toBe(
      [
        "NAME  KIND    BASE URL                        API KEY  SOURCE",
        "mock  mock    -                               -        file",
        "groq  openai  https://api.groq.com/openai/v1  set      database",
        "",
      ].join("\n"),
    );
  });

  it("numbers backends in routing order with their capabilities and windows", () => {
    const backends = [
      create(BackendSchema, { name: "mock:a", provider: "mock", model: "a", alias: "fast", context: 32000, source: Source.FILE }),
      create(BackendSchema, {
        name: "vllm:q",
        provider: "vllm",
        model: "q",
        vision: true,
        thinking: true,
        gptOssFix: true,
        maxPerHour: 10,
        maxPer5hours: 40,
        maxPerDay: 100,
        source: Source.DISCOVERY,
      }),
    ];
    expect(formatBackends(backends)).toBe(
      [
        "#  NAME    PROVIDER  MODEL  ALIAS  CONTEXT  CAPABILITIES                 LIMITS            SOURCE",
        "1  mock:a  mock      a      fast   32000    -                            -                 file",
        "2  vllm:q  vllm      q      -      -        vision,thinking,gpt-oss-fix  10/h,40/5h,100/d  discovery",
        "",
      ].join("\n"),
    );
  });
});
