import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { llmuxError, Reason } from "../../errors/llmux-error.js";
import { hasControlChars } from "../../lib/control-chars.js";

// Request validation for the admin service. Every check names the field at fault (`param`) and never echoes a
// secret; lengths are capped before any expensive work.

const USERNAME = /^[a-z0-9._-]{1,64}$/;
/** Shortest password accepted (NIST SP 800-63B asks for at least 8; llmux asks for 12). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted: scrypt takes any length, but a megabyte "password" is an attack, not a password. */
export const MAX_PASSWORD_LENGTH = 1024;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** Model patterns per key, and characters per pattern (the glob matcher is linear, but inputs stay small). */
const MAX_MODEL_PATTERNS = 100;
const MAX_PATTERN_LENGTH = 256;
const MAX_KEY_NAME_LENGTH = 100;
/** Page size when none is asked for, and the largest served (larger requests are served this many). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

function invalid(message: string, param: string): never {
  throw llmuxError(Reason.INVALID_REQUEST, message, { param });
}

/**
 * A username, lowercased (usernames are case-insensitive: `Alice` and `alice` are one account). 1-64 letters,
 * digits, `.`, `_` or `-`.
 */
export function normalizeUsername(text: string, param = "username"): string {
  const username = text.trim().toLowerCase();
  if (!USERNAME.test(username)) invalid("username must be 1-64 characters: letters, digits, '.', '_' or '-'", param);
  return username;
}

/** Checks a new password's length; the message never contains it. */
export function checkNewPassword(password: string, param: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) invalid(`${param} must be at least ${MIN_PASSWORD_LENGTH} characters`, param);
  if (password.length > MAX_PASSWORD_LENGTH) invalid(`${param} must be at most ${MAX_PASSWORD_LENGTH} characters`, param);
}

/** Checks a presented password (login, current password): present and not absurdly long. */
export function checkPresentedPassword(password: string, param: string): void {
  if (password.length === 0) invalid(`${param} is required`, param);
  if (password.length > MAX_PASSWORD_LENGTH) invalid(`${param} must be at most ${MAX_PASSWORD_LENGTH} characters`, param);
}

/** An email address (loosely: something@something, no spaces) or empty. */
export function checkEmail(email: string): string {
  const value = email.trim();
  if (value !== "" && (value.length > 254 || !EMAIL.test(value))) invalid("email must be an address like name@example.com, or empty", "email");
  return value;
}

/** A key's label: 1-100 characters without control characters. */
export function checkKeyName(name: string): string {
  const value = name.trim();
  if (value.length === 0 || value.length > MAX_KEY_NAME_LENGTH || hasControlChars(value)) {
    invalid(`name must be 1-${MAX_KEY_NAME_LENGTH} characters without control characters`, "name");
  }
  return value;
}

/** Model globs for a key: at most 100, each 1-256 characters without control characters. */
export function checkModelPatterns(patterns: readonly string[]): string[] {
  if (patterns.length > MAX_MODEL_PATTERNS) invalid(`allowed_models may list at most ${MAX_MODEL_PATTERNS} patterns`, "allowed_models");
  return patterns.map((pattern, i) => {
    if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH || hasControlChars(pattern)) {
      invalid(`allowed_models[${i}] must be 1-${MAX_PATTERN_LENGTH} characters without control characters`, `allowed_models[${i}]`);
    }
    return pattern;
  });
}

/** A uint64 limit as a number; values beyond 2^53 are refused rather than rounded. */
export function checkLimit(value: bigint, param: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`${param} must be at most ${Number.MAX_SAFE_INTEGER}`, param);
  return Number(value);
}

/** A timestamp as epoch ms, or undefined when unset; out-of-range values are refused. */
export function optionalTime(value: Timestamp | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = timestampMs(value);
  if (!Number.isSafeInteger(ms) || ms < 0) invalid(`${param} is out of range`, param);
  return ms;
}

/** The page size to serve for a requested one (0: the default; above the maximum: the maximum). */
export function pageSize(requested: number): number {
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** An opaque page token for a position. */
export function encodePageToken(position: unknown): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/**
 * Decodes a page token made by {@link encodePageToken}; `check` narrows it. A token that does not decode is the
 * client's error (INVALID_REQUEST), never an exception from JSON.parse.
 */
export function decodePageToken<T>(token: string, check: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (check(value)) return value;
  } catch {
    // Falls through to the error below.
  }
  return invalid("page_token is not a token from a previous response", "page_token");
}
