// The flm library. The tensor API is exported flat (as torch's), the other layers as namespaces.
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as objectives from './objectives-api.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as metrics from './eval/metrics/index.js';
export * as verify from './verify/index.js';
export { loadSafetensors, saveSafetensors } from './io/safetensors.js';
export { pretrain, type PretrainConfig, PRETRAIN_DEFAULTS } from './tasks/pretrain/recipe.js';
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint } from './train/checkpoint.js';
export { train, type TrainResult, type TrainHooks, type TrainOptions } from './train/trainer.js';
export type { Recipe, PreparedRun, PrepareContext, Evaluation, EvalRequest, StepContext } from './train/recipe.js';
export { resolveSettings, validateSettings, TrainConfigError } from './config/resolve.js';
export { defaultsOf, settingsOf, COMMON_SETTINGS, setting, type TaskSpec, type TrainSettings, type ConfigOf, type Setting } from './config/settings.js';
export { TASKS, FINETUNE_TASKS, taskEntry, type TaskEntry } from './tasks/registry.js';
export { finetune, finetuneDefaults, type FinetuneConfig } from './tasks/finetune.js';
export { finetuneCaption, type CaptionFinetuneConfig } from './tasks/caption/recipe.js';
export {
  loadModel, ModelTaskError, evaluate, exportModel, ExportError, EXPORT_FORMATS,
  type FlmModel, type LoadModelOptions, type ModelTask, type Capability, type ImageInput, type RgbImage,
  type CaptionOptions, type Caption, type Answer, type AnswerResult, type Judgement, type ScoreMatrix, type Embeddings, type EmbedInput,
  type EvaluateSettings, type EvaluateResult, type EvaluateTask, type ExportFormat, type ExportOptions, type ExportResult, type ModelFolderConfig,
} from './api/index.js';
export type { Nlvr2Judgement, RetrievalRankList } from './tasks/common/task.js';
export type { VqaPrediction } from './tasks/vqa/task.js';
export type { VqaBreakdown, VqaTypeScore } from './tasks/vqa/breakdown.js';
export type { Nlvr2Breakdown, Nlvr2TypeAccuracy } from './tasks/nlvr2/breakdown.js';
export { probeCheckpoint, type ProbeCheckpointOptions, type ProbeCheckpointResult } from './compare/probe-checkpoint.js';
