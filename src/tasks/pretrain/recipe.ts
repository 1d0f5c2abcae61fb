// Pretraining: FLM, or the MLM / AR / PrefixLM baselines, on any dataset spec. The run's tokenizer is
// the --from source's, a given tokenizer.json, or a byte-level BPE trained on the data (tokenizer.ts);
// evaluation (--val-data) is the objective's loss on held-out data (held-out.ts).
import { buildWithRecipeInit } from '../common/init-scale.js';
import { tidy } from '../../tensor/index.js';
import { PRESETS, validateConfig, withOverrides } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import { formatInitWeightsReport, loadInitWeights } from '../../convert/init-weights.js';
import { defaultsOf, type ConfigOf } from '../../config/settings.js';
import { validateSettings } from '../../config/resolve.js';
import { TrainConfigError } from '../../train/errors.js';
import { train, type TrainHooks, type TrainResult } from '../../train/trainer.js';
import type { Recipe } from '../../train/recipe.js';
import { weightsSource } from '../common/weights-source.js';
import { batchTensors, createObjectiveModel, objectiveConfig, objectiveStep, type ObjectiveOptions } from './objective-step.js';
import { heldOutLoss } from './held-out.js';
import { runTokenizer } from './tokenizer.js';
import { PRETRAIN } from './spec.js';

export type PretrainConfig = ConfigOf<typeof PRETRAIN>;
export const PRETRAIN_DEFAULTS: PretrainConfig = defaultsOf(PRETRAIN);
export { TrainConfigError, runTokenizer, batchTensors };

export function validatePretrainConfig(c: PretrainConfig): PretrainConfig {
  return validateSettings(PRETRAIN, c);
}

const objectiveOptions = (c: PretrainConfig): ObjectiveOptions =>
  ({ ...(c.spanCorruptionRate !== null ? { spanCorruptionRate: c.spanCorruptionRate } : {}), mlmRate: c.mlmRate, itcWeight: c.itcWeight, itcTemperature: c.itcTemperature });

export const recipe: Recipe<typeof PRETRAIN> = {
  spec: PRETRAIN,
  curves: { loss: ['flm', 'l2r', 'r2l', 'itc', 'mlm', 'ar', 'prefixLm'], val: ['val_loss'], sizes: ['examples'] },
  async prepare({ c, saved, main, barrier }) {
    const src = await openDataset(c.data);
    const from = !saved && c.from ? weightsSource(c.from) : null;
    const maxLength = PRESETS[c.preset].max_text_len;
    // rank 0 trains (or copies) the tokenizer into the run folder; the others then read it
    const tokenizer = main ? await runTokenizer(c, src, maxLength, { given: c.tokenizer ?? from?.tokenizer ?? null, reuse: saved !== null }) : null;
    barrier();
    const tok = tokenizer ?? (await runTokenizer(c, src, maxLength, { reuse: true }));
    // a resumed run keeps the model it was started with, even where the preset has changed since (mini's stem)
    let modelConfig = saved?.modelConfig !== undefined ? validateConfig(saved.modelConfig, `${saved.dir}: modelConfig`) : objectiveConfig(c.objective, c.preset, tok.vocabSize);
    if (c.dropRate !== null && saved?.modelConfig === undefined) modelConfig = withOverrides(modelConfig, { drop_rate: c.dropRate });
    const model = buildWithRecipeInit(c.recipe, () => tidy(() => createObjectiveModel(c.objective, modelConfig)));
    let init: { lines: string[]; report: unknown } | undefined;
    if (from) {
      const r = loadInitWeights(model, from.weights);
      const problem = r.loaded === 0
        ? `no tensor of ${from.weights} matches the ${c.objective} model's names (${r.unexpected.length} unexpected, e.g. ${r.unexpected.slice(0, 3).join(', ') || 'none'}): nothing would be loaded`
        : r.shapeMismatch.length > 0
          ? `${r.shapeMismatch.length} tensors of ${from.weights} have other shapes than the ${c.preset} model's (e.g. ${r.shapeMismatch[0]}): the source is another model size${from.preset && from.preset !== c.preset ? `; it was trained with --preset ${from.preset}` : ''}`
          : null;
      if (problem) {
        model.dispose();
        await src.close?.();
        throw new TrainConfigError(`from: ${problem}`);
      }
      init = { lines: formatInitWeightsReport(r), report: r };
    }
    return {
      model, modelConfig, tokenizer: tok, source: src, tokenizeInLoader: true, ...(init ? { init } : {}),
      loss: (b) => ({
        ...objectiveStep(model, c.objective, batchTensors(b), objectiveOptions(c)),
        tokens: b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0, images: b.size,
      }),
      evaluate: (r) => heldOutLoss(model, c.objective, objectiveOptions(c), c.seed, tok, r),
      // zero-shot scoring by the pretraining loss needs to know which loss
      modelHead: () => ({ objective: c.objective }),
    };
  },
};

export type PretrainHooks = TrainHooks;
export type PretrainResult = TrainResult;

/** Runs (or resumes) a pretraining run; see train/trainer.ts. */
export function pretrain(c: PretrainConfig, o: { resume?: boolean; overwrite?: boolean; hooks?: TrainHooks; quiet?: boolean } = {}): Promise<TrainResult> {
  return train(recipe, c, o);
}
