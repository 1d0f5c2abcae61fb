import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pretrain, PRETRAIN_DEFAULTS, validatePretrainConfig, TrainConfigError, type PretrainConfig } from '../src/tasks/pretrain/recipe.js';

const base = (out: string): PretrainConfig => ({
  ...PRETRAIN_DEFAULTS, objective: 'flm', preset: 'tiny', data: 'shapes:train?n=48&seed=3', out,
  steps: 6, batchSize: 4, microBatch: 2, logEvery: 1, saveEvery: 3, keepLast: 3, threads: 1, workers: 0, lr: 5e-4, warmup: 1,
});
const losses = (dir: string): number[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);

test('a crashed run resumes exactly: same losses as an uninterrupted run', async () => {
  const a = mkdtempSync(join(tmpdir(), 'flm-pre-a-'));
  const b = mkdtempSync(join(tmpdir(), 'flm-pre-b-'));
  const ra = await pretrain(base(a), { quiet: true });
  assert.equal(ra.steps, 6);
  assert.ok(existsSync(join(a, 'checkpoints', 'latest')) && existsSync(join(a, 'loss.svg')) && existsSync(join(a, 'tokenizer.json')));
  // simulate a crash right after the step-3 checkpoint
  await assert.rejects(pretrain(base(b), {
    quiet: true,
    hooks: { onCheckpoint: ({ step }) => { if (step === 3) throw new Error('simulated crash'); } },
  }), /simulated crash/);
  const rb = await pretrain(base(b), { quiet: true, resume: true });
  assert.equal(rb.steps, 6);
  assert.deepEqual(losses(b), losses(a));
  // the loss moved: training happened
  const la = losses(a);
  assert.ok(la[la.length - 1]! < la[0]!, `loss did not fall: ${la.join(', ')}`);
});

test('a resumed run keeps the model config it was started with, not what its preset says now', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-pre-cfg-'));
  await assert.rejects(pretrain(base(dir), {
    quiet: true,
    hooks: { onCheckpoint: ({ step }) => { if (step === 3) throw new Error('simulated crash'); } },
  }), /simulated crash/);
  // as if the run had been started under an older preset: its saved model differs from today's tiny
  const state = join(dir, 'checkpoints', 'step-00000003', 'state.json');
  const s = JSON.parse(readFileSync(state, 'utf8')) as { modelConfig: { drop_rate: number } };
  s.modelConfig.drop_rate = 0.25;
  writeFileSync(state, JSON.stringify(s));
  await pretrain(base(dir), { quiet: true, resume: true });
  const after = JSON.parse(readFileSync(join(dir, 'checkpoints', 'step-00000006', 'state.json'), 'utf8')) as { modelConfig: { drop_rate: number } };
  assert.equal(after.modelConfig.drop_rate, 0.25);
});

test('--lr-mult-vision reaches the optimiser: the image tower trains in groups of its own at lr x the multiplier', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-pre-vision-'));
  await pretrain({ ...base(dir), steps: 1, warmup: 0, saveEvery: 1, lrMultVision: 3 }, { quiet: true });
  const state = JSON.parse(readFileSync(join(dir, 'checkpoints', 'step-00000001', 'state.json'), 'utf8')) as { optimizer: { groups: { baseLr: number }[] } };
  const lrs = state.optimizer.groups.map((g) => g.baseLr);
  assert.equal(lrs.filter((lr) => Math.abs(lr - 3 * 5e-4) < 1e-12).length, 2, `base learning rates of the groups: ${lrs.join(', ')}`);
});

test('bad pretraining configs give clear errors', () => {
  const out = '/tmp/x';
  assert.throws(() => validatePretrainConfig({ ...base(out), steps: 0 }), (e: Error) => e instanceof TrainConfigError && /steps must be an integer in \[1, inf\]/.test(e.message));
  assert.throws(() => validatePretrainConfig({ ...base(out), batchSize: 5, microBatch: 2 }), /multiple of microBatch/);
  assert.throws(() => validatePretrainConfig({ ...base(out), objective: 'xyz' as 'flm' }), /objective must be one of/);
  assert.throws(() => validatePretrainConfig({ ...base(out), lr: Number.NaN }), /lr must be a number/);
  assert.throws(() => validatePretrainConfig({ ...base(out), warmup: 10 }), /warmup/);
});

test('checkpointDue saves at the hook\'s times; the checkpoint hook runs off the training clock', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-due-'));
  const seen: { step: number; elapsedS: number }[] = [];
  const t0 = performance.now();
  const r = await pretrain({ ...base(out), saveEvery: 1000 }, {
    quiet: true,
    hooks: {
      checkpointDue: (_elapsed, step) => step === 0 || step === 2,
      onCheckpoint: async ({ step, elapsedS }) => {
        seen.push({ step, elapsedS });
        await new Promise((res) => setTimeout(res, 400));
      },
    },
  });
  const wallS = (performance.now() - t0) / 1000;
  assert.deepEqual(seen.map((s) => s.step), [0, 2, 6]);
  // three 0.4 s hooks are not on the clock
  assert.ok(wallS - r.elapsedS >= 1.2, `wall ${wallS.toFixed(2)} s, training clock ${r.elapsedS.toFixed(2)} s`);
  assert.ok(seen[1]!.elapsedS < seen[2]!.elapsedS && seen[2]!.elapsedS <= r.elapsedS);
});

test('a run killed before its first checkpoint starts again with a fresh metrics log (no step logged twice)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-fresh-'));
  await assert.rejects(pretrain({ ...base(out), saveEvery: 100 }, { quiet: true, hooks: { onLog: (r) => { if (r.step === 4) throw new Error('killed'); } } }), /killed/);
  const r = await pretrain({ ...base(out), saveEvery: 100 }, { quiet: true, resume: true });
  assert.equal(r.steps, 6);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
});

test('fewer readable samples than the batch: a clear error, not a wait without end', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-small-'));
  const t0 = performance.now();
  await assert.rejects(pretrain({ ...base(out), data: 'shapes:train?n=2&seed=3', batchSize: 64, microBatch: 64 }, { quiet: true }),
    /shapes:train.*: \d+ readable sample\(s\), fewer than the batch size 64: no full batch can be formed/);
  assert.ok(performance.now() - t0 < 60_000);
});

test('--from weights of which no name matches the model is an error, not a silent fresh start', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-from-'));
  const { saveSafetensors } = await import('../src/io/safetensors.js');
  const { zeros } = await import('../src/tensor/index.js');
  const file = join(out, 'other.safetensors');
  const t = zeros([2, 2]);
  saveSafetensors(file, new Map([['some.other.weight', t]]));
  t.dispose();
  await assert.rejects(pretrain({ ...base(join(out, 'run')), from: file }, { quiet: true }), /no tensor of .*other\.safetensors matches the flm model's names/);
});

test('a new run in a folder with checkpoints is an error (--resume or another --out); --overwrite starts over with the given tokenizer', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-tok-'));
  const other = mkdtempSync(join(tmpdir(), 'flm-pre-tok-other-'));
  await pretrain({ ...base(out), steps: 1, warmup: 0, vocabSize: 400 }, { quiet: true });
  await pretrain({ ...base(other), steps: 1, warmup: 0, vocabSize: 520 }, { quiet: true });
  const before = readFileSync(join(out, 'checkpoints', 'latest'), 'utf8');
  await assert.rejects(pretrain({ ...base(out), steps: 1, warmup: 0, tokenizer: join(other, 'tokenizer.json') }, { quiet: true }),
    (e: Error) => e instanceof TrainConfigError && /already holds a run's checkpoints \(latest: .*step-00000001\): continue it with --resume, or start the new run in another --out \(--overwrite deletes the old checkpoints\)/.test(e.message));
  assert.equal(readFileSync(join(out, 'checkpoints', 'latest'), 'utf8'), before, 'the refused run changed nothing');
  await pretrain({ ...base(out), steps: 2, warmup: 0, tokenizer: join(other, 'tokenizer.json') }, { quiet: true, overwrite: true });
  assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), readFileSync(join(other, 'tokenizer.json'), 'utf8'));
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-')), ['step-00000002'], 'the old run\'s checkpoints are gone');
});

test('--from a run of another size is an error naming its preset (not a silent fresh start)', async () => {
  const src = mkdtempSync(join(tmpdir(), 'flm-pre-size-'));
  await pretrain({ ...base(src), steps: 1, warmup: 0, vocabSize: 400 }, { quiet: true });
  await assert.rejects(pretrain({ ...base(join(src, 'again')), preset: 'mini', steps: 1, warmup: 0, from: src }, { quiet: true }),
    /tensors of .* have other shapes than the mini model's .*trained with --preset tiny/);
});

test('Ctrl-C stops training promptly with a checkpoint, also when the loader answers from memory (workers 0)', async () => {
  const { spawn } = await import('node:child_process');
  const { flmBin } = await import('../src/dist/launch.js');
  const out = mkdtempSync(join(tmpdir(), 'flm-pre-sigint-'));
  const child = spawn(process.execPath, [flmBin(), 'pretrain', '--preset', 'tiny', '--data', 'shapes:train?n=16&seed=3&size=32', '--workers', '0',
    '--batch-size', '4', '--steps', '1000000', '--log-every', '1', '--vocab-size', '400', '--threads', '1', '--out', out, '--quiet'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const t0 = performance.now();
  // the first logged step: the run is training (its signal handlers are in place)
  const logged = (): boolean => existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').includes('"step"');
  while (!logged() && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(killer);
  assert.equal(code, 0, 'stopped by itself after the interrupt (SIGKILL after 30 s otherwise)');
  assert.ok(existsSync(join(out, 'checkpoints', 'latest')), 'a checkpoint was saved on the way out');
});
