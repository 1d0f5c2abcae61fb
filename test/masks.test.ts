// Attention masks (spec §C): the hand-worked examples of §C.6/§C.7, exact equality with the PyTorch
// fixtures, span-corruption statistics, and the keepOneVisible option.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Tensor, manualSeed, memory, tensor, tidy } from '../src/tensor/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import {
  MASK_NEG, applySpans, biMask, corruptedBiMask, corruptionParams, corruptionStats, flmMasks, forwardMask,
  fullyBlockedRows, fusionIds, lmLabels, nonPadArea, oneStreamMask, paddingMask, prefixLmMask,
  reverseMask, sampleSpanDraws, toAdditive,
} from '../src/objectives/index.js';
import { maskParityRows } from '../src/verify/mask-parity.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/flm-tiny', import.meta.url));

/** Rows of the single [1, 1, Q, K] mask as 0/1 arrays. */
function rows01(mask: Tensor): number[][] {
  return tidy(() => {
    const [, , Q, K] = mask.shape as [number, number, number, number];
    const flat = mask.to('int64').toFlatArray();
    return Array.from({ length: Q }, (_, q) => flat.slice(q * K, (q + 1) * K));
  });
}
const parse = (s: string): number[][] => s.trim().split('\n').map((r) => r.replace('|', '').trim().split(/\s+/).map(Number));
const masksOf = (lengths: number[], L: number): Tensor =>
  tensor(lengths.map((n) => Array.from({ length: L }, (_, i) => (i < n ? 1 : 0))), { dtype: 'int64' });
const ints = (xs: number[]): Tensor => tensor([[xs]], { dtype: 'int64' }); // [1, 1, L]

describe('§C.6 worked example, L = 6, one pad', () => {
  const tm = masksOf([5], 6);
  it('forward mask with the post-CLS rule', () => {
    assert.deepEqual(rows01(forwardMask(tm)), parse(`
      1 1 1 1 1 0
      0 1 0 0 0 0
      0 1 1 0 0 0
      0 1 1 1 0 0
      0 1 1 1 1 0
      0 1 1 1 1 0`));
  });
  it('non-pad area', () => {
    assert.deepEqual(rows01(nonPadArea(tm)), parse(`
      0 0 0 0 0 0
      0 1 1 1 1 0
      0 1 1 1 1 0
      0 1 1 1 1 0
      0 1 1 1 1 0
      0 0 0 0 0 0`));
    assert.equal(nonPadArea(tm).dtype, 'int64');
  });
  it('reverse mask', () => {
    assert.deepEqual(rows01(reverseMask(tm)), parse(`
      1 1 1 1 1 0
      0 1 1 1 1 0
      0 0 1 1 1 0
      0 0 0 1 1 0
      0 0 0 0 1 0
      0 1 1 1 1 0`));
  });
  it('reconstructor mask without corruption', () => {
    assert.deepEqual(rows01(biMask(forwardMask(tm), reverseMask(tm))), parse(`
      1 1 1 1 1 0 | 1 1 1 1 1 0
      0 0 0 0 0 0 | 0 0 1 1 1 0
      0 1 0 0 0 0 | 0 0 0 1 1 0
      0 1 1 0 0 0 | 0 0 0 0 1 0
      0 1 1 1 0 0 | 0 0 0 0 0 0
      0 1 1 1 1 0 | 0 1 1 1 1 0`));
  });
  it('injected spans m=[0,2,2,1,1,0], left=[0,1,1,1,0,0]', () => {
    const bi = biMask(forwardMask(tm), reverseMask(tm));
    const got = rows01(corruptedBiMask(bi, 0.5, { draws: { m: ints([0, 2, 2, 1, 1, 0]), left: ints([0, 1, 1, 1, 0, 0]) } }));
    assert.deepEqual(got.slice(1, 5), parse(`
      0 0 0 0 0 0 | 0 0 0 1 1 0
      0 0 0 0 0 0 | 0 0 0 0 1 0
      0 1 0 0 0 0 | 0 0 0 0 1 0
      0 1 1 1 0 0 | 0 0 0 0 0 0`));
    assert.deepEqual(got[0], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]);
  });
  it('fusion ids (§C.9) and LM labels', () => {
    const ids = tensor([[0, 10, 11, 12, 2, 1]], { dtype: 'int64' });
    assert.deepEqual(fusionIds(ids, tm, 50264).toArray(), [[0, 50264, 50264, 50264, 2, 0]]);
    assert.deepEqual(lmLabels(ids).toArray(), [[10, 11, 12, 2, 1]]);
  });
});

describe('§C.7 worked example, L = 8, no padding', () => {
  const tm = masksOf([8], 8);
  const bi = biMask(forwardMask(tm), reverseMask(tm));
  const m = [0, 2, 3, 3, 2, 3, 1, 2];
  const left = [0, 1, 2, 1, 1, 2, 1, 1];
  it('rate-0 rows and T_q = n - 1', () => {
    assert.deepEqual(rows01(bi).slice(1), parse(`
      0 0 0 0 0 0 0 0 | 0 0 1 1 1 1 1 1
      0 1 0 0 0 0 0 0 | 0 0 0 1 1 1 1 1
      0 1 1 0 0 0 0 0 | 0 0 0 0 1 1 1 1
      0 1 1 1 0 0 0 0 | 0 0 0 0 0 1 1 1
      0 1 1 1 1 0 0 0 | 0 0 0 0 0 0 1 1
      0 1 1 1 1 1 0 0 | 0 0 0 0 0 0 0 1
      0 1 1 1 1 1 1 0 | 0 0 0 0 0 0 0 0`));
    const p = corruptionParams(bi, 0.5);
    assert.deepEqual(p.textLen.toFlatArray(), [1, 7, 7, 7, 7, 7, 7, 7]);
    // T=7, r=0.5: p = 2.5/6.00001; row 0: T=1 gives p = 0
    const pv = p.prob.toFlatArray();
    assert.equal(pv[0], 0);
    assert.ok(Math.abs(pv[1]! - 2.5 / 6.00001) < 1e-7);
  });
  it('left clamp at CLS, right overflow, row 0 untouched', () => {
    const got = rows01(corruptedBiMask(bi, 0.5, { draws: { m: ints(m), left: ints(left) } }));
    assert.deepEqual(got[0], new Array(16).fill(1));
    assert.deepEqual(got.slice(1), parse(`
      0 0 0 0 0 0 0 0 | 0 0 0 1 1 1 1 1
      0 0 0 0 0 0 0 0 | 0 0 0 0 1 1 1 1
      0 1 0 0 0 0 0 0 | 0 0 0 0 0 0 1 1
      0 1 1 0 0 0 0 0 | 0 0 0 0 0 0 1 1
      0 1 1 0 0 0 0 0 | 0 0 0 0 0 0 0 1
      0 1 1 1 1 0 0 0 | 0 0 0 0 0 0 0 1
      0 1 1 1 1 1 0 0 | 0 0 0 0 0 0 0 0`));
  });
  it('fully hidden row (m_3 = 6, left_3 = 2): official all-blocked, keepOneVisible re-opens one leak-free key', () => {
    const m2 = [...m]; m2[3] = 6;
    const l2 = [...left]; l2[3] = 2;
    const draws = { m: ints(m2), left: ints(l2) };
    const official = corruptedBiMask(bi, 0.5, { draws });
    assert.deepEqual(rows01(official)[3], new Array(16).fill(0));
    assert.equal(fullyBlockedRows(official).toFlatArray()[3], 1);
    // additive: the row is all -10000, i.e. uniform attention over all 16 keys (the leak of §H.7)
    assert.deepEqual(rows01(toAdditive(official).eq(MASK_NEG))[3], new Array(16).fill(1));
    const safe = rows01(corruptedBiMask(bi, 0.5, { draws, keepOneVisible: true }));
    assert.equal(safe[3]!.reduce((a, b) => a + b, 0), 1);
    // the farthest rate-0 context key of q=3 is the reverse feature of token 7 (column 8+7)
    assert.equal(safe[3]![15], 1);
    // other rows unchanged
    const off = rows01(official);
    for (const q of [0, 1, 2, 4, 5, 6, 7]) assert.deepEqual(safe[q], off[q]);
  });
});

describe('additive masks and the single-stream model', () => {
  const tm = masksOf([4, 2], 5);
  it('exactly 0 / -10000 in the requested dtype', () => {
    for (const dtype of ['float32', 'float64', 'float16'] as const) {
      const a = toAdditive(forwardMask(tm), dtype);
      assert.equal(a.dtype, dtype);
      const vals = new Set(a.toFlatArray());
      assert.deepEqual([...vals].sort((x, y) => x - y), [-10000, 0]);
    }
  });
  it('padding mask is [B,1,1,L]; causal is the forward mask', () => {
    assert.deepEqual(paddingMask(tm).shape, [2, 1, 1, 5]);
    assert.deepEqual(oneStreamMask(tm).toFlatArray(), [0, 0, 0, 0, -10000, 0, 0, -10000, -10000, -10000]);
    assert.ok(oneStreamMask(tm, { causal: true }).equal(toAdditive(forwardMask(tm))));
  });
  it('flmMasks: rate 0 is the C.5 mask, injected draws apply exactly', () => {
    const tm8 = masksOf([8, 6, 3], 8);
    const fwd = forwardMask(tm8);
    const rev = reverseMask(tm8);
    const bi = biMask(fwd, rev);
    const r0 = flmMasks(tm8);
    assert.ok(r0.bi.equal(toAdditive(bi)));
    assert.ok(r0.fwd.equal(toAdditive(fwd)) && r0.rev.equal(toAdditive(rev)));
    manualSeed(3);
    const draws = sampleSpanDraws(corruptionParams(bi, 0.6));
    const withDraws = flmMasks(tm8, { rate: 0.6, draws, dtype: 'float64' });
    assert.equal(withDraws.bi.dtype, 'float64');
    assert.ok(withDraws.bi.equal(toAdditive(applySpans(bi, draws), 'float64')));
    // an additive base mask is accepted too
    assert.ok(corruptedBiMask(toAdditive(bi), 0.6, { draws }).equal(applySpans(bi, draws)));
  });
  it('prefixLM mask: bidirectional prefix, causal suffix, pads hidden', () => {
    const m = prefixLmMask(masksOf([5], 6), tensor([3], { dtype: 'int64' }));
    assert.deepEqual(rows01(m), parse(`
      1 1 1 0 0 0
      1 1 1 0 0 0
      1 1 1 0 0 0
      1 1 1 1 0 0
      1 1 1 1 1 0
      1 1 1 1 1 0`));
  });
  it('frees every intermediate tensor', () => {
    const tm8 = masksOf([8, 6, 3], 8);
    // Tensors an earlier test left to the garbage collector can be finalised during a measurement and
    // lower the count: a measurement counts when nothing else changed it, up to three tries.
    const deltas: number[] = [];
    for (let attempt = 0; attempt < 3 && deltas.at(-1) !== 0; attempt++) {
      const before = memory().numTensors;
      tidy(() => {
        flmMasks(tm8, { rate: 0.5 });
        flmMasks(tm8, { rate: 0.5, keepOneVisible: true });
      });
      deltas.push(memory().numTensors - before);
    }
    assert.equal(deltas.at(-1), 0, `tensors left by flmMasks in tidy: ${deltas.join(', ')}`);
    tm8.dispose();
  });
});

describe('keepOneVisible at high corruption rates', () => {
  it('every row keeps a key; non-empty rows are untouched; re-opened keys come from the rate-0 context', () => {
    const L = 10;
    const tm = masksOf([10, 9, 8, 7, 6, 5, 4, 3, 2], L);
    const bi = biMask(forwardMask(tm), reverseMask(tm));
    const params = corruptionParams(bi, 0.95);
    let emptyRows = 0;
    for (let t = 0; t < 30; t++) {
      tidy(() => {
        const draws = sampleSpanDraws(params);
        const official = applySpans(bi, draws);
        const safe = corruptedBiMask(bi, 0.95, { draws, keepOneVisible: true });
        assert.equal(fullyBlockedRows(safe).sum().item(), 0);
        const empty = fullyBlockedRows(official); // [B, 1, L]
        emptyRows += empty.sum().item();
        const changed = safe.logicalXor(official); // [B, 1, L, 2L]
        assert.equal(changed.sum(-1).sub(empty.to('int64')).abs().sum().item(), 0, 'exactly one key per empty row');
        // re-opened keys: in the rate-0 mask, except the one row without any context (<s></s>, row 1)
        const outsideBase = changed.logicalAnd(bi.logicalNot()); // [B, 1, L, 2L]
        const nonEmptyBase = fullyBlockedRows(bi).logicalNot().unsqueeze(-1);
        assert.equal(outsideBase.logicalAnd(nonEmptyBase).sum().item(), 0);
      });
    }
    assert.ok(emptyRows > 0, 'the test exercised fully hidden rows');
  });
});

describe('fixtures (PyTorch reference, shared/fixtures/flm-tiny)', { skip: !existsSync(FIXTURES) }, () => {
  it('every mask.* / stats.* entry and the case masks match (exact where deterministic or seeded)', () => {
    const rows = maskParityRows(FIXTURES);
    const bad = rows.filter((r) => !r.ok);
    assert.deepEqual(bad, []);
    const names = new Set(rows.map((r) => r.name));
    const { tensors } = loadSafetensors(`${FIXTURES}/mask-cases.safetensors`);
    const inputs = new Set(['mask.text_masks']);
    for (const k of tensors.keys()) if (!inputs.has(k)) assert.ok(names.has(k), `no parity row for ${k}`);
    for (const t of tensors.values()) t.dispose();
    for (const k of ['flm.mask.ext_fwd', 'flm.mask.ext_rev', 'single.mask.bidir', 'single.mask.causal', 'input.bi_mask.rate0', 'input.bi_mask.corr']) {
      assert.ok(names.has(k), `no parity row for ${k}`);
    }
    // exact entries really are exact
    for (const r of rows.filter((x) => x.name.startsWith('mask.') || x.name.includes('.mask.'))) assert.equal(r.maxAbsDiff, 0, r.name);
  });

  it('corruption statistics from an independent seed agree with the fixture statistically', () => {
    const { tensors: t } = loadSafetensors(`${FIXTURES}/mask-cases.safetensors`);
    try {
      tidy(() => {
        const rate = t.get('stats.rate')!.item();
        manualSeed(2024);
        const N = 400;
        const s = corruptionStats(t.get('mask.text_masks')!, rate, N);
        const check = (mine: Tensor, theirs: Tensor, seMine: Tensor, seTheirs: Tensor, what: string): void => {
          const tol = seMine.square().add(seTheirs.square()).sqrt().mul(4).add(1e-9);
          const diff = mine.sub(theirs).abs();
          assert.ok(diff.le(tol).all().item(), `${what}: |diff| ${diff.toFlatArray()} > ${tol.toFlatArray()}`);
        };
        const f = (k: string): Tensor => t.get(`stats.${k}`)!;
        const ratio = f('rows_per_length').to('float64').div(s.rowsPerLength.to('float64')).sqrt(); // se scale: N_fix vs N
        check(s.meanExtraBlockedByLen, f('mean_extra_blocked_by_len'), s.seExtraBlockedByLen, f('se_extra_blocked_by_len'), 'extra blocked');
        check(s.meanExtraBlockedFwdByLen, f('mean_extra_blocked_fwd_by_len'), s.seExtraBlockedFwdByLen, s.seExtraBlockedFwdByLen.div(ratio), 'fwd part');
        check(s.meanExtraBlockedRevByLen, f('mean_extra_blocked_rev_by_len'), s.seExtraBlockedRevByLen, s.seExtraBlockedRevByLen.div(ratio), 'rev part');
        check(s.meanMaskNumByLen, f('mean_mask_num_by_len'), s.seMaskNumByLen, s.seMaskNumByLen.div(ratio), 'mask_num');
        assert.ok(s.expectedMaskNumByLen.sub(f('expected_mask_num_by_len')).abs().max().item() < 1e-6);
        // E[m] = (T-1)·p: the sample mean is near its expectation
        check(s.meanMaskNumByLen, s.expectedMaskNumByLen, s.seMaskNumByLen, s.seMaskNumByLen.mul(0), 'E[m]');
        const p = s.fracFullyBlockedRowsByLen.add(f('frac_fully_blocked_rows_by_len')).div(2);
        const seP = p.mul(p.neg().add(1)).div(s.rowsPerLength.to('float64').clamp(1)).sqrt();
        check(s.fracFullyBlockedRowsByLen, f('frac_fully_blocked_rows_by_len'), seP, seP.div(ratio), 'fully blocked');
      });
    } finally {
      for (const x of t.values()) x.dispose();
    }
  });
});
