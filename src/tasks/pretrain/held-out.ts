// Pretraining's evaluation: the objective's loss on held-out data, with the generator seeded alike at
// every evaluation so that the values are comparable along the run.
import { manualSeed, noGrad, tidy } from '../../tensor/index.js';
import type { AnyFLMModel } from '../../models/index.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { TrainConfigError } from '../../train/errors.js';
import type { Evaluation, EvalRequest } from '../../train/recipe.js';
import { evalBatches } from '../common/eval-batches.js';
import { batchTensors, objectiveStep, type ObjectiveOptions, type PretrainObjective } from './objective-step.js';

/** Mean objective loss (without the contrastive term) over held-out data (the generator reseeded, so every evaluation draws alike). */
export async function heldOutLoss(
  model: AnyFLMModel, objective: PretrainObjective, o: ObjectiveOptions, seed: number, tok: TextTokenizer, r: EvalRequest,
): Promise<Evaluation> {
  manualSeed(seed + 7919);
  // the objective's own loss: the contrastive term left out, so that runs with and without it compare
  const lmOnly: ObjectiveOptions = { ...o, itcWeight: 0 };
  let sum = 0;
  let n = 0;
  for await (const b of evalBatches(r.spec, model.config.image_size, tok, model.config.max_text_len, {
    batchSize: r.batchSize, workers: r.workers, ...(r.limit > 0 ? { limit: r.limit } : {}),
  })) {
    const l = noGrad(() => tidy(() => objectiveStep(model, objective, batchTensors(b), lmOnly).loss.item()));
    sum += l * b.size;
    n += b.size;
  }
  if (n === 0) throw new TrainConfigError(`valData ${r.spec}: no examples`);
  return { metrics: { val_loss: sum / n, examples: n }, selection: -sum / n };
}

