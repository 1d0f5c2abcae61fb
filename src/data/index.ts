export {
  DataError, iterateIndexed, imageOrigin,
  type DataItem, type DatasetSource, type ImageRef, type IndexedSource, type ItemMeta, type Nlvr2Meta, type SourceEntry,
  type StreamSource, type SyntheticArgs, type TextKind, type VqaAnswerCount, type VqaMeta,
} from './types.js';
export { DATASET_SCHEMES, DATASET_SPEC_HELP, openDataset, parseDatasetSpec, type DatasetScheme, type DatasetSpec } from './spec.js';
export {
  CLIP_MEAN, CLIP_STD, checkImage, decodeRgb, loadImageTensor, loadRgb, normalizeClip, type ImageOptions, type Rgb, type RgbImage,
} from './image.js';
export { applyOp, randAugment, RANDAUG_OPS, type RandAugmentOptions } from './randaugment.js';
export { dedupeCaptions, preprocessCaption, preprocessText } from './text.js';
export {
  BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS, TextTokenizer, TokenizerError,
  type EncodedBatch, type EncodedText, type SpecialIds, type SpecialTokens, type TokenizerOptions,
} from './tokenizer.js';
export { trainTokenizer, type TokenizerKind, type TrainTokenizerOptions } from './tokenizer-train.js';
export { DataLoader, type Batch, type LoaderOptions, type LoaderState, type LoaderStats } from './loader.js';
export { buildPairs, epochOrder, shardOrder, type PairMode, type ShardMode } from './order.js';
export { createDecoder, defaultWorkers, type Decoder } from './decode.js';
export { formatInspectReport, inspectDataset, type InspectFailure, type InspectOptions, type InspectReport, type SplitCounts } from './inspect.js';
export { dataInspectCommand, tokenizerTrainCommand, type TokenizerTrainOptions } from './commands.js';
export { hashSeed, mixSeed, permutation, Prng, type SeedKey } from './rng.js';
