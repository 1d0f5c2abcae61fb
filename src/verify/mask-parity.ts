// Mask parity against a fixture directory in the layout of shared/fixtures/flm-tiny (README there):
// every `mask.*` / `stats.*` entry of mask-cases.safetensors and the mask/id entries of
// cases.safetensors (`flm.mask.*`, `single.mask.*`, `input.bi_mask.*`, `input.text_all_masks_ids`,
// `input.text_labels_lm`). Sizes, rates and seeds come from the files and config.json, never from
// the tiny preset.
//
// Seeded entries are reproduced exactly: the engine is libtorch, so manualSeed(s) followed by the
// official draw order (one binomial, one bernoulli) yields PyTorch's numbers. Statistics are compared
// with statistical tolerances (4·√2·se for means, the README's test), which the exact RNG also meets.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, getRngState, manualSeed, scalar, setRngState, tidy } from '../tensor/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { biMask, forwardMask, nonPadArea, oneStreamMask, reverseMask, toAdditive } from '../objectives/stream-masks.js';
import { applySpans, corruptedBiMask, corruptionParams, sampleSpanDraws } from '../objectives/span-corruption.js';
import { corruptionStats, type CorruptionStats } from '../objectives/corruption-stats.js';
import { fusionIds, lmLabels } from '../objectives/flm-batch.js';

export interface MaskParityRow {
  name: string;
  maxAbsDiff: number;
  atol: number;
  rtol: number;
  ok: boolean;
}

interface FixtureConfig {
  tokenizer?: { special_ids?: { mask?: number } };
  bi_mask_corr?: { span_corruption_rate?: number; torch_manual_seed?: number };
  mask_cases?: {
    stats_rate?: number;
    stats_samples?: number;
    stats_torch_manual_seed?: number;
    seeded_torch_manual_seeds?: number[];
    spans_generator_seed?: number;
  };
}

const SIGMA = 4 * Math.SQRT2; // README: |diff| < 4·√2·se is a safe two-sample test

/** Parity rows for every mask entry of the fixture directory `dir`. */
export function maskParityRows(dir: string): MaskParityRow[] {
  const cfgPath = join(dir, 'config.json');
  const cfg: FixtureConfig = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as FixtureConfig) : {};
  const rng = getRngState();
  const rows: MaskParityRow[] = [];
  try {
    const mcPath = join(dir, 'mask-cases.safetensors');
    if (existsSync(mcPath)) rows.push(...withFile(mcPath, (t) => maskCaseRows(t, cfg)));
    const csPath = join(dir, 'cases.safetensors');
    if (existsSync(csPath)) rows.push(...withFile(csPath, (t) => caseRows(t, cfg)));
  } finally {
    setRngState(rng);
  }
  return rows;
}

function withFile(path: string, fn: (t: Map<string, Tensor>) => MaskParityRow[]): MaskParityRow[] {
  const { tensors } = loadSafetensors(path);
  try {
    return tidy(() => fn(tensors));
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** Compares `got` with `want` elementwise: |got - want| <= tol + rtol·|want| (tol a number or per-element tensor). */
function compare(name: string, got: Tensor, want: Tensor | undefined, tol: number | Tensor = 0, rtol = 0): MaskParityRow {
  return tidy(() => {
    if (want === undefined) return { name, maxAbsDiff: Number.POSITIVE_INFINITY, atol: 0, rtol, ok: false };
    const a = typeof tol === 'number' ? tol : tol.to('float64').max().item();
    if (got.shape.join(',') !== want.shape.join(',')) return { name, maxAbsDiff: Number.POSITIVE_INFINITY, atol: a, rtol, ok: false };
    const w = want.to('float64');
    const diff = got.to('float64').sub(w).abs();
    const bound = w.abs().mul(rtol).add(typeof tol === 'number' ? tol : tol.to('float64'));
    const maxAbsDiff = diff.numel === 0 ? 0 : diff.max().item();
    const ok = diff.numel === 0 || diff.le(bound).all().item() !== 0;
    return { name, maxAbsDiff, atol: a, rtol, ok };
  });
}

function maskCaseRows(t: Map<string, Tensor>, cfg: FixtureConfig): MaskParityRow[] {
  const rows: MaskParityRow[] = [];
  const tm = t.get('mask.text_masks');
  if (tm === undefined) return [{ name: 'mask.text_masks', maxAbsDiff: Number.POSITIVE_INFINITY, atol: 0, rtol: 0, ok: false }];
  // rows are produced for the entries the file stores
  const add = (name: string, got: () => Tensor, tol: number | Tensor = 0): void => {
    if (t.has(name)) rows.push(compare(name, got(), t.get(name), tol));
  };
  const fwd = forwardMask(tm);
  const rev = reverseMask(tm, fwd);
  const bi = biMask(fwd, rev);
  const rate = t.has('stats.rate') ? t.get('stats.rate')!.item() : cfg.mask_cases?.stats_rate ?? 0.5;
  const params = corruptionParams(bi, rate);
  add('mask.lengths', () => tm.ne(0).sum(1));
  add('mask.onestream_bidir', () => oneStreamMask(tm));
  add('mask.onestream_causal', () => oneStreamMask(tm, { causal: true }));
  add('mask.ext_fwd', () => toAdditive(fwd));
  add('mask.ext_rev', () => toAdditive(rev));
  add('mask.nonpad_area', () => nonPadArea(tm));
  add('mask.bi_rate0', () => toAdditive(bi));
  add('mask.corr.text_len', () => params.textLen);
  add('mask.corr.add_corr_rate', () => params.prob);

  // given draws: deterministic span application; the draws themselves from their generator seed
  const spanSeed = cfg.mask_cases?.spans_generator_seed;
  if (spanSeed !== undefined) {
    manualSeed(spanSeed);
    const d = sampleSpanDraws(params);
    add('mask.spans.mask_num', () => d.m);
    add('mask.spans.start_bias', () => d.left);
  } else if (t.has('mask.spans.mask_num') && t.has('mask.spans.start_bias')) {
    // no seed to reproduce them: check that the stored draws are valid draws instead
    const m = t.get('mask.spans.mask_num')!;
    const left = t.get('mask.spans.start_bias')!;
    const bad = invalidDraws(m, left, params.textLen).to('int64'); // [B, 1, L]
    add('mask.spans.mask_num', () => m.add(bad));
    add('mask.spans.start_bias', () => left.add(bad));
  }
  if (t.has('mask.spans.mask_num') && t.has('mask.spans.start_bias')) {
    add('mask.spans.bi_mask', () => toAdditive(applySpans(bi, { m: t.get('mask.spans.mask_num')!, left: t.get('mask.spans.start_bias')! })));
  }

  // seeded official draws: exact when the seed is known, else the stored draws applied
  const seeds = cfg.mask_cases?.seeded_torch_manual_seeds ?? [];
  const seededKeys = new Set([...t.keys()].filter((k) => k.startsWith('mask.seeded.')).map((k) => Number(k.split('.')[2])));
  for (const k of [...seededKeys].sort((a, b) => a - b)) {
    const p = `mask.seeded.${k}`;
    const seed = seeds[k];
    if (seed !== undefined) {
      manualSeed(seed);
      const d = sampleSpanDraws(params);
      add(`${p}.mask_num`, () => d.m);
      add(`${p}.start_bias`, () => d.left);
      add(`${p}.bi_mask`, () => toAdditive(applySpans(bi, d)));
    } else if (t.has(`${p}.mask_num`) && t.has(`${p}.start_bias`)) {
      add(`${p}.bi_mask`, () => toAdditive(applySpans(bi, { m: t.get(`${p}.mask_num`)!, left: t.get(`${p}.start_bias`)! })));
    }
  }
  rows.push(...statsRows(t, cfg, tm, rate));
  return rows;
}

/** [B, 1, L] bool: entries that no official draw can produce (m outside [0, T-1], left not m/2 rounded). */
function invalidDraws(m: Tensor, left: Tensor, textLen: Tensor): Tensor {
  const half = m.floorDivide(2);
  const outOfRange = m.lt(0).logicalOr(m.gt(textLen.sub(1)));
  const badSplit = left.lt(half).logicalOr(left.gt(m.sub(half)));
  return outOfRange.logicalOr(badSplit);
}

function statsRows(t: Map<string, Tensor>, cfg: FixtureConfig, tm: Tensor, rate: number): MaskParityRow[] {
  if (![...t.keys()].some((k) => k.startsWith('stats.'))) return [];
  const N = t.has('stats.num_samples') ? t.get('stats.num_samples')!.item() : 200;
  manualSeed(cfg.mask_cases?.stats_torch_manual_seed ?? 0);
  const s: CorruptionStats = corruptionStats(tm, rate, N);
  const want = (k: string): Tensor | undefined => t.get(`stats.${k}`);
  const rows: MaskParityRow[] = [];
  const push = (k: string, got: Tensor, tol: number | Tensor): void => {
    if (t.has(`stats.${k}`)) rows.push(compare(`stats.${k}`, got, want(k), tol));
  };
  // a second independent estimate: tolerance from the larger of the two standard errors
  const seOf = (mine: Tensor, k: string): Tensor => {
    const theirs = want(k);
    return (theirs ? mine.maximum(theirs.to('float64')) : mine).mul(SIGMA);
  };
  const rows1 = s.rowsPerLength.to('float64').clamp(1); // [B]
  // the stored rate / sample count drive the sampling above; check them against config.json
  push('rate', scalar(cfg.mask_cases?.stats_rate ?? rate, { dtype: 'float64' }), 0);
  push('num_samples', scalar(cfg.mask_cases?.stats_samples ?? N, { dtype: 'int64' }), 0);
  push('lengths', s.lengths, 0);
  push('rows_per_length', s.rowsPerLength, 0);
  push('mean_extra_blocked_by_len', s.meanExtraBlockedByLen, seOf(s.seExtraBlockedByLen, 'se_extra_blocked_by_len'));
  push('std_extra_blocked_by_len', s.stdExtraBlockedByLen, seOf(s.seExtraBlockedByLen, 'se_extra_blocked_by_len'));
  const seTol = seOf(s.seExtraBlockedByLen, 'se_extra_blocked_by_len').div(rows1.sqrt());
  push('se_extra_blocked_by_len', s.seExtraBlockedByLen, seTol);
  push('mean_extra_blocked_fwd_by_len', s.meanExtraBlockedFwdByLen, s.seExtraBlockedFwdByLen.mul(SIGMA));
  push('mean_extra_blocked_rev_by_len', s.meanExtraBlockedRevByLen, s.seExtraBlockedRevByLen.mul(SIGMA));
  push('mean_mask_num_by_len', s.meanMaskNumByLen, s.seMaskNumByLen.mul(SIGMA));
  push('expected_mask_num_by_len', s.expectedMaskNumByLen, 1e-6);
  // proportion: binomial se at the pooled frequency, plus one event's worth for rare events
  const pFix = want('frac_fully_blocked_rows_by_len');
  const pBar = pFix ? s.fracFullyBlockedRowsByLen.add(pFix.to('float64')).div(2) : s.fracFullyBlockedRowsByLen;
  push('frac_fully_blocked_rows_by_len', s.fracFullyBlockedRowsByLen,
    pBar.mul(pBar.neg().add(1)).div(rows1).sqrt().mul(SIGMA).add(rows1.reciprocal()));
  // per query row: N draws each; one event's worth (1/N) covers rows whose event one side never saw
  const stdRow = want('std_extra_blocked_by_row');
  const rowStd = stdRow ? s.stdExtraBlockedByRow.maximum(stdRow.to('float64')) : s.stdExtraBlockedByRow;
  const rowTol = rowStd.div(Math.sqrt(N)).mul(SIGMA).add(1 / N);
  push('mean_extra_blocked_by_row', s.meanExtraBlockedByRow, rowTol);
  push('std_extra_blocked_by_row', s.stdExtraBlockedByRow, rowTol);
  return rows;
}

function caseRows(t: Map<string, Tensor>, cfg: FixtureConfig): MaskParityRow[] {
  const tm = t.get('input.text_masks');
  const ids = t.get('input.text_ids');
  if (tm === undefined || ids === undefined) return [];
  const rows: MaskParityRow[] = [];
  const add = (name: string, got: () => Tensor): void => {
    if (t.has(name)) rows.push(compare(name, got(), t.get(name)));
  };
  const fwd = forwardMask(tm);
  const rev = reverseMask(tm, fwd);
  add('flm.mask.ext_fwd', () => toAdditive(fwd));
  add('flm.mask.ext_rev', () => toAdditive(rev));
  add('single.mask.bidir', () => oneStreamMask(tm));
  add('single.mask.causal', () => oneStreamMask(tm, { causal: true }));
  add('input.bi_mask.rate0', () => toAdditive(biMask(fwd, rev)));
  const corr = cfg.bi_mask_corr;
  if (corr?.torch_manual_seed !== undefined && corr.span_corruption_rate !== undefined) {
    manualSeed(corr.torch_manual_seed);
    add('input.bi_mask.corr', () => toAdditive(corruptedBiMask({ fwd, rev }, corr.span_corruption_rate!)));
  }
  const maskId = cfg.tokenizer?.special_ids?.mask;
  if (maskId !== undefined) add('input.text_all_masks_ids', () => fusionIds(ids, tm, maskId));
  add('input.text_labels_lm', () => lmLabels(ids));
  return rows;
}
