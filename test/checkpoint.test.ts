import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, keep, Tensor } from '../src/tensor/index.js';
import { saveCheckpoint, loadCheckpoint, resolveCheckpoint, checkpointsDir, CheckpointError } from '../src/train/checkpoint.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import { lineChartSvg } from '../src/train/plot.js';

const model = (): Map<string, Tensor> => new Map([['a.weight', keep(tensor([[1, 2], [3, 4]]))], ['a.bias', keep(tensor([0.5, -0.5]))]]);
const opt = () => ({ tensors: new Map([['a.weight.exp_avg', keep(tensor([[0, 1], [2, 3]]))]]), meta: { kind: 'adamw', steps: { 'a.weight': 3 } } });

test('checkpoint round trip: tensors, optimiser state and JSON state', () => {
  const run = mkdtempSync(join(tmpdir(), 'flm-ckpt-'));
  saveCheckpoint(run, model(), opt(), { step: 7, loader: { epoch: 1, index: 3 }, rng: 'AAEC' });
  const dir = resolveCheckpoint(run, 'latest');
  assert.ok(dir && dir.endsWith('step-00000007'));
  const c = loadCheckpoint(dir!);
  assert.equal(c.state.step, 7);
  assert.deepEqual(c.state.loader, { epoch: 1, index: 3 });
  assert.deepEqual(c.model.get('a.weight')!.toArray(), [[1, 2], [3, 4]]);
  assert.deepEqual(c.optimizer.tensors.get('a.weight.exp_avg')!.toArray(), [[0, 1], [2, 3]]);
  assert.deepEqual(c.optimizer.meta, { kind: 'adamw', steps: { 'a.weight': 3 } });
});

test('keep-last prunes old checkpoints but keeps best and latest', () => {
  const run = mkdtempSync(join(tmpdir(), 'flm-ckpt-'));
  for (const s of [1, 2, 3, 4, 5]) saveCheckpoint(run, model(), opt(), { step: s }, { keepLast: 2, isBest: s === 2 });
  const dirs = readdirSync(checkpointsDir(run)).filter((d) => d.startsWith('step-')).sort();
  assert.deepEqual(dirs, ['step-00000002', 'step-00000004', 'step-00000005']);
  assert.ok(resolveCheckpoint(run, 'best')!.endsWith('step-00000002'));
  assert.ok(resolveCheckpoint(run, 'latest')!.endsWith('step-00000005'));
});

test('a save killed half-way leaves latest intact and is cleaned up', () => {
  const run = mkdtempSync(join(tmpdir(), 'flm-ckpt-'));
  saveCheckpoint(run, model(), opt(), { step: 1 });
  // simulate a torn save: a temporary folder with a partial file
  const torn = join(checkpointsDir(run), '.step-00000002.tmp-999-dead');
  writeFileSync(join(torn + ''), 'partial');
  assert.ok(resolveCheckpoint(run)!.endsWith('step-00000001'));
  saveCheckpoint(run, model(), opt(), { step: 2 }, { keepLast: 3 });
  assert.ok(!existsSync(torn));
});

test('incomplete or corrupt checkpoints give clear errors', () => {
  const run = mkdtempSync(join(tmpdir(), 'flm-ckpt-'));
  const dir = saveCheckpoint(run, model(), opt(), { step: 1 });
  writeFileSync(join(dir, 'state.json'), '{not json');
  assert.throws(() => loadCheckpoint(dir), (e: Error) => e instanceof CheckpointError && /state.json is not valid JSON/.test(e.message));
  writeFileSync(join(dir, 'state.json'), '{"step": 1}');
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 5));
  assert.throws(() => loadCheckpoint(dir), /model\.safetensors|truncated|end of file|size/i);
  assert.equal(resolveCheckpoint(mkdtempSync(join(tmpdir(), 'flm-none-'))), null);
});

test('metrics log appends, survives a torn line and truncates on resume', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-log-'));
  const log = new MetricsLog(join(dir, 'metrics.jsonl'));
  for (let s = 1; s <= 5; s++) log.append({ step: s, loss: 1 / s });
  writeFileSync(log.path, readFileSync(log.path, 'utf8') + '{"step": 6, "lo');
  assert.equal(log.read().length, 5);
  log.truncateAfter(3);
  assert.deepEqual(log.read().map((r) => r.step), [1, 2, 3]);
});

test('SVG chart has one path per series and escapes labels', () => {
  const svg = lineChartSvg('loss <flm>', 'step', 'loss', [
    { name: 'flm', points: [[0, 3], [1, 2], [2, 1.5]] },
    { name: 'mlm', points: [[0, 3.2], [1, 2.8]] },
  ]);
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.ok(svg.includes('loss &lt;flm&gt;'));
});
