// Attention masks and training objectives of FLM and its baselines (spec §C, §D).
export * from './masks.js';
export { corruptionStats, type CorruptionStats } from './corruption-stats.js';
export { mlmMask, roundHalfEven, type MlmMaskingOptions, type MlmMasked } from './mlm-masking.js';
export { type ObjectiveResult, type Accuracy, accuracy, labelledPositions, tokenCrossEntropy } from './common.js';
export { flmLoss, flmLossAtTargets, flmTargetRows, type FlmLossInputs, type FlmFeatureInputs, type FlmLossOptions } from './flm.js';
export { arLoss, arLossAtTargets, arTargets, captionLoss, captionLossSource, type ArLossInputs, type CaptionLossInputs, type CaptionLossOptions } from './ar.js';
export { mlmLoss, type MlmLossInputs } from './mlm.js';
export { prefixLmLoss, prefixLmLabels, samplePrefixLengths, type PrefixLmLossInputs } from './prefix-lm.js';
export { itmLoss, itmFeatures, sampleItmLabels, sampleNegativeIndices, sampleItmBatch, type ItmFeatureOptions } from './itm.js';
export { itcLoss, createLogitScale, clampLogitScale_, ITC_INIT_LOG_SCALE, ITC_MAX_LOG_SCALE, type ItcLossInputs } from './itc.js';
export { vqaLoss, vqaSoftmaxLoss, vqaTargets, vqaAnswerScore } from './vqa.js';
export { nlvr2Loss } from './nlvr2.js';
export { irtrLoss, type IrtrLossInputs } from './irtr.js';
