/**
 * CIDEr-D exactly as pycocoevalcap's `Cider().compute_score(gts, res)` (cider/cider_scorer.py,
 * R. Vedantam and T.-Y. Lin; the metric of Vedantam et al., CVPR 2015, "-D" variant):
 * - n = 1..4 gram term frequencies, idf from document frequencies over the *reference* sets
 *   (df(g) = number of images whose references contain g), weight tf * (log(N_images) - log(max(1, df)));
 * - per order, sum over candidate n-grams of min(w_cand, w_ref) * w_ref (clipping), divided by the
 *   two norms unless one of them is 0;
 * - gaussian length penalty exp(-delta^2 / (2 sigma^2)), sigma = 6, where the "length" is the number
 *   of bigrams (tf of 2-grams; the reference code's `n == 1` test), i.e. words - 1 for non-empty text;
 * - image score = 10 * mean over orders of the sum over references / number of references;
 * - corpus score = mean over images.
 * A single-image corpus therefore scores 0 (log 1 = 0).
 */

import { type CaptionCorpus, countNgrams, ngramOrder, pairCorpus, splitWords } from './caption-corpus.js';

export interface CiderOptions {
  n?: number;
  sigma?: number;
}

export interface CiderResult {
  score: number;
  /** Per image, in the order of `ids`. */
  scores: number[];
  ids: string[];
}

interface TfIdfVector {
  vec: Map<string, number>[];
  norm: number[];
  length: number;
}

/** `compute_score(gts, res)` on tokenised captions. */
export function computeCider(gts: CaptionCorpus, res: CaptionCorpus, options: CiderOptions = {}): CiderResult {
  const n = options.n ?? 4;
  const sigma = options.sigma ?? 6;
  if (!Number.isInteger(n) || n < 1) throw new Error(`CIDEr: n must be a positive integer, got ${n}`);
  if (!(sigma > 0)) throw new Error(`CIDEr: sigma must be > 0, got ${sigma}`);
  const pairs = pairCorpus(gts, res, 'CIDEr');

  const cookedRefs = pairs.map((p) => p.refs.map((r) => countNgrams(splitWords(r), n)));
  const cookedTests = pairs.map((p) => countNgrams(splitWords(p.candidate), n));

  const docFreq = new Map<string, number>();
  for (const refs of cookedRefs) {
    const seen = new Set<string>();
    for (const ref of refs) for (const gram of ref.keys()) seen.add(gram);
    for (const gram of seen) docFreq.set(gram, (docFreq.get(gram) ?? 0) + 1);
  }
  const refLen = Math.log(pairs.length);

  const toVec = (counts: Map<string, number>): TfIdfVector => {
    const vec = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    let length = 0;
    for (const [gram, tf] of counts) {
      const df = Math.log(Math.max(1, docFreq.get(gram) ?? 0));
      const k = ngramOrder(gram) - 1;
      const w = tf * (refLen - df);
      vec[k]?.set(gram, w);
      norm[k] = (norm[k] ?? 0) + w * w;
      if (k === 1) length += tf;
    }
    return { vec, norm: norm.map(Math.sqrt), length };
  };

  const sim = (hyp: TfIdfVector, ref: TfIdfVector): number[] => {
    const delta = hyp.length - ref.length;
    const penalty = Math.E ** (-(delta * delta) / (2 * sigma * sigma));
    const val: number[] = [];
    for (let k = 0; k < n; k++) {
      const refVec = ref.vec[k] ?? new Map<string, number>();
      let v = 0;
      for (const [gram, w] of hyp.vec[k] ?? []) {
        const r = refVec.get(gram) ?? 0;
        v += Math.min(w, r) * r;
      }
      const nh = hyp.norm[k] ?? 0;
      const nr = ref.norm[k] ?? 0;
      if (nh !== 0 && nr !== 0) v /= nh * nr;
      val.push(v * penalty);
    }
    return val;
  };

  const scores = pairs.map((_, i) => {
    const hyp = toVec(cookedTests[i] ?? new Map<string, number>());
    const refs = cookedRefs[i] ?? [];
    const acc = new Array<number>(n).fill(0);
    for (const ref of refs) {
      sim(hyp, toVec(ref)).forEach((v, k) => (acc[k] = (acc[k] ?? 0) + v));
    }
    const meanOverOrders = acc.reduce((a, b) => a + b, 0) / n;
    return (meanOverOrders / refs.length) * 10;
  });
  const score = scores.reduce((a, b) => a + b, 0) / scores.length;
  return { score, scores, ids: pairs.map((p) => p.id) };
}
