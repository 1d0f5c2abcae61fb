// The race's statistics (src/compare/stats.ts) on synthetic curves: times read at checkpoints only (no
// interpolation, never from the initialisation), a target within the initialisation's noise is not
// "reached", unreached contestants get a bound, strata are averaged, and the bootstrap intervals cover
// a known value in a simulation and are the same for the same seed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../src/data/rng.js';
import { analyseMetric, firstCheckpointAt, quantile, type CheckpointItems, type MetricData } from '../src/compare/stats.js';
import { standing } from '../src/compare/summary.js';

/** n items, the first round(v·n) scoring 1 and the rest 0: a checkpoint with mean exactly v (n = 100 here). */
function items(v: number, n = 100): number[] {
  return Array.from({ length: n }, (_, i) => (i < Math.round(v * n) ? 1 : 0));
}

/** One seed's checkpoints from (t, mean) points, k = 0, 1, 2, ... */
function seed(points: [number, number][], n = 100): CheckpointItems[] {
  return points.map(([t, v], k) => ({ k, t, items: items(v, n) }));
}

describe('time to target: read at checkpoints', () => {
  it('the first trained checkpoint at or above the target, never interpolated, never the initialisation', () => {
    const pts = [{ k: 0, t: 0, v: 0.5 }, { k: 1, t: 10, v: 0.3 }, { k: 2, t: 20, v: 0.6 }];
    assert.equal(firstCheckpointAt(pts, 0.4), 20, 'not 15 (no line between checkpoints)');
    assert.equal(firstCheckpointAt(pts, 0.2), 10, 'not 0: the initialisation never reaches a target');
    assert.equal(firstCheckpointAt(pts, 0.7), null);
  });

  it('a race: speed-up is the ratio of checkpoint times; unreached gets "<x"; the first checkpoint ">=x"', () => {
    const data: MetricData = {
      runs: {
        mlm: [seed([[0, 0.1], [25, 0.3], [50, 0.4], [75, 0.5], [100, 0.45]])],
        flm: [seed([[0, 0.1], [25, 0.45], [50, 0.55], [75, 0.6], [100, 0.62]])],
        fast: [seed([[0, 0.1], [25, 0.7], [50, 0.7], [75, 0.7], [100, 0.7]])],
        slow: [seed([[0, 0.1], [25, 0.2], [50, 0.25], [75, 0.3], [100, 0.35]])],
      },
    };
    const v = analyseMetric('m', data, { resamples: 200 });
    assert.deepEqual(v.target && { value: v.target.value, t: v.target.t, objective: v.target.objective }, { value: 0.5, t: 75, objective: 'mlm' });
    const o = v.objectives;
    assert.equal(o.mlm!.t_reach, 75);
    assert.equal(o.mlm!.speedup, 1);
    assert.equal(o.flm!.status, 'reached');
    assert.equal(o.flm!.t_reach, 50, 'the checkpoint at 0.55, not an interpolated 33 s');
    assert.equal(o.flm!.speedup, 1.5);
    assert.equal(o.flm!.speedup_bound, null);
    assert.equal(o.fast!.speedup, 3);
    assert.equal(o.fast!.speedup_bound, '>=3', 'reached at its first trained checkpoint: could be sooner');
    assert.equal(o.slow!.status, 'not-reached');
    assert.equal(o.slow!.t_reach, null);
    assert.equal(o.slow!.speedup, null);
    assert.equal(o.slow!.speedup_bound, '<0.75', 'not by 100 s, so its speed-up is below 75/100');
    assert.equal(o.flm!.final, 0.62);
    assert.equal(o.flm!.final_minus_target, 0.17);
    assert.equal(o.mlm!.final_minus_target, null);
    assert.ok(o.flm!.final_ci95[0] < 0.62 && o.flm!.final_ci95[1] > 0.62);
    assert.deepEqual(v.curves.flm!.map((p) => p.mean), [0.1, 0.45, 0.55, 0.6, 0.62]);
  });

  it('the same checkpoint a fraction of a second apart is a tie, not "sooner"', () => {
    // MLM reaches its best at its 2nd checkpoint (66.9 s), FLM at its 2nd too but its clock stopped at 66.7 s
    const data: MetricData = {
      runs: {
        mlm: [seed([[0, 0.1], [33.4, 0.3], [66.9, 0.5], [100.2, 0.45]])],
        flm: [seed([[0, 0.1], [33.3, 0.4], [66.7, 0.6], [100.1, 0.62]])],
        ar: [seed([[0, 0.1], [33.3, 0.55], [66.6, 0.6], [100.0, 0.62]])],
      },
    };
    const v = analyseMetric('m', data, { resamples: 200 });
    const flm = v.objectives.flm!;
    assert.ok(flm.speedup! > 1 && flm.speedup! < 1.01, `speed-up ${flm.speedup}`);
    assert.equal(standing({ ...flm, final_minus_mlm: null, final_minus_mlm_ci95: null }).speed, 'tie');
    assert.equal(standing({ ...v.objectives.ar!, final_minus_mlm: null, final_minus_mlm_ci95: null }).speed, 'sooner', 'a checkpoint earlier is sooner');
  });

  it('a target within the noise of a contestant\'s initialisation is not "reached"', () => {
    // FLM starts at 0.56 (a lucky init) and MLM's best is 0.558: being there says nothing about training
    const data: MetricData = {
      runs: {
        mlm: [seed([[0, 0.5], [25, 0.52], [50, 0.558], [75, 0.55]], 500)],
        flm: [seed([[0, 0.56], [25, 0.56], [50, 0.57], [75, 0.58]], 500)],
      },
    };
    const v = analyseMetric('mp', data, { resamples: 300 });
    assert.ok(v.target, v.target_note ?? '');
    const f = v.objectives.flm!;
    assert.equal(f.status, 'at-init');
    assert.equal(f.t_reach, null);
    assert.equal(f.speedup, null);
    assert.equal(f.speedup_ci95, null);
    assert.ok(f.init_ci95 && f.init_ci95[1] >= 0.558, `init interval ${f.init_ci95}`);
  });

  it('MLM that never leaves its initialisation gives no target (and no speed-ups)', () => {
    const data: MetricData = {
      runs: {
        mlm: [seed([[0, 0.5], [25, 0.51], [50, 0.5]])],
        flm: [seed([[0, 0.5], [25, 0.7], [50, 0.8]])],
      },
    };
    const v = analyseMetric('count', data, { resamples: 200 });
    assert.equal(v.target, null);
    assert.match(v.target_note ?? '', /never left its initialisation/);
    assert.equal(v.objectives.flm!.status, 'no-target');
    assert.equal(v.objectives.flm!.speedup, null);
    assert.equal(v.objectives.flm!.final, 0.8, 'final scores are reported all the same');
  });

  it('strata: the score is the mean of the stratum means', () => {
    // stratum a: 4 items all 1; stratum b: 1 item 0 -> mean of means 0.5 (the plain mean would be 0.8)
    const strata = ['a', 'a', 'a', 'a', 'b'];
    const v = analyseMetric('mp_mean', { runs: { mlm: [[{ k: 0, t: 0, items: [0, 0, 0, 0, 0] }, { k: 1, t: 5, items: [1, 1, 1, 1, 0] }]] }, strata }, { resamples: 50 });
    assert.equal(v.objectives.mlm!.final, 0.5);
    assert.throws(() => analyseMetric('x', { runs: { mlm: [[{ k: 1, t: 1, items: [1, 0] }]] }, strata: ['a'] }), /strata/);
  });

  it('quantile: linear between order statistics', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4], 0), 1);
    assert.equal(quantile([1, 2, 3, 4], 1), 4);
  });
});

describe('bootstrap intervals', () => {
  /** A dataset of N items with difficulties d_i ~ U(0.2, 0.8); each seed scores item i as Bernoulli(d_i). */
  function simulated(rng: Prng, N: number, seeds: number, shift = 0): { data: CheckpointItems[][]; d: number[] } {
    const d = Array.from({ length: N }, () => rng.uniform(0.2, 0.8));
    const data = Array.from({ length: seeds }, () => [
      { k: 0, t: 0, items: d.map(() => (rng.chance(0.3) ? 1 : 0)) },
      { k: 1, t: 10, items: d.map((p) => (rng.chance(Math.min(1, p + shift)) ? 1 : 0)) },
    ]);
    return { data, d };
  }

  it('95% intervals of the final score and of a difference cover the true value in >= 90% of 200 simulated datasets', () => {
    const rng = new Prng(12345);
    let coverFinal = 0;
    let coverDiff = 0;
    const runs = 200;
    for (let r = 0; r < runs; r++) {
      // both contestants have the same true mean 0.5 (difficulties from one population): the true difference is 0
      const a = simulated(rng, 200, 3);
      const b = simulated(rng, 200, 3);
      // items are shared: contestant b scores the same items (its own draws on a's difficulties)
      const bOnA = b.data.map((s) => s.map((c, k) => (k === 0 ? c : { ...c, items: a.d.map((p) => (rng.chance(p) ? 1 : 0)) })));
      const v = analyseMetric(`sim${r}`, { runs: { mlm: a.data, flm: bOnA } }, { resamples: 200, seed: r });
      const [lo, hi] = v.objectives.mlm!.final_ci95;
      if (lo <= 0.5 && 0.5 <= hi) coverFinal++;
      const [dlo, dhi] = v.objectives.flm!.final_minus_target_ci95!;
      if (dlo <= 0 && 0 <= dhi) coverDiff++;
    }
    assert.ok(coverFinal / runs >= 0.9, `final: ${coverFinal}/${runs} intervals cover the true mean`);
    assert.ok(coverDiff / runs >= 0.9, `difference: ${coverDiff}/${runs} intervals cover 0`);
    assert.ok(coverFinal / runs <= 0.995, `final: ${coverFinal}/${runs}: intervals too wide to mean anything`);
  });

  it('is deterministic for a seed, and another seed draws other replicates', () => {
    const rng = new Prng(7);
    const a = simulated(rng, 150, 3);
    const b = simulated(rng, 150, 3, 0.1);
    const data: MetricData = { runs: { mlm: a.data, flm: b.data } };
    const x = analyseMetric('m', data, { resamples: 300, seed: 1 });
    const y = analyseMetric('m', data, { resamples: 300, seed: 1 });
    const z = analyseMetric('m', data, { resamples: 300, seed: 2 });
    assert.deepEqual(x, y);
    assert.notDeepEqual(x.objectives.flm!.final_ci95, z.objectives.flm!.final_ci95);
    assert.equal(x.objectives.flm!.final, z.objectives.flm!.final, 'the point estimates do not depend on the seed');
  });

  it('a clearly better contestant: its speed-up interval excludes 0 and its difference interval excludes 0', () => {
    const mk = (vals: number[]): CheckpointItems[][] => [0, 1, 2].map((s) => vals.map((v, k) => ({ k, t: k * 10 + s * 0.1, items: items(Math.min(1, v + s * 0.01), 400) })));
    const v = analyseMetric('m', { runs: { mlm: mk([0.2, 0.3, 0.4, 0.5]), flm: mk([0.2, 0.5, 0.6, 0.7]) } }, { resamples: 400 });
    const f = v.objectives.flm!;
    assert.equal(f.status, 'reached');
    assert.ok(f.speedup_ci95![0] > 0, `speed-up interval ${f.speedup_ci95}`);
    assert.ok(f.final_minus_target_ci95![0] > 0, `difference interval ${f.final_minus_target_ci95}`);
  });
});
