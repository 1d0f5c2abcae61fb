// One pretraining objective on one batch: masks/masking, forward, loss. Shared by the trainer,
// the step benchmark and the race, so all three time exactly the same work.
import { full, tidy, type Tensor } from '../../tensor/index.js';
import { batchTensors, type TextImageBatch } from '../common/task.js';
import {
  FLMModel, SingleStreamModel, flmConfig, singleConfig, specialIds, validateConfig,
  type AnyFLMModel, type FLMConfig, type ModelOptions, type PresetName, type PresetSpec,
} from '../../models/index.js';
import {
  arLossAtTargets, arTargets, flmLossAtTargets, itcLoss, labelledPositions, flmMasks, flmTargetRows, fusionIds, lmLabels, mlmLoss, mlmMask, oneStreamMask, prefixLmLabels, prefixLmLoss,
  prefixLmMask, samplePrefixLengths, toAdditive, type ObjectiveResult,
} from '../../objectives/index.js';

import type { PretrainObjective } from './spec.js';
export { PRETRAIN_OBJECTIVES, type PretrainObjective } from './spec.js';

/** The label of an unmasked position in mlmMask's labels. */
const MLM_IGNORE = -100;


export interface ObjectiveOptions {
  /** FLM span corruption rate r (0: only the target is hidden, the released recipe) */
  spanCorruptionRate?: number;
  /** MLM masking rate */
  mlmRate?: number;
  /** FLM: keep at least one key visible in every reconstructor row (not official; see spec H.7) */
  keepOneVisible?: boolean;
  /**
   * FLM: weight of an image-text contrastive term beside the LM losses (0: none, the official recipe):
   * in-batch InfoNCE between each caption and each image before fusion (FLMModel.lossFeatures' unimodal)
   */
  itcWeight?: number;
  /** the contrastive term's softmax temperature */
  itcTemperature?: number;
}

/** CLIP's initial temperature, kept fixed: the contrastive term adds no parameter to the model. */
export const DEFAULT_ITC_TEMPERATURE = 0.07;

/** The model config of a pretraining objective: only that objective's head is built (as the official presets). */
export function objectiveConfig(objective: PretrainObjective, preset: PresetName | PresetSpec, vocabSize?: number): FLMConfig {
  const base = objective === 'flm' ? flmConfig(preset) : singleConfig(preset);
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, unknown> & { text_encoder_arch: Record<string, unknown> };
  if (vocabSize !== undefined) {
    raw.vocab_size = vocabSize;
    raw.text_encoder_arch.vocab_size = vocabSize;
  }
  if (objective !== 'flm') {
    raw.loss_names = { itm: 0, mlm: objective === 'mlm' ? 1 : 0, ar: objective === 'mlm' ? 0 : 1, flm: 0, vqa: 0, nlvr2: 0, irtr: 0 };
    // `ar causal_lm`: the one-stream model with the causal post-CLS mask (spec E.7)
    raw.is_causal_mask = objective === 'ar';
    raw.causal_mask_w_post_cls = objective === 'ar';
  }
  return validateConfig(raw);
}

export function createObjectiveModel(objective: PretrainObjective, config: FLMConfig, opts: ModelOptions = {}): AnyFLMModel {
  return objective === 'flm' ? new FLMModel(config, opts) : new SingleStreamModel(config, opts);
}

/** Runs masks + forward + loss; returns the objective's loss dict (tensors are the caller's to free). */
export function objectiveStep(model: AnyFLMModel, objective: PretrainObjective, b: TextImageBatch, o: ObjectiveOptions = {}): ObjectiveResult {
  const c = model.config;
  const ids = specialIds(c);
  return tidy(() => {
    if (objective === 'flm') {
      if (!(model instanceof FLMModel)) throw new Error('objective flm needs an FLMModel');
      const masks = flmMasks(b.textMasks, { rate: o.spanCorruptionRate ?? c.span_corruption_rate, keepOneVisible: o.keepOneVisible });
      const input = { image: b.image, textIds: b.textIds, textMasks: b.textMasks, fusionIds: fusionIds(b.textIds, b.textMasks, ids.mask), masks };
      if (!model.lm_score) throw new Error('the FLM model has no LM head');
      const labelsLm = lmLabels(b.textIds);
      // the reconstructor and the LM heads run only at the positions that have a target (not padding)
      const itcWeight = o.itcWeight ?? 0;
      const out = model.lossFeatures(input, flmTargetRows(labelsLm, ids.pad), { unimodal: itcWeight > 0 });
      const lm = flmLossAtTargets(
        { rec: out.rec, fwd: out.fwd, rev: out.rev, labelsLm, score: (rows) => model.lmLogits(rows) },
        { ignoreIndex: ids.pad, l2rWeight: c.flm_aux_lm_loss_l2r_weight, r2lWeight: c.flm_aux_lm_loss_r2l_weight, aux: c.enable_flm_aux_lm_loss },
      );
      return out.unimodal ? withContrastive(lm, out.unimodal, itcWeight, o.itcTemperature ?? DEFAULT_ITC_TEMPERATURE) : lm;
    }
    if (!(model instanceof SingleStreamModel)) throw new Error(`objective ${objective} needs a SingleStreamModel`);
    if (objective === 'mlm') {
      const m = mlmMask(b.textIds, b.textMasks, {
        rate: o.mlmRate ?? 0.15, maskId: ids.mask, vocabSize: c.vocab_size, padId: ids.pad,
        specialIds: [ids.bos, ids.pad, ids.eos, ids.unk, ids.mask], wordIds: b.wordIds,
      });
      const out = model.forward({ image: b.image, textIds: m.inputIds, textMask: oneStreamMask(b.textMasks, { causal: false }) });
      // the LM head runs only at the masked positions (~15%): the loss and accuracy are the same
      const t = labelledPositions(m.labels, MLM_IGNORE); // [N] each
      return mlmLoss({ logits: model.mlmLogits(out.textFeats.index(t.b, t.q)), labels: t.labels }, { ignoreIndex: MLM_IGNORE });
    }
    if (objective === 'ar') {
      const out = model.forward({ image: b.image, textIds: b.textIds, textMask: oneStreamMask(b.textMasks, { causal: true }) });
      // the LM head runs only at the positions that predict a token (not padding): the same loss and accuracy
      const t = arTargets(lmLabels(b.textIds), ids.pad);
      return arLossAtTargets({ logits: model.lmLogits(out.textFeats.index(t.rows, t.q)), labels: t.labels }, { ignoreIndex: ids.pad });
    }
    const prefix = samplePrefixLengths(b.textMasks);
    const out = model.forward({ image: b.image, textIds: b.textIds, textMask: toAdditive(prefixLmMask(b.textMasks, prefix)) });
    return prefixLmLoss({ logits: model.lmLogits(out.textFeats), labels: prefixLmLabels(b.textIds, b.textMasks, prefix) });
  });
}

/** lm + weight x ITC(text, image); the ITC term and its accuracies are logged beside the LM terms. */
function withContrastive(lm: ObjectiveResult, u: { text: Tensor; image: Tensor }, weight: number, temperature: number): ObjectiveResult {
  // a fixed scale inside itcLoss's clamp to [1, 100] (the setting's range keeps 1 / temperature there)
  const itc = itcLoss({ textEmbeds: u.text, imageEmbeds: u.image, logitScale: full([], Math.log(1 / temperature), { dtype: 'float32', device: u.text.device }) });
  return {
    loss: lm.loss.add(itc.loss.mul(weight)),
    terms: { ...lm.terms, itc: itc.loss },
    metrics: { ...lm.metrics, itcI2tAccuracy: itc.metrics.i2tAccuracy!, itcT2iAccuracy: itc.metrics.t2iAccuracy! },
  };
}


export { batchTensors, type TextImageBatch };
