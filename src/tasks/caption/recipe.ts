// Caption fine-tuning (spec D.11, `ft_cap_coco` + `causal_flm`): AR loss on `<s> <bos> caption <eos> </s>`.
//
//   run dir (--out)/
//     config.json       the resolved settings
//     tokenizer.json    the run's tokenizer with <bos>/<eos> added (tokens.ts)
//     metrics.jsonl     per logged step: loss, captionAccuracy, lr, ...; val records: bleu4, cider, ...
//     checkpoints/      step-N folders; state.json holds task 'caption', modelConfig and captionTokens,
//                       which is all `flm caption` / `flm eval caption` need
//
// Loss source: by default the AR loss is on the forward stream (text_feats1), the stream decoding reads;
// `compat: 'official'` puts it on the reconstructor output as released (H.12: a trivial target that
// leaves the decoding stream without a direct loss). In the default mode the reverse stream and the
// reconstructor get no gradient, so only the forward stream is computed (decode.ts forwardStream; the step is step.ts).
//
// The model: the three-stream model with loss_names {ar: 0.5} (so `lm_score` is the AR head and the
// pretraining aliases lm_score_r/_f go), loaded from --from with the vocabulary grown by <bos>/<eos>
// (B.11), and the official loss weight 0.5 on the backpropagated loss. A one-stream AR (or MLM)
// pretraining run loads by name: its causal text path is exactly the forward stream, so the AR baseline
// captions through the same decoder. Without --from the model starts from the preset's init.
import type { FLMModel } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import { defaultsOf, type ConfigOf } from '../../config/settings.js';
import { validateSettings } from '../../config/resolve.js';
import { TrainConfigError } from '../../train/errors.js';
import { train, type TrainHooks, type TrainResult } from '../../train/trainer.js';
import type { Recipe } from '../../train/recipe.js';
import type { CaptionTokens } from './tokens.js';
import { captionBatch, captionStep } from './step.js';
import { captionMetrics, evaluateCaptions, type CaptionEvalResult } from './eval.js';
import { initCaptionModel } from './init.js';
import { resumedModel, runFolderModel } from '../common/run-folder-model.js';
import { CAPTION } from './spec.js';

export { captionModelConfig, initCaptionModel, type CaptionModelInit } from './init.js';
export { captionBatch, captionStep, type CaptionBatch } from './step.js';
export { captionMetrics } from './eval.js';

export type CaptionFinetuneConfig = ConfigOf<typeof CAPTION>;
export const CAPTION_DEFAULTS: CaptionFinetuneConfig = defaultsOf(CAPTION);

export function validateCaptionConfig(c: CaptionFinetuneConfig): CaptionFinetuneConfig {
  return validateSettings(CAPTION, c);
}

export const recipe: Recipe<typeof CAPTION> = {
  spec: CAPTION,
  curves: { loss: [], val: ['bleu4', 'cider', 'semantic_accuracy', 'object_recall'], sizes: ['images'] },
  async prepare({ c, saved, main, share }) {
    const src = await openDataset(c.data);
    if (src.textKind !== 'caption') {
      await src.close?.();
      throw new TrainConfigError(`${c.data}: caption fine-tuning needs a caption dataset (this one has ${src.textKind}s)`);
    }
    let model: FLMModel;
    let tokenizer: TextTokenizer;
    let tokens: CaptionTokens;
    let modelConfig: FLMModel['config'];
    let init: { lines: string[]; report: unknown } | undefined;
    let decided: { preset: CaptionFinetuneConfig['preset'] } | undefined;
    if (saved) {
      if (saved.modelConfig === undefined || saved.captionTokens === undefined) throw new TrainConfigError(`${saved.dir} is not a caption fine-tuning checkpoint`);
      ({ model, modelConfig, tokenizer } = await resumedModel(saved, c.out));
      tokens = saved.captionTokens as CaptionTokens;
    } else {
      // rank 0 builds the model and writes the run's tokenizer; the other ranks take its config and read
      // that tokenizer (data parallelism broadcasts rank 0's weights)
      const p = main ? await initCaptionModel(c) : null;
      const shared = share(p ? { tokens: p.tokens, modelConfig: p.modelConfig, origin: p.origin, sourcePreset: p.sourcePreset ?? null } : null);
      if (shared.sourcePreset) decided = { preset: shared.sourcePreset as CaptionFinetuneConfig['preset'] };
      ({ tokens, modelConfig } = shared);
      ({ model, tokenizer } = p ?? (await runFolderModel(modelConfig, c.out)));
      init = { lines: [`caption fine-tuning from ${shared.origin}; loss on the ${c.compat === 'official' ? 'reconstructor (official)' : 'forward stream'}`], report: { source: shared.origin } };
    }
    const stepOpts = { compat: c.compat, maskId: tokenizer.specialIds.mask, padId: tokenizer.specialIds.pad };
    return {
      model, modelConfig, tokenizer, source: src, tokenizeInLoader: false, ...(init ? { init } : {}), ...(decided ? { decided } : {}),
      loss: (b) => {
        const batch = captionBatch(b, tokenizer, tokens, modelConfig.max_text_len);
        const r = captionStep(model, batch, stepOpts);
        // the official loss weight (0.5) scales the backpropagated loss only
        return { loss: r.loss, metrics: r.metrics, backwardScale: modelConfig.loss_names.ar, tokens: batch.tokens, images: b.size };
      },
      evaluate: async (r) => {
        const e = await evaluateCaptions(model, tokenizer, tokens, r.spec, { beam: c.beam, batchSize: r.batchSize, ...(r.limit > 0 ? { limit: r.limit } : {}) });
        return { metrics: captionMetrics(e), selection: e.cider, details: e };
      },
      stateExtras: () => ({ captionTokens: tokens, compat: c.compat }),
    };
  },
};

export type CaptionFinetuneResult = TrainResult & { eval: CaptionEvalResult | null };

/** Runs (or resumes) a caption fine-tuning run; `eval` is the last evaluation with its predictions. */
export async function finetuneCaption(c: CaptionFinetuneConfig, o: { resume?: boolean; overwrite?: boolean; quiet?: boolean; hooks?: TrainHooks } = {}): Promise<CaptionFinetuneResult> {
  const r = await train(recipe, c, o);
  return { ...r, eval: (r.lastEval?.details as CaptionEvalResult | undefined) ?? null };
}
