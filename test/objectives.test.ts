// Objectives (spec §D) and MLM masking: hand cases checked against numbers computed once with
// PyTorch 1.13 (torch.nn.functional; the script is quoted next to each case), the fixtures' losses,
// and statistics of the MLM masking.
import { settledTensorCount } from './tensor-helpers.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Tensor, F, full, manualSeed, memory, randn, tensor, tidy } from '../src/tensor/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import {
  ITC_INIT_LOG_SCALE, ITC_MAX_LOG_SCALE, arLoss, arLossAtTargets, arTargets, captionLoss, captionLossSource, createLogitScale, flmLoss, irtrLoss,
  itcLoss, itmFeatures, itmLoss, mlmLoss, mlmMask, nlvr2Loss, prefixLmLabels, prefixLmLoss, roundHalfEven,
  sampleItmBatch, sampleItmLabels, sampleNegativeIndices, samplePrefixLengths, vqaAnswerScore, vqaLoss, vqaTargets,
} from '../src/objectives/index.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/flm-tiny', import.meta.url));

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected} ± ${tol}, got ${actual}`);
}

/** The Python `grid`: sin(a·i + b)·s over the flat index, computed in float64, stored as float32. */
function grid(shape: number[], a = 0.37, b = 0.11, s = 3.0): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(a * i + b) * s), { shape });
}
const ids = (rows: number[][]): Tensor => tensor(rows, { dtype: 'int64' });

// Hand batch: B=2, L=5, V=6; row 1 has two pads (id 1). labelsLm = ids[:, 1:].
const TEXT = ids([[0, 4, 5, 3, 2], [0, 5, 2, 1, 1]]);
const LABELS_LM = TEXT.slice(1, 1);
const REC = grid([2, 5, 6]);
const FWD = grid([2, 5, 6], 0.23, 0.7);
const REV = grid([2, 5, 6], 0.51, -0.3);

describe('FLM loss (§D.1-D.3)', () => {
  // lf = ce(rec[:,1:], lab, 1); l2r = ce(fwd[:,1:-1], lab[:,1:], 1); r2l = ce(rev[:,2:], lab[:,:-1], 1)
  const TORCH = { flm: 2.417888879776001, l2r: 2.6821582317352295, r2l: 3.245842695236206, w: 2.928758144378662, eq: 2.781963348388672 };
  it('terms, weighted combination and accuracies match torch', () => {
    const r = flmLoss({ recLogits: REC, fwdLogits: FWD, revLogits: REV, labelsLm: LABELS_LM }, { l2rWeight: 0.5, r2lWeight: 2 });
    close(r.terms.flm!.item(), TORCH.flm, 1e-6, 'flm');
    close(r.terms.l2r!.item(), TORCH.l2r, 1e-6, 'l2r');
    close(r.terms.r2l!.item(), TORCH.r2l, 1e-6, 'r2l');
    close(r.loss.item(), TORCH.w, 1e-6, 'combined (0.5, 2)');
    close(flmLoss({ recLogits: REC, fwdLogits: FWD, revLogits: REV, labelsLm: LABELS_LM }).loss.item(), TORCH.eq, 1e-6, 'combined (1, 1)');
    close(r.metrics.flmAccuracy!.item(), 1 / 3, 1e-7);
    close(r.metrics.l2rAccuracy!.item(), 0, 1e-7);
    close(r.metrics.r2lAccuracy!.item(), 0.2, 1e-7);
  });
  it('pre-sliced logits give the same loss; without aux it is the main term', () => {
    const a = flmLoss({ recLogits: REC.slice(1, 1), fwdLogits: FWD.slice(1, 1, -1), revLogits: REV.slice(1, 2), labelsLm: LABELS_LM });
    close(a.loss.item(), TORCH.eq, 1e-6);
    const main = flmLoss({ recLogits: REC, labelsLm: LABELS_LM });
    close(main.loss.item(), TORCH.flm, 1e-6);
    assert.deepEqual(Object.keys(main.terms), ['flm']);
  });
  it('r2lIgnoreFirstPad drops the trivial </s> target of the first pad (§D.2)', () => {
    // r2l labels with lab[:,:-1][lab[:,1:] == 1] = 1
    const r = flmLoss({ recLogits: REC, fwdLogits: FWD, revLogits: REV, labelsLm: LABELS_LM }, { r2lIgnoreFirstPad: true });
    close(r.terms.r2l!.item(), 3.179121255874634, 1e-6);
  });
  it('gradients flow into every stream', () => {
    const [rec, fwd, rev] = [REC, FWD, REV].map((t) => t.clone().requiresGrad_());
    flmLoss({ recLogits: rec!, fwdLogits: fwd!, revLogits: rev!, labelsLm: LABELS_LM }).loss.backward();
    for (const t of [rec!, fwd!, rev!]) assert.ok(t.grad!.abs().sum().item() > 0);
  });
});

describe('AR, caption, MLM, PrefixLM losses', () => {
  it('AR: position q predicts token q+1 (torch 2.6821582317352295)', () => {
    close(arLoss({ logits: FWD, labelsLm: LABELS_LM }).loss.item(), 2.6821582317352295, 1e-6);
  });
  it('caption loss reads the forward stream by default, the reconstructor with compat official', () => {
    assert.equal(captionLossSource(), 'forward');
    assert.equal(captionLossSource({ compat: 'official' }), 'reconstructor');
    close(captionLoss({ fwdLogits: FWD, recLogits: REC, labelsLm: LABELS_LM }).loss.item(), 2.6821582317352295, 1e-6);
    const official = captionLoss({ fwdLogits: FWD, recLogits: REC, labelsLm: LABELS_LM }, { compat: 'official' });
    close(official.loss.item(), arLoss({ logits: REC, labelsLm: LABELS_LM }).loss.item(), 0);
    assert.throws(() => captionLoss({ recLogits: REC, labelsLm: LABELS_LM }), /fwdLogits/);
  });
  it('MLM: ignore -100 (torch 2.7945468425750732, accuracy 1/3)', () => {
    const labels = ids([[-100, 4, -100, 3, -100], [-100, -100, 2, -100, -100]]);
    const r = mlmLoss({ logits: REC, labels });
    close(r.loss.item(), 2.7945468425750732, 1e-6);
    close(r.metrics.mlmAccuracy!.item(), 1 / 3, 1e-7);
  });
  it('PrefixLM: labels only in the suffix, loss over positions 0..L-2', () => {
    const tm = ids([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]);
    const labels = prefixLmLabels(TEXT, tm, ids([[2, 1]]).reshape(2));
    assert.deepEqual(labels.toArray(), [[-100, 5, 3, 2], [5, 2, -100, -100]]);
    const r = prefixLmLoss({ logits: REC, labels });
    const expected = F.crossEntropy(REC.slice(1, 0, -1).reshape(-1, 6), labels.reshape(-1)).item();
    close(r.loss.item(), expected, 1e-7);
    manualSeed(1);
    const big = tensor(Array.from({ length: 64 }, (_, b) => Array.from({ length: 10 }, (_, i) => (i < 2 + (b % 9) ? 1 : 0))), { dtype: 'int64' });
    const P = samplePrefixLengths(big).toFlatArray();
    const n = big.sum(1).toFlatArray();
    P.forEach((p, b) => assert.ok(p >= 1 && p <= Math.max(1, n[b]! - 1), `P=${p} n=${n[b]}`));
  });
});

describe('ITM, ITC, VQA, NLVR2, IRTR', () => {
  const LG2 = grid([4, 2], 0.9, 0.2, 1.5);
  const Y = ids([[1, 0, 0, 1]]).reshape(4);
  it('ITM and NLVR2 cross-entropy (torch 0.32658547163009644, accuracy 1)', () => {
    close(itmLoss({ logits: LG2, labels: Y }).loss.item(), 0.32658547163009644, 1e-6);
    close(nlvr2Loss({ logits: LG2, labels: Y }).loss.item(), 0.32658547163009644, 1e-6);
    close(itmLoss({ logits: LG2, labels: Y }).metrics.itmAccuracy!.item(), 1, 0);
  });
  it('ITM sampling: ⌊B/2⌋ positives, negatives are other rows', () => {
    manualSeed(5);
    for (const B of [1, 2, 7, 8]) {
      assert.equal(sampleItmLabels(B).sum().item(), Math.floor(B / 2));
      const neg = sampleNegativeIndices(B).toFlatArray();
      if (B > 1) neg.forEach((j, i) => assert.notEqual(j, i));
      const { labels, imageIndex } = sampleItmBatch(B);
      const l = labels.toFlatArray();
      imageIndex.toFlatArray().forEach((j, i) => assert.equal(j === i, l[i] === 1 || B === 1));
    }
  });
  it('ITM head input: pooled half by default, the official shape failure with compat', () => {
    const cls = randn([3, 8]);
    assert.ok(itmFeatures(cls, 4).equal(cls.slice(1, 0, 4)));
    assert.ok(itmFeatures(cls, 8).equal(cls));
    assert.throws(() => itmFeatures(cls, 4, { compat: 'official' }), /§H\.11/);
  });
  it('ITC: symmetric InfoNCE with temperature 0.07 (torch 0.019623294472694397)', () => {
    const scale = createLogitScale();
    close(scale.item(), ITC_INIT_LOG_SCALE, 1e-6);
    assert.ok(scale.requiresGrad);
    const r = itcLoss({ imageEmbeds: grid([4, 8], 0.31, 0.05, 1.0), textEmbeds: grid([4, 8], 0.29, 0.4, 1.0), logitScale: scale });
    close(r.loss.item(), 0.019623294472694397, 1e-6);
    r.loss.backward();
    assert.ok(scale.grad !== null && Math.abs(scale.grad.item()) > 0);
  });
  it('ITC: aligned pairs give a low loss, shuffled pairs a high one; the scale is capped at 100', () => {
    manualSeed(11);
    const emb = randn([16, 64]);
    const scale = full([], ITC_INIT_LOG_SCALE);
    const aligned = itcLoss({ imageEmbeds: emb, textEmbeds: emb.mul(3), logitScale: scale });
    assert.ok(aligned.loss.item() < 0.05, `aligned loss ${aligned.loss.item()}`);
    assert.equal(aligned.metrics.i2tAccuracy!.item(), 1);
    const shuffled = itcLoss({ imageEmbeds: emb, textEmbeds: emb.roll(1, 0), logitScale: scale });
    assert.ok(shuffled.loss.item() > 5);
    const capped = itcLoss({ imageEmbeds: emb, textEmbeds: emb.roll(1, 0), logitScale: full([], 10) });
    const at100 = itcLoss({ imageEmbeds: emb, textEmbeds: emb.roll(1, 0), logitScale: full([], ITC_MAX_LOG_SCALE) });
    close(capped.loss.item(), at100.loss.item(), 1e-6);
    close(capped.metrics.logitScale!.item(), 100, 1e-3);
  });
  it('VQA: BCE-with-logits × C (torch 5.297266960144043, score 0.5)', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 9].map(vqaAnswerScore), [0, 0.3, 0.6, 0.9, 1, 1]);
    const targets = vqaTargets([[1, 3], [4]], [[0.3, 1.0], [0.6]], 5);
    const r = vqaLoss({ logits: grid([2, 5], 0.44, 0.3, 2.0), targets });
    close(r.loss.item(), 5.297266960144043, 1e-5);
    close(r.metrics.vqaScore!.item(), 0.5, 1e-7);
  });
  it('IRTR: K-way CE with the positive at index 0 (torch 1.113896369934082, accuracy 0.5)', () => {
    const flat = grid([6], 0.8, 0.1, 1.0);
    const r = irtrLoss({ scores: flat, numCandidates: 3 });
    close(r.loss.item(), 1.113896369934082, 1e-6);
    close(r.metrics.irtrAccuracy!.item(), 0.5, 0);
    close(irtrLoss({ scores: flat.reshape(2, 3) }).loss.item(), 1.113896369934082, 1e-6);
    close(irtrLoss({ scores: flat.reshape(6, 1), numCandidates: 3 }).loss.item(), 1.113896369934082, 1e-6);
  });
  it('losses free their intermediates', () => {
    const before = settledTensorCount();
    tidy(() => {
      flmLoss({ recLogits: REC, fwdLogits: FWD, revLogits: REV, labelsLm: LABELS_LM });
      itcLoss({ imageEmbeds: REC.reshape(2, -1), textEmbeds: FWD.reshape(2, -1), logitScale: full([], 1) });
    });
    assert.equal(memory().numTensors, before);
  });
});

describe('fixture losses (PyTorch reference)', { skip: !existsSync(FIXTURES) }, () => {
  it('FLM, AR, MLM and ITM losses from the fixture logits', () => {
    const { tensors: c } = loadSafetensors(`${FIXTURES}/cases.safetensors`);
    const g = (k: string): Tensor => c.get(k)!;
    try {
      const lab = g('input.text_labels_lm');
      for (const v of ['corr', 'rate0']) {
        const r = flmLoss({ recLogits: g(`flm.${v}.logits`), fwdLogits: g('flm.aux.l2r_logits'), revLogits: g('flm.aux.r2l_logits'), labelsLm: lab });
        close(r.terms.flm!.item(), g(`flm.${v}.loss_main`).item(), 1e-5, `${v} main`);
        close(r.loss.item(), g(`flm.${v}.loss_combined`).item(), 1e-5, `${v} combined`);
        close(r.terms.l2r!.item(), g('flm.aux.l2r_loss').item(), 1e-5, 'l2r');
        close(r.terms.r2l!.item(), g('flm.aux.r2l_loss').item(), 1e-5, 'r2l');
      }
      close(arLoss({ logits: g('single.ar.logits'), labelsLm: lab }).loss.item(), g('single.ar.loss').item(), 1e-5, 'ar');
      close(mlmLoss({ logits: g('single.mlm.logits'), labels: g('input.text_labels_mlm') }).loss.item(), g('single.mlm.loss').item(), 1e-5, 'mlm');
      // the pretraining step's forms: logits only where there is a target (objective-step.ts)
      const t = arTargets(lab, 1);
      assert.ok(t.rows.size(0) > 0 && t.rows.size(0) < lab.size(0) * (lab.size(1) - 1), 'some AR positions are padding');
      const atAr = arLossAtTargets({ logits: g('single.ar.logits').index(t.rows, t.q.sub(1)), labels: t.labels }); // the fixture holds positions 1..L-2
      close(atAr.loss.item(), g('single.ar.loss').item(), 1e-5, 'ar at targets');
      close(atAr.metrics.arAccuracy!.item(), arLoss({ logits: g('single.ar.logits'), labelsLm: lab }).metrics.arAccuracy!.item(), 0, 'ar accuracy at targets');
      const mlmAt = g('input.text_labels_mlm').ne(-100).nonzero();
      const [mr, mq] = [mlmAt.select(1, 0), mlmAt.select(1, 1)];
      const atMlm = mlmLoss({ logits: g('single.mlm.logits').index(mr, mq), labels: g('input.text_labels_mlm').index(mr, mq) });
      close(atMlm.loss.item(), g('single.mlm.loss').item(), 1e-5, 'mlm at targets');
      close(itmLoss({ logits: g('single.itm.logits'), labels: g('input.itm_labels') }).loss.item(), g('single.itm.loss').item(), 1e-5, 'itm');
      assert.deepEqual(itmFeatures(g('single.itm.cls_feats'), 32).shape, [3, 32]);
    } finally {
      for (const t of c.values()) t.dispose();
    }
  });
});

describe('MLM masking (§D.4)', () => {
  const V = 1000;
  const MASK = 999;
  const SPECIAL = [0, 1, 2, 3, MASK];
  /** B captions of varied lengths: <s> words </s> <pad>..., words in [4, 900). */
  function batch(B: number, L: number): { textIds: Tensor; textMasks: Tensor; n: number[] } {
    const n = Array.from({ length: B }, (_, b) => 3 + (b * 7) % (L - 2));
    const rows = n.map((len, b) => Array.from({ length: L }, (_, i) => (i === 0 ? 0 : i < len - 1 ? 4 + ((b * 31 + i * 17) % 896) : i === len - 1 ? 2 : 1)));
    return { textIds: ids(rows), textMasks: ids(n.map((len) => Array.from({ length: L }, (_, i) => (i < len ? 1 : 0)))), n };
  }
  it('round() is half to even, like Python', () => {
    assert.deepEqual([7.5, 2.5, 0.5, 1.5, 20, 7.4999].map(roundHalfEven), [8, 2, 0, 2, 20, 7]);
    assert.equal(roundHalfEven(50 * 0.15), 8);
  });
  it('default: exact count round(n·rate), specials and pads never selected, 80/10/10 split', () => {
    manualSeed(7);
    const { textIds, textMasks, n } = batch(512, 24);
    for (const rate of [0.15, 0.4]) {
      const r = mlmMask(textIds, textMasks, { rate, maskId: MASK, vocabSize: V, specialIds: SPECIAL });
      const sel = r.selected.sum(1).toFlatArray();
      sel.forEach((k, b) => assert.equal(k, Math.min(n[b]! - 2, Math.max(1, roundHalfEven((n[b]! - 2) * rate))), `row ${b}`));
      const special = textIds.lt(4).logicalOr(textIds.eq(MASK));
      assert.equal(r.selected.logicalAnd(special).sum().item(), 0);
      assert.ok(r.labels.eq(-100).logicalOr(r.selected).all().item());
      assert.ok(r.labels.where(r.selected, 0).equal(textIds.where(r.selected, 0)));
      assert.ok(r.inputIds.where(r.selected.logicalNot(), 0).equal(textIds.where(r.selected.logicalNot(), 0)));
      const total = r.selected.sum().item();
      const masked = r.inputIds.eq(MASK).logicalAnd(r.selected).sum().item() / total;
      const kept = r.inputIds.eq(textIds).logicalAnd(r.selected).sum().item() / total;
      const sigma = (p: number): number => 4 * Math.sqrt((p * (1 - p)) / total) + 2 / V;
      close(masked, 0.8, sigma(0.8), 'share <mask>');
      close(kept, 0.1, sigma(0.1), 'share unchanged');
      close(1 - masked - kept, 0.1, sigma(0.1), 'share random');
    }
  });
  it('whole words are masked together and the count stays within budget', () => {
    manualSeed(8);
    const B = 256;
    const L = 16;
    const { textIds, textMasks, n } = batch(B, L);
    // words of 1-3 tokens: word id = floor((i - 1) / width_b) for real non-special tokens
    const width = Array.from({ length: B }, (_, b) => 1 + (b % 3));
    const wordIds = n.map((len, b) => Array.from({ length: L }, (_, i) => (i >= 1 && i < len - 1 ? Math.floor((i - 1) / width[b]!) : null)));
    const r = mlmMask(textIds, textMasks, { rate: 0.3, maskId: MASK, vocabSize: V, specialIds: SPECIAL, wordIds });
    const sel = r.selected.to('int64').toArray() as number[][];
    let multi = 0;
    sel.forEach((row, b) => {
      const words = new Map<number, number[]>();
      wordIds[b]!.forEach((w, i) => { if (w !== null) words.set(w, [...(words.get(w) ?? []), row[i]!]); });
      for (const flags of words.values()) {
        assert.ok(flags.every((f) => f === flags[0]), `row ${b}: word partly masked`);
        if (flags.length > 1 && flags[0] === 1) multi++;
      }
      const budget = Math.max(1, roundHalfEven((n[b]! - 2) * 0.3));
      const count = row.reduce((a, x) => a + x, 0);
      // a word that would overflow is skipped (HF), so a row can end below its budget, never above
      assert.ok(count <= Math.min(budget, n[b]! - 2), `row ${b}: ${count} > ${budget}`);
      if (width[b] === 1) assert.equal(count, Math.min(budget, n[b]! - 2));
    });
    assert.ok(multi > 50, 'multi-token words were selected');
  });
  it("compat 'official': max(1, round(L·rate)) of all padded positions, specials dropped", () => {
    manualSeed(9);
    const B = 2000;
    const L = 50;
    const { textIds, textMasks, n } = batch(B, L);
    const r = mlmMask(textIds, textMasks, { rate: 0.15, maskId: MASK, vocabSize: V, specialIds: SPECIAL, compat: 'official' });
    const special = textIds.lt(4).logicalOr(textIds.eq(MASK));
    assert.equal(r.selected.logicalAnd(special).sum().item(), 0);
    const counts = r.selected.sum(1).toFlatArray();
    counts.forEach((k) => assert.ok(k <= 8));
    // hypergeometric mean: 8 of 50 positions, n-2 of them ordinary tokens
    const mean = counts.reduce((a, b) => a + b, 0) / B;
    const expected = n.reduce((a, len) => a + (8 * (len - 2)) / L, 0) / B;
    close(mean, expected, 0.1, 'mean masked real tokens');
  });
  it('is deterministic under manualSeed', () => {
    const { textIds, textMasks } = batch(8, 12);
    const run = (): number[] => tidy(() => { manualSeed(42); return mlmMask(textIds, textMasks, { maskId: MASK, vocabSize: V, specialIds: SPECIAL }).inputIds.toFlatArray(); });
    assert.deepEqual(run(), run());
  });
});
