/**
 * Input checks and n-gram counting shared by BLEU and CIDEr-D, mirroring pycocoevalcap:
 * `gts` maps image id -> reference captions, `res` maps image id -> a one-element list with the
 * candidate; both hold already tokenised strings (see ptb-tokenize.ts), and `precook` splits them
 * with Python's `str.split()`.
 */

/** image id -> captions (already tokenised, words separated by whitespace). */
export type CaptionCorpus = Readonly<Record<string, readonly string[]>>;

export interface CaptionPair {
  readonly id: string;
  readonly candidate: string;
  readonly refs: readonly string[];
}

/** Validates like `Bleu/Cider.compute_score` (same ids, exactly one candidate, >= 1 reference). */
export function pairCorpus(gts: CaptionCorpus, res: CaptionCorpus, metric: string): CaptionPair[] {
  const ids = Object.keys(gts);
  const resIds = Object.keys(res);
  const missing = ids.filter((id) => !Object.hasOwn(res, id));
  const extra = resIds.filter((id) => !Object.hasOwn(gts, id));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `${metric}: gts and res must have the same image ids ` +
        `(missing in res: [${missing.slice(0, 5).join(', ')}], ` +
        `missing in gts: [${extra.slice(0, 5).join(', ')}])`,
    );
  }
  if (ids.length === 0) throw new Error(`${metric}: no images to score`);
  return ids.map((id) => {
    const hypo = res[id] ?? [];
    const refs = gts[id] ?? [];
    if (hypo.length !== 1) {
      throw new Error(`${metric}: image ${id} must have exactly one candidate, got ${hypo.length}`);
    }
    if (refs.length < 1) throw new Error(`${metric}: image ${id} has no reference captions`);
    return { id, candidate: hypo[0] ?? '', refs };
  });
}

/** Python 3 `str.split()` whitespace (str.isspace), which differs from JS `\s`. */
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

export function splitWords(s: string): string[] {
  return s.split(PY_WHITESPACE).filter((w) => w.length > 0);
}

/**
 * `precook`: counts of all 1..n-grams. An n-gram key is its words joined by one space, which is
 * unambiguous because words never contain whitespace; its order is the number of spaces + 1.
 */
export function countNgrams(words: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 1; k <= n; k++) {
    for (let i = 0; i + k <= words.length; i++) {
      const key = words.slice(i, i + k).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

export function ngramOrder(key: string): number {
  let spaces = 0;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 32) spaces++;
  return spaces + 1;
}
