// Pretraining: FLM, or the MLM / AR / PrefixLM baselines, on any dataset spec. The run's tokenizer is
// the --from source's, a given tokenizer.json, or a byte-level BPE trained on the data's captions; it
// is kept in the run folder. Evaluation (--val-data): the objective's loss on held-out data, with the
// generator seeded the same way at every evaluation so the values are comparable.
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed, noGrad, tensor, tidy } from '../../tensor/index.js';
import { PRESETS, withOverrides, type AnyFLMModel } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import type { Batch } from '../../data/loader.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import { trainTokenizer } from '../../data/tokenizer-train.js';
import { iterateIndexed, type DatasetSource, type SourceEntry } from '../../data/types.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { formatInitWeightsReport, loadInitWeights } from '../../convert/init-weights.js';
import { defaultsOf, type ConfigOf } from '../../config/settings.js';
import { validateSettings } from '../../config/resolve.js';
import { resolveCheckpoint } from '../../train/checkpoint.js';
import { TrainConfigError } from '../../train/errors.js';
import { train, type TrainHooks, type TrainResult } from '../../train/trainer.js';
import type { Evaluation, EvalRequest, Recipe } from '../../train/recipe.js';
import { evalBatches } from '../common/eval-batches.js';
import { createObjectiveModel, objectiveConfig, objectiveStep, type PretrainObjective, type TextImageBatch } from './objective-step.js';
import { PRETRAIN } from './spec.js';

export type PretrainConfig = ConfigOf<typeof PRETRAIN>;
export const PRETRAIN_DEFAULTS: PretrainConfig = defaultsOf(PRETRAIN);
export { TrainConfigError };

export function validatePretrainConfig(c: PretrainConfig): PretrainConfig {
  return validateSettings(PRETRAIN, c);
}

async function captionCorpus(src: DatasetSource, limit: number): Promise<string[]> {
  const out: string[] = [];
  const it = src.kind === 'indexed' ? iterateIndexed(src) : src[Symbol.asyncIterator]();
  for (;;) {
    const n = await (it as AsyncIterator<SourceEntry>).next();
    if (n.done) break;
    if (n.value.ok) out.push(...n.value.item.captions);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * The run's tokenizer: the run folder's (resume), else `given` (a tokenizer.json, copied into the run
 * folder), else a byte-level BPE trained on the data's captions (saved in the run folder).
 */
export async function runTokenizer(
  c: { out: string; data: string; tokenizer: string | null; vocabSize: number | null; preset: keyof typeof PRESETS }, src: DatasetSource, maxLength: number, given: string | null = c.tokenizer,
): Promise<TextTokenizer> {
  const inRun = join(c.out, 'tokenizer.json');
  if (existsSync(inRun)) return TextTokenizer.fromFile(inRun, { maxLength });
  if (given) {
    const tok = await TextTokenizer.fromFile(resolve(given), { maxLength });
    copyFileSync(resolve(given), inRun);
    return tok;
  }
  const corpus = await captionCorpus(src, 200_000);
  if (corpus.length === 0) throw new TrainConfigError(`${c.data}: no captions to train a tokenizer on`);
  // byte-level BPE needs its 256-symbol alphabet plus room for merges
  const json = await trainTokenizer(corpus, { kind: 'bpe', vocabSize: c.vocabSize ?? Math.max(PRESETS[c.preset].vocab_size, 384) });
  writeFileAtomic(inRun, JSON.stringify(json));
  return TextTokenizer.fromFile(inRun, { maxLength });
}

/** Typed arrays of a loader batch as the model's input tensors. */
export function batchTensors(b: Batch): TextImageBatch {
  if (!b.text) throw new Error('batch has no tokenized text (the loader needs a tokenizer)');
  const [B, L] = b.text.shape;
  const image = tensor(b.images[0]!, { shape: b.imageShape });
  const ids = tensor(b.text.ids, { shape: [B, L], dtype: 'int64' });
  const masks = tensor(b.text.attentionMask, { shape: [B, L], dtype: 'int64' });
  const words = tensor(b.text.wordIds, { shape: [B, L], dtype: 'int64' });
  return { image, textIds: ids, textMasks: masks, wordIds: words };
}

/** The weights file of a --from source and the tokenizer that came with it (if any). */
export function weightsSource(path: string): { weights: string; tokenizer: string | null } {
  const p = resolve(path);
  if (!existsSync(p)) throw new TrainConfigError(`from: ${path} does not exist`);
  if (statSync(p).isFile()) return { weights: p, tokenizer: null };
  const dir = existsSync(join(p, 'model.safetensors')) ? p : resolveCheckpoint(p, 'latest');
  if (!dir) throw new TrainConfigError(`from: ${path} holds neither model.safetensors nor checkpoints/latest`);
  const tokenizer = [join(dir, 'tokenizer.json'), join(p, 'tokenizer.json')].find((f) => existsSync(f)) ?? null;
  return { weights: join(dir, 'model.safetensors'), tokenizer };
}

/** Mean objective loss over held-out data (the generator reseeded, so every evaluation draws alike). */
async function heldOutLoss(model: AnyFLMModel, c: PretrainConfig, tok: TextTokenizer, r: EvalRequest): Promise<Evaluation> {
  manualSeed(c.seed + 7919);
  let sum = 0;
  let n = 0;
  for await (const b of evalBatches(r.spec, model.config.image_size, tok, model.config.max_text_len, {
    batchSize: r.batchSize, workers: r.workers, ...(r.limit > 0 ? { limit: r.limit } : {}),
  })) {
    const l = noGrad(() => tidy(() => objectiveStep(model, c.objective, batchTensors(b), objectiveOptions(c)).loss.item()));
    sum += l * b.size;
    n += b.size;
  }
  if (n === 0) throw new TrainConfigError(`valData ${r.spec}: no examples`);
  return { metrics: { val_loss: sum / n, examples: n }, selection: -sum / n };
}

const objectiveOptions = (c: PretrainConfig): { spanCorruptionRate?: number; mlmRate: number } =>
  ({ ...(c.spanCorruptionRate !== null ? { spanCorruptionRate: c.spanCorruptionRate } : {}), mlmRate: c.mlmRate });

export const recipe: Recipe<typeof PRETRAIN> = {
  spec: PRETRAIN,
  curves: { loss: ['flm', 'l2r', 'r2l', 'mlm', 'ar', 'prefixLm'], val: ['val_loss'] },
  async prepare({ c, saved, main, barrier }) {
    const src = await openDataset(c.data);
    const from = !saved && c.from ? weightsSource(c.from) : null;
    const maxLength = PRESETS[c.preset].max_text_len;
    // rank 0 trains (or copies) the tokenizer into the run folder; the others then read it
    const tokenizer = main ? await runTokenizer(c, src, maxLength, c.tokenizer ?? from?.tokenizer ?? null) : null;
    barrier();
    const tok = tokenizer ?? (await runTokenizer(c, src, maxLength));
    let modelConfig = objectiveConfig(c.objective as PretrainObjective, c.preset, tok.vocabSize);
    if (c.dropRate !== null) modelConfig = withOverrides(modelConfig, { drop_rate: c.dropRate });
    const model = tidy(() => createObjectiveModel(c.objective as PretrainObjective, modelConfig));
    let init: { lines: string[]; report: unknown } | undefined;
    if (from) {
      const r = loadInitWeights(model, from.weights);
      init = { lines: formatInitWeightsReport(r), report: r };
    }
    return {
      model, modelConfig, tokenizer: tok, source: src, tokenizeInLoader: true, ...(init ? { init } : {}),
      loss: (b) => ({
        ...objectiveStep(model, c.objective as PretrainObjective, batchTensors(b), objectiveOptions(c)),
        tokens: b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0, images: b.size,
      }),
      evaluate: (r) => heldOutLoss(model, c, tok, r),
    };
  },
};

export type PretrainHooks = TrainHooks;
export type PretrainResult = TrainResult;

/** Runs (or resumes) a pretraining run; see train/trainer.ts. */
export function pretrain(c: PretrainConfig, o: { resume?: boolean; hooks?: TrainHooks; quiet?: boolean } = {}): Promise<TrainResult> {
  return train(recipe, c, o);
}
