/** Evaluation metrics (flm-spec section F): caption metrics, retrieval recall, VQA and NLVR2. */
export { americanize } from './americanize.js';
export { type CaptionCorpus, splitWords } from './caption-corpus.js';
export { type BleuResult, computeBleu } from './bleu.js';
export { type CiderOptions, type CiderResult, computeCider } from './cider.js';
export {
  type CaptionRecord,
  PTB_PUNCTUATIONS,
  cocoTokenize,
  cocoTokenizeCaptions,
  ptbTokenize,
} from './ptb-tokenize.js';
export { type ItemId, type RetrievalInput, type RetrievalRanks, type RetrievalRecall, retrievalRanks, retrievalRecall } from './retrieval.js';
export {
  Accuracy,
  IGNORE_INDEX,
  type VqaTarget,
  VqaScore,
  argmaxRows,
  nlvr2Accuracy,
  normalizeVqaWord,
  processDigitArticle,
  processPunctuation,
  vqaScore,
  vqaTargetScore,
} from './vqa.js';
