/**
 * Adapter from the procedural shapes world (src/data/shapes) to a DatasetSource. Images are not
 * rendered here: items carry a `synthetic` ImageRef that the decode worker renders on demand.
 *
 *   shapes:SPLIT?n=20000&seed=1&size=64&captions=5&task=caption|vqa|nlvr2&questions=3&pairs=N&objects=4&statements=exists,count
 */
import { renderScene, ShapesWorld, SHAPES_SPLITS, statementType, vqaAnswerType, type ShapesSplit, type ShapesWorldConfig } from '../shapes/index.js';
import { DataError, type DataItem, type ImageRef, type IndexedSource, type SourceEntry, type SyntheticArgs, type TextKind } from '../types.js';
import type { RgbImage } from '../randaugment.js';

type ShapesTask = 'caption' | 'vqa' | 'nlvr2';

function intParam(q: URLSearchParams, name: string, dflt: number | undefined): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new DataError(`shapes: ${name} must be an integer, got "${v}"`);
  return n;
}

function worldConfig(args: SyntheticArgs): ShapesWorldConfig {
  return {
    seed: Number(args.seed), n: Number(args.n), split: String(args.split) as ShapesSplit, imageSize: Number(args.size),
    ...(args.captions !== undefined ? { captionsPerImage: Number(args.captions) } : {}),
    ...(args.questions !== undefined ? { questionsPerImage: Number(args.questions) } : {}),
    ...(args.pairs !== undefined ? { nlvr2Pairs: Number(args.pairs) } : {}),
    ...(args.objects !== undefined ? { maxObjects: Number(args.objects) } : {}),
    ...(args.statements !== undefined ? { nlvr2Statements: String(args.statements).split(',').map((k) => k.trim()).filter((k) => k !== '') } : {}),
  };
}

const worlds = new Map<string, ShapesWorld>();

function worldFor(args: SyntheticArgs): ShapesWorld {
  const key = JSON.stringify([args.seed, args.n, args.split, args.size, args.captions, args.questions, args.pairs, args.objects, args.statements]);
  let w = worlds.get(key);
  if (w === undefined) {
    if (worlds.size > 16) worlds.clear();
    w = new ShapesWorld(worldConfig(args));
    worlds.set(key, w);
  }
  return w;
}

/** Render a `synthetic` shapes ImageRef (called in the decode worker). */
export function renderShapesImage(args: SyntheticArgs): RgbImage {
  const w = worldFor(args);
  const size = w.config.imageSize;
  const i = Number(args.index);
  const view = String(args.view);
  if (view === 'image') return { data: w.image(i), width: size, height: size };
  const ex = w.nlvr2(i);
  return { data: renderScene(view === 'left' ? ex.left : ex.right, size, { supersample: w.config.supersample }), width: size, height: size };
}

export class ShapesSource implements IndexedSource {
  readonly kind = 'indexed' as const;
  readonly openFailures = [];
  readonly textKind: TextKind;
  readonly imagesPerItem: number;
  readonly world: ShapesWorld;
  private readonly base: Record<string, number | string>;
  private readonly questions: number;

  constructor(readonly name: string, split: string, q: URLSearchParams) {
    if (!(SHAPES_SPLITS as readonly string[]).includes(split)) throw new DataError(`shapes: unknown split "${split}" (one of ${SHAPES_SPLITS.join(', ')})`);
    const task = (q.get('task') ?? 'caption') as ShapesTask;
    if (!['caption', 'vqa', 'nlvr2'].includes(task)) throw new DataError(`shapes: unknown task "${task}" (caption, vqa or nlvr2)`);
    this.task = task;
    const base: Record<string, number | string> = {
      seed: intParam(q, 'seed', 0) as number, n: intParam(q, 'n', 1000) as number, split, size: intParam(q, 'size', 64) as number,
    };
    for (const k of ['captions', 'questions', 'pairs', 'objects'] as const) {
      const v = intParam(q, k, undefined);
      if (v !== undefined) base[k] = v;
    }
    const statements = q.get('statements');
    if (statements !== null && statements !== '') {
      if (task !== 'nlvr2') throw new DataError(`shapes: statements= picks kinds of NLVR2 statement; it needs task=nlvr2 (got task=${task})`);
      base.statements = statements;
    }
    this.base = base;
    try {
      this.world = worldFor(base);
    } catch (e) {
      throw new DataError(`shapes: ${(e as Error).message.replace(/^ShapesWorld: /, '')}`, { cause: e });
    }
    this.questions = this.world.config.questionsPerImage;
    this.textKind = task === 'caption' ? 'caption' : task === 'vqa' ? 'question' : 'statement';
    this.imagesPerItem = task === 'nlvr2' ? 2 : 1;
  }

  private readonly task: ShapesTask;

  get length(): number {
    const c = this.world.config;
    return this.task === 'caption' ? c.n : this.task === 'vqa' ? c.n * this.questions : c.nlvr2Pairs;
  }

  captionCount(): number {
    return this.task === 'caption' ? this.world.config.captionsPerImage : 1;
  }

  private ref(index: number, view: 'image' | 'left' | 'right', origin: string): ImageRef {
    return { kind: 'synthetic', generator: 'shapes', args: { ...this.base, index, view }, origin };
  }

  private item(i: number): DataItem {
    const w = this.world;
    const split = w.config.split;
    if (this.task === 'caption') {
      return { key: w.id(i), images: [this.ref(i, 'image', w.id(i))], captions: w.captions(i), split };
    }
    if (this.task === 'vqa') {
      const img = Math.floor(i / this.questions);
      const q = w.vqa(img)[i % this.questions];
      if (q === undefined) throw new DataError(`shapes: no question ${i % this.questions} for image ${img}`);
      const counts = new Map<string, number>();
      for (const a of q.annotators) counts.set(a.answer, (counts.get(a.answer) ?? 0) + 1);
      return {
        key: `${w.id(img)}-q${i % this.questions}`, images: [this.ref(img, 'image', w.id(img))], captions: [q.question], split,
        meta: {
          task: 'vqa', questionId: img * 1000 + (i % this.questions), imageId: img,
          answers: [...counts].map(([answer, count]) => ({ answer, count })), multipleChoiceAnswer: q.answer, questionType: q.kind, answerType: vqaAnswerType(q.kind),
        },
      };
    }
    let ex: ReturnType<ShapesWorld['nlvr2']>;
    try {
      ex = w.nlvr2(i);
    } catch (e) {
      throw new DataError(`shapes: NLVR2 pair ${i}: ${(e as Error).message}`, { cause: e });
    }
    return {
      key: ex.id, images: [this.ref(i, 'left', `${ex.id}-img0`), this.ref(i, 'right', `${ex.id}-img1`)], captions: [ex.sentence], split,
      meta: { task: 'nlvr2', identifier: ex.id, label: ex.label, statementType: statementType(ex.statement) },
    };
  }

  async get(i: number): Promise<SourceEntry> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.name}: index ${i} out of range [0, ${this.length})`);
    return { ok: true, item: this.item(i) };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceEntry> {
    for (let i = 0; i < this.length; i++) yield { ok: true, item: this.item(i) };
  }
}
