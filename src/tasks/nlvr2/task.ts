// NLVR2 fine-tuning (official `ft_nlvr2`, spec D.9, E.7): two full backbone passes on the same statement,
// image_0 with token type 1 and image_1 with token type 2 (the token-type table has 3 rows; a 2-row
// checkpoint is extended with row 2 := row 1 on load, B.7), then nlvr2_classifier(cat(cls0, cls1))
// [B, 2] and cross-entropy against label == "True". Evaluation: accuracy (spec F). Examples without a
// label (a test split) are ignored (-100).
import { F, noGrad, tensor, tidy, type Tensor } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import { nlvr2Loss, type ObjectiveResult } from '../../objectives/index.js';
import { Accuracy, IGNORE_INDEX, argmaxRows } from '../../eval/metrics/vqa.js';
import { DataError, type ItemMeta, type Nlvr2Meta } from '../../data/types.js';
import type { Batch } from '../../data/loader.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { evalBatches } from '../common/eval-batches.js';
import { batchImage, clsFeatures, fullLosses, type EvalOptions, type FinetuneTask, type Nlvr2Judgement, type StepContext, type TaskEvaluation, batchTensors } from '../common/task.js';

/** 1 for "True", 0 for "False", -100 (ignored) without a label. */
export function nlvr2Label(meta: ItemMeta | undefined): number {
  const m = meta as Nlvr2Meta | undefined;
  if (m?.task !== 'nlvr2') throw new DataError('an NLVR2 example has no label meta: use an NLVR2 dataset (shapes:...&task=nlvr2, nlvr2:...)');
  return m.label === null ? IGNORE_INDEX : m.label ? 1 : 0;
}

/** nlvr2_classifier(cat(cls(image_0, type 1), cls(image_1, type 2))) [B, 2]. */
export function nlvr2Logits(model: FLMModel, b: Batch): Tensor {
  if (!model.nlvr2_classifier) throw new Error('the model has no nlvr2_classifier head (loss_names.nlvr2 = 0)');
  if (b.images.length < 2) throw new DataError(`NLVR2 needs two images per example, the batch has ${b.images.length}`);
  const x = batchTensors(b);
  const cls0 = clsFeatures(model, x.image, x.textIds, x.textMasks, 1); // [B, H]
  const cls1 = clsFeatures(model, batchImage(b, 1), x.textIds, x.textMasks, 2); // [B, H]
  return model.nlvr2_classifier.forward(F.cat([cls0, cls1], -1)); // [B, 2]
}

class Nlvr2Task implements FinetuneTask {
  readonly name = 'nlvr2' as const;
  readonly stateExtras = {};

  modelOverrides() {
    return { loss_names: fullLosses({ nlvr2: 1 }) };
  }

  loss(model: FLMModel, b: Batch, _tok: TextTokenizer, _ctx: StepContext): ObjectiveResult {
    const labels = tensor(b.meta.map(nlvr2Label), { dtype: 'int64' }); // [B]
    return nlvr2Loss({ logits: nlvr2Logits(model, b), labels });
  }

  async evaluate(model: FLMModel, tok: TextTokenizer, spec: string, o: EvalOptions = {}): Promise<TaskEvaluation> {
    const acc = new Accuracy();
    const hits: number[] = [];
    const judgements: Nlvr2Judgement[] = [];
    const verdict = (yes: boolean) => (yes ? 'True' : 'False') as Nlvr2Judgement['prediction'];
    let n = 0;
    for await (const b of evalBatches(spec, model.config.image_size, tok, model.config.max_text_len, o)) {
      const logits = noGrad(() => tidy(() => nlvr2Logits(model, b).toTypedArray() as Float32Array)); // [B·2]
      const labels = b.meta.map(nlvr2Label);
      acc.update(logits, 2, labels);
      argmaxRows(logits, 2).forEach((p, i) => {
        const m = b.meta[i] as Nlvr2Meta;
        judgements.push({
          identifier: m.identifier, prediction: verdict(p === 1), sentence: b.texts[i]!,
          ...(m.label === null ? {} : { label: verdict(m.label) }), ...(m.statementType !== undefined ? { statement_type: m.statementType } : {}),
        });
        if (labels[i] !== IGNORE_INDEX) hits.push(p === labels[i] ? 1 : 0);
      });
      n += labels.filter((l) => l !== IGNORE_INDEX).length;
    }
    // a split without labels (NLVR2's hidden test): the verdicts only
    if (n === 0) return { metrics: { n: 0 }, selection: 0, judgements };
    const accuracy = acc.compute();
    return { metrics: { accuracy, n }, selection: accuracy, items: { accuracy: hits }, judgements };
  }
}

export function createNlvr2Task(): FinetuneTask {
  return new Nlvr2Task();
}
