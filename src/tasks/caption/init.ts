// The model a caption fine-tuning run starts from (spec D.11, B.11): a pretraining (or caption) run
// with its vocabulary grown by <bos>/<eos>, or the preset's random init; the run's tokenizer.json (with
// the caption tokens) is written to the run folder.
import { buildWithRecipeInit } from '../common/init-scale.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '../../tensor/index.js';
import { FLMModel, PRESETS, withOverrides, type FLMConfig } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { runTokenizer, TrainConfigError } from '../pretrain/recipe.js';
import { objectiveConfig } from '../pretrain/objective-step.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { addCaptionTokens, existingCaptionTokens, readTokenizerJson, type CaptionTokens } from './tokens.js';
import { growVocab } from './vocab.js';
import { loadRunModel } from '../common/inference-model.js';
import type { CaptionConfigLike } from './spec.js';

/**
 * The caption model config of a pretrained (or preset) config: the three-stream model (a one-stream
 * AR / MLM source loads by name, its causal text path being the forward stream, spec H.11), the AR
 * head only, vocabulary V.
 */
export function captionModelConfig(base: FLMConfig, vocabSize: number, dropRate: number | null): FLMConfig {
  return withOverrides(base, {
    flm_backbone: true, is_causal_mask: true, causal_mask_w_post_cls: true, image_token_type_idx: 1,
    vocab_size: vocabSize, text_encoder_arch: { vocab_size: vocabSize }, add_new_bos_token: true,
    loss_names: { itm: 0, mlm: 0, ar: 0.5, flm: 0, vqa: 0, nlvr2: 0, irtr: 0 },
    ...(dropRate !== null ? { drop_rate: dropRate } : {}),
  });
}

export interface CaptionModelInit {
  model: FLMModel;
  tokenizer: TextTokenizer;
  tokens: CaptionTokens;
  modelConfig: FLMConfig;
  /** what the model was initialised from, for the log */
  origin: string;
  /** the source run's model size, when its settings record one */
  sourcePreset?: string;
}

function saveTokenizer(out: string, json: Record<string, unknown>): void {
  writeFileAtomic(join(out, 'tokenizer.json'), JSON.stringify(json));
}

/** A new caption model: pretrained weights (vocabulary grown) or the preset's init; tokenizer saved in out. */
export async function initCaptionModel(c: CaptionConfigLike): Promise<CaptionModelInit> {
  mkdirSync(c.out, { recursive: true });
  if (c.from) {
    const run = await loadRunModel(c.from);
    try {
      const { json, tokenizer, tokens } = c.newTokens
        ? addCaptionTokens(readTokenizerJson(run.tokenizerPath), run.config.max_text_len)
        : { json: readTokenizerJson(run.tokenizerPath), tokenizer: run.tokenizer, tokens: existingCaptionTokens(run.tokenizer) };
      const modelConfig = captionModelConfig(run.config, tokenizer.vocabSize, c.dropRate);
      const model = buildWithRecipeInit(c.recipe, () => tidy(() => new FLMModel(modelConfig)));
      const own = model.stateDict();
      const pretrained = new Map([...run.model.stateDict()].filter(([k]) => own.has(k)));
      if (pretrained.size === 0) {
        model.dispose();
        throw new TrainConfigError(`from: no tensor of ${run.dir} matches the caption model's names: nothing would be loaded`);
      }
      const { tensors, grown } = growVocab(pretrained, run.config.vocab_size, modelConfig.vocab_size);
      let missing: string[];
      try {
        const r = model.loadStateDict(tensors, { strict: false });
        if (r.shapeMismatch.length) throw new TrainConfigError(`${run.dir}: shape mismatch: ${r.shapeMismatch.map((m) => `${m.name} [${m.got}] vs [${m.expected}]`).join(', ')}`);
        missing = r.missing;
      } finally {
        for (const k of grown) tensors.get(k)!.dispose();
      }
      saveTokenizer(c.out, json);
      const what = run.config.flm_backbone ? run.task : `one-stream ${run.task} model, loaded by name`;
      const fresh = missing.length ? `; newly initialised: ${missing.length} tensors (${[...new Set(missing.map((k) => k.split('.')[0]))].join(', ')})` : '';
      const preset = (run.state.config as { preset?: unknown } | undefined)?.preset;
      return {
        model, tokenizer, tokens, modelConfig, origin: `${run.dir} (${what}; vocabulary ${run.config.vocab_size} -> ${modelConfig.vocab_size}${fresh})`,
        ...(typeof preset === 'string' && preset in PRESETS ? { sourcePreset: preset } : {}),
      };
    } finally {
      run.model.dispose();
    }
  }
  const src = await openDataset(c.data);
  try {
    const base = await runTokenizer(c, src, PRESETS[c.preset].max_text_len);
    const baseJson = readTokenizerJson(join(c.out, 'tokenizer.json'));
    const { json, tokenizer, tokens } = c.newTokens
      ? addCaptionTokens(baseJson, base.maxLength)
      : { json: baseJson, tokenizer: base, tokens: existingCaptionTokens(base) };
    const modelConfig = captionModelConfig(objectiveConfig('flm', c.preset, tokenizer.vocabSize), tokenizer.vocabSize, c.dropRate);
    saveTokenizer(c.out, json);
    return { model: buildWithRecipeInit(c.recipe, () => tidy(() => new FLMModel(modelConfig))), tokenizer, tokens, modelConfig, origin: `random init (${c.preset} preset)` };
  } finally {
    await src.close?.();
  }
}
