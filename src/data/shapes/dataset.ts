/**
 * ShapesWorld: a seeded, procedural image-text dataset. Item i of a split is a pure function of
 * (seed, split, i), so nothing has to be stored and any prefix of a split is stable as n grows.
 */
import { generateCaptions } from './grammar.js';
import { renderScene } from './render.js';
import { Prng } from '../rng.js';
import { DEFAULT_HELD_OUT, sampleScene, type Combo, type Scene } from './scene.js';
import { checkStatementKinds, statementOfKind, type Statement } from './semantics.js';
import {
  buildRetrievalSet, makeNlvr2Pair, makeVqaQuestions, relevantImages,
  type Nlvr2Statement, type RetrievalSet, type VqaQuestion,
} from './tasks.js';

export const SHAPES_SPLITS = ['train', 'val', 'test', 'test_compositional'] as const;
export type ShapesSplit = (typeof SHAPES_SPLITS)[number];

export interface ShapesWorldConfig {
  seed: number;
  /** Number of images in this split. */
  n: number;
  imageSize?: number;
  split?: ShapesSplit;
  captionsPerImage?: number;
  questionsPerImage?: number;
  /** Number of NLVR2 pairs; default ceil(n / 2). */
  nlvr2Pairs?: number;
  /** Colour-shape combinations absent from train/val/test and present in test_compositional. */
  heldOut?: readonly Combo[];
  /** Supersampling factor of the rasteriser (per axis). */
  supersample?: number;
  /** Most objects in a scene, 1-4 (default 4): 1 gives one-object scenes only, for easy data. */
  maxObjects?: number;
  /**
   * The kinds of NLVR2 statement drawn (default all): statement forms ("exists", "count", "relation",
   * "compare", "total") or types ("exists/left", ...; see statementType), for easier data or a curriculum.
   */
  nlvr2Statements?: readonly string[];
}

export type ResolvedShapesConfig = Required<ShapesWorldConfig>;

export interface ShapesItem {
  /** Stable id, e.g. "shapes-train-000042". */
  id: string;
  index: number;
  split: ShapesSplit;
  scene: Scene;
  /** RGB, HWC, row-major, imageSize x imageSize. */
  image: Uint8Array;
  captions: string[];
}

export interface Nlvr2Example extends Nlvr2Statement {
  /** e.g. "shapes-train-17-0": NLVR2 style "<split>-<set>-<pair>". */
  id: string;
  index: number;
  left: Scene;
  right: Scene;
}

export interface CaptionReference {
  index: number;
  id: string;
  references: string[];
}

export function resolveShapesConfig(c: ShapesWorldConfig): ResolvedShapesConfig {
  if (!Number.isInteger(c.n) || c.n < 0) throw new Error(`ShapesWorld: n must be a non-negative integer, got ${c.n}`);
  if (!Number.isFinite(c.seed)) throw new Error(`ShapesWorld: seed must be a number, got ${c.seed}`);
  const imageSize = c.imageSize ?? 64;
  if (!Number.isInteger(imageSize) || imageSize < 8) throw new Error(`ShapesWorld: imageSize must be an integer >= 8, got ${imageSize}`);
  const split = c.split ?? 'train';
  if (!SHAPES_SPLITS.includes(split)) throw new Error(`ShapesWorld: unknown split "${split}"`);
  const heldOut = c.heldOut ?? DEFAULT_HELD_OUT;
  if (split === 'test_compositional' && heldOut.length === 0) throw new Error('ShapesWorld: test_compositional needs held-out combinations');
  const maxObjects = c.maxObjects ?? 4;
  if (!Number.isInteger(maxObjects) || maxObjects < 1 || maxObjects > 4) throw new Error(`ShapesWorld: maxObjects (objects=) must be an integer in 1..4, got ${c.maxObjects}`);
  const nlvr2Statements = checkStatementKinds(c.nlvr2Statements ?? []);
  if (maxObjects < 2 && nlvr2Statements.length > 0 && nlvr2Statements.every((k) => k.startsWith('relation'))) {
    throw new Error('ShapesWorld: relation statements need scenes of two objects or more (objects= is 1)');
  }
  return {
    seed: c.seed,
    n: c.n,
    imageSize,
    split,
    captionsPerImage: c.captionsPerImage ?? 5,
    questionsPerImage: c.questionsPerImage ?? 3,
    nlvr2Pairs: c.nlvr2Pairs ?? Math.ceil(c.n / 2),
    heldOut,
    supersample: c.supersample ?? 4,
    maxObjects,
    nlvr2Statements,
  };
}

/** NLVR2 pairs a world keeps (oldest dropped first). */
const NLVR2_CACHE = 16384;

export class ShapesWorld implements Iterable<ShapesItem> {
  readonly config: Readonly<ResolvedShapesConfig>;
  private readonly nlvr2Cache = new Map<number, Nlvr2Example>();

  constructor(config: ShapesWorldConfig) {
    this.config = Object.freeze(resolveShapesConfig(config));
  }

  get length(): number {
    return this.config.n;
  }

  get split(): ShapesSplit {
    return this.config.split;
  }

  private rng(...keys: Array<string | number>): Prng {
    return Prng.fromKeys('shapes-world', this.config.seed, this.config.split, ...keys);
  }

  private checkIndex(i: number, n: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`ShapesWorld(${this.config.split}): index ${i} out of range [0, ${n})`);
  }

  private sample(rng: Prng): Scene {
    return sampleScene(rng, { heldOut: this.config.heldOut, heldOutMode: this.config.split === 'test_compositional' ? 'require' : 'exclude', maxObjects: this.config.maxObjects });
  }

  id(i: number): string {
    return `shapes-${this.config.split}-${String(i).padStart(6, '0')}`;
  }

  scene(i: number): Scene {
    this.checkIndex(i, this.config.n);
    return this.sample(this.rng('scene', i));
  }

  captions(i: number, scene: Scene = this.scene(i)): string[] {
    return generateCaptions(scene, this.config.captionsPerImage, this.rng('captions', i));
  }

  image(i: number, size: number = this.config.imageSize, scene: Scene = this.scene(i)): Uint8Array {
    return renderScene(scene, size, { supersample: this.config.supersample });
  }

  item(i: number): ShapesItem {
    const scene = this.scene(i);
    return { id: this.id(i), index: i, split: this.config.split, scene, image: this.image(i, this.config.imageSize, scene), captions: this.captions(i, scene) };
  }

  *[Symbol.iterator](): Iterator<ShapesItem> {
    for (let i = 0; i < this.config.n; i++) yield this.item(i);
  }

  /** VQA questions about image i. */
  vqa(i: number, scene: Scene = this.scene(i)): VqaQuestion[] {
    return makeVqaQuestions(scene, this.config.questionsPerImage, this.rng('vqa', i));
  }

  /**
   * NLVR2 pair j: a statement and two scenes it is true or false of (makeNlvr2Pair: the statement does
   * not tell the label); labels alternate, so any even prefix is balanced. Kept for reuse, since the
   * loader asks for the pair once for its text and once per image.
   */
  nlvr2(j: number): Nlvr2Example {
    this.checkIndex(j, this.config.nlvr2Pairs);
    const hit = this.nlvr2Cache.get(j);
    if (hit) return hit;
    const label = (j + (this.config.seed & 1)) % 2 === 0;
    const scenes = (k: number): [Scene, Scene] => [this.sample(this.rng('nlvr2', j, 'left', k)), this.sample(this.rng('nlvr2', j, 'right', k))];
    const kinds = this.config.nlvr2Statements;
    const allow = kinds.length === 0 ? undefined : (s: Statement) => statementOfKind(s, kinds);
    const ex: Nlvr2Example = { ...makeNlvr2Pair(scenes, label, this.rng('nlvr2', j, 'statement'), allow), id: `${this.config.split}-${j}-0`, index: j };
    if (this.nlvr2Cache.size >= NLVR2_CACHE) this.nlvr2Cache.delete(this.nlvr2Cache.keys().next().value as number);
    this.nlvr2Cache.set(j, ex);
    return ex;
  }

  *nlvr2Examples(): Generator<Nlvr2Example> {
    for (let j = 0; j < this.config.nlvr2Pairs; j++) yield this.nlvr2(j);
  }

  /** Image-text retrieval over the first `count` images (default all), with caption-truth relevance. */
  retrieval(count: number = this.config.n): RetrievalSet & { relevant: number[][] } {
    const n = Math.min(count, this.config.n);
    const scenes = Array.from({ length: n }, (_, i) => this.scene(i));
    const set = buildRetrievalSet(scenes.map((s, i) => this.captions(i, s)));
    return { ...set, relevant: relevantImages(set.texts, scenes) };
  }

  captionReferences(count: number = this.config.n): CaptionReference[] {
    const n = Math.min(count, this.config.n);
    return Array.from({ length: n }, (_, i) => ({ index: i, id: this.id(i), references: this.captions(i) }));
  }
}
