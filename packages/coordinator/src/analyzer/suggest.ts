/**
 * Edit distance counting insertions, deletions, substitutions and swaps of neighbours as one
 * edit each (optimal string alignment), so `biuld` is one edit from `build`.
 */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * The candidate closest to `word`, if one is close enough to be a plausible typo: equal but for
 * case, within a third of the word's length in edits, or sharing a prefix of three or more
 * characters and within three edits (`retry` → `retries`).
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const other = candidate.toLowerCase();
    if (Math.abs(other.length - lower.length) > 3) continue;
    const d = other === lower ? 0 : distance(lower, other);
    const prefix = commonPrefix(lower, other);
    if (d > limit && !(prefix >= 3 && d <= 3)) continue;
    // Fewer edits first; among equals, the longer shared prefix.
    const score = d * 100 - prefix;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** " Did you mean `x`?" when a close candidate exists, else "". */
export function didYouMean(word: string, candidates: Iterable<string>, quote: (s: string) => string): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` Did you mean ${quote(match)}?`;
}
