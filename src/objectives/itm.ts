// Image-text matching (spec §D.6, official `compute_itm`): half of the pairs keep their image, the
// others get a random negative image; a 2-way head on the pooled CLS feature classifies them.
import { type Tensor, F, arange, randint, randperm, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy } from './common.js';

/** ITM targets: a random permutation of ⌊B/2⌋ ones (matched) and ⌈B/2⌉ zeros. [B] int64 */
export function sampleItmLabels(batchSize: number, device?: Tensor['device']): Tensor {
  return tidy(() => {
    const ones = arange(batchSize, undefined, 1, { device }).lt(Math.floor(batchSize / 2)).to('int64'); // [B]
    return ones.index(randperm(batchSize, { device })); // [B]
  });
}

/**
 * For each row, a uniformly random *other* row of the batch ([B] int64; row 0 itself when B = 1).
 * The official code draws the false image from the whole dataset (`draw_false_image`); in-batch
 * negatives are the data-pipeline-free equivalent.
 */
export function sampleNegativeIndices(batchSize: number, device?: Tensor['device']): Tensor {
  return tidy(() => {
    const self = arange(batchSize, undefined, 1, { device }); // [B]
    if (batchSize < 2) return self;
    return self.add(randint(1, batchSize, [batchSize], { device })).remainder(batchSize); // [B]
  });
}

/** ITM labels and, per row, which image of the batch to pair with the text ([B] int64 each). */
export function sampleItmBatch(batchSize: number, device?: Tensor['device']): { labels: Tensor; imageIndex: Tensor } {
  return tidy(() => {
    const labels = sampleItmLabels(batchSize, device);
    const self = arange(batchSize, undefined, 1, { device });
    const imageIndex = self.where(labels.eq(1), sampleNegativeIndices(batchSize, device)); // [B]
    return { labels, imageIndex };
  });
}

export interface ItmFeatureOptions {
  /**
   * 'official' reproduces the released single-stream path (§B.9, §D.6, §H.11): `cls_feats` is
   * cat(pooled, pooled) [B, 2H] but the ITM head is Linear(H -> 2), so it fails with a shape error.
   * The default feeds the pooled vector (the first H columns), as the parity fixtures do.
   */
  compat?: 'official';
}

/** The ITM head's input from cls_feats [B, H] (three-stream) or [B, 2H] (single-stream): [B, H]. */
export function itmFeatures(clsFeats: Tensor, hidden: number, opts: ItmFeatureOptions = {}): Tensor {
  const width = clsFeats.size(-1);
  if (width === hidden) return clsFeats.alias();
  if (width === 2 * hidden) {
    if (opts.compat === 'official') {
      throw new RangeError(`itmFeatures (compat 'official'): cls_feats is [B, ${width}] but the ITM head takes ${hidden} features; the released single-stream ITM path fails here (spec §H.11)`);
    }
    return clsFeats.narrow(-1, 0, hidden); // [B, H] = pooled
  }
  throw new RangeError(`itmFeatures: cls_feats width ${width} is neither ${hidden} nor ${2 * hidden}`);
}

/** Cross-entropy of itm_score logits [B, 2] against labels [B]; terms.itm, metrics.itmAccuracy. */
export function itmLoss(inputs: { logits: Tensor; labels: Tensor }): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const labels = inputs.labels.to('int64');
    const loss = F.crossEntropy(inputs.logits, labels); // []
    return { loss, terms: { itm: loss }, metrics: { itmAccuracy: accuracy(inputs.logits, labels).accuracy } };
  });
}
