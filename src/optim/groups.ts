// Parameter grouping by name, as the FLM/METER recipes do (spec E.1): no weight decay on biases and
// LayerNorm weights, and learning-rate multipliers for the heads and the cross-modal layers.
import { Tensor } from '../tensor/index.js';
import type { ParamGroupInput } from './optimizer.js';

export interface GroupingRule {
  /** name substrings exempt from weight decay */
  noDecay: string[];
  /** name substrings of head parameters (lr x lrMultHead) */
  head: string[];
  /** name substrings of cross-modal parameters (lr x lrMultCrossModal) */
  crossModal: string[];
  /** name prefixes of the image tower (lr x lrMultVision) */
  vision: string[];
  lrMultHead: number;
  lrMultCrossModal: number;
  /** 1 in the official recipe (a pretrained CLIP trains at the base rate): the tower then stays in the base groups */
  lrMultVision: number;
  weightDecay: number;
}

/** The official FLM grouping (flm/modules/meter_utils.py set_schedule). */
export const FLM_GROUPING: GroupingRule = {
  noDecay: ['bias', 'LayerNorm.bias', 'LayerNorm.weight', 'norm.bias', 'norm.weight', 'norm1.bias', 'norm1.weight', 'norm2.bias', 'norm2.weight'],
  head: ['vqa_classifier', 'nlvr2_classifier', 'mlm_score', 'itm_score', 'snli_classifier', 'lm_score', 'flm_score', 'cl_image', 'cl_text'],
  crossModal: ['cross_modal', 'fusion_layers'],
  vision: ['vit_model.'],
  lrMultHead: 5,
  lrMultCrossModal: 5,
  lrMultVision: 1,
  weightDecay: 0.01,
};

/** Simple grouping: decay everything except biases and LayerNorm weights (names ending so). */
export function decayGroups(named: [string, Tensor][], weightDecay: number): ParamGroupInput[] {
  const isNoDecay = (n: string): boolean => n.endsWith('.bias') || /LayerNorm\.weight$|(^|\.)ln_[^.]*\.weight$|norm\.weight$/.test(n);
  const decay = named.filter(([n]) => !isNoDecay(n));
  const no = named.filter(([n]) => isNoDecay(n));
  return [
    { params: decay.map(([, t]) => t), names: decay.map(([n]) => n), weightDecay },
    { params: no.map(([, t]) => t), names: no.map(([n]) => n), weightDecay: 0 },
  ].filter((g) => g.params.length > 0);
}

/**
 * Six groups as the official code builds them: {base, head, crossModal} x {decay, noDecay}; with
 * lrMultVision != 1, two more for the image tower (taken out of base).
 */
export function flmParamGroups(named: [string, Tensor][], rule: GroupingRule = FLM_GROUPING): ParamGroupInput[] {
  const has = (n: string, subs: string[]): boolean => subs.some((s) => n.includes(s));
  const buckets: { params: Tensor[]; names: string[]; lrMult: number; weightDecay: number }[] = [];
  const mult = { base: 1, head: rule.lrMultHead, cross: rule.lrMultCrossModal, vision: rule.lrMultVision };
  for (const kind of ['base', 'head', 'cross', 'vision'] as const) {
    for (const decay of [true, false]) buckets.push({ params: [], names: [], lrMult: mult[kind], weightDecay: decay ? rule.weightDecay : 0 });
  }
  const vision = (n: string): boolean => rule.lrMultVision !== 1 && rule.vision.some((prefix) => n.startsWith(prefix));
  for (const [n, t] of named) {
    if (!t.requiresGrad) continue;
    const kind = has(n, rule.head) ? 1 : has(n, rule.crossModal) ? 2 : vision(n) ? 3 : 0;
    const decay = !has(n, rule.noDecay);
    const b = buckets[kind * 2 + (decay ? 0 : 1)]!;
    b.params.push(t);
    b.names.push(n);
  }
  return buckets.filter((b) => b.params.length > 0);
}
