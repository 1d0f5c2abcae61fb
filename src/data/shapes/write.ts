/**
 * Write the shapes world to disk in the formats of the real datasets:
 *
 *   DIR/dataset_shapes.json                                   Karpathy split JSON (COCO/F30K style)
 *   DIR/images/shapes_<split>_<imgid:012>.png                 the images it refers to
 *   DIR/vqa/v2_OpenEnded_shapes_<split>_questions.json        VQAv2 questions
 *   DIR/vqa/v2_shapes_<split>_annotations.json                VQAv2 annotations (10 answers each)
 *   DIR/nlvr2/data/<train|dev|test1|test_compositional>.json  NLVR2 JSON lines
 *   DIR/nlvr2/images/train/<dir>/<id>-img{0,1}.png            NLVR2 train images (ViLT layout)
 *   DIR/nlvr2/<dev|test1|...>/<id>-img{0,1}.png               NLVR2 eval images
 *   DIR/shapes_manifest.json                                  config and file list
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ShapesWorld, SHAPES_SPLITS, type ShapesSplit } from './dataset.js';
import { tokenize } from './parse.js';
import { renderScene } from './render.js';
import { statementType } from './semantics.js';
import type { Combo } from './scene.js';
import { vqaAnswerType } from './tasks.js';

export interface WriteShapesOptions {
  out: string;
  /** Total number of caption images over all splits (NLVR2 pairs add their own images). */
  n: number;
  seed: number;
  imageSize?: number;
  captionsPerImage?: number;
  questionsPerImage?: number;
  /** Share of the n images per split; default 0.7 / 0.1 / 0.1 / 0.1. */
  fractions?: Partial<Record<ShapesSplit, number>>;
  heldOut?: readonly Combo[];
  /** PNG encodes in flight. */
  concurrency?: number;
}

export interface WriteShapesSummary {
  out: string;
  images: Record<ShapesSplit, number>;
  sentences: number;
  questions: number;
  nlvr2Pairs: number;
  /** JSON files written, relative to out (images are not listed). */
  files: string[];
}

/** NLVR2's own split names. */
export const NLVR2_SPLIT_NAMES: Readonly<Record<ShapesSplit, string>> = {
  train: 'train', val: 'dev', test: 'test1', test_compositional: 'test_compositional',
};

const DEFAULT_FRACTIONS: Readonly<Record<ShapesSplit, number>> = { train: 0.7, val: 0.1, test: 0.1, test_compositional: 0.1 };

/** Split sizes that add up to n; every split gets at least one image when n >= 4. */
export function splitSizes(n: number, fractions: Partial<Record<ShapesSplit, number>> = {}): Record<ShapesSplit, number> {
  const f = { ...DEFAULT_FRACTIONS, ...fractions };
  const total = SHAPES_SPLITS.reduce((s, k) => s + f[k], 0);
  const out = {} as Record<ShapesSplit, number>;
  let used = 0;
  for (const k of SHAPES_SPLITS) {
    if (k === 'train') continue;
    out[k] = f[k] > 0 ? Math.max(n >= 4 ? 1 : 0, Math.floor((n * f[k]) / total)) : 0;
    used += out[k];
  }
  out.train = Math.max(0, n - used);
  return out;
}

type Encoder = (rgb: Uint8Array, size: number, path: string) => Promise<void>;

async function pngEncoder(): Promise<Encoder> {
  const { default: sharp } = await import('sharp');
  return async (rgb, size, path) => {
    await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(path);
  };
}

/** Run async jobs with bounded concurrency; the first failure is rethrown by add() or drain(). */
class Pool {
  private readonly running = new Set<Promise<void>>();
  private error: unknown;
  private failed = false;
  constructor(private readonly limit: number) {}
  async add(job: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.rethrow();
    const p: Promise<void> = job()
      .catch((e: unknown) => {
        if (!this.failed) [this.failed, this.error] = [true, e];
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.rethrow();
  }
  private rethrow(): void {
    if (this.failed) throw this.error;
  }
}

function rawSentence(caption: string): string {
  return `${caption.charAt(0).toUpperCase()}${caption.slice(1)}.`;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(value));
}

export async function writeShapesDataset(opts: WriteShapesOptions): Promise<WriteShapesSummary> {
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`writeShapesDataset: n must be a positive integer, got ${opts.n}`);
  const sizes = splitSizes(opts.n, opts.fractions);
  const imageSize = opts.imageSize ?? 64;
  const encode = await pngEncoder();
  const pool = new Pool(opts.concurrency ?? 8);
  const files: string[] = [];
  const png = async (rgb: Uint8Array, rel: string): Promise<void> => {
    await pool.add(() => encode(rgb, imageSize, join(opts.out, rel)));
  };
  await mkdir(join(opts.out, 'images'), { recursive: true });

  const karpathy: unknown[] = [];
  let imgid = 0;
  let sentid = 0;
  let questions = 0;
  let nlvr2Pairs = 0;
  for (const split of SHAPES_SPLITS) {
    const world = new ShapesWorld({
      seed: opts.seed, n: sizes[split], split, imageSize,
      ...(opts.captionsPerImage !== undefined ? { captionsPerImage: opts.captionsPerImage } : {}),
      ...(opts.questionsPerImage !== undefined ? { questionsPerImage: opts.questionsPerImage } : {}),
      ...(opts.heldOut !== undefined ? { heldOut: opts.heldOut } : {}),
    });
    const vqaQuestions: unknown[] = [];
    const vqaAnnotations: unknown[] = [];
    for (const item of world) {
      const filename = `shapes_${split}_${String(imgid).padStart(12, '0')}.png`;
      await png(item.image, `images/${filename}`);
      const sentences = item.captions.map((c) => ({ raw: rawSentence(c), tokens: tokenize(c).filter((t) => /^[a-z0-9]+$/.test(t)), imgid, sentid: sentid++ }));
      karpathy.push({ filepath: 'images', filename, split, imgid, cocoid: imgid, sentids: sentences.map((s) => s.sentid), sentences });
      world.vqa(item.index, item.scene).forEach((q, k) => {
        const question_id = imgid * 1000 + k;
        questions++;
        vqaQuestions.push({ image_id: imgid, question: q.question, question_id });
        vqaAnnotations.push({
          question_type: q.question.split(' ').slice(0, 2).join(' '),
          multiple_choice_answer: q.answer,
          answers: q.annotators.map((a, id) => ({ answer: a.answer, answer_confidence: a.confidence, answer_id: id + 1 })),
          image_id: imgid,
          answer_type: vqaAnswerType(q.kind),
          question_id,
        });
      });
      imgid++;
    }
    const info = { description: `shapes world VQA (${split}), generated`, version: '1.0', year: 2024 };
    const qrel = `vqa/v2_OpenEnded_shapes_${split}_questions.json`;
    const arel = `vqa/v2_shapes_${split}_annotations.json`;
    await writeJson(join(opts.out, qrel), { info, task_type: 'Open-Ended', data_type: 'shapes', data_subtype: split, license: {}, questions: vqaQuestions });
    await writeJson(join(opts.out, arel), { info, data_type: 'shapes', data_subtype: split, license: {}, annotations: vqaAnnotations });
    files.push(qrel, arel);

    const nsplit = NLVR2_SPLIT_NAMES[split];
    const lines: string[] = [];
    for (const ex of world.nlvr2Examples()) {
      const iden = `${nsplit}-${ex.index}-0`;
      const directory = ex.index % 100;
      const dir = split === 'train' ? `nlvr2/images/train/${directory}` : `nlvr2/${nsplit}`;
      await mkdir(join(opts.out, dir), { recursive: true });
      await png(renderScene(ex.left, imageSize, { supersample: world.config.supersample }), `${dir}/${iden}-img0.png`);
      await png(renderScene(ex.right, imageSize, { supersample: world.config.supersample }), `${dir}/${iden}-img1.png`);
      lines.push(JSON.stringify({
        identifier: `${iden}-0`,
        sentence: ex.sentence,
        label: ex.label ? 'True' : 'False',
        statement_type: statementType(ex.statement),
        left_url: `${dir.slice('nlvr2/'.length)}/${iden}-img0.png`,
        right_url: `${dir.slice('nlvr2/'.length)}/${iden}-img1.png`,
        ...(split === 'train' ? { directory } : {}),
        writer: 'shapes',
        synset: '',
        query: '',
        validation: {},
        extra_validations: {},
      }));
      nlvr2Pairs++;
    }
    const nrel = `nlvr2/data/${nsplit}.json`;
    await mkdir(join(opts.out, 'nlvr2/data'), { recursive: true });
    await writeFile(join(opts.out, nrel), lines.length > 0 ? `${lines.join('\n')}\n` : '');
    files.push(nrel);
  }
  await pool.drain();
  await writeJson(join(opts.out, 'dataset_shapes.json'), { images: karpathy, dataset: 'shapes' });
  files.push('dataset_shapes.json');
  const summary: WriteShapesSummary = { out: opts.out, images: sizes, sentences: sentid, questions, nlvr2Pairs, files };
  const manifest = { generator: 'flm shapes world', seed: opts.seed, imageSize, n: opts.n, images: sizes, sentences: sentid, questions, nlvr2Pairs };
  await writeJson(join(opts.out, 'shapes_manifest.json'), manifest);
  summary.files.push('shapes_manifest.json');
  return summary;
}

/** Entry point for `flm data shapes --out DIR --n N [--seed S] [--image-size 64]`. */
export async function shapesCommand(args: { out: string; n: number; seed: number; imageSize: number }): Promise<void> {
  const t0 = Date.now();
  const s = await writeShapesDataset({ out: args.out, n: args.n, seed: args.seed, imageSize: args.imageSize });
  const per = SHAPES_SPLITS.map((k) => `${k} ${s.images[k]}`).join(', ');
  console.log(`shapes world written to ${s.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s: images (${per}), ${s.sentences} captions, ${s.questions} VQA questions, ${s.nlvr2Pairs} NLVR2 pairs`);
}
