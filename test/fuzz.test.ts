// A short seeded slice of `npm run fuzz` (the full run, ≥ 20,000 calls, is not in npm test's budget):
// bad calls to every public tensor function, the raw addon and the file loaders, in child processes;
// none may crash or hang. Plus the driver's own check: a crash and a hang are caught, bisected to the
// call and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runFuzz } from '../fuzz/fuzz.js';

test('a seeded fuzz slice: every outcome is a return or an Error, never a crash or a hang', async () => {
  const r = await runFuzz({ seed: 20260, calls: { api: 1200, native: 300, files: 150 }, batch: 400, callTimeoutMs: 20_000 });
  const report = formatReport(r);
  assert.equal(r.findings.length, 0, report);
  assert.equal(r.counts.api.calls, 1200, report);
  assert.equal(r.counts.native.calls, 300, report);
  assert.equal(r.counts.files.calls, 150, report);
  // the targeted sweep and the random calls between them reach most public functions
  assert.ok(r.counts.api.functions.size > 150, report);
  assert.ok(r.counts.api.errors > 0 && r.counts.api.returned > 0, report);
  // every API error is a TorchError naming the function called (or the fuzzer's own callback's error,
  // passed through), and no failing call leaves native tensors alive
  assert.equal(r.counts.api.otherErrors.size, 0, report);
  assert.equal(r.counts.api.misnamed.size, 0, report);
  assert.equal(r.counts.api.leaks.size, 0, report);
  assert.ok((r.counts.api.byError.TorchError ?? 0) > 500, report);
});

test('the outcome classes: a TorchError naming another function, a TypeError and user code are told apart', async () => {
  const { outcomeOf, publicNameOf } = await import('../fuzz/outcome.js');
  const { TorchError } = await import('../src/tensor/index.js');
  const { UserCodeError } = await import('../fuzz/values.js');
  assert.equal(publicNameOf('F.softmax'), 'softmax');
  assert.equal(publicNameOf('Tensor#grad(set)'), 'setGrad');
  assert.equal(publicNameOf('Tensor#shape(get)+chain'), 'shape');
  assert.equal(publicNameOf('Tensor#[Symbol.dispose]'), 'dispose');
  assert.equal(outcomeOf(new TorchError('argsort: x', 'argsort'), 'Tensor#argsort'), 'TorchError');
  assert.equal(outcomeOf(new TorchError('sort: x', 'sort'), 'Tensor#argsort'), 'TorchError:misnamed');
  assert.equal(outcomeOf(new TypeError('x'), 'tidy'), 'TypeError');
  assert.equal(outcomeOf(new UserCodeError('x'), 'tidy'), 'user-code');
  const lookalike = new Error('x');
  lookalike.name = 'TorchError';
  assert.equal(outcomeOf(lookalike, 'add'), 'TorchError-lookalike');
});

test('the driver catches a crash and a hang, names the call and carries on with the batch', async () => {
  const prev = { c: process.env.FLM_FUZZ_CRASH_AT, h: process.env.FLM_FUZZ_HANG_AT };
  process.env.FLM_FUZZ_CRASH_AT = '7';
  process.env.FLM_FUZZ_HANG_AT = '15';
  try {
    const r = await runFuzz({ seed: 1, calls: { api: 20, native: 0, files: 0 }, batch: 20, callTimeoutMs: 3000 });
    const report = formatReport(r);
    assert.equal(r.counts.api.calls, 20, report);
    assert.equal(r.counts.api.crashes, 1, report);
    assert.equal(r.counts.api.hangs, 1, report);
    const crash = r.findings.find((f) => f.kind === 'crash')!;
    assert.deepEqual([crash.index, crash.how, crash.repro], [7, 'SIGSEGV', [7]], report);
    const hang = r.findings.find((f) => f.kind === 'hang')!;
    assert.deepEqual([hang.index, hang.repro], [15, [15]], report);
    assert.match(report, /reproduce: node dist\/fuzz\/fuzz.js --mode api --seed 1 --only 7/);
  } finally {
    for (const [k, v] of [['FLM_FUZZ_CRASH_AT', prev.c], ['FLM_FUZZ_HANG_AT', prev.h]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
