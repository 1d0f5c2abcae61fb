// `flm compare`: the probes on hand-built cases (a scorer that prefers the true caption / scene scores
// 1, ties and indifference score 0 or chance, a separable linear probe is solved), minimal image pairs
// that the checker confirms, the probe losses (MLM one word at a time), the contestants, and a miniature
// race through the CLI (tiny preset, FLM at a corruption rate and MLM, 1 seed, a few seconds): its report
// folder, per-item scores and JSON verdict, and --resume after a simulated kill.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCaption } from '../src/data/shapes/index.js';
import {
  attributeLabel, buildMinimalPairs, kWayRetrieval, linearProbe, loadProbeImages, minimalPairAccuracy, sceneEdits,
  type MinimalPair, type PairLossScorer, type ProbeImages, type ScoredPair,
} from '../src/compare/probes.js';
import { summarize } from '../src/compare/report.js';
import { parseContestant, parseContestants } from '../src/compare/contestants.js';
import type { RaceResults } from '../src/compare/race.js';
import { cli } from './cli-helpers.js';
import { alsoTrueOf, modelPairScorer } from '../src/compare/probes.js';
import { createObjectiveModel, objectiveConfig, objectiveStep } from '../src/tasks/pretrain/objective-step.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { manualSeed, tensor, tidy } from '../src/tensor/index.js';


/** A probe set of n blank images whose captions name their index. */
function fakeSet(n: number): ProbeImages {
  return { images: new Float32Array(n * 3 * 4 * 4), imageSize: 4, count: n, texts: Array.from({ length: n }, (_, i) => [`caption ${i}`]), rawCaptions: null, scenes: null };
}

const ownCaption: PairLossScorer = {
  losses: (pairs: readonly ScoredPair[]) => Float32Array.from(pairs, (p) => (p.text === `caption ${p.image}` ? 0.5 : 2 + (p.image % 3))),
};

describe('compare probes on hand-built cases', () => {
  it('K-way retrieval: a scorer that prefers the true caption has R@1 = 1 both ways; a constant one 0', () => {
    const set = fakeSet(12);
    const r = kWayRetrieval(ownCaption, set, { images: 12, way: 4 });
    assert.equal(r.groups, 3);
    assert.equal(r.i2t_r1, 1);
    assert.equal(r.t2i_r1, 1);
    const flat = kWayRetrieval({ losses: (p) => new Float32Array(p.length) }, set, { images: 12, way: 4 });
    assert.equal(flat.i2t_r1, 0, 'ties are not a hit');
    assert.equal(flat.t2i_r1, 0);
    // a distractor that is "also true" is not held against the model
    const wrongFor0: PairLossScorer = { losses: (pairs) => Float32Array.from(pairs, (p) => (p.image === 0 && p.text === 'caption 1' ? 0 : p.text === `caption ${p.image}` ? 0.5 : 2)) };
    assert.equal(kWayRetrieval(wrongFor0, set, { images: 4, way: 4 }).i2t_r1, 0.75);
    assert.equal(kWayRetrieval(wrongFor0, set, { images: 4, way: 4, alsoTrue: (c, i) => c === 1 && i === 0 }).i2t_r1, 1);
    // other caption data: a distractor that has the query's caption among its own is not held against the model
    const dup = { ...set, texts: set.texts.map((t, i) => (i === 0 ? [...t, 'caption 1'] : t)) };
    const also = alsoTrueOf(dup);
    assert.equal(also(1, 0), true);
    assert.equal(also(0, 1), false);
    assert.equal(kWayRetrieval(wrongFor0, dup, { images: 4, way: 4, alsoTrue: also }).i2t_r1, 1);
  });

  it('minimal pairs: preferring the original scene scores 1, indifference 0.5, an image prior is removed by the references', () => {
    const pairs: MinimalPair[] = [
      { kind: 'colour', caption: 'a', original: 0, edited: 1, refs: [] },
      { kind: 'shape', caption: 'b', original: 0, edited: 2, refs: [] },
    ];
    const prefer: PairLossScorer = { losses: (p) => Float32Array.from(p, (x) => (x.image === 0 ? 1 : 3)) };
    const r = minimalPairAccuracy(prefer, pairs);
    assert.deepEqual(r.accuracy, { colour: 1, shape: 1 });
    assert.equal(r.mean, 1);
    assert.equal(minimalPairAccuracy({ losses: (p) => new Float32Array(p.length) }, pairs).mean, 0.5);
    // a model whose only preference is "the original scene makes every caption cheaper": 1 raw, 0.5 with references
    const withRefs = pairs.map((p) => ({ ...p, refs: ['x', 'y'] }));
    assert.equal(minimalPairAccuracy(prefer, withRefs).mean, 0.5);
    // the caption itself is helped by its scene beyond that prior
    const grounded: PairLossScorer = { losses: (p) => Float32Array.from(p, (x) => (x.image === 0 ? 1 : 3) + (x.image === 0 && x.text.length === 1 && x.text < 'x' ? -0.5 : 0)) };
    assert.equal(minimalPairAccuracy(grounded, withRefs).mean, 1);
  });

  it('linear probe solves a separable problem; majority baseline reported', () => {
    const dim = 6;
    const make = (n: number, off: number) => {
      const x = new Float32Array(n * dim);
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = (i + off) % 3;
        y.push(c);
        for (let d = 0; d < dim; d++) x[i * dim + d] = (d === c ? 3 : 0) + Math.sin(i * 7 + d) * 0.3;
      }
      return { x, y };
    };
    const r = linearProbe(make(60, 0), make(30, 1), dim, 3, { steps: 100 });
    assert.equal(r.accuracy, 1);
    assert.ok(r.majority > 0.3 && r.majority < 0.4, `majority ${r.majority}`);
  });

  it('minimal image pairs: the caption is true of the original scene and false of the edit', async () => {
    const set = await loadProbeImages('shapes:test?n=12&seed=3&size=32', 32, 12);
    assert.ok(set.scenes && set.rawCaptions);
    assert.equal(set.count, 12);
    const mp = buildMinimalPairs(set, 12);
    assert.ok(mp.pairs.length >= 12, `${mp.pairs.length} pairs`);
    assert.equal(mp.images.images.length, mp.images.count * 3 * 32 * 32);
    for (const kind of ['colour', 'shape', 'spatial'] as const) assert.ok(mp.pairs.some((p) => p.kind === kind), kind);
    assert.ok(mp.pairs.every((p) => p.refs.length === 2 && !p.refs.includes(p.caption)));
    // the edits of image 0 really falsify one of its captions
    const scene = set.scenes[0]!;
    for (const kind of ['colour', 'shape', 'count', 'spatial'] as const) {
      for (const e of sceneEdits(scene, kind, 0)) assert.notDeepEqual(e, scene);
    }
    const cap = set.rawCaptions[0]![0]!;
    assert.equal(checkCaption(cap, scene).true, true);
    assert.ok(sceneEdits(scene, 'colour', 0).some((e) => !checkCaption(cap, e).true));
    assert.ok([0, 1, 2, 3].includes(attributeLabel(scene, 'count')!));
  });
});

/** Four shapes test images and a small tokenizer trained on their captions (in a temporary dir). */
async function probeFixture(): Promise<{ set: ProbeImages; tok: TextTokenizer; dir: string }> {
  const set = await loadProbeImages('shapes:test?n=4&seed=3&size=32', 32, 4);
  const json = await trainTokenizer(set.texts.flat(), { kind: 'bpe', vocabSize: 300 });
  const dir = mkdtempSync(join(tmpdir(), 'flm-probe-tok-'));
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, JSON.stringify(json));
  return { set, tok: await TextTokenizer.fromFile(path, { maxLength: 12 }), dir };
}

describe('probe losses are the objectives\' own losses', () => {
  it('AR: the loss of a pair equals its training loss; FLM: positive, and the same batched or alone', async () => {
    const { set, tok, dir } = await probeFixture();
    manualSeed(0);
    for (const objective of ['ar', 'flm'] as const) {
      const model = createObjectiveModel(objective, objectiveConfig(objective, 'tiny', tok.vocabSize));
      model.eval();
      const pairs: ScoredPair[] = [0, 1, 2, 3].flatMap((i) => [0, 1].map((j) => ({ image: i, text: set.texts[j]![0]! })));
      const batched = modelPairScorer(model, objective, tok, set).losses(pairs);
      const alone = Float32Array.from(pairs, (p) => modelPairScorer(model, objective, tok, set).losses([p])[0]!);
      for (let k = 0; k < pairs.length; k++) {
        assert.ok(batched[k]! > 0, `${objective}: a loss must be positive, got ${batched[k]}`);
        assert.ok(Math.abs(batched[k]! - alone[k]!) < 1e-4, `${objective}: batched ${batched[k]} vs alone ${alone[k]}`);
      }
      if (objective === 'ar') {
        const plane = 3 * 32 * 32;
        const e = tok.encodeBatch([pairs[3]!.text]);
        const train = tidy(() => objectiveStep(model, 'ar', {
          image: tensor(set.images.subarray(pairs[3]!.image * plane, (pairs[3]!.image + 1) * plane), { shape: [1, 3, 32, 32] }),
          textIds: tensor(e.ids, { shape: e.shape, dtype: 'int64' }), textMasks: tensor(e.attentionMask, { shape: e.shape, dtype: 'int64' }),
          wordIds: tensor(e.wordIds, { shape: e.shape, dtype: 'int64' }),
        }).loss.item());
        assert.ok(Math.abs(train - batched[3]!) < 1e-4, `AR probe loss ${batched[3]} vs training loss ${train}`);
      }
      model.dispose();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('MLM one word at a time: the same as disjoint maskings with as many passes as words, batched or alone; differs from 2 passes', async () => {
    const { set, tok, dir } = await probeFixture();
    manualSeed(0);
    const model = createObjectiveModel('mlm', objectiveConfig('mlm', 'tiny', tok.vocabSize));
    model.eval();
    const pairs: ScoredPair[] = [0, 1, 2, 3].flatMap((i) => [0, 1, 2].map((j) => ({ image: i, text: set.texts[j]![0]! })));
    const oneWord = modelPairScorer(model, 'mlm', tok, set, { mlmScoring: 'one-word', batch: 5 }).losses(pairs);
    const alone = Float32Array.from(pairs, (p) => modelPairScorer(model, 'mlm', tok, set).losses([p])[0]!);
    const manyPasses = modelPairScorer(model, 'mlm', tok, set, { mlmScoring: 'passes', mlmPasses: 16 }).losses(pairs);
    const twoPasses = modelPairScorer(model, 'mlm', tok, set, { mlmScoring: 'passes', mlmPasses: 2 }).losses(pairs);
    let differs = 0;
    for (let k = 0; k < pairs.length; k++) {
      assert.ok(oneWord[k]! > 0);
      assert.ok(Math.abs(oneWord[k]! - alone[k]!) < 1e-4, `batched ${oneWord[k]} vs alone ${alone[k]}`);
      assert.ok(Math.abs(oneWord[k]! - manyPasses[k]!) < 1e-4, `one word ${oneWord[k]} vs 16 passes ${manyPasses[k]}`);
      if (Math.abs(oneWord[k]! - twoPasses[k]!) > 1e-5) differs++;
    }
    assert.ok(differs > 0, 'two words masked at once score differently');
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('contestants', () => {
  it('an objective, or flm@<rate>', () => {
    assert.deepEqual(parseContestant('mlm'), { name: 'mlm', objective: 'mlm', spanCorruptionRate: null });
    assert.deepEqual(parseContestant(' flm@0.3 '), { name: 'flm@0.3', objective: 'flm', spanCorruptionRate: 0.3 });
    assert.deepEqual(parseContestant('flm@0'), { name: 'flm@0', objective: 'flm', spanCorruptionRate: 0 });
    assert.deepEqual(parseContestant('flm@1'), { name: 'flm@1', objective: 'flm', spanCorruptionRate: 1 });
    for (const bad of ['flm@', 'flm@-0.1', 'flm@1.01', 'flm@0.3x', 'ar@0.1', 'bert', '']) assert.equal(typeof parseContestant(bad), 'string', bad);
    assert.deepEqual(parseContestants(['flm@0', 'flm@0.5', 'mlm']).problems, []);
    assert.match(parseContestants(['mlm', 'mlm']).problems[0]!, /listed twice/);
    assert.match(parseContestants([]).problems[0]!, /at least one/);
  });
});

describe('flm compare: a miniature race', () => {
  let dir = '';
  let res: RaceResults;
  let raceArgs: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flm-compare-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs 2 objectives x 1 seed for a few seconds and writes the report folder', async () => {
    raceArgs = [
      'compare', '--preset', 'tiny', '--objectives', 'flm@0.5,mlm', '--seeds', '1', '--budget', '2', '--evals', '2',
      '--data', 'shapes:train?n=64&seed=3&size=32', '--test-data', 'shapes:test?n=40&seed=3&size=32',
      '--zs-images', '8', '--way', '4', '--mp-images', '6', '--lp-steps', '20', '--lp-train', '30', '--lp-test', '20',
      '--downstream', 'none', '--batch-size', '8', '--lr', '1e-3', '--warmup', '2', '--workers', '0', '--out', dir, '--quiet',
    ];
    const r = await cli(...raceArgs, '--json');
    assert.equal(r.code, 0, r.err);
    const printed = JSON.parse(r.out) as { command: string; out: string; verdict: { metric: string; objectives: Record<string, { final: number }> }[]; metrics: Record<string, number | null> };
    assert.equal(printed.command, 'compare');
    assert.equal(printed.out, dir);
    assert.ok(printed.verdict.length >= 10, `${printed.verdict.length} metrics in the JSON verdict`);
    assert.equal(printed.metrics['mp_mean.flm@0.5.final'], printed.verdict.find((v) => v.metric === 'mp_mean')!.objectives['flm@0.5']!.final);
    for (const f of ['report.md', 'results.json', 'tokenizer.json', 'curve-zs_t2i_r1.svg', 'curve-mp_mean.svg', 'curve-lp_count.svg', 'train-loss.svg']) {
      assert.ok(existsSync(join(dir, f)), `${f} written`);
    }
    res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RaceResults;
    assert.equal(res.runs.length, 2);
    for (const run of res.runs) {
      assert.deepEqual(run.checkpoints.map((c) => c.k), [0, 1, 2]);
      assert.equal(run.checkpoints[0]!.step, 0);
      const ts = run.checkpoints.map((c) => c.elapsed_s);
      assert.ok(ts[1]! >= 1 && ts[2]! >= 2 && ts[2]! > ts[1]!, `checkpoint times ${ts}`);
      assert.ok(run.steps > 0 && run.checkpoints[2]!.step === run.steps);
      for (const c of run.checkpoints) {
        for (const m of ['zs_i2t_r1', 'zs_t2i_r1', 'zs_i2t_raw', 'zs_t2i_raw', 'mp_mean', 'lp_count']) {
          const v = c.metrics[m];
          assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${run.objective} ${m} = ${v}`);
        }
      }
      assert.ok(run.steps_per_s !== null && run.steps_per_s > 0);
    }
    const s = res.summary!;
    assert.deepEqual(s.objectives, ['flm@0.5', 'mlm']);
    assert.deepEqual(res.runs.map((x) => [x.contestant, x.objective, x.run_dir.endsWith('flm@0.5-s0') || x.run_dir.endsWith('mlm-s0')]), [['flm@0.5', 'flm', true], ['mlm', 'mlm', true]]);
    assert.equal(JSON.parse(readFileSync(join(dir, 'runs', 'flm@0.5-s0', 'config.json'), 'utf8')).spanCorruptionRate, 0.5, 'the contestant\'s rate reaches its pretraining');
    assert.equal(s.headline.metric, 'zs_t2i_r1', 'the first probe without downstream tasks');
    // per-item scores: the same items at every checkpoint, their mean is the metric
    const c1 = res.runs[0]!.checkpoints[1]!;
    assert.equal(c1.items!.zs_t2i_r1!.length, 8);
    assert.ok(Math.abs(c1.items!.zs_t2i_r1!.reduce((a, b) => a + b, 0) / 8 - c1.metrics.zs_t2i_r1!) < 1e-9);
    assert.equal(res.setup.probe_material.mp_kinds!.length, c1.items!.mp_mean!.length);
    assert.equal(c1.items!.lp_count!.length, 20);
    // the JSON verdict: every metric, each contestant with its time, speed-up, final score and intervals
    assert.deepEqual(s.verdict.map((v) => v.metric), s.metrics);
    for (const v of s.verdict) {
      assert.ok(['probe'].includes(v.task));
      assert.ok(v.target === null || (v.target.objective === 'mlm' && v.target.t > 0), `${v.metric}: the target is never the initialisation`);
      for (const o of ['flm@0.5', 'mlm']) {
        const x = v.objectives[o]!;
        assert.ok(x, `${v.metric}.${o}`);
        for (const k of ['t_reach', 'speedup', 'speedup_ci95', 'final', 'final_ci95']) assert.ok(k in x, `${v.metric}.${o}.${k}`);
        assert.ok(x.final_ci95[0] <= x.final && x.final <= x.final_ci95[1], `${v.metric}.${o}: ${x.final} in ${x.final_ci95}`);
      }
    }
    assert.equal(s.curves.mp_mean!['flm@0.5']!.length, 3);
    assert.ok(s.cost['flm@0.5'] && s.cost.mlm && s.cost.mlm.step_cost_vs_mlm === 1);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const h of ['## Where each contestant wins and loses', '## Setup', '## Per-step cost', "## Time to reach MLM's best (every metric)", '## Final scores (every metric)', '## Curves', 'curve-mp_mean.svg']) assert.ok(md.includes(h), h);
    for (const m of s.metrics) assert.ok(md.includes(`| ${m} |`), `the report lists ${m}`);
    assert.ok(readFileSync(join(dir, 'curve-mp_mean.svg'), 'utf8').startsWith('<svg'));
    // the summary is a pure function of the runs
    assert.deepEqual(summarize(res), s);
  });

  it('--resume: kept checkpoints stay, a checkpoint lost before it was recorded is probed from its weights, a lost run is run again', async () => {
    const before = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RaceResults;
    const cut = JSON.parse(JSON.stringify(before)) as RaceResults;
    // as if the race was killed while probing flm's last checkpoint, before the MLM run was recorded
    cut.runs = [cut.runs[0]!];
    cut.runs[0]!.checkpoints.pop();
    cut.runs[0]!.done = false;
    writeFileSync(join(dir, 'results.json'), JSON.stringify(cut));
    const conflict = await cli(...raceArgs, '--seeds', '2', '--resume');
    assert.equal(conflict.code, 1);
    assert.match(conflict.err, /seeds: 1 -> 2/);
    const r = await cli(...raceArgs, '--resume');
    assert.equal(r.code, 0, r.err);
    const after = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RaceResults;
    assert.equal(after.setup.sessions, 2);
    assert.ok(after.setup.finished);
    assert.deepEqual(after.runs.map((x) => [x.contestant, x.checkpoints.map((c) => c.k), x.done]), [['flm@0.5', [0, 1, 2], true], ['mlm', [0, 1, 2], true]]);
    const [a, b] = [before.runs[0]!, after.runs[0]!];
    assert.deepEqual(b.checkpoints.slice(0, 2), a.checkpoints.slice(0, 2), 'the recorded checkpoints are kept as they were');
    const [lost, again] = [a.checkpoints[2]!, b.checkpoints[2]!];
    assert.equal(again.step, lost.step);
    assert.equal(again.elapsed_s, lost.elapsed_s);
    for (const m of ['zs_t2i_r1', 'zs_i2t_raw', 'mp_mean']) assert.deepEqual(again.items![m], lost.items![m], `${m}: the same weights score the same`);
    assert.equal(b.steps, a.steps, 'the finished run does not train further');
  });

  it('refuses to overwrite an earlier race without --overwrite', async () => {
    const r = await cli('compare', '--preset', 'tiny', '--objectives', 'mlm', '--seeds', '1', '--budget', '1', '--evals', '1', '--out', dir, '--quiet');
    assert.equal(r.code, 1);
    assert.match(r.err, /--overwrite/);
  });

  it('rejects a bad configuration', async () => {
    const r = await cli('compare', '--objectives', 'flm,bogus', '--out', join(dir, 'x'), '--quiet');
    assert.equal(r.code, 1);
    assert.match(r.err, /bogus/);
    const rates = await cli('compare', '--objectives', 'flm@0.3,flm@.3,mlm@0.1,flm@1.5,flm@x', '--out', join(dir, 'x'), '--quiet');
    assert.equal(rates.code, 1);
    for (const m of [/'flm@0.3' and 'flm@.3' are the same/, /only flm takes a corruption rate/, /'1.5'/, /'x'/]) assert.match(rates.err, m);
  });
});
