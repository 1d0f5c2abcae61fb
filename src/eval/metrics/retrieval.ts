/**
 * Image-text retrieval recall@K as FLM/ViLT compute it (`compute_irtr_recall` /
 * `calculate_metric`, flm-spec section F) from the full score matrix S[nImg][nTxt]:
 * - text retrieval (TR) R@K: per image row, a hit if any of the K best-scoring captions belongs to
 *   the row's image id; averaged over rows;
 * - image retrieval (IR) R@K: per caption column, a hit if the image id of any of the K
 *   best-scoring rows equals the caption's image id; averaged over captions.
 * Rows are compared by image id, so rows that repeat an id (DistributedSampler padding) count as
 * that image, both as queries and as retrieved items, exactly like the torch code.
 *
 * Ties: torch.topk does not specify an order for equal scores; here the lower index ranks first.
 * K larger than the number of candidates is clamped (torch.topk would raise).
 * Values are fractions in [0, 1]; `rsum` is the sum of the six recalls.
 */

export type ItemId = number | string;

export interface RetrievalInput {
  /** Row-major scores, `scores[i * nTxt + j]` = score(image row i, caption j). */
  scores: Float32Array | Float64Array;
  nImg: number;
  nTxt: number;
  /** Image id of each row (length nImg; may repeat). */
  imageIds: readonly ItemId[];
  /** Image id of each caption column (length nTxt). */
  textImageIds: readonly ItemId[];
}

export interface RetrievalRecall {
  tr_r1: number;
  tr_r5: number;
  tr_r10: number;
  ir_r1: number;
  ir_r5: number;
  ir_r10: number;
  rsum: number;
}

const KS = [1, 5, 10] as const;
const MAX_K = 10;

/** Indices of the k largest of get(0..n-1), best first; equal values keep the lower index first. */
function topK(n: number, k: number, get: (i: number) => number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (idx.length === k && v <= (val[k - 1] ?? -Infinity)) continue;
    let at = idx.length < k ? idx.length : k - 1;
    while (at > 0 && v > (val[at - 1] ?? -Infinity)) at--;
    idx.splice(at, 0, i);
    val.splice(at, 0, v);
    if (idx.length > k) {
      idx.pop();
      val.pop();
    }
  }
  return idx;
}

function validate(input: RetrievalInput): void {
  const { scores, nImg, nTxt, imageIds, textImageIds } = input;
  if (!Number.isInteger(nImg) || nImg < 1 || !Number.isInteger(nTxt) || nTxt < 1) {
    throw new Error(`retrievalRecall: nImg and nTxt must be positive integers, got ${nImg} x ${nTxt}`);
  }
  if (scores.length !== nImg * nTxt) {
    throw new Error(`retrievalRecall: scores has ${scores.length} values, expected ${nImg} x ${nTxt} = ${nImg * nTxt}`);
  }
  if (imageIds.length !== nImg) {
    throw new Error(`retrievalRecall: imageIds has ${imageIds.length} entries, expected nImg = ${nImg}`);
  }
  if (textImageIds.length !== nTxt) {
    throw new Error(`retrievalRecall: textImageIds has ${textImageIds.length} entries, expected nTxt = ${nTxt}`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) {
      throw new Error(`retrievalRecall: NaN score at image row ${Math.floor(i / nTxt)}, caption ${i % nTxt}`);
    }
  }
}

export function retrievalRecall(input: RetrievalInput): RetrievalRecall {
  validate(input);
  const { scores, nImg, nTxt, imageIds, textImageIds } = input;
  const tr = [0, 0, 0];
  const ir = [0, 0, 0];

  for (let i = 0; i < nImg; i++) {
    const row = i * nTxt;
    const best = topK(nTxt, Math.min(MAX_K, nTxt), (j) => scores[row + j] ?? NaN);
    const firstHit = best.findIndex((j) => textImageIds[j] === imageIds[i]);
    KS.forEach((k, s) => {
      if (firstHit >= 0 && firstHit < k) tr[s] = (tr[s] ?? 0) + 1;
    });
  }
  for (let j = 0; j < nTxt; j++) {
    const best = topK(nImg, Math.min(MAX_K, nImg), (i) => scores[i * nTxt + j] ?? NaN);
    const firstHit = best.findIndex((i) => imageIds[i] === textImageIds[j]);
    KS.forEach((k, s) => {
      if (firstHit >= 0 && firstHit < k) ir[s] = (ir[s] ?? 0) + 1;
    });
  }

  const [tr1 = 0, tr5 = 0, tr10 = 0] = tr.map((c) => c / nImg);
  const [ir1 = 0, ir5 = 0, ir10 = 0] = ir.map((c) => c / nTxt);
  return {
    tr_r1: tr1,
    tr_r5: tr5,
    tr_r10: tr10,
    ir_r1: ir1,
    ir_r5: ir5,
    ir_r10: ir10,
    rsum: tr1 + tr5 + tr10 + ir1 + ir5 + ir10,
  };
}

export interface RetrievalRanks {
  /** per image row: the rank (1 = best) of its best-ranked true caption among all captions */
  text: number[];
  /** per caption column: the rank of its best-ranked true image row among all rows */
  image: number[];
}

/**
 * Where each query's first correct item lands, with the tie rule of `retrievalRecall` (an equal score
 * at a lower index ranks first): R@K is the share of ranks <= K. A query with no correct item gets
 * Infinity.
 */
export function retrievalRanks(input: RetrievalInput): RetrievalRanks {
  validate(input);
  const { scores, nImg, nTxt, imageIds, textImageIds } = input;
  const rankOf = (n: number, get: (i: number) => number, hit: (i: number) => boolean): number => {
    let best = -1;
    for (let i = 0; i < n; i++) if (hit(i) && (best < 0 || get(i) > get(best))) best = i;
    if (best < 0) return Infinity;
    const v = get(best);
    let above = 0;
    for (let i = 0; i < n; i++) if (get(i) > v || (get(i) === v && i < best)) above++;
    return above + 1;
  };
  const text = Array.from({ length: nImg }, (_, i) => rankOf(nTxt, (j) => scores[i * nTxt + j]!, (j) => textImageIds[j] === imageIds[i]));
  const image = Array.from({ length: nTxt }, (_, j) => rankOf(nImg, (i) => scores[i * nTxt + j]!, (i) => imageIds[i] === textImageIds[j]));
  return { text, image };
}
