/** Bounds applied to an upstream's Retry-After, in milliseconds. */
export const RETRY_AFTER_MIN_MS = 1_000;
export const RETRY_AFTER_MAX_MS = 300_000;

type HeaderValue = string | string[] | undefined;

function first(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads how long an upstream asks us to wait: `retry-after-ms` first, then `retry-after` as seconds or as an
 * HTTP date. Returns undefined for absent or unparsable values (the caller falls back to its own backoff), and
 * clamps everything else to 1 s … 5 min so a hostile or broken upstream cannot park a backend for days.
 */
export function parseRetryAfter(headers: Record<string, HeaderValue>, now: number): number | undefined {
  const ms = first(headers["retry-after-ms"]);
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return clamp(Number(ms));
  const value = first(headers["retry-after"])?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return clamp(Number(value) * 1000);
  if (/^[A-Za-z]{3}, /.test(value)) {
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return clamp(date - now);
  }
  return undefined;
}

function clamp(ms: number): number {
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, Math.round(ms)));
}
