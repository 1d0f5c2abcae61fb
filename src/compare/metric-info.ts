// What each race metric is, for the report and the JSON summary: its label, chance level and the task
// it belongs to ('probe': the zero-shot probes of probes.ts; a task name: scored after fine-tuning, downstream.ts).

export interface MetricInfo {
  label: string;
  chance?: string;
  task: string;
}

export const METRIC_INFO: Readonly<Record<string, MetricInfo>> = {
  vqa_score: { label: 'VQA score after fine-tuning (test questions)', task: 'vqa' },
  nlvr2_accuracy: { label: 'NLVR2 accuracy after fine-tuning (test statements)', chance: '0.5', task: 'nlvr2' },
  retrieval_tr_r1: { label: 'retrieval after fine-tuning: K-way image-to-text R@1 by the rank head', task: 'retrieval' },
  retrieval_ir_r1: { label: 'retrieval after fine-tuning: K-way text-to-image R@1 by the rank head', task: 'retrieval' },
  caption_cider: { label: 'captioning after fine-tuning: CIDEr-D (greedy decoding)', task: 'caption' },
  caption_semantic_accuracy: { label: 'captioning after fine-tuning: caption parses and is true of the scene', task: 'caption' },
  zs_t2i_r1: { label: 'zero-shot K-way text-to-image R@1 (own loss, image prior removed)', task: 'probe' },
  zs_i2t_r1: { label: 'zero-shot K-way image-to-text R@1 (own loss, caption prior removed)', task: 'probe' },
  mp_mean: { label: 'minimal image pairs, mean accuracy over kinds', chance: '0.5', task: 'probe' },
  mp_colour: { label: 'minimal image pairs: one object recoloured', chance: '0.5', task: 'probe' },
  mp_shape: { label: 'minimal image pairs: one object reshaped', chance: '0.5', task: 'probe' },
  mp_size: { label: 'minimal image pairs: one object resized', chance: '0.5', task: 'probe' },
  mp_count: { label: 'minimal image pairs: one object removed', chance: '0.5', task: 'probe' },
  mp_spatial: { label: 'minimal image pairs: scene mirrored', chance: '0.5', task: 'probe' },
  lp_colour: { label: 'linear probe: colour of the largest object', chance: '1/7', task: 'probe' },
  lp_shape: { label: 'linear probe: shape of the largest object', chance: '1/6', task: 'probe' },
  lp_count: { label: 'linear probe: number of objects', chance: '~1/4', task: 'probe' },
  lp_shape_local: { label: 'linear probe: shape of every object, from the image token at its centre', chance: '~1/6', task: 'probe' },
  zs_t2i_raw: { label: 'zero-shot K-way text-to-image R@1 (raw own loss)', task: 'probe' },
  zs_i2t_raw: { label: 'zero-shot K-way image-to-text R@1 (raw own loss)', task: 'probe' },
};

/** The task of a metric ('probe' for the zero-shot probes and anything unknown). */
export function metricTask(metric: string): string {
  return METRIC_INFO[metric]?.task ?? 'probe';
}

/** Metrics in the report's order: downstream first, then the probes, then anything else by name. */
export function metricOrder(a: string, b: string): number {
  const order = Object.keys(METRIC_INFO);
  return (order.indexOf(a) + 1 || 999) - (order.indexOf(b) + 1 || 999) || a.localeCompare(b);
}
