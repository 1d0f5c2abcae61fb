// Retrieval evaluation as the official `compute_irtr_recall` does it (spec F): every (image, caption)
// pair of the split is scored by a cross-encoder, texts batched against one image at a time, into the
// matrix S[N_img, N_txt]; TR / IR recall@1/5/10 are read from it with `retrievalRecall`.
// The scorer is pluggable: rank_output(cls_feats) for a fine-tuned model, the pretraining loss for
// zero-shot retrieval (zero-shot.ts), or a hand-made matrix in the tests.
import { noGrad, tensor, tidy, type Tensor } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { retrievalRanks, retrievalRecall, type RetrievalRecall } from '../../eval/metrics/retrieval.js';
import { clsFeatures, type RetrievalRankList } from '../common/task.js';
import type { RetrievalSet } from './data.js';
import type { ProcessGroup } from '../../dist/process-group.js';

/** A batch of tokenized texts: rows [start, start + count) of the split's caption list. */
export interface TextSlice {
  ids: Tensor; // [T, L] int64
  masks: Tensor; // [T, L] int64
  wordIds: Tensor; // [T, L] int64, -1 on specials and pads
  start: number;
  count: number;
}

export interface PairScorer {
  /** Scores (higher = better match) of one image [1, 3, S, S] against a text slice: T numbers. */
  score(image: Tensor, imageIndex: number, texts: TextSlice): ArrayLike<number>;
}

/** rank_output(cls_feats)[:, 0] of a retrieval fine-tuned model (spec F step 1). */
export function rankScorer(model: FLMModel): PairScorer {
  const head = model.rank_output;
  if (!head) throw new Error('this model has no rank_output head: fine-tune it with `flm finetune retrieval`, or score with --zero-shot');
  return {
    score(image, _i, t) {
      const img = image.expand(t.count, -1, -1, -1).contiguous(); // [T, 3, S, S]
      return head.forward(clsFeatures(model, img, t.ids, t.masks)).select(1, 0).toTypedArray() as Float32Array; // [T]
    },
  };
}

export interface RetrievalEvaluation extends RetrievalRecall {
  n_images: number;
  n_texts: number;
  /** TR@1 + IR@1, the selection metric (spec F) */
  r1_sum: number;
  elapsed_s: number;
}

/** The metrics and, per query, where its first correct item ranks. */
export interface RetrievalOutcome {
  metrics: RetrievalEvaluation;
  ranks: RetrievalRankList;
  /** per image (TR) and per caption (IR): 1 where the first correct item is within K */
  items: Record<string, number[]>;
}

export interface ScoreOptions {
  /** texts per forward pass */
  textBatch?: number;
  progress?: (m: string) => void;
  /**
   * Data parallelism: each rank scores a contiguous block of the images against every text and an
   * all-gather assembles the matrix on every rank (the official evaluation splits the images the same way).
   */
  pg?: ProcessGroup | null;
}

/** S[N_img, N_txt] row-major. */
export function scoreMatrix(set: RetrievalSet, scorer: PairScorer, tok: TextTokenizer, o: ScoreOptions = {}): Float32Array {
  const world = o.pg?.worldSize ?? 1;
  if (o.pg && world > 1) {
    const nImg = set.imageIds.length;
    const nTxt = set.texts.length;
    const per = Math.ceil(nImg / world);
    const lo = Math.min(nImg, o.pg.rank * per);
    const hi = Math.min(nImg, lo + per);
    const mine = scoreRows(set, scorer, tok, lo, hi, o);
    const padded = new Float32Array(per * nTxt); // the last rank's block may be short (or empty)
    padded.set(mine);
    return tidy(() => {
      const all = o.pg!.allGatherCat(tensor(padded, { shape: [per, nTxt] }), 0); // [world·per, N_txt]
      return Float32Array.from(all.narrow(0, 0, nImg).toFlatArray());
    });
  }
  return scoreRows(set, scorer, tok, 0, set.imageIds.length, o);
}

/** Rows lo..hi-1 of the score matrix, [hi - lo, N_txt] row-major. */
function scoreRows(set: RetrievalSet, scorer: PairScorer, tok: TextTokenizer, lo: number, hi: number, o: ScoreOptions): Float32Array {
  const nImg = hi - lo;
  const nTxt = set.texts.length;
  const T = Math.max(1, o.textBatch ?? 64);
  const S = set.imageSize;
  const plane = 3 * S * S;
  const enc = tok.encodeBatch(set.texts);
  const scores = new Float32Array(Math.max(0, nImg) * nTxt);
  const all = {
    ids: tensor(enc.ids, { shape: enc.shape, dtype: 'int64' }), // [N_txt, L]
    masks: tensor(enc.attentionMask, { shape: enc.shape, dtype: 'int64' }), // [N_txt, L]
    wordIds: tensor(enc.wordIds, { shape: enc.shape, dtype: 'int64' }), // [N_txt, L]
  };
  const t0 = performance.now();
  let lastNote = t0;
  try {
    for (let i = 0; i < nImg; i++) {
      noGrad(() => tidy(() => {
        const row = lo + i;
        const image = tensor(set.images.subarray(row * plane, (row + 1) * plane), { shape: [1, 3, S, S] }); // [1, 3, S, S]
        for (let start = 0; start < nTxt; start += T) {
          const count = Math.min(T, nTxt - start);
          tidy(() => {
            const slice: TextSlice = {
              ids: all.ids.narrow(0, start, count), masks: all.masks.narrow(0, start, count), wordIds: all.wordIds.narrow(0, start, count), start, count,
            };
            const s = scorer.score(image, row, slice);
            if (s.length !== count) throw new RangeError(`scorer returned ${s.length} scores for ${count} texts`);
            scores.set(s, i * nTxt + start);
          });
        }
      }));
      const now = performance.now();
      if (o.progress && (now - lastNote > 10_000 || i === nImg - 1)) {
        lastNote = now;
        const done = (i + 1) / nImg;
        o.progress(`scored ${i + 1}/${nImg} images x ${nTxt} texts (${((now - t0) / 1000).toFixed(0)} s, eta ${(((now - t0) / 1000) * (1 / done - 1)).toFixed(0)} s)`);
      }
    }
  } finally {
    for (const t of Object.values(all)) t.dispose();
  }
  return scores;
}

/** Scores the whole split and reads recall@K off the matrix. */
export function evaluateRetrieval(set: RetrievalSet, scorer: PairScorer, tok: TextTokenizer, o: ScoreOptions = {}): RetrievalOutcome {
  const t0 = performance.now();
  const scores = scoreMatrix(set, scorer, tok, o);
  const input = { scores, nImg: set.imageIds.length, nTxt: set.texts.length, imageIds: set.imageIds, textImageIds: set.textImageIds };
  const r = retrievalRecall(input);
  const rank = retrievalRanks(input);
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  const items: Record<string, number[]> = {};
  for (const k of [1, 5, 10]) {
    items[`tr_r${k}`] = rank.text.map((x) => (x <= k ? 1 : 0));
    items[`ir_r${k}`] = rank.image.map((x) => (x <= k ? 1 : 0));
  }
  return {
    metrics: { ...r, r1_sum: r.tr_r1 + r.ir_r1, n_images: set.imageIds.length, n_texts: set.texts.length, elapsed_s: Number(((performance.now() - t0) / 1000).toFixed(2)) },
    ranks: {
      images: set.imageIds.map((id, i) => ({ image_id: id, rank: finite(rank.text[i]!) })),
      texts: set.texts.map((text, j) => ({ text, image_id: set.textImageIds[j]!, rank: finite(rank.image[j]!) })),
    },
    items,
  };
}
