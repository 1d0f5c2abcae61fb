// Model factory and official-checkpoint loading.
import { F, Tensor, noGrad, tidy } from '../tensor/index.js';
import { StateDictError, type LoadReport } from '../nn/module.js';
import { flmConfig, validateConfig, type FLMConfig, type PresetName } from './config.js';
import { FLMModel } from './flm.js';
import { SingleStreamModel, type ModelOptions } from './single-stream.js';
import { resizePositionalEmbedding } from './clip-vit.js';

export type AnyFLMModel = FLMModel | SingleStreamModel;

/**
 * Builds the model a config describes: the three-stream FLMModel when `flm_backbone` is true, else the
 * single-stream model. A preset name builds that preset's FLM model. Parameters get the official
 * initialisation (spec B.0).
 */
export function createModel(config: FLMConfig | PresetName, opts: ModelOptions = {}): AnyFLMModel {
  const c = typeof config === 'string' ? flmConfig(config) : validateConfig(config);
  // tidy frees construction temporaries; parameters and buffers are kept by the modules
  return tidy(() => (c.flm_backbone ? new FLMModel(c, opts) : new SingleStreamModel(c, opts)));
}

export interface OfficialLoadReport extends LoadReport {
  /** checkpoint tensors converted before loading (positional-embedding resize, NLVR2 token types) */
  adapted: string[];
}

const POS_KEY = 'vit_model.visual.positional_embedding';
const TYPE_KEY = 'token_type_embeddings.weight';

/**
 * Loads an official FLM state dict (every key, aliases included, e.g. from a safetensors conversion of
 * a Lightning checkpoint) into the model. Aliased names (text_transformer2.* = text_transformer.*, ...)
 * are loaded once and must hold identical tensors. Like the official loader it also
 *   - resizes `vit_model.visual.positional_embedding` bicubically when the checkpoint's image size
 *     differs from the model's (spec B.1 adapt_position_encoding), and
 *   - extends a 2-row `token_type_embeddings` to the NLVR2 model's 3 rows (row 2 := row 1, spec B.7).
 * strict (default): throws StateDictError on missing / unexpected / mis-shaped keys or differing aliases.
 * The input tensors are not modified or freed.
 */
export function loadOfficialWeights(model: AnyFLMModel, tensors: Map<string, Tensor>, o: { strict?: boolean } = {}): OfficialLoadReport {
  const strict = o.strict ?? true;
  const own = model.stateDict();
  const adapted: string[] = [];
  const src = new Map(tensors);
  const created: Tensor[] = [];
  try {
    noGrad(() => {
      const pe = tensors.get(POS_KEY);
      const target = own.get(POS_KEY);
      if (pe && target && pe.shape.length === 2 && pe.shape[0] !== target.shape[0]) {
        const grid = Math.round(Math.sqrt(target.shape[0]! - 1));
        const resized = resizePositionalEmbedding(pe, grid);
        created.push(resized);
        src.set(POS_KEY, resized);
        adapted.push(`${POS_KEY}: resized [${pe.shape}] -> [${resized.shape}] (bicubic)`);
      }
      const tt = tensors.get(TYPE_KEY);
      const ttTarget = own.get(TYPE_KEY);
      if (tt && ttTarget && tt.shape[0] === 2 && ttTarget.shape[0] === 3) {
        const ext = tidy(() => F.cat([tt, tt.slice(0, 1, 2)], 0)); // [3, H]
        created.push(ext);
        src.set(TYPE_KEY, ext);
        adapted.push(`${TYPE_KEY}: extended to 3 rows for NLVR2 (row 2 := row 1)`);
      }
    });
    // tidy: the alias comparison inside loadStateDict makes temporary tensors
    const report = tidy(() => model.loadStateDict(src, { strict }));
    if (strict && report.aliasConflicts.length) {
      throw new StateDictError(`loadOfficialWeights: aliased keys differ from their canonical tensors: ${report.aliasConflicts.join(', ')}`, report);
    }
    return { ...report, adapted };
  } finally {
    for (const t of created) t.dispose();
  }
}

export { FLMModel, SingleStreamModel };
export type { ModelOptions };
export * from './config.js';
export { FLMBackbone, type OneStreamInput, type OneStreamOutput } from './single-stream.js';
export type { FLMInput, FLMOutput, StreamFeatures } from './flm.js';
export { CLIPVisionModel, VisualTransformer, patchProjection, resizePositionalEmbedding } from './clip-vit.js';
export { RobertaModel, RobertaEmbeddings, RobertaLayer, robertaPositionIds } from './roberta.js';
export { BertCrossLayer } from './bert-cross-layer.js';
export { Pooler, MLMHead, ITMHead, ClassifierMLP, RankOutput, vqaClassifier, nlvr2Classifier } from './heads.js';
