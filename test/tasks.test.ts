// Fine-tuning and evaluation for retrieval, VQA and NLVR2 (spec D.8-D.10, F) on the tiny preset and a
// tiny shapes world: short runs of each task from a pretraining run, the overfit check on a fixed
// batch, recall@K of a hand-made score matrix through the evaluation path, exact resume, zero-shot
// retrieval, loading a single-stream pretrain into the three-stream model, and config errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, tidy, type Tensor } from '../src/tensor/index.js';
import { FLMModel, createModel, flmConfig, withOverrides } from '../src/models/index.js';
import { AdamW } from '../src/optim/index.js';
import { openDataset } from '../src/data/spec.js';
import { DataLoader, type Batch } from '../src/data/loader.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { retrievalRecall } from '../src/eval/metrics/retrieval.js';
import { PRETRAIN_DEFAULTS, TrainConfigError, pretrain } from '../src/tasks/pretrain/recipe.js';
import { finetune, finetuneDefaults, type FinetuneConfig, type FinetuneResult } from '../src/tasks/finetune.js';
import { validateSettings } from '../src/config/resolve.js';
import { VQA } from '../src/tasks/vqa/spec.js';
import { createRetrievalTask } from '../src/tasks/retrieval/task.js';
import { createVqaTask } from '../src/tasks/vqa/task.js';
import { createNlvr2Task } from '../src/tasks/nlvr2/task.js';
import type { DatasetSource } from '../src/data/types.js';
import { initFinetuneModel } from '../src/tasks/common/finetune-init.js';
import { evaluateCheckpoint } from '../src/tasks/common/eval.js';
import { evaluateRetrieval, type PairScorer } from '../src/tasks/retrieval/eval.js';
import type { RetrievalSet } from '../src/tasks/retrieval/data.js';
import type { FinetuneTask } from '../src/tasks/common/task.js';

/** The classification-style tasks these tests cover (captioning has test/caption.test.ts). */
const TASK_NAMES = ['retrieval', 'vqa', 'nlvr2'] as const;
type TaskName = (typeof TASK_NAMES)[number];
import { cli } from './cli-helpers.js';

const SEED = 'seed=3&size=32';
const DATA: Record<TaskName, { train: string; val: string }> = {
  retrieval: { train: `shapes:train?n=24&${SEED}`, val: `shapes:val?n=6&${SEED}` },
  vqa: { train: `shapes:train?n=16&${SEED}&task=vqa`, val: `shapes:val?n=6&${SEED}&task=vqa` },
  nlvr2: { train: `shapes:train?n=32&${SEED}&task=nlvr2`, val: `shapes:val?n=12&${SEED}&task=nlvr2` },
};


function config(task: TaskName, from: string | null, out: string, over: Partial<FinetuneConfig> = {}): FinetuneConfig {
  return {
    ...finetuneDefaults(task), from, preset: 'tiny', data: DATA[task].train, valData: DATA[task].val, out, steps: 3, batchSize: 4, microBatch: 4,
    negatives: 3, lr: 1e-3, workers: 0, logEvery: 1, evalEvery: 100, saveEvery: 100, evalBatch: 8, ...over,
  };
}

/** The task object of `name` (what the recipes build), for the unit tests below. */
async function createTask(name: TaskName, train: { spec: string; source: DatasetSource }): Promise<{ task: FinetuneTask }> {
  if (name === 'retrieval') return { task: await createRetrievalTask(train.source, { negatives: 3, itmWeight: 0.5 }) };
  if (name === 'vqa') return createVqaTask(train, { minAnswerCount: 1 });
  return { task: createNlvr2Task() };
}

const inUnit = (v: number | undefined, what: string): void => assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${what} = ${v}`);
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

const root = mkdtempSync(join(tmpdir(), 'flm-tasks-'));
const pre = join(root, 'pretrain');
before(async () => {
  manualSeed(11);
  await pretrain({
    ...PRETRAIN_DEFAULTS, objective: 'flm', preset: 'tiny', data: DATA.retrieval.train, out: pre, steps: 2, batchSize: 4, microBatch: 4, workers: 0,
    vocabSize: 420, logEvery: 1, saveEvery: 10,
  }, { quiet: true });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('flm finetune <task> from a pretraining run, then flm eval', () => {
  const results = new Map<TaskName, FinetuneResult>();
  before(async () => {
    for (const task of TASK_NAMES) results.set(task, await finetune(config(task, pre, join(root, task)), { quiet: true }));
  });

  it('each task runs, its loss is finite, the final evaluation is in range and marks the best checkpoint', () => {
    for (const task of TASK_NAMES) {
      const r = results.get(task)!;
      assert.equal(r.steps, 3, task);
      assert.ok(r.finalLoss !== null && Number.isFinite(r.finalLoss), `${task} loss ${r.finalLoss}`);
      assert.ok(r.best && r.best.step === 3, `${task} best`);
      const m = r.lastEval!.metrics;
      if (task === 'retrieval') {
        for (const k of ['tr_r1', 'tr_r5', 'tr_r10', 'ir_r1', 'ir_r5', 'ir_r10']) inUnit(m[k], k);
        assert.ok(m.tr_r1! <= m.tr_r5! && m.tr_r5! <= m.tr_r10!);
        assert.equal(m.n_images, 6);
        assert.equal(m.n_texts! >= 6, true);
      } else if (task === 'vqa') {
        inUnit(m.vqa_score, 'vqa_score');
        inUnit(m.vqa_prior_score, 'vqa_prior_score');
        assert.equal(m.n, 18); // 6 images x 3 questions
      } else {
        inUnit(m.accuracy, 'accuracy');
        assert.equal(m.n, 6); // n / 2 pairs
      }
      const runDir = join(root, task);
      assert.equal(readFileSync(join(runDir, 'checkpoints', 'best'), 'utf8').trim(), 'step-00000003');
      const state = readJson<{ task: string; modelConfig: { loss_names: Record<string, number>; vqa_label_size?: number }; answers?: string[] }>(
        join(runDir, 'checkpoints', 'step-00000003', 'state.json'));
      assert.equal(state.task, task);
      if (task === 'vqa') {
        assert.equal(state.modelConfig.vqa_label_size, state.answers!.length);
        const prior = (state as { answer_prior?: Record<string, string> }).answer_prior;
        assert.ok(prior && typeof prior[''] === 'string' && Object.values(prior).every((a) => state.answers!.includes(a)), JSON.stringify(prior));
      }
    }
  });

  it('val.svg draws every evaluation metric, a chart each (not the example counts and timings)', () => {
    const want: Record<TaskName, string[]> = {
      retrieval: ['ir_r1', 'ir_r10', 'ir_r5', 'r1_sum', 'rsum', 'tr_r1', 'tr_r10', 'tr_r5'],
      vqa: ['vqa_prior_score', 'vqa_score'],
      nlvr2: ['accuracy'],
    };
    for (const task of TASK_NAMES) {
      const svg = readFileSync(join(root, task, 'val.svg'), 'utf8');
      // each chart's title (15 px) names its metric
      assert.deepEqual([...svg.matchAll(/font-size="15">([^<]+)</g)].map((m) => m[1]).sort(), want[task], task);
    }
  });

  it('the task heads are built and the pretrained weights loaded (NLVR2: 3 token types, row 2 := row 1)', () => {
    const init = readJson<{ missing: string[]; unexpected: string[]; adapted: string[]; loaded: number }>(join(root, 'nlvr2', 'init.json'));
    assert.ok(init.loaded > 100);
    assert.ok(init.missing.every((k) => k.startsWith('nlvr2_classifier.')), init.missing.join(','));
    assert.ok(init.unexpected.some((k) => k.startsWith('lm_score')));
    assert.ok(init.adapted.some((a) => a.includes('token_type_embeddings')));
    const w = loadSafetensors(join(root, 'nlvr2', 'checkpoints', 'step-00000003', 'model.safetensors')).tensors;
    assert.deepEqual(w.get('token_type_embeddings.weight')!.shape, [3, 32]);
    for (const t of w.values()) t.dispose();
    const ret = readJson<{ missing: string[] }>(join(root, 'retrieval', 'init.json'));
    assert.ok(ret.missing.includes('rank_output.weight') && ret.missing.includes('itm_score.fc.weight'));
  });

  it('flm eval <task> --json prints the metrics of the best checkpoint', async () => {
    for (const task of TASK_NAMES) {
      const r = await cli('eval', task, '--checkpoint', join(root, task), '--data', DATA[task].val, '--json', '--quiet', '--batch-size', '8');
      assert.equal(r.code, 0, r.err);
      const s = JSON.parse(r.out) as { step: number; metrics: Record<string, number>; selection: number };
      assert.equal(s.step, 3);
      // the same checkpoint and data as the trainer's final evaluation
      assert.deepEqual(Object.keys(s.metrics).filter((k) => k !== 'elapsed_s'), Object.keys(results.get(task)!.lastEval!.metrics).filter((k) => k !== 'elapsed_s'));
      assert.ok(Math.abs(s.selection - results.get(task)!.lastEval!.selection) < 1e-6, `${task}: ${s.selection} vs ${results.get(task)!.lastEval!.selection}`);
    }
  });

  it('zero-shot retrieval scores pairs by the pretraining loss; a pretraining run without --zero-shot is refused', async () => {
    const r = await evaluateCheckpoint({ task: 'retrieval', checkpoint: pre, data: DATA.retrieval.val, zeroShot: true, batchSize: 16 });
    assert.equal(r.zeroShotObjective, 'flm');
    for (const k of ['tr_r1', 'tr_r5', 'ir_r1', 'ir_r10']) inUnit(r.metrics[k], k);
    await assert.rejects(evaluateCheckpoint({ task: 'retrieval', checkpoint: pre, data: DATA.retrieval.val }), /pretrain checkpoint.*--zero-shot/);
    await assert.rejects(evaluateCheckpoint({ task: 'vqa', checkpoint: join(root, 'retrieval'), data: DATA.vqa.val }), /retrieval checkpoint, not a vqa one/);
  });
});

describe('overfit a fixed batch', () => {
  async function fixedBatch(spec: string, tok: TextTokenizer, n: number): Promise<Batch> {
    const loader = new DataLoader(await openDataset(spec), { batchSize: n, imageSize: 32, tokenizer: tok, maxTextLength: 12, shuffle: false, workers: 0 });
    try {
      for await (const b of loader) return b;
      throw new Error('no batch');
    } finally {
      await loader.close();
    }
  }

  it('the loss of each task falls over 30 steps', async () => {
    const tok = await TextTokenizer.fromFile(join(pre, 'tokenizer.json'), { maxLength: 12 });
    for (const name of TASK_NAMES) {
      const train = { spec: DATA[name].train, source: await openDataset(DATA[name].train) };
      const { task } = await createTask(name, train);
      const cfg = withOverrides(flmConfig('tiny'), { ...task.modelOverrides(), vocab_size: tok.vocabSize, text_encoder_arch: { vocab_size: tok.vocabSize } });
      manualSeed(0);
      const model = createModel(cfg) as FLMModel;
      const opt = new AdamW(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([, p]) => p), { lr: 2e-3, weightDecay: 0 });
      const batch = await fixedBatch(DATA[name].train, tok, 4);
      const losses: number[] = [];
      for (let s = 0; s < 30; s++) {
        manualSeed(1); // the same ITM draws every step: a fixed batch
        opt.zeroGrad();
        tidy(() => {
          const r = task.loss(model, batch, tok, { step: 0, micro: 0, seed: 0 });
          losses.push(r.loss.item());
          r.loss.backward();
        });
        opt.step();
      }
      model.dispose();
      opt.dispose();
      assert.ok(losses.every(Number.isFinite), `${name}: ${losses.join(', ')}`);
      const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
      const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
      assert.ok(last < 0.6 * first, `${name}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    }
  });
});

describe('retrieval evaluation path', () => {
  it('recall@K of a hand-made score matrix, scored through text batches that split the captions', async () => {
    // 3 images, 2 captions each (image 0: texts 0, 1; image 1: 2, 3; image 2: 4, 5)
    const S = [
      [0.9, 0.1, 0.8, 0.0, 0.2, 0.3], // image 0: best text 0 (own)
      [0.5, 0.7, 0.4, 0.3, 0.1, 0.0], // image 1: best text 1 (image 0's), own texts ranked 3rd and 4th
      [0.2, 0.6, 0.1, 0.9, 0.3, 0.4], // image 2: best text 3 (image 1's), own texts 4th and 3rd
    ];
    const ids = ['a', 'b', 'c'];
    const set: RetrievalSet = {
      images: new Float32Array(3 * 3 * 4 * 4), imageSize: 4, imageIds: ids, skipped: 0,
      texts: ['a one', 'a two', 'b one', 'b two', 'c one', 'c two'], textImageIds: ['a', 'a', 'b', 'b', 'c', 'c'],
    };
    const seen: string[] = [];
    const scorer: PairScorer = {
      score(image: Tensor, i: number, t) {
        assert.deepEqual(image.shape, [1, 3, 4, 4]);
        assert.equal(t.ids.shape[0], t.count);
        seen.push(`${i}:${t.start}+${t.count}`);
        return S[i]!.slice(t.start, t.start + t.count);
      },
    };
    const tok = await TextTokenizer.fromFile(join(pre, 'tokenizer.json'), { maxLength: 12 });
    const outcome = evaluateRetrieval(set, scorer, tok, { textBatch: 4 });
    const r = outcome.metrics;
    assert.deepEqual(seen, ['0:0+4', '0:4+2', '1:0+4', '1:4+2', '2:0+4', '2:4+2']);
    // TR: image 0 hit at 1; image 1 own texts at ranks 3-4 (hit at 5); image 2 own at ranks 3-4 (hit at 5)
    assert.equal(r.tr_r1, 1 / 3);
    assert.equal(r.tr_r5, 1);
    // IR per text column: t0 -> a (hit@1); t1 -> b,c,a (a 3rd); t2 -> a,b (b 2nd); t3 -> c,b (b 2nd); t4 -> c (hit@1); t5 -> c (hit@1)
    assert.equal(r.ir_r1, 3 / 6);
    assert.equal(r.ir_r5, 1);
    assert.equal(r.n_images, 3);
    assert.equal(r.n_texts, 6);
    const direct = retrievalRecall({ scores: Float32Array.from(S.flat()), nImg: 3, nTxt: 6, imageIds: ids, textImageIds: set.textImageIds });
    assert.equal(r.rsum, direct.rsum);
    assert.equal(r.r1_sum, r.tr_r1 + r.ir_r1);
    // per query: image 0's true caption first, images 1 and 2 at 3; captions t0..t5 find their image at 1, 3, 2, 2, 1, 1
    assert.deepEqual(outcome.ranks.images.map((x) => x.rank), [1, 3, 3]);
    assert.deepEqual(outcome.ranks.texts.map((x) => x.rank), [1, 3, 2, 2, 1, 1]);
    assert.deepEqual(outcome.ranks.texts.map((x) => x.image_id), set.textImageIds);
    assert.deepEqual(outcome.items.ir_r1, [1, 0, 0, 0, 1, 1]);
    assert.deepEqual(outcome.items.tr_r5, [1, 1, 1]);
  });
});

describe('exact resume', () => {
  for (const task of TASK_NAMES) it(`${task}: a run resumed from a crash checkpoint logs the same losses and ends with the same weights`, async () => {
    const over = { steps: 6, saveEvery: 2, evalEvery: 3, logEvery: 1, keepLast: 5 };
    const a = join(root, `resume-${task}-a`);
    const b = join(root, `resume-${task}-b`);
    await finetune(config(task, pre, a, over), { quiet: true });
    // run b "crashes" at the log of step 3: its latest checkpoint is step 2
    await assert.rejects(finetune(config(task, pre, b, over), {
      quiet: true, hooks: { onLog: (r) => { if (r.step === 3) throw new Error('crash'); } },
    }), /crash/);
    const rb = await finetune(config(task, pre, b, over), { quiet: true, resume: true });
    assert.equal(rb.steps, 6);
    const losses = (dir: string): number[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { split?: string; loss?: number }).filter((r) => r.split !== 'val').map((r) => r.loss!);
    assert.deepEqual(losses(b), losses(a));
    const wa = loadSafetensors(join(a, 'checkpoints', 'step-00000006', 'model.safetensors')).tensors;
    const wb = loadSafetensors(join(b, 'checkpoints', 'step-00000006', 'model.safetensors')).tensors;
    for (const [k, t] of wa) assert.ok(t.equal(wb.get(k)!), `weights differ at ${k}`);
    for (const t of [...wa.values(), ...wb.values()]) t.dispose();
  });
});

describe('a single-stream pretraining run', () => {
  it('MLM weights load into the three-stream FLM model by name, with the key report', async () => {
    const mlm = join(root, 'pretrain-mlm');
    await pretrain({
      ...PRETRAIN_DEFAULTS, objective: 'mlm', preset: 'tiny', data: DATA.retrieval.train, out: mlm, steps: 1, batchSize: 4, microBatch: 4, workers: 0,
      tokenizer: join(pre, 'tokenizer.json'), logEvery: 1, saveEvery: 10,
    }, { quiet: true });
    const c = config('vqa', mlm, join(root, 'vqa-from-mlm'));
    const { task } = await createTask('vqa', { spec: c.data, source: await openDataset(c.data) });
    const init = await initFinetuneModel(c, await openDataset(c.data), task.modelOverrides());
    try {
      assert.ok(init.model instanceof FLMModel && init.config.flm_backbone);
      assert.equal(init.report.sourceObjective, 'mlm');
      assert.ok(init.report.unexpected.some((k) => k.startsWith('mlm_score.')));
      assert.ok(init.report.missing.some((k) => k.startsWith('fusion_layers_top.')));
      assert.ok(init.report.missing.some((k) => k.startsWith('vqa_classifier.')));
      assert.ok(!init.report.missing.some((k) => k.startsWith('text_transformer.') || k.startsWith('vit_model.')));
    } finally {
      init.model.dispose();
    }
  });
});

describe('bad settings', () => {
  it('validation lists every problem', () => {
    const { task: _t, negatives: _n, itmWeight: _i, ...vqa } = config('vqa', null, join(root, 'bad'));
    const c = { ...vqa, steps: 0, batchSize: 6, microBatch: 4, lr: -1, minAnswerCount: 0, shots: 3 };
    assert.throws(() => validateSettings(VQA, c), (e: Error) => e instanceof TrainConfigError
      && /steps must be an integer in \[1, inf\]/.test(e.message) && /batchSize \(6\) must be a multiple of microBatch \(4\)/.test(e.message)
      && /lr must be a number/.test(e.message) && /minAnswerCount must be an integer in \[1, inf\]/.test(e.message) && /unknown setting 'shots'/.test(e.message));
    assert.throws(() => validateSettings(VQA, { ...vqa, warmup: 5, steps: 5 }), /warmup \(5 steps\) must be shorter than steps/);
    assert.equal(finetuneDefaults('retrieval').negatives, 3);
  });

  it('the CLI names the flag, the missing checkpoint and the wrong data', async () => {
    let r = await cli('finetune', 'vqa', '--steps', 'abc');
    assert.equal(r.code, 1);
    assert.match(r.err, /--steps must be an integer/);
    r = await cli('finetune', 'retrieval', '--negatives', '0', '--out', join(root, 'bad'));
    assert.equal(r.code, 1);
    assert.match(r.err, /--negatives must be an integer in \[1, inf\]/);
    r = await cli('eval', 'nlvr2', '--checkpoint', join(root, 'nowhere'));
    assert.equal(r.code, 1);
    assert.match(r.err, /does not exist/);
    r = await cli('finetune', 'vqa', '--from', pre, '--data', DATA.retrieval.train, '--val-data', 'none', '--out', join(root, 'bad-vqa'), '--quiet', '--steps', '1', '--preset', 'tiny');
    assert.equal(r.code, 1);
    assert.match(r.err, /no VQA questions/);
  });
});
