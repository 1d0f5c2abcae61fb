/**
 * BLEU-1..n exactly as pycocoevalcap computes it: `Bleu(4).compute_score(gts, res)`, i.e.
 * bleu/bleu_scorer.py (David Chiang's scorer as modified for coco-caption by H. Fang and T.-Y. Lin):
 * - clipped n-gram counts against the per-n-gram maximum over the references;
 * - "closest" effective reference length per sentence (ties go to the shorter reference);
 * - corpus-level precisions from summed counts, smoothed as (correct + 1e-15) / (guess + 1e-9);
 * - brevity penalty exp(1 - 1/ratio) when ratio = (testlen + 1e-15) / (reflen + 1e-9) < 1,
 *   which makes a perfect match score 1 - 2e-10 rather than exactly 1.
 * `score[k]` is the corpus BLEU-(k+1) (what COCOEvalCap reports); `scores[k]` holds the per-image
 * values computed the same way from that image's counts alone (the salaniz/pycocoevalcap list).
 */

import { type CaptionCorpus, countNgrams, ngramOrder, pairCorpus, splitWords } from './caption-corpus.js';

const SMALL = 1e-9;
const TINY = 1e-15;

export interface BleuResult {
  /** Corpus BLEU-1..n. */
  score: number[];
  /** Per image (in `gts` key order), per order: `scores[k][i]`. */
  scores: number[][];
  /** Ids in the order of `scores[k]`. */
  ids: string[];
  testLength: number;
  refLength: number;
}

interface Cooked {
  testlen: number;
  reflen: number;
  guess: number[];
  correct: number[];
}

function cook(candidate: string, refs: readonly string[], n: number): Cooked {
  const refLens: number[] = [];
  const maxCounts = new Map<string, number>();
  for (const ref of refs) {
    const words = splitWords(ref);
    refLens.push(words.length);
    for (const [gram, c] of countNgrams(words, n)) {
      maxCounts.set(gram, Math.max(maxCounts.get(gram) ?? 0, c));
    }
  }
  const testWords = splitWords(candidate);
  const testlen = testWords.length;
  // min over (|l - testlen|, l): closest reference length, shorter one on ties.
  let reflen = refLens[0] ?? 0;
  for (const l of refLens) {
    const d = Math.abs(l - testlen);
    const best = Math.abs(reflen - testlen);
    if (d < best || (d === best && l < reflen)) reflen = l;
  }
  const guess: number[] = [];
  for (let k = 1; k <= n; k++) guess.push(Math.max(0, testlen - k + 1));
  const correct: number[] = new Array<number>(n).fill(0);
  for (const [gram, c] of countNgrams(testWords, n)) {
    const k = ngramOrder(gram) - 1;
    correct[k] = (correct[k] ?? 0) + Math.min(maxCounts.get(gram) ?? 0, c);
  }
  return { testlen, reflen, guess, correct };
}

function bleuFromCounts(
  correct: readonly number[],
  guess: readonly number[],
  testlen: number,
  reflen: number,
): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let k = 0; k < correct.length; k++) {
    prod *= ((correct[k] ?? 0) + TINY) / ((guess[k] ?? 0) + SMALL);
    out.push(prod ** (1 / (k + 1)));
  }
  const ratio = (testlen + TINY) / (reflen + SMALL);
  if (ratio < 1) {
    const bp = Math.exp(1 - 1 / ratio);
    for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) * bp;
  }
  return out;
}

/** `Bleu(n).compute_score(gts, res)` on tokenised captions. */
export function computeBleu(gts: CaptionCorpus, res: CaptionCorpus, n = 4): BleuResult {
  if (!Number.isInteger(n) || n < 1) throw new Error(`BLEU: n must be a positive integer, got ${n}`);
  const pairs = pairCorpus(gts, res, 'BLEU');
  const totalGuess = new Array<number>(n).fill(0);
  const totalCorrect = new Array<number>(n).fill(0);
  let testLength = 0;
  let refLength = 0;
  const scores: number[][] = Array.from({ length: n }, () => []);
  for (const { candidate, refs } of pairs) {
    const c = cook(candidate, refs, n);
    testLength += c.testlen;
    refLength += c.reflen;
    for (let k = 0; k < n; k++) {
      totalGuess[k] = (totalGuess[k] ?? 0) + (c.guess[k] ?? 0);
      totalCorrect[k] = (totalCorrect[k] ?? 0) + (c.correct[k] ?? 0);
    }
    bleuFromCounts(c.correct, c.guess, c.testlen, c.reflen).forEach((v, k) => scores[k]?.push(v));
  }
  return {
    score: bleuFromCounts(totalCorrect, totalGuess, testLength, refLength),
    scores,
    ids: pairs.map((p) => p.id),
    testLength,
    refLength,
  };
}
