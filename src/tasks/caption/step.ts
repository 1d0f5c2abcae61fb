// One caption training step: the batch as `<s> <bos> caption <eos> </s>` ids, and the AR loss on the
// forward stream (or, `compat: 'official'`, on the reconstructor as released, spec H.12).
import { tensor, tidy, type Tensor } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import type { Batch } from '../../data/loader.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { captionLoss, flmMasks, forwardMask, fusionIds, lmLabels, toAdditive, type ObjectiveResult } from '../../objectives/index.js';
import { encodeCaptions, type CaptionTokens } from './tokens.js';
import { captionImageTokens, forwardStream } from './decode.js';

export interface CaptionBatch {
  image: Tensor; // [B, 3, S, S]
  textIds: Tensor; // [B, L] int64: <s> <bos> w.. <eos> </s> <pad>..
  textMasks: Tensor; // [B, L] int64
}

export function captionBatch(b: Batch, tok: TextTokenizer, ct: CaptionTokens, L: number): CaptionBatch & { tokens: number } {
  const e = encodeCaptions(tok, ct, b.texts, L);
  return {
    tokens: e.mask.reduce((a, v) => a + v, 0),
    image: tensor(b.images[0]!, { shape: b.imageShape }),
    textIds: tensor(e.ids, { shape: e.shape, dtype: 'int64' }),
    textMasks: tensor(e.mask, { shape: e.shape, dtype: 'int64' }),
  };
}

/** Caption loss of one batch (terms.caption, metrics.captionAccuracy); the caller frees the tensors. */
export function captionStep(model: FLMModel, b: CaptionBatch, o: { compat: 'official' | null; maskId: number; padId: number }): ObjectiveResult {
  return tidy(() => {
    const head = model.lm_score;
    if (!head) throw new Error('the caption model has no lm_score head (loss_names.ar = 0)');
    const L = b.textIds.shape[1]!;
    const labelsLm = lmLabels(b.textIds); // [B, L-1]
    if (o.compat === 'official') {
      const out = model.forward({
        image: b.image, textIds: b.textIds, textMasks: b.textMasks, fusionIds: fusionIds(b.textIds, b.textMasks, o.maskId), masks: flmMasks(b.textMasks),
      }, { lmLogits: false });
      const rec = head.forward(out.top.rec.narrow(1, 1, L - 2)); // [B, L-2, V]
      return captionLoss({ recLogits: rec, labelsLm }, { ignoreIndex: o.padId, compat: 'official' });
    }
    const f = forwardStream(model, captionImageTokens(model, b.image), b.textIds, toAdditive(forwardMask(b.textMasks))); // [B, L, H]
    return captionLoss({ fwdLogits: head.forward(f.narrow(1, 1, L - 2)), labelsLm }, { ignoreIndex: o.padId }); // logits [B, L-2, V]
  });
}
