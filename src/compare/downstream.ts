// Downstream evaluation in the race (`flm compare --downstream vqa,nlvr2,retrieval,caption`): every
// probed checkpoint of every run is fine-tuned with the task's own recipe (the same settings as
// `flm finetune <task>`, a short budget of `steps`) and scored on the test split, each test item's score
// kept for the bootstrap. The fine-tune starts from the checkpoint's model folder and is deleted after
// scoring.
//
//   metric                      task        test items
//   vqa_score                   vqa         questions: the VQA score of the top answer
//   nlvr2_accuracy              nlvr2       statements about two images
//   retrieval_tr_r1 / _ir_r1    retrieval   K-way groups of test images (as the zero-shot probe, same K):
//                                           R@1 of the rank head, image-to-text / text-to-image
//   caption_cider               caption     test images, greedy decoding: each image's CIDEr-D (document
//                                           frequencies from the test references; the mean is the corpus score)
//   caption_semantic_accuracy   caption     shapes world: the caption parses and is true of the scene
//
// The data: the race's --data / --test-data; VQA and NLVR2 need the shapes world (`task=vqa` /
// `task=nlvr2` set on its specs), retrieval and captioning take any caption data (e.g. the emoji set).
// The test images are unseen in pretraining.
import { rmSync } from 'node:fs';
import { noGrad, tensor, tidy } from '../tensor/index.js';
import { FLMModel } from '../models/index.js';
import { parseDatasetSpec } from '../data/spec.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { computeCider, cocoTokenizeCaptions } from '../eval/metrics/index.js';
import { finetune, finetuneDefaults } from '../tasks/finetune.js';
import { loadRunModel } from '../tasks/common/inference-model.js';
import { clsFeatures, textTensors } from '../tasks/common/task.js';
import type { CaptionEvalResult } from '../tasks/caption/eval.js';
import { alsoTrueOf, imagePlane, kWayRetrieval, loadProbeImages, type PairLossScorer, type ProbeImages, type ScoredPair } from './probes.js';

import { DOWNSTREAM_TASKS, DOWNSTREAM_TEST, type DownstreamSettings, type DownstreamTask } from './defaults.js';

export { DOWNSTREAM_TASKS, DOWNSTREAM_TEST, type DownstreamSettings, type DownstreamTask };

export interface DownstreamScore {
  task: DownstreamTask;
  metrics: Record<string, number>;
  items: Record<string, number[]>;
  steps: number;
  /** fine-tuning seconds (trainer clock) and scoring seconds */
  train_s: number;
  eval_s: number;
}

/** The problems of the downstream settings of a race on `data` / `testData` (empty: fine). */
export function downstreamProblems(d: DownstreamSettings, data: string, testData: string): string[] {
  const bad: string[] = [];
  for (const t of d.tasks) if (!(DOWNSTREAM_TASKS as readonly string[]).includes(t)) bad.push(`downstream task '${t}' is not one of ${DOWNSTREAM_TASKS.join(', ')}`);
  if (new Set(d.tasks).size !== d.tasks.length) bad.push('downstream: a task is listed twice');
  if (!Number.isInteger(d.steps) || d.steps < 1) bad.push(`downstream steps must be an integer >= 1, got ${d.steps}`);
  if (d.test !== null && (!Number.isInteger(d.test) || d.test < 2)) bad.push(`downstream test items must be an integer >= 2, got ${d.test}`);
  const shapesOnly = d.tasks.filter((t) => t === 'vqa' || t === 'nlvr2');
  if (shapesOnly.length) {
    for (const [k, spec] of [['data', data], ['testData', testData]] as const) {
      try {
        if (parseDatasetSpec(spec).scheme !== 'shapes') {
          bad.push(`--downstream ${shapesOnly.join(',')} needs the shapes world (its questions and statements are generated from the scenes): ${k} is ${spec}; retrieval and caption run on any caption data`);
        }
      } catch (e) {
        bad.push(`${k}: ${(e as Error).message}`);
      }
    }
  }
  return bad;
}

/** A shapes spec with `task` set (caption and retrieval: left without one; other caption data as it is). */
function withTask(spec: string, task: DownstreamTask): string {
  const p = parseDatasetSpec(spec);
  if (p.scheme !== 'shapes') return spec;
  const q = new URLSearchParams(p.query);
  if (task === 'vqa' || task === 'nlvr2') q.set('task', task);
  else q.delete('task');
  return `shapes:${p.path}?${q.toString()}`;
}

/** The training and test data of a task in a race on these specs. */
export function downstreamData(task: DownstreamTask, data: string, testData: string): { train: string; test: string } {
  return { train: withTask(data, task), test: withTask(testData, task) };
}

export const testItemsOf = (d: DownstreamSettings, task: DownstreamTask): number => d.test ?? DOWNSTREAM_TEST[task];

/** Pair losses from a retrieval fine-tune's rank head: minus rank_output(cls_feats). */
function rankLossScorer(model: FLMModel, tok: TextTokenizer, set: ProbeImages, batch = 64): PairLossScorer {
  const S = set.imageSize;
  const plane = 3 * S * S;
  return {
    losses(pairs: readonly ScoredPair[]) {
      const out = new Float32Array(pairs.length);
      for (let start = 0; start < pairs.length; start += batch) {
        const chunk = pairs.slice(start, start + batch);
        const img = new Float32Array(chunk.length * plane);
        chunk.forEach((p, r) => img.set(imagePlane(set, p.image), r * plane));
        const s = noGrad(() => tidy(() => {
          const t = textTensors(tok, chunk.map((p) => p.text), model.config.max_text_len); // [P, L]
          const image = tensor(img, { shape: [chunk.length, 3, S, S] }); // [P, 3, S, S]
          return model.rank_output!.forward(clsFeatures(model, image, t.ids, t.masks)).select(1, 0).toTypedArray() as Float32Array; // [P]
        }));
        s.forEach((v, r) => { out[start + r] = -v; });
      }
      return out;
    },
  };
}

const testSets = new Map<string, Promise<ProbeImages>>();

/** Each test image's CIDEr-D and semantic correctness from a caption evaluation. */
function captionItems(e: CaptionEvalResult): Record<string, number[]> {
  const gts = cocoTokenizeCaptions(Object.fromEntries(e.predictions.map((p) => [p.key, p.references])));
  const res = cocoTokenizeCaptions(Object.fromEntries(e.predictions.map((p) => [p.key, [p.caption]])));
  const cider = computeCider(gts, res);
  const byKey = new Map(cider.ids.map((id, i) => [id, cider.scores[i]!]));
  const items: Record<string, number[]> = { caption_cider: e.predictions.map((p) => byKey.get(p.key) ?? 0) };
  if (e.predictions.every((p) => p.correct !== undefined)) items.caption_semantic_accuracy = e.predictions.map((p) => (p.correct ? 1 : 0));
  return items;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export interface DownstreamRun {
  task: DownstreamTask;
  /** model folder of the pretraining checkpoint */
  from: string;
  /** the fine-tuning run's folder (deleted after scoring) */
  out: string;
  data: string;
  testData: string;
  steps: number;
  testItems: number;
  /** K of the retrieval groups */
  way: number;
  seed: number;
  threads: number;
  workers: number;
}

/** Fine-tunes one checkpoint on one task and scores it on the test split; null when interrupted (Ctrl-C). */
export async function runDownstream(r: DownstreamRun): Promise<DownstreamScore | null> {
  const { train, test } = downstreamData(r.task, r.data, r.testData);
  const scored = r.task !== 'retrieval';
  const ft = await finetune({
    ...finetuneDefaults(r.task), from: r.from, data: train, valData: scored ? test : null, evalLimit: scored ? r.testItems : 0, out: r.out,
    steps: r.steps, evalEvery: r.steps, saveEvery: r.steps, keepLast: 1, seed: r.seed, threads: r.threads, workers: r.workers, tensorboard: false,
    ...(r.task === 'caption' ? { beam: 1 } : {}),
    // one retrieval recipe for every contestant: MLM and AR checkpoints have no FLM loss to score by
    ...(r.task === 'retrieval' ? { scorer: 'rank' as const } : {}),
  }, { quiet: true, overwrite: true });
  try {
    if (ft.stopped === 'interrupted') return null;
    const t0 = performance.now();
    let items: Record<string, number[]>;
    if (r.task === 'retrieval') {
      const run = await loadRunModel(r.out);
      try {
        run.model.eval();
        if (!(run.model instanceof FLMModel) || !run.model.rank_output) throw new Error(`${r.out}: the retrieval fine-tune has no rank head`);
        const key = `${test}|${run.config.image_size}|${r.testItems}`;
        let set = testSets.get(key);
        if (!set) testSets.set(key, (set = loadProbeImages(test, run.config.image_size, r.testItems, { workers: r.workers })));
        const images = await set;
        const k = kWayRetrieval(rankLossScorer(run.model, run.tokenizer, images), images, { images: r.testItems, way: r.way, alsoTrue: alsoTrueOf(images) });
        items = { retrieval_tr_r1: k.items.i2t_raw, retrieval_ir_r1: k.items.t2i_raw };
      } finally {
        run.model.dispose();
      }
    } else {
      const e = ft.lastEval;
      if (!e) throw new Error(`the ${r.task} fine-tune returned no evaluation`);
      if (r.task === 'caption') items = captionItems(e.details as CaptionEvalResult);
      else if (r.task === 'vqa') items = { vqa_score: e.items?.vqa_score ?? [] };
      else items = { nlvr2_accuracy: e.items?.accuracy ?? [] };
    }
    // the task evaluations stop at whole evaluation batches: the same first testItems items at every checkpoint
    for (const [m, xs] of Object.entries(items)) {
      if (!xs.length) throw new Error(`the ${r.task} evaluation scored no test item for ${m}`);
      items[m] = xs.slice(0, r.testItems);
    }
    const metrics = Object.fromEntries(Object.entries(items).map(([m, xs]) => [m, mean(xs)]));
    return { task: r.task, metrics, items, steps: ft.steps, train_s: Number(ft.elapsedS.toFixed(1)), eval_s: Number(((performance.now() - t0) / 1000).toFixed(1)) };
  } finally {
    rmSync(r.out, { recursive: true, force: true });
  }
}
