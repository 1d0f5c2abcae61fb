// The library API for trained models: load a model, checkpoint or run folder and caption, answer,
// judge, score or embed with it (model.ts); evaluate it as `flm eval` does (evaluate.ts); export it as
// a model folder with a model card (export.ts). Training is `pretrain` / `finetune` (src/index.ts).
export {
  loadModel, ModelTaskError,
  type FlmModel, type LoadModelOptions, type ModelTask, type Capability, type ImageInput, type RgbImage,
  type CaptionOptions, type Caption, type Answer, type AnswerResult, type Judgement, type ScoreMatrix, type Embeddings, type EmbedInput,
} from './model.js';
export { evaluate, type EvaluateSettings, type EvaluateResult, type EvaluateTask } from './evaluate.js';
export { exportModel, ExportError, EXPORT_FORMATS, type ExportFormat, type ExportOptions, type ExportResult } from './export.js';
export type { ModelFolderConfig } from '../train/model-folder.js';
