// The model a fine-tuning run starts from: a pretraining (or fine-tuning) run or checkpoint folder, or
// a random init of a preset. The task model is always the three-stream FLM model (every official
// fine-tuning command uses `causal_flm`, spec B.5) with the task's heads (E.7 loss_names). Weights are
// loaded by name where keys match; a single-stream MLM / AR pretraining run loads that way too, which
// is how the official code could only fine-tune those baselines (spec H.11). The missing / unexpected
// key report is returned (and printed by the trainer).
import { buildWithRecipeInit } from './init-scale.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tidy } from '../../tensor/index.js';
import {
  FLMModel, PRESETS, createModel, flmConfig, loadOfficialWeights, withOverrides,
  type ConfigOverrides, type FLMConfig,
} from '../../models/index.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import type { DatasetSource } from '../../data/types.js';
import { runTokenizer } from '../pretrain/recipe.js';
import { TrainConfigError } from '../../train/errors.js';
import { loadRunModel } from './inference-model.js';
import type { TrainSettings } from '../../config/settings.js';

export interface InitReport {
  /** 'scratch', or the checkpoint folder the weights came from */
  source: string;
  /** the source run's task ('pretrain', 'vqa', ...) and, for pretraining runs, its objective */
  sourceTask?: string;
  sourceObjective?: string;
  /** the source run's model size, when its settings record one */
  sourcePreset?: string;
  loaded: number;
  missing: string[];
  unexpected: string[];
  shapeMismatch: string[];
  adapted: string[];
}

export interface InitializedModel {
  model: FLMModel;
  config: FLMConfig;
  tokenizer: TextTokenizer;
  report: InitReport;
}

/** The three-stream version of a (possibly single-stream) model config. */
function threeStream(c: FLMConfig): FLMConfig {
  return c.flm_backbone ? c : withOverrides(c, { flm_backbone: true, is_causal_mask: true, causal_mask_w_post_cls: true });
}

function taskConfig(base: FLMConfig, overrides: ConfigOverrides, dropRate: number | null): FLMConfig {
  // nlvr2's 3-row token-type table is validated against image_token_type_idx 1 (image_1 uses 2 per pass)
  return withOverrides(threeStream(base), { ...overrides, image_token_type_idx: 1, ...(dropRate !== null ? { drop_rate: dropRate } : {}) });
}

/** Builds the task model of a new run in `c.out` and writes the run's tokenizer.json there. */
export async function initFinetuneModel(c: TrainSettings, train: DatasetSource, overrides: ConfigOverrides, o: { reuseTokenizer?: boolean } = {}): Promise<InitializedModel> {
  mkdirSync(c.out, { recursive: true });
  const tokOut = join(c.out, 'tokenizer.json');
  if (c.from !== null) {
    const src = await loadRunModel(c.from);
    try {
      const config = taskConfig(src.config, overrides, c.dropRate);
      const model = buildWithRecipeInit(c.recipe, () => tidy(() => createModel(config))) as FLMModel;
      const sd = src.model.stateDict();
      const r = loadOfficialWeights(model, sd, { strict: false });
      if (src.tokenizerPath !== tokOut) copyFileSync(src.tokenizerPath, tokOut);
      const tokenizer = await TextTokenizer.fromFile(tokOut, { maxLength: config.max_text_len });
      const { objective, preset } = (src.state.config ?? {}) as { objective?: unknown; preset?: unknown };
      const report: InitReport = {
        source: src.dir, sourceTask: src.task, ...(typeof objective === 'string' ? { sourceObjective: objective } : {}),
        ...(typeof preset === 'string' && preset in PRESETS ? { sourcePreset: preset } : {}),
        loaded: [...model.stateDict().keys()].filter((k) => sd.has(k) && !r.shapeMismatch.some((m) => m.name === k)).length,
        missing: r.missing, unexpected: r.unexpected, shapeMismatch: r.shapeMismatch.map((m) => `${m.name}: [${m.got}] -> [${m.expected}]`), adapted: r.adapted,
      };
      if (report.loaded === 0) {
        model.dispose();
        throw new TrainConfigError(`from: no tensor of ${src.dir} matches the task model's names: nothing would be loaded`);
      }
      return { model, config, tokenizer, report };
    } finally {
      src.model.dispose();
    }
  }
  const preset = PRESETS[c.preset];
  const tokenizer = await runTokenizer(c, train, preset.max_text_len, { reuse: o.reuseTokenizer ?? false });
  const base = withOverrides(flmConfig(c.preset), { vocab_size: tokenizer.vocabSize, text_encoder_arch: { vocab_size: tokenizer.vocabSize } });
  const config = taskConfig(base, overrides, c.dropRate);
  const model = buildWithRecipeInit(c.recipe, () => tidy(() => createModel(config))) as FLMModel;
  return { model, config, tokenizer, report: { source: 'scratch', loaded: 0, missing: [], unexpected: [], shapeMismatch: [], adapted: [] } };
}

/** A few printable lines about what was loaded. */
export function formatInitReport(r: InitReport): string[] {
  if (r.source === 'scratch') return ['initialised from scratch (no --from)'];
  const list = (xs: string[]): string => (xs.length <= 12 ? xs.join(', ') : `${xs.slice(0, 12).join(', ')}, ... (${xs.length - 12} more)`);
  const what = r.sourceObjective ? `${r.sourceTask} (${r.sourceObjective})` : r.sourceTask;
  const lines = [`loaded ${r.loaded} tensors from ${r.source} [${what}]`];
  if (r.sourceObjective && r.sourceObjective !== 'flm') lines.push(`a single-stream ${r.sourceObjective} model loaded into the three-stream FLM model by name (spec H.11)`);
  if (r.missing.length) lines.push(`missing (newly initialised) ${r.missing.length}: ${list(r.missing)}`);
  if (r.unexpected.length) lines.push(`unexpected (not used) ${r.unexpected.length}: ${list(r.unexpected)}`);
  if (r.shapeMismatch.length) lines.push(`shape mismatch (newly initialised) ${r.shapeMismatch.length}: ${list(r.shapeMismatch)}`);
  for (const a of r.adapted) lines.push(`adapted: ${a}`);
  return lines;
}
