export {
  SHAPES, COLOURS, SIZES, COLOUR_RGB, BACKGROUND_RGB, SIZE_RADIUS, DEFAULT_HELD_OUT, INVERSE_RELATION, LOCATIONS,
  isHeldOut, sampleScene, relationHolds, relationClear, locationHolds, clearLocations,
  type Shape, type Colour, type Size, type SceneObject, type Scene, type Combo, type SampleOptions, type Relation, type Location,
} from './scene.js';
export { renderScene, insideShape, type RenderOptions } from './render.js';
export { type ImageQuant } from './lexicon.js';
export {
  matches, matchSet, evalChunk, evalCaption, evalStatement, statementType,
  type Pred, type Quant, type NP, type Chunk, type CaptionAst, type Statement,
} from './semantics.js';
export { objectRecall } from './object-recall.js';
export { parseCaption, parseStatement, tokenize, ParseError } from './parse.js';
export {
  generateCaption, generateCaptions, checkCaption, captionCoverage, realiseNP, realiseChunk, realiseStatement, realiseBarePlural,
  type CaptionCheck, type RealiseOptions,
} from './grammar.js';
export {
  VQA_ANSWERS, vqaScore, vqaSoftScores, vqaAnswerType, answerVqa, makeVqaQuestions, makeNlvr2Pair, buildRetrievalSet,
  relevantImages, semanticAccuracy,
  type VqaKind, type VqaProgram, type VqaAnswer, type VqaQuestion, type Nlvr2Statement, type RetrievalSet, type SemanticAccuracy,
} from './tasks.js';
export {
  ShapesWorld, SHAPES_SPLITS, resolveShapesConfig,
  type ShapesSplit, type ShapesWorldConfig, type ResolvedShapesConfig, type ShapesItem, type Nlvr2Example, type CaptionReference,
} from './dataset.js';
export {
  writeShapesDataset, shapesCommand, splitSizes, NLVR2_SPLIT_NAMES, type WriteShapesOptions, type WriteShapesSummary,
} from './write.js';
