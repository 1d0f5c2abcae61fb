// A fine-tuning model rebuilt from its config with the run folder's tokenizer: a resumed run (the
// weights come from its checkpoint), or a rank other than 0 (the weights come from rank 0 through DDP).
import { join } from 'node:path';
import { tidy } from '../../tensor/index.js';
import { createModel, validateConfig, type FLMConfig, type FLMModel } from '../../models/index.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import { TrainConfigError } from '../../train/errors.js';
import type { SavedRun } from '../../train/recipe.js';

export interface RunFolderModel {
  model: FLMModel;
  modelConfig: FLMConfig;
  tokenizer: TextTokenizer;
}

/** The three-stream model of `modelConfig` (fresh weights) and `out`/tokenizer.json. */
export async function runFolderModel(modelConfig: FLMConfig, out: string): Promise<RunFolderModel> {
  const tokenizer = await TextTokenizer.fromFile(join(out, 'tokenizer.json'), { maxLength: modelConfig.max_text_len });
  return { model: tidy(() => createModel(modelConfig)) as FLMModel, modelConfig, tokenizer };
}

/** The model and tokenizer of a resumed fine-tuning run: its saved model config and the run folder's tokenizer. */
export function resumedModel(saved: SavedRun, out: string): Promise<RunFolderModel> {
  if (saved.modelConfig === undefined) throw new TrainConfigError(`${saved.dir}: state.json has no modelConfig`);
  return runFolderModel(validateConfig(saved.modelConfig, `${saved.dir}: modelConfig`), out);
}
