// `flm demo`, the README's main command: the whole path on the built-in shapes world, in minutes on a
// laptop CPU and with nothing to download. An FLM pretraining, zero-shot retrieval by the pretraining
// loss, a retrieval fine-tune (recall@K and a few ranked queries) and a caption fine-tune (BLEU-4,
// CIDEr-D, the shapes world's semantic accuracy and object recall, a few captions next to their
// references) and a VQA fine-tune (VQA score beside the answer prior, a few answered questions).
//
//   out/pretrain/   the FLM pretraining run (checkpoints, metrics.jsonl, loss.svg)
//   out/retrieval/  the retrieval fine-tune
//   out/caption/    the caption fine-tune
//   out/vqa/        the VQA fine-tune
//   out/demo.json   every number printed
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PRESETS, type PresetName } from '../models/index.js';
import { PRETRAIN_DEFAULTS, pretrain } from '../tasks/pretrain/recipe.js';
import { finetune, finetuneDefaults } from '../tasks/finetune.js';
import { CAPTION_DEFAULTS, finetuneCaption } from '../tasks/caption/recipe.js';
import { loadRunModel } from '../tasks/common/inference-model.js';
import { loadRetrievalSet, type RetrievalSet } from '../tasks/retrieval/data.js';
import { rankScorer, scoreMatrix, type PairScorer } from '../tasks/retrieval/eval.js';
import { zeroShotObjective, zeroShotScorer } from '../tasks/retrieval/zero-shot.js';
import { retrievalRecall, type RetrievalRecall } from '../eval/metrics/retrieval.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { FLMModel } from '../models/index.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import type { VqaPrediction } from '../tasks/vqa/task.js';
import { vqaBreakdown, type VqaTypeScore } from '../tasks/vqa/breakdown.js';

export interface DemoConfig {
  out: string;
  preset: PresetName;
  pretrainSteps: number;
  /**
   * retrieval fine-tuning steps (0: none). The rank head starts untrained, and a few hundred CPU steps
   * leave it behind the zero-shot ranking by the pretraining loss, so the default shows zero-shot only.
   */
  retrievalSteps: number;
  captionSteps: number;
  /** VQA fine-tuning steps (0: none) */
  vqaSteps: number;
  /** test questions answered and scored */
  vqaQuestions: number;
  /** test images of the retrieval evaluation (each with its captions) */
  retrievalImages: number;
  /** test images captioned and scored */
  captionImages: number;
  threads: number;
  quiet: boolean;
}

export const DEMO_DEFAULTS: Omit<DemoConfig, 'out'> = {
  preset: 'mini', pretrainSteps: 600, retrievalSteps: 0, captionSteps: 1000, vqaSteps: 200, vqaQuestions: 300, retrievalImages: 40, captionImages: 100, threads: 0, quiet: false,
};

export interface RankedQuery {
  query: string;
  /** the first caption of the top-ranked image */
  top: string;
  correct: boolean;
}

export interface DemoResult {
  preset: PresetName;
  pretrain: { steps: number; seconds: number; firstLoss: number | null; finalLoss: number | null };
  zeroShot: RetrievalRecall & { objective: string; images: number; texts: number; examples: RankedQuery[] };
  /** null when retrievalSteps is 0 */
  retrieval: (RetrievalRecall & { steps: number; seconds: number; images: number; texts: number; examples: RankedQuery[] }) | null;
  caption: { steps: number; seconds: number; images: number; bleu4: number; cider: number; semanticAccuracy: number | null; objectRecall: number | null; examples: { caption: string; reference: string; correct: boolean | null }[] };
  /** null when vqaSteps is 0 */
  vqa: {
    steps: number; seconds: number; questions: number; score: number; priorScore: number | null;
    /** the score per question type (colour, shape, size, count, exist, relation), the answer prior's beside it */
    byQuestionType: Record<string, VqaTypeScore>;
    examples: { question: string; answer: string; expected: string | null }[];
  } | null;
  seconds: number;
}

/** Shapes-world specs rendered at the preset's image size (no resizing). */
function specs(size: number): { train: string; test: string; val: string; vqaTrain: string; vqaTest: string } {
  return {
    train: `shapes:train?n=20000&seed=1&size=${size}`, val: `shapes:val?n=20&seed=1&size=${size}`, test: `shapes:test?n=500&seed=1&size=${size}`,
    vqaTrain: `shapes:train?n=20000&seed=1&size=${size}&task=vqa`, vqaTest: `shapes:test?n=500&seed=1&size=${size}&task=vqa`,
  };
}

/** Scores every image-text pair of the set and reads recall@K (and the top image of a few queries) off it. */
function rankAll(set: RetrievalSet, scorer: PairScorer, tok: TextTokenizer, queries: number): { recall: RetrievalRecall; examples: RankedQuery[] } {
  const scores = scoreMatrix(set, scorer, tok);
  const nImg = set.imageIds.length;
  const nTxt = set.texts.length;
  const recall = retrievalRecall({ scores, nImg, nTxt, imageIds: set.imageIds, textImageIds: set.textImageIds });
  const firstCaption = new Map<string, string>();
  set.textImageIds.forEach((id, t) => { if (!firstCaption.has(id)) firstCaption.set(id, set.texts[t]!); });
  const examples: RankedQuery[] = [];
  // one query per image from the first images, each the image's first caption
  for (let i = 0; i < Math.min(queries, nImg); i++) {
    const t = set.textImageIds.indexOf(set.imageIds[i]!);
    let best = 0;
    for (let j = 1; j < nImg; j++) if (scores[j * nTxt + t]! > scores[best * nTxt + t]!) best = j;
    examples.push({ query: set.texts[t]!, top: firstCaption.get(set.imageIds[best]!)!, correct: set.imageIds[best] === set.textImageIds[t] });
  }
  return { recall, examples };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export async function runDemo(c: DemoConfig): Promise<DemoResult> {
  const t0 = performance.now();
  const out = resolve(c.out);
  mkdirSync(out, { recursive: true });
  const say = (m: string): void => { if (!c.quiet) console.error(`flm demo: ${m}`); };
  // the demo owns the run folders under --out: running it again starts them over (overwrite below)
  const size = PRESETS[c.preset].image_size;
  const data = specs(size);
  const common = { threads: c.threads, workers: 1 };

  say(`1/4 FLM pretraining (${c.preset} preset, ${c.pretrainSteps} steps) on ${data.train}`);
  const pretrainDir = join(out, 'pretrain');
  const losses: number[] = [];
  const pre = await pretrain({
    ...PRETRAIN_DEFAULTS, objective: 'flm', preset: c.preset, data: data.train, out: pretrainDir, steps: c.pretrainSteps,
    batchSize: 32, microBatch: 32, lr: 5e-4, warmup: 0.1, logEvery: 10, saveEvery: c.pretrainSteps, keepLast: 1, threads: c.threads, workers: 1,
  }, { quiet: c.quiet, overwrite: true, hooks: { onLog: (r) => { losses.push(r.loss as number); } } });

  say(`2/4 zero-shot retrieval on ${c.retrievalImages} test images, pairs scored by the pretraining loss`);
  const set = await loadRetrievalSet(data.test, size, { limit: c.retrievalImages });
  const preRun = await loadRunModel(pretrainDir);
  let zeroShot: DemoResult['zeroShot'];
  try {
    preRun.model.eval();
    const objective = zeroShotObjective(preRun.model, 'flm');
    const scorer = zeroShotScorer(preRun.model, objective);
    try {
      const { recall, examples } = rankAll(set, scorer, preRun.tokenizer, 5);
      zeroShot = { ...recall, objective, images: set.imageIds.length, texts: set.texts.length, examples };
    } finally {
      scorer.restore();
    }
  } finally {
    preRun.model.dispose();
  }

  let retrieval: DemoResult['retrieval'] = null;
  if (c.retrievalSteps > 0) {
    say(`retrieval fine-tuning (${c.retrievalSteps} steps: ITM + rank loss over negatives)`);
    const retrievalDir = join(out, 'retrieval');
    const ft = await finetune({
      ...finetuneDefaults('retrieval'), from: pretrainDir, data: data.train, valData: null, out: retrievalDir, steps: c.retrievalSteps,
      evalEvery: c.retrievalSteps, saveEvery: c.retrievalSteps, keepLast: 1, ...common,
    }, { quiet: c.quiet, overwrite: true });
    const ftRun = await loadRunModel(retrievalDir);
    try {
      ftRun.model.eval();
      const { recall, examples } = rankAll(set, rankScorer(ftRun.model as FLMModel), ftRun.tokenizer, 5);
      retrieval = { ...recall, steps: ft.steps, seconds: ft.elapsedS, images: set.imageIds.length, texts: set.texts.length, examples };
    } finally {
      ftRun.model.dispose();
    }
  }

  say(`3/4 caption fine-tuning (${c.captionSteps} steps, AR loss with <bos>/<eos>), then greedy decoding of ${c.captionImages} test images`);
  const cap = await finetuneCaption({
    ...CAPTION_DEFAULTS, from: pretrainDir, data: data.train, out: join(out, 'caption'), steps: c.captionSteps, lr: 5e-4,
    saveEvery: c.captionSteps, keepLast: 1, valData: data.test, evalLimit: c.captionImages, evalEvery: c.captionSteps, beam: 1, ...common,
  }, { quiet: c.quiet, overwrite: true });
  const ev = cap.eval;
  if (!ev) throw new Error('the caption fine-tune returned no evaluation');

  let vqa: DemoResult['vqa'] = null;
  if (c.vqaSteps > 0) {
    say(`4/4 VQA fine-tuning (${c.vqaSteps} steps, answer classifier), then ${c.vqaQuestions} test questions`);
    const ft = await finetune({
      ...finetuneDefaults('vqa'), from: pretrainDir, data: data.vqaTrain, valData: data.vqaTest, evalLimit: c.vqaQuestions, out: join(out, 'vqa'),
      steps: c.vqaSteps, evalEvery: c.vqaSteps, saveEvery: c.vqaSteps, keepLast: 1, ...common,
    }, { quiet: c.quiet, overwrite: true });
    const m = ft.lastEval?.metrics;
    if (!m || m.vqa_score === undefined) throw new Error('the VQA fine-tune returned no evaluation');
    const answered = (ft.lastEval?.details ?? []) as VqaPrediction[];
    vqa = {
      steps: ft.steps, seconds: ft.elapsedS, questions: m.n ?? answered.length, score: m.vqa_score, priorScore: m.vqa_prior_score ?? null,
      byQuestionType: vqaBreakdown(answered).question_type,
      examples: answered.slice(0, 6).map((p) => ({ question: p.question, answer: p.answer, expected: p.expected ?? null })),
    };
  }
  const result: DemoResult = {
    preset: c.preset,
    pretrain: { steps: pre.steps, seconds: pre.elapsedS, firstLoss: losses[0] ?? null, finalLoss: pre.finalLoss },
    zeroShot,
    retrieval,
    caption: {
      steps: cap.steps, seconds: cap.elapsedS, images: ev.images, bleu4: ev.bleu4, cider: ev.cider, semanticAccuracy: ev.semantic?.accuracy ?? null, objectRecall: ev.semantic?.objectRecall ?? null,
      examples: ev.predictions.slice(0, 5).map((p) => ({ caption: p.caption, reference: p.references[0] ?? '', correct: p.correct ?? null })),
    },
    vqa,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileAtomic(join(out, 'demo.json'), JSON.stringify(result, null, 1));
  return result;
}

/** The demo's results as the lines the command prints. */
export function formatDemo(r: DemoResult, out: string): string[] {
  const recall = (x: RetrievalRecall): string =>
    `text retrieval R@1/5/10 ${pct(x.tr_r1)} / ${pct(x.tr_r5)} / ${pct(x.tr_r10)}, image retrieval R@1/5/10 ${pct(x.ir_r1)} / ${pct(x.ir_r5)} / ${pct(x.ir_r10)}`;
  const queries = (ex: RankedQuery[]): string[] => ex.map((e) => `    ${e.correct ? 'hit ' : 'miss'}  "${e.query}" -> top image, whose caption is: "${e.top}"`);
  const lines = [
    `flm demo (${r.preset} preset, shapes world), ${r.seconds.toFixed(0)} s in all`,
    `  pretraining (FLM): ${r.pretrain.steps} steps in ${r.pretrain.seconds.toFixed(0)} s, loss ${r.pretrain.firstLoss?.toFixed(3) ?? '-'} -> ${r.pretrain.finalLoss?.toFixed(3) ?? '-'}`,
    `  zero-shot retrieval (${r.zeroShot.images} test images x ${r.zeroShot.texts} captions, each pair scored by the ${r.zeroShot.objective} loss): ${recall(r.zeroShot)}`,
    ...queries(r.zeroShot.examples),
    ...(r.retrieval
      ? [`  retrieval after ${r.retrieval.steps} fine-tuning steps (${r.retrieval.seconds.toFixed(0)} s): ${recall(r.retrieval)}`, ...queries(r.retrieval.examples)]
      : ['  (fine-tune retrieval with ITM + rank loss: flm finetune retrieval --from ' + join(out, 'pretrain') + ' --steps 2000)']),
    `  captioning after ${r.caption.steps} fine-tuning steps (${r.caption.seconds.toFixed(0)} s), ${r.caption.images} test images, greedy: ` +
      `BLEU-4 ${r.caption.bleu4.toFixed(3)}, CIDEr-D ${r.caption.cider.toFixed(3)}` +
      (r.caption.semanticAccuracy === null ? '' : `, semantic accuracy ${pct(r.caption.semanticAccuracy)} (the caption parses and is true of the scene)`) +
      (r.caption.objectRecall === null ? '' : `, object recall ${pct(r.caption.objectRecall)} (objects named with their colour and shape)`),
    ...r.caption.examples.map((e) => `    ${e.correct === null ? '' : e.correct ? 'true ' : 'false'}  "${e.caption}"   reference: "${e.reference}"`),
    ...(r.vqa
      ? [`  VQA after ${r.vqa.steps} fine-tuning steps (${r.vqa.seconds.toFixed(0)} s), ${r.vqa.questions} test questions: VQA score ${pct(r.vqa.score)}` +
          (r.vqa.priorScore === null ? '' : ` (answer prior, the most common answer per question type: ${pct(r.vqa.priorScore)})`),
        `    by question type (model / prior): ${Object.entries(r.vqa.byQuestionType).map(([k, v]) => `${k} ${pct(v.score)} / ${v.prior === undefined ? '-' : pct(v.prior)}`).join(', ')}`,
        ...r.vqa.examples.map((e) => `    ${e.expected === null ? '' : e.answer === e.expected ? 'right' : 'wrong'}  "${e.question}" -> ${e.answer}${e.expected === null ? '' : `   expected: ${e.expected}`}`)]
      : []),
    `  runs, curves and checkpoints in ${out}; every number in ${join(out, 'demo.json')}`,
  ];
  return lines;
}
