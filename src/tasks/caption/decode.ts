// Caption decoding on the forward stream (spec D.11): greedy (the official decoder) and beam search,
// both batched over images.
//
// Official greedy decoding recomputes the whole three-stream forward at every step and reads
// lm_score(text_feats1)[:, -1]. The forward stream never reads the reverse stream or the reconstructor
// (fusion is one-way into the reconstructor, B.5), so running the forward stream alone gives the same
// logits at a third of the cost; the image tokens are computed once per batch. Rows are independent, so
// finished rows are simply dropped from the batch (the official code keeps them with a 0 mask entry).
//
// Beam search follows fairseq: each step takes the best k·(1 + #stop tokens) extensions of all live
// beams; a stop token ranked among the best k ends a hypothesis, the best k other extensions live on;
// an image is done once it has k ended hypotheses, or at the length limit, where its live beams end.
// The result is the hypothesis with the best sum(log p) / length^lengthPenalty (length counts the stop
// token). With k = 1 this is exactly greedy decoding.
import { Tensor, noGrad, ones, tensor, tidy } from '../../tensor/index.js';
import { forwardMask, toAdditive } from '../../objectives/index.js';
import type { FLMModel } from '../../models/index.js';
import type { MLMHead } from '../../models/heads.js';

export interface DecodeTokens {
  cls: number;
  /** prompt after `<s>` (official caption_prompt '<bos>') */
  bos: number;
  /** decoding of a row stops at any of these (`<eos>` and `</s>`, D.11 step 3) */
  stop: readonly number[];
}

export interface DecodeOptions {
  /** generated tokens at most, the stop token included (official 30; capped at max_text_len - 1) */
  maxSteps?: number;
  /** beam size (1: greedy, the official decoder) */
  beam?: number;
  /** beam score = sum(log p) / length^lengthPenalty (default 1) */
  lengthPenalty?: number;
}

export interface Generation {
  /** generated ids, without the prompt and the stop token */
  ids: number[];
  /** true when a stop token ended it, false when the length limit did */
  stopped: boolean;
}

/** Image tokens of the cross-modal layers, as FLMModel.forward builds them (B.5 step 6): [B, N_img, H]. */
export function captionImageTokens(model: FLMModel, image: Tensor): Tensor {
  return tidy(() => {
    const v = model.vit_model.forward(image); // [B, N_img, Wv]
    const tt = model.token_type_embeddings.weight.select(0, model.config.image_token_type_idx); // [H]
    return model.cross_modal_image_transform.forward(v).add(tt); // [B, N_img, H]
  });
}

/**
 * The forward (l2r) stream of FLMModel.forward alone (B.5 steps 2, 4, 5, 7 for F): text_feats1.
 * img: captionImageTokens [B, N_img, H]; ids [B, L] int64; mask: the additive forward mask [B, 1, L, L].
 */
export function forwardStream(model: FLMModel, img: Tensor, ids: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    let f = model.text_transformer.embeddings.forward(ids); // [B, L, H]
    for (const layer of model.text_transformer.layers) f = layer.forward(f, mask); // [B, L, H]
    f = model.cross_modal_text_transform.forward(f).add(model.token_type_embeddings.weight.select(0, 0)); // [B, L, H]
    // the official unconverted all-ones image mask (+1 on every image score; softmax-invariant, see flm.ts)
    const imgMask = ones([1, 1, 1, img.shape[1]!], { dtype: img.dtype, device: img.device }); // [1, 1, 1, N_img]
    for (const layer of model.cross_modal_text_layers.items) f = layer.forward(f, img, mask, imgMask); // [B, L, H]
    return f;
  });
}

/** The LM head of the forward stream: lm_score_r of a pretrained FLM model, lm_score of a caption model. */
export function forwardHead(model: FLMModel): MLMHead {
  const head = model.lm_score_r ?? model.lm_score;
  if (!head) throw new Error('the model has no LM head (lm_score): it cannot generate text');
  return head;
}

/** Log-probabilities of the next token after each row: [R, V]. rows: token ids, all of one length. */
function nextLogProbs(model: FLMModel, img: Tensor, rows: readonly (readonly number[])[]): Tensor {
  return tidy(() => {
    const R = rows.length;
    const T = rows[0]!.length;
    const ids = tensor(Int32Array.from(rows.flat()), { shape: [R, T], dtype: 'int64' }); // [R, T]
    const mask = toAdditive(forwardMask(ones([R, T], { dtype: 'int64' }))); // [R, 1, T, T]
    const f = forwardStream(model, img, ids, mask); // [R, T, H]
    return forwardHead(model).forward(f.select(1, T - 1)).logSoftmax(-1); // [R, V]
  });
}

/** Generated tokens at most when not given (official 30). */
export const DEFAULT_CAPTION_STEPS = 30;

function stepsOf(model: FLMModel, o: DecodeOptions): number {
  const n = o.maxSteps ?? DEFAULT_CAPTION_STEPS;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`maxSteps must be a positive integer, got ${n}`);
  // the longest input is <s> <bos> + (steps - 1) generated tokens, within the trained text length
  return Math.min(n, model.config.max_text_len - 1);
}

const rowsOf = (img: Tensor, items: readonly number[]): Tensor =>
  items.length === img.shape[0] && items.every((b, i) => b === i) ? img.alias() : img.indexSelect(0, tensor([...items], { dtype: 'int64' }));

/** Greedy decoding (D.11 steps 1-4). image: [B, 3, S, S]. */
export function greedyDecode(model: FLMModel, image: Tensor, tok: DecodeTokens, o: DecodeOptions = {}): Generation[] {
  const steps = stepsOf(model, o);
  const B = image.shape[0]!;
  const out: Generation[] = Array.from({ length: B }, () => ({ ids: [], stopped: false }));
  return noGrad(() => {
    const img = captionImageTokens(model, image); // [B, N_img, H]
    try {
      let active = Array.from({ length: B }, (_, b) => b);
      for (let step = 0; step < steps && active.length > 0; step++) {
        const next = tidy(() => nextLogProbs(model, rowsOf(img, active), active.map((b) => [tok.cls, tok.bos, ...out[b]!.ids])).argmax(-1).toFlatArray()); // [R]
        active = active.filter((b, i) => {
          const t = next[i]!;
          if (tok.stop.includes(t)) out[b]!.stopped = true;
          else out[b]!.ids.push(t);
          return !out[b]!.stopped;
        });
      }
      return out;
    } finally {
      img.dispose();
    }
  });
}

interface Hyp {
  ids: number[];
  /** sum of log p */
  logp: number;
}

interface Ended extends Generation {
  score: number;
}

/** Beam search (see the header). image: [B, 3, S, S]. */
export function beamDecode(model: FLMModel, image: Tensor, tok: DecodeTokens, o: DecodeOptions = {}): Generation[] {
  const k = o.beam ?? 4;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`beam must be a positive integer, got ${k}`);
  const lp = o.lengthPenalty ?? 1;
  const steps = stepsOf(model, o);
  const B = image.shape[0]!;
  const live: Hyp[][] = Array.from({ length: B }, () => [{ ids: [], logp: 0 }]);
  const ended: Ended[][] = Array.from({ length: B }, () => []);
  const end = (b: number, h: Hyp, stopped: boolean): void => {
    ended[b]!.push({ ids: h.ids, stopped, score: h.logp / (h.ids.length + (stopped ? 1 : 0)) ** lp });
  };
  noGrad(() => {
    const img = captionImageTokens(model, image); // [B, N_img, H]
    try {
      let active = Array.from({ length: B }, (_, b) => b);
      for (let step = 0; step < steps && active.length > 0; step++) {
        const rowItem = active.flatMap((b) => live[b]!.map(() => b));
        const rowHyp = active.flatMap((b) => live[b]!);
        let c = 0;
        const { values, indices } = tidy(() => {
          const logp = nextLogProbs(model, rowsOf(img, rowItem), rowHyp.map((h) => [tok.cls, tok.bos, ...h.ids])); // [R, V]
          c = Math.min(k * (1 + tok.stop.length), logp.shape[1]!);
          const top = logp.topk(c, -1); // [R, c]
          return { values: top.values.toFlatArray(), indices: top.indices.toFlatArray() };
        });
        const last = step === steps - 1;
        active = active.filter((b) => {
          // the best c extensions of the item are among the best c of each of its rows
          const cands: Array<{ hyp: Hyp; t: number; logp: number }> = [];
          rowItem.forEach((item, r) => {
            if (item !== b) return;
            for (let j = 0; j < c; j++) cands.push({ hyp: rowHyp[r]!, t: indices[r * c + j]!, logp: rowHyp[r]!.logp + values[r * c + j]! });
          });
          cands.sort((x, y) => y.logp - x.logp); // stable: ties keep row and rank order
          const next: Hyp[] = [];
          cands.forEach((x, rank) => {
            if (tok.stop.includes(x.t)) {
              if (rank < k && ended[b]!.length < k) end(b, { ids: x.hyp.ids, logp: x.logp }, true);
            } else if (next.length < k) next.push({ ids: [...x.hyp.ids, x.t], logp: x.logp });
          });
          if (ended[b]!.length >= k) return false;
          if (last) {
            for (const h of next) end(b, h, false);
            return false;
          }
          live[b] = next;
          return true;
        });
      }
    } finally {
      img.dispose();
    }
  });
  return ended.map((hs) => {
    const best = hs.reduce<Ended | null>((a, h) => (a === null || h.score > a.score ? h : a), null);
    return best ? { ids: best.ids, stopped: best.stopped } : { ids: [], stopped: false };
  });
}

/** Greedy for beam 1 (default), beam search otherwise. */
export function generate(model: FLMModel, image: Tensor, tok: DecodeTokens, o: DecodeOptions = {}): Generation[] {
  return (o.beam ?? 1) === 1 ? greedyDecode(model, image, tok, o) : beamDecode(model, image, tok, o);
}
