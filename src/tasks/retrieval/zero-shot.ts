// Zero-shot retrieval from a pretrained model without fine-tuning: a pair is scored by minus the
// pretraining objective's own loss of the caption given the image (lower loss = better match).
//   flm       (L_flm + w_l2r·L_l2r + w_r2l·L_r2l) / (1 + w_l2r + w_r2l)  (spec D.1-D.3, span corruption off)
//   ar        causal next-token loss on the one-stream model (D.5)
//   mlm       masked-token loss (D.4) with the mask drawn from a fixed seed per text batch
//   prefixlm  suffix loss after a prefix drawn from a fixed seed per text batch
// Texts are batched identically against every image and the random draws are re-seeded per batch, so
// a caption is corrupted the same way for every image and only the image changes its score.
// (The official zs_irtr presets score with ITM, which cannot run as released: spec D.6, H.11.)
import { getRngState, manualSeed, setRngState, tidy, type Tensor } from '../../tensor/index.js';
import { FLMModel, SingleStreamModel, specialIds, type AnyFLMModel } from '../../models/index.js';
import {
  flmMasks, fusionIds, lmLabels, mlmMask, oneStreamMask, prefixLmLabels, prefixLmMask, samplePrefixLengths, toAdditive,
} from '../../objectives/index.js';
import { hashSeed } from '../../data/rng.js';
import { PRETRAIN_OBJECTIVES, type PretrainObjective } from '../pretrain/objective-step.js';
import { rowCrossEntropy } from '../common/inference-features.js';
import type { PairScorer, TextSlice } from './eval.js';

export interface ZeroShotOptions {
  /** seed of the MLM / PrefixLM draws (default 0) */
  seed?: number;
  /** MLM masking rate (default 0.15) */
  mlmRate?: number;
}

/** The pretraining objective a model was trained with, from its heads when the run does not say. */
export function zeroShotObjective(model: AnyFLMModel, declared?: unknown): PretrainObjective {
  if (typeof declared === 'string' && (PRETRAIN_OBJECTIVES as readonly string[]).includes(declared)) return declared as PretrainObjective;
  if (model instanceof FLMModel) {
    if (model.lm_score_r) return 'flm';
  } else if (model.mlm_score) return 'mlm';
  else if (model.lm_score) return model.config.is_causal_mask ? 'ar' : 'prefixlm';
  throw new Error('zero-shot retrieval needs a pretrained model with its LM head (an FLM, MLM, AR or PrefixLM pretraining run)');
}

/** Per-pair loss [T] of the texts [T, L] given their images [T, 3, S, S] (differentiable: the retrieval loss scorer trains through it). */
export function pairLoss(model: AnyFLMModel, objective: PretrainObjective, image: Tensor, t: TextSlice, o: ZeroShotOptions): Tensor {
  const c = model.config;
  const ids = specialIds(c);
  const L = t.ids.size(1);
  const labels = lmLabels(t.ids); // [T, L-1]
  if (objective === 'flm') {
    if (!(model instanceof FLMModel)) throw new Error('objective flm needs an FLMModel');
    const out = model.forward({ image, textIds: t.ids, textMasks: t.masks, fusionIds: fusionIds(t.ids, t.masks, ids.mask), masks: flmMasks(t.masks) });
    if (!out.logits) throw new Error('the FLM model has no LM head');
    const rec = rowCrossEntropy(out.logits.rec.narrow(1, 1, L - 1), labels, ids.pad); // [T]
    if (!c.enable_flm_aux_lm_loss) return rec;
    const w1 = c.flm_aux_lm_loss_l2r_weight;
    const w2 = c.flm_aux_lm_loss_r2l_weight;
    const l2r = rowCrossEntropy(out.logits.l2r.narrow(1, 1, L - 2), labels.narrow(1, 1, L - 2), ids.pad); // [T]
    const r2l = rowCrossEntropy(out.logits.r2l.narrow(1, 2, L - 2), labels.narrow(1, 0, L - 2), ids.pad); // [T]
    return rec.add(l2r.mul(w1)).add(r2l.mul(w2)).div(1 + w1 + w2); // [T]
  }
  if (!(model instanceof SingleStreamModel)) throw new Error(`objective ${objective} needs a SingleStreamModel`);
  if (objective === 'ar') {
    const out = model.forward({ image, textIds: t.ids, textMask: oneStreamMask(t.masks, { causal: true }) });
    return rowCrossEntropy(model.lmLogits(out.textFeats).narrow(1, 1, L - 2), labels.narrow(1, 1, L - 2), ids.pad); // [T]
  }
  // the same draws for this text batch against every image
  manualSeed(hashSeed('zero-shot', o.seed ?? 0, t.start, t.count));
  if (objective === 'mlm') {
    const m = mlmMask(t.ids, t.masks, {
      rate: o.mlmRate ?? 0.15, maskId: ids.mask, vocabSize: c.vocab_size, padId: ids.pad,
      specialIds: [ids.bos, ids.pad, ids.eos, ids.unk, ids.mask], wordIds: t.wordIds,
    });
    const out = model.forward({ image, textIds: m.inputIds, textMask: oneStreamMask(t.masks, { causal: false }) });
    return rowCrossEntropy(model.mlmLogits(out.textFeats), m.labels, -100); // [T]
  }
  const prefix = samplePrefixLengths(t.masks); // [T]
  const out = model.forward({ image, textIds: t.ids, textMask: toAdditive(prefixLmMask(t.masks, prefix)) });
  return rowCrossEntropy(model.lmLogits(out.textFeats).narrow(1, 0, L - 1), prefixLmLabels(t.ids, t.masks, prefix), -100); // [T]
}

/**
 * A PairScorer: score = -loss. The libtorch generator is re-seeded per text batch (MLM, PrefixLM); call
 * `restore()` afterwards to put the caller's generator state back.
 */
export function zeroShotScorer(model: AnyFLMModel, objective: PretrainObjective, o: ZeroShotOptions = {}): PairScorer & { restore(): void } {
  const saved = getRngState();
  return {
    score(image, _i, t) {
      return tidy(() => {
        const img = image.expand(t.count, -1, -1, -1).contiguous(); // [T, 3, S, S]
        return pairLoss(model, objective, img, t, o).neg().toTypedArray() as Float32Array; // [T]
      });
    },
    restore() {
      setRngState(saved);
    },
  };
}
