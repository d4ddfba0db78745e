/**
 * True when two strings are equal, in time that depends only on their lengths (it never stops at the first
 * difference). For digests of secrets, whose length is fixed.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
