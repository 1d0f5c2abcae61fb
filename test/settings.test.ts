// The settings table: one declaration per setting drives --help, config files, validation and config.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSettings, TrainConfigError } from '../src/config/resolve.js';
import { defaultsOf } from '../src/config/settings.js';
import { PRETRAIN } from '../src/tasks/pretrain/spec.js';
import { RETRIEVAL } from '../src/tasks/retrieval/spec.js';
import { CAPTION } from '../src/tasks/caption/spec.js';
import { TASKS } from '../src/tasks/registry.js';
import { settingsMarkdown } from '../src/cli/settings.js';
import { program } from '../src/cli/main.js';
import { cli } from './cli-helpers.js';

const CORE = ['--from', '--init', '--config', '--resume', '--steps', '--time-budget', '--eval-every', '--val-data', '--nproc', '--threads', '--json', '--out'];

test('every training command takes the same core flags, with defaults in --help', () => {
  const p = program();
  const commands = [p.commands.find((c) => c.name() === 'pretrain')!, ...p.commands.find((c) => c.name() === 'finetune')!.commands];
  assert.deepEqual(commands.map((c) => c.name()).sort(), TASKS.map((t) => t.spec.name).sort());
  for (const c of commands) {
    const longs = c.options.map((o) => o.long);
    for (const flag of CORE) assert.ok(longs.includes(flag), `${c.name()} lacks ${flag}`);
    const help = c.helpInformation().replace(/\s+/g, ' ');
    assert.match(help, /--steps <n> optimiser steps \(default: \d+\)/, c.name());
  }
  const retrieval = p.commands.find((c) => c.name() === 'finetune')!.commands.find((c) => c.name() === 'retrieval')!;
  const help = retrieval.helpInformation().replace(/\s+/g, ' ');
  assert.match(help, /--negatives <n> captions per image besides the true one \(official 15\) \(default: 3\)/);
  assert.match(help, /--hard-negatives <n> how many of the negatives are hard: .* \(default: 0\)/);
  assert.match(help, /--lr <x> base learning rate, above --end-lr \(linear warmup, then polynomial decay to --end-lr\) \(default: 0\.00005\)/);
});

test('config files take the config or the flag spelling and aliases; flags override the file; every problem is listed at once', () => {
  const c = resolveSettings(RETRIEVAL, { file: { values: { 'batch-size': 4, microBatch: 2, init: 'runs/x', 'eval-data': 'none', timeBudget: 9 }, name: 'f.yaml' }, flags: { steps: '7', lr: '0.001' } });
  assert.equal(c.batchSize, 4);
  assert.equal(c.microBatch, 2);
  assert.equal(c.from, 'runs/x');
  assert.equal(c.valData, 'none');
  assert.equal(c.timeBudgetS, 9);
  assert.equal(c.steps, 7);
  assert.equal(c.lr, 0.001);
  assert.equal(c.negatives, 3);
  assert.equal(c.out, 'runs/retrieval');
  assert.equal(resolveSettings(RETRIEVAL, { flags: { valData: 'none' } }).valData, null, "'none' on the command line is null");
  assert.throws(() => resolveSettings(RETRIEVAL, { file: { values: { 'batch-size': 6, mlmRate: 0.1 }, name: 'f.json' }, flags: { microBatch: '4', steps: 'x', negatives: '0' } }), (e: Error) => {
    assert.ok(e instanceof TrainConfigError);
    for (const m of [/config file f\.json: unknown setting 'mlmRate' for finetune retrieval/, /--steps must be an integer, got 'x'/, /--negatives must be an integer in \[1, inf\], got 0/, /batchSize \(6\) must be a multiple of microBatch \(4\)/]) assert.match(e.message, m);
    return true;
  });
  assert.equal(defaultsOf(PRETRAIN).out, 'runs/flm');
  assert.equal(resolveSettings(PRETRAIN, { flags: { objective: 'mlm' } }).out, 'runs/mlm');
  assert.equal(defaultsOf(CAPTION).newTokens, true);
});

test('flm pretrain --config: the file under the flags, resolved settings saved as config.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-settings-'));
  try {
    const cfg = join(dir, 'run.yaml');
    writeFileSync(cfg, 'preset: tiny\nbatch-size: 4\nmicroBatch: 2\nlog-every: 1\nworkers: 0\nvocabSize: 400\ndata: shapes:train?n=8&seed=2&size=32\nsteps: 5\n');
    const out = join(dir, 'run');
    const r = await cli('pretrain', '--config', cfg, '--steps', '1', '--out', out, '--quiet', '--json');
    assert.equal(r.code, 0, r.err);
    const printed = JSON.parse(r.out) as { command: string; metrics: { steps: number; final_loss: number }; run_dir: string };
    assert.equal(printed.command, 'pretrain');
    assert.equal(printed.metrics.steps, 1);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved.steps, 1);
    assert.equal(saved.batchSize, 4);
    assert.equal(saved.microBatch, 2);
    assert.equal(saved.objective, 'flm');
    const bad = await cli('pretrain', '--config', cfg, '--out', out, '--made-up', '1');
    assert.equal(bad.code, 1, 'commander refuses an option the table does not have');
    writeFileSync(cfg, 'batch-size: 4\nshots: 3\n');
    const badFile = await cli('pretrain', '--config', cfg, '--out', out, '--steps', '0');
    assert.equal(badFile.code, 1);
    assert.match(badFile.err, /unknown setting 'shots' for pretrain/);
    assert.match(badFile.err, /--steps must be an integer in \[1, inf\], got 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finetune caption takes --from, its alias --init, --eval-data and --nproc like every task', async () => {
  const r = await cli('finetune', 'caption', '--init', '/nowhere/at/all', '--eval-data', 'none', '--out', join(tmpdir(), 'flm-never'), '--quiet');
  assert.equal(r.code, 1);
  assert.match(r.err, /\/nowhere\/at\/all does not exist/);
});

test('docs/settings.md is the settings tables as `flm settings --markdown` prints them', () => {
  assert.equal(readFileSync('docs/settings.md', 'utf8'), settingsMarkdown(), 'regenerate with: node bin/flm.js settings --markdown > docs/settings.md');
});

test('--json prints one shape on every command: {command, metrics, ...}', async () => {
  for (const args of [['info', '--json'], ['settings', 'vqa', '--json'], ['data', 'inspect', 'shapes:train?n=3&seed=1&size=32', '--json']]) {
    const r = await cli(...args);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { command: unknown; metrics: unknown };
    assert.equal(j.command, args.slice(0, args[0] === 'data' ? 2 : 1).join(' '));
    assert.ok(j.metrics !== null && typeof j.metrics === 'object' && !Array.isArray(j.metrics), args.join(' '));
  }
});

test('--resume keeps the saved settings: steps change only when given', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flm-settings-resume-'));
  try {
    const out = join(dir, 'run');
    const common = ['--preset', 'tiny', '--batch-size', '4', '--workers', '0', '--vocab-size', '400', '--data', 'shapes:train?n=8&seed=2&size=32', '--out', out, '--quiet', '--json'];
    let r = await cli('pretrain', '--steps', '2', ...common);
    assert.equal(r.code, 0, r.err);
    r = await cli('pretrain', '--resume', ...common);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { metrics: { steps: number } }).metrics.steps, 2, 'a resume without --steps does not take the default 300');
    r = await cli('pretrain', '--resume', '--steps', '3', ...common);
    assert.equal((JSON.parse(r.out) as { metrics: { steps: number } }).metrics.steps, 3);
    assert.equal((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { steps: number }).steps, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('old caption checkpoints resume with their best CIDEr-D and their evaluation cadence', () => {
  const up = CAPTION.upgradeSaved({ step: 200, bestCider: 0.9, config: { saveEvery: 50, evalData: 'shapes:val?n=4' } });
  assert.deepEqual(up.best, { step: 200, selection: 0.9, metrics: { cider: 0.9 } });
  assert.equal((up.config as { evalEvery: number }).evalEvery, 50);
  const now = { step: 3, best: { step: 2, selection: 1, metrics: {} }, config: { saveEvery: 5, evalEvery: 7 } };
  assert.deepEqual(CAPTION.upgradeSaved(now), now, 'a current checkpoint is left as it is');
});

test('finetune() from the library: aliases map, a key no task knows is an error', async () => {
  const { finetune, finetuneDefaults } = await import('../src/tasks/finetune.js');
  await assert.rejects(finetune({ ...finetuneDefaults('vqa'), out: join(tmpdir(), 'flm-never'), shots: 3 } as Parameters<typeof finetune>[0]), /unknown setting\(s\) for finetune vqa: shots/);
  await assert.rejects(finetune({ ...finetuneDefaults('vqa'), task: 'wizardry' }), /task must be one of retrieval, vqa, nlvr2, caption/);
});
