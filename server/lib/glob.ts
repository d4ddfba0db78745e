const STAR = 0x2a;
const QUESTION = 0x3f;

/**
 * Matches `text` against a `model_match` glob. `*` matches any run of characters (including none), `?` exactly
 * one character, and every other character only itself: regex metacharacters, `[`, `{` and `\` carry no meaning,
 * so a pattern from the config can never be a ReDoS. Matching is case-insensitive (model names are not consistently
 * cased across providers: `*opus*` matches `claude-Opus-4`) and covers the whole text.
 *
 * A "character" is a Unicode code point: `?` matches one emoji, not half a surrogate pair. Case folding is the
 * simple per-code-point lowercase mapping, so it never depends on neighbouring characters.
 *
 * Greedy two-pointer matching with a single backtrack point (the last `*`): O(pattern × text) in the worst case,
 * never exponential, and no allocation.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  /** Pattern index just after the last `*` run seen, or -1 before any. */
  let starP = -1;
  /** Text index where that `*` currently stops matching. */
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length) {
      const pc = pattern.codePointAt(p)!;
      if (pc === STAR) {
        do p++;
        while (p < pattern.length && pattern.charCodeAt(p) === STAR);
        if (p === pattern.length) return true;
        starP = p;
        starT = t;
        continue;
      }
      const tc = text.codePointAt(t)!;
      if (pc === QUESTION || fold(pc) === fold(tc)) {
        p += width(pc);
        t += width(tc);
        continue;
      }
    }
    if (starP === -1) return false;
    // Let the last `*` swallow one more character and retry the rest of the pattern from there.
    starT += width(text.codePointAt(starT)!);
    t = starT;
    p = starP;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/** UTF-16 units taken by a code point (a lone surrogate counts as one). */
function width(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** Lowercases one code point; a code point whose lowercase is not a single code point (e.g. İ) stays as it is. */
function fold(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const lower = String.fromCodePoint(cp).toLowerCase();
  const first = lower.codePointAt(0)!;
  return lower.length === width(first) ? first : cp;
}
