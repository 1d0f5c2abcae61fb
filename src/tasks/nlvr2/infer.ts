// NLVR2 inference (the library's judge()): whether a statement is true of a pair of images, with an
// NLVR2 fine-tuned checkpoint: nlvr2_classifier(cat(cls(image_0, type 1), cls(image_1, type 2))) as in
// training (task.ts, spec D.9); class 1 is "True". Statements are tokenized as they are (E.4).
import { F, noGrad, tidy } from '../../tensor/index.js';
import { FLMModel } from '../../models/index.js';
import { preprocessText } from '../../data/text.js';
import { CheckpointError } from '../../train/checkpoint.js';
import { loadImageBatch, textBatch, type ImageInput } from '../common/inference-inputs.js';
import { clsFeatures } from '../common/task.js';
import type { RunModel } from '../common/inference-model.js';

export interface Nlvr2Judgement {
  /** the model's verdict: the statement is true of the pair */
  label: boolean;
  /** softmax probability of "True" */
  probability: number;
}

export async function judgeStatement(run: RunModel, pair: readonly [ImageInput, ImageInput], statement: string): Promise<Nlvr2Judgement> {
  const { model } = run;
  const head = model.nlvr2_classifier;
  if (!head || !(model instanceof FLMModel)) throw new CheckpointError(`${run.dir} is a ${run.task} checkpoint without an NLVR2 head: fine-tune it with \`flm finetune nlvr2\` first`);
  if (!Array.isArray(pair) || pair.length !== 2) throw new RangeError(`NLVR2 judges a pair of images: give [left, right], got ${Array.isArray(pair) ? pair.length : 'no array'}`);
  if (statement.trim() === '') throw new RangeError('the statement is empty');
  const images = await loadImageBatch(pair, run.config.image_size); // [2, 3, S, S]
  try {
    const p = noGrad(() => tidy(() => {
      const t = textBatch(run.tokenizer, [preprocessText(statement, 'statement')]);
      const cls0 = clsFeatures(model, images.narrow(0, 0, 1), t.textIds, t.textMasks, 1); // [1, H]
      const cls1 = clsFeatures(model, images.narrow(0, 1, 1), t.textIds, t.textMasks, 2); // [1, H]
      return F.softmax(head.forward(F.cat([cls0, cls1], -1)), -1).select(0, 0).toFlatArray(); // [2]
    }));
    const probability = p[1]!;
    return { label: probability > 0.5, probability };
  } finally {
    images.dispose();
  }
}
