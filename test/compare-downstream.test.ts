// `flm compare --downstream`: the settings (known tasks, the shapes world, the task data derived from the
// race's specs) and one tiny race end to end (tiny preset, 2 contestants, 1 checkpoint each, 2 fine-tuning
// steps per task): every checkpoint fine-tuned on vqa, nlvr2, retrieval and caption, every test item
// scored, the scores in the verdict and the report, the kept weights deleted once scored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downstreamData, downstreamProblems } from '../src/compare/downstream.js';
import type { RaceResults } from '../src/compare/race.js';
import { cli } from './cli-helpers.js';

describe('flm compare --downstream: a tiny race fine-tuned on every task', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flm-compare-ds-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the settings: known tasks, the shapes world for VQA and NLVR2, any caption data for retrieval and captioning', () => {
    const d = { tasks: ['vqa', 'gqa'], steps: 0, test: null };
    const p = downstreamProblems(d, 'jsonl:/data/pairs.jsonl', 'shapes:test?n=4');
    assert.ok(p.some((x) => /'gqa'/.test(x)) && p.some((x) => /steps/.test(x)) && p.some((x) => /shapes world.*pairs\.jsonl/.test(x)), p.join('; '));
    assert.deepEqual(downstreamProblems({ tasks: ['vqa'], steps: 5, test: 10 }, 'shapes:train?n=9', 'shapes:test?n=4'), []);
    assert.deepEqual(downstreamData('vqa', 'shapes:train?n=9&seed=2&size=32', 'shapes:test?n=4&seed=2&size=32'), { train: 'shapes:train?n=9&seed=2&size=32&task=vqa', test: 'shapes:test?n=4&seed=2&size=32&task=vqa' });
    // retrieval and captioning take any caption data; VQA / NLVR2 alone need the shapes world
    assert.deepEqual(downstreamProblems({ tasks: ['retrieval', 'caption'], steps: 5, test: 10 }, 'karpathy:/d/e.json?split=train', 'karpathy:/d/e.json?split=test'), []);
    assert.ok(downstreamProblems({ tasks: ['caption', 'nlvr2'], steps: 5, test: 10 }, 'karpathy:/d/e.json?split=train', 'shapes:test?n=4').some((x) => /nlvr2 needs the shapes world/.test(x)));
    assert.deepEqual(downstreamData('caption', 'karpathy:/d/e.json?split=train', 'karpathy:/d/e.json?split=test'), { train: 'karpathy:/d/e.json?split=train', test: 'karpathy:/d/e.json?split=test' });
  });

  it('fine-tunes each checkpoint on vqa, nlvr2, retrieval and caption, scores every test item and feeds the statistics', async () => {
    const r = await cli(
      'compare', '--preset', 'tiny', '--objectives', 'flm,mlm', '--seeds', '1', '--budget', '1', '--evals', '1', '--no-eval-init',
      '--data', 'shapes:train?n=64&seed=3&size=32', '--test-data', 'shapes:test?n=40&seed=3&size=32',
      '--zs-images', '8', '--way', '4', '--mp-images', '4', '--lp-steps', '10', '--lp-train', '20', '--lp-test', '10',
      '--batch-size', '8', '--lr', '1e-3', '--warmup', '2', '--workers', '0',
      '--downstream', 'vqa,nlvr2,retrieval,caption', '--downstream-steps', '2', '--downstream-test', '8', '--resamples', '200',
      '--out', dir, '--json', '--quiet',
    );
    assert.equal(r.code, 0, r.err);
    const printed = JSON.parse(r.out) as { verdict: { metric: string; task: string; items: number; objectives: Record<string, { final: number; final_ci95: number[] }> }[]; headline: { metric: string } };
    const want: Record<string, string> = {
      vqa_score: 'vqa', nlvr2_accuracy: 'nlvr2', retrieval_tr_r1: 'retrieval', retrieval_ir_r1: 'retrieval', caption_cider: 'caption', caption_semantic_accuracy: 'caption',
    };
    for (const [m, task] of Object.entries(want)) {
      const v = printed.verdict.find((x) => x.metric === m);
      assert.ok(v, `${m} in the verdict`);
      assert.equal(v.task, task);
      assert.equal(v.items, 8, `${m}: 8 test items`);
      for (const o of ['flm', 'mlm']) assert.ok(Number.isFinite(v.objectives[o]!.final) && v.objectives[o]!.final_ci95.length === 2, `${m}.${o}`);
    }
    assert.equal(printed.headline.metric, 'vqa_score', 'the headline is downstream');
    const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RaceResults;
    for (const run of res.runs) {
      const cp = run.checkpoints[0]!;
      assert.deepEqual(Object.keys(cp.downstream ?? {}).sort(), ['caption', 'nlvr2', 'retrieval', 'vqa']);
      assert.equal(cp.downstream!.vqa!.steps, 2);
      const cider = cp.items!.caption_cider!;
      assert.ok(Math.abs(cider.reduce((a, b) => a + b, 0) / cider.length - cp.metrics.caption_cider!) < 1e-3, 'CIDEr-D is the mean of the per-image scores');
      assert.deepEqual(readdirSync(run.run_dir).filter((f) => f === 'probed' || f === 'downstream'), [], 'kept weights and fine-tunes are deleted once scored');
    }
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const m of Object.keys(want)) assert.ok(md.includes(`| ${m} |`), `the report lists ${m}`);
  });
});
