import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { UsageError } from "./usage-error.js";

/** What `llmuxctl login` keeps for one server: the token and enough about it to explain a later refusal. */
export interface SavedLogin {
  /** The JWT sent as `Authorization: Bearer`. */
  token: string;
  /** Who logged in. */
  username: string;
  /** Their role at login, lower case as in the proto enum ("admin"), for permission hints. */
  role: string;
  /** When the token expires (ISO 8601); empty when the server did not say. */
  expireTime: string;
}

/** The file's shape: one login per server URL. `version` lets a later llmuxctl change the format. */
interface CredentialsFile {
  version: 1;
  servers: Record<string, SavedLogin>;
}

/**
 * Where logins are kept: `$XDG_CONFIG_HOME/llmux/credentials.json`, or `~/.config/llmux/credentials.json` when
 * XDG_CONFIG_HOME is unset or not absolute (the XDG Base Directory rule).
 */
export function credentialsPath(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), ".config");
  return path.join(base, "llmux", "credentials.json");
}

/** The key a server's login is stored under: the URL without a trailing slash, so `…:8083/` and `…:8083` match. */
export function serverKey(server: string): string {
  return new URL(server).href.replace(/\/+$/, "");
}

function isSavedLogin(value: unknown): value is SavedLogin {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.token === "string" && typeof v.username === "string" && typeof v.role === "string" && typeof v.expireTime === "string";
}

async function readCredentials(file: string): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, servers: {} };
    throw new UsageError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not valid JSON: delete it and run \`llmuxctl login\` again`);
  }
  const servers: Record<string, SavedLogin> = {};
  const raw = typeof parsed === "object" && parsed !== null ? (parsed as { servers?: unknown }).servers : undefined;
  if (typeof raw === "object" && raw !== null) {
    for (const [key, login] of Object.entries(raw)) if (isSavedLogin(login)) servers[key] = login;
  }
  return { version: 1, servers };
}

/**
 * Writes the file readable by its owner only (0600, in a 0700 directory), through a temporary file and a rename
 * so a crash never leaves half a file. The mode is set explicitly: the umask must not widen it.
 */
async function writeCredentials(file: string, content: CredentialsFile): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

/** The saved login for `server`, or undefined. A file that cannot be read is a usage error naming it. */
export async function loadLogin(server: string, file = credentialsPath()): Promise<SavedLogin | undefined> {
  return (await readCredentials(file)).servers[serverKey(server)];
}

/** Saves (or replaces) the login for `server`, keeping the others. */
export async function saveLogin(server: string, login: SavedLogin, file = credentialsPath()): Promise<void> {
  const content = await readCredentials(file);
  content.servers[serverKey(server)] = login;
  await writeCredentials(file, content);
}

/** Forgets the login for `server`; true when there was one. */
export async function removeLogin(server: string, file = credentialsPath()): Promise<boolean> {
  const content = await readCredentials(file);
  const key = serverKey(server);
  if (!(key in content.servers)) return false;
  delete content.servers[key];
  await writeCredentials(file, content);
  return true;
}
