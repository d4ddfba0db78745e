import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { credentialsPath, loadLogin, removeLogin, saveLogin, serverKey, type SavedLogin } from "./credentials.js";
import { UsageError } from "./usage-error.js";

const alice: SavedLogin = { token: "eyJ.a.b", username: "alice", role: "admin", expireTime: "2026-01-01T00:00:00.000Z" };
const bob: SavedLogin = { token: "eyJ.c.d", username: "bob", role: "user", expireTime: "" };

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "llmuxctl-cred-"));
  file = path.join(dir, "conf", "llmux", "credentials.json");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("credentialsPath", () => {
  it.each([
    [{ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/a" }, "/x/cfg/llmux/credentials.json"],
    [{ HOME: "/home/a" }, "/home/a/.config/llmux/credentials.json"],
    // A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
    [{ XDG_CONFIG_HOME: "cfg", HOME: "/home/a" }, "/home/a/.config/llmux/credentials.json"],
  ])("%j", (env, expected) => {
    expect(credentialsPath(env)).toBe(expected);
  });
});

describe("serverKey", () => {
  it.each([
    ["http://127.0.0.1:8083", "http://127.0.0.1:8083"],
    ["http://127.0.0.1:8083/", "http://127.0.0.1:8083"],
    ["HTTPS://GW.example:443/llmux/", "https://gw.example/llmux"],
  ])("%s", (server, key) => expect(serverKey(server)).toBe(key));
});

describe("saved logins", () => {
  it("keeps one login per server, readable by the owner only", async () => {
    expect(await loadLogin("http://a:8083", file)).toBeUndefined();
    await saveLogin("http://a:8083/", alice, file);
    await saveLogin("http://b:8083", bob, file);
    expect(await loadLogin("http://a:8083", file)).toEqual(alice);
    expect(await loadLogin("http://b:8083/", file)).toEqual(bob);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ version: 1, servers: { "http://a:8083": alice, "http://b:8083": bob } });
  });

  it("tightens a file that was readable by others when it rewrites it", async () => {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ version: 1, servers: { "http://b:8083": bob } }), { mode: 0o644 });
    await saveLogin("http://a:8083", alice, file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadLogin("http://b:8083", file)).toEqual(bob);
  });

  it("replaces a server's login and removes it on logout, keeping the others", async () => {
    await saveLogin("http://a:8083", alice, file);
    await saveLogin("http://b:8083", bob, file);
    await saveLogin("http://a:8083", { ...alice, role: "super_admin" }, file);
    expect((await loadLogin("http://a:8083", file))?.role).toBe("super_admin");
    expect(await removeLogin("http://a:8083/", file)).toBe(true);
    expect(await removeLogin("http://a:8083", file)).toBe(false);
    expect(await loadLogin("http://a:8083", file)).toBeUndefined();
    expect(await loadLogin("http://b:8083", file)).toEqual(bob);
  });

  it("skips entries that are not logins, and names a file that is not JSON", async () => {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ version: 1, servers: { "http://a:8083": { token: 1 }, "http://b:8083": bob } }));
    expect(await loadLogin("http://a:8083", file)).toBeUndefined();
    expect(await loadLogin("http://b:8083", file)).toEqual(bob);
    await writeFile(file, "{not json");
    await expect(loadLogin("http://a:8083", file)).rejects.toThrow(new UsageError(`${file} is not valid JSON: delete it and run \`llmuxctl login\` again`));
  });
});
