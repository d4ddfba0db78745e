/**
 * Edit distance between two strings, counting insertions, deletions, substitutions and swaps of two adjacent
 * characters (optimal string alignment, the restricted Damerau-Levenshtein distance). Typos in config keys are
 * mostly a missing, extra or swapped letter, which this counts as one edit each.
 */
function editDistance(a: string, b: string): number {
  // Three rolling rows: the transposition case looks two rows back.
  let prevPrev: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prevPrev[j - 2] + 1);
      row.push(d);
    }
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate nearest to `word`, for "did you mean …?" hints; undefined when nothing is near enough.
 *
 * Comparison ignores case (`PORT` suggests `port`). A candidate qualifies when its distance is at most
 * max(2, ⌊len/3⌋) where len is the length of `word`, so short words do not attract unrelated suggestions and
 * long ones tolerate proportionally more typos. Ties go to the earlier candidate, so callers list the most
 * likely names first.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // The distance is at least the length difference; skipping early keeps huge keys cheap.
    if (Math.abs(candidate.length - word.length) > limit) continue;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
