// Parity of the models (and the masks) against a golden fixture directory in the layout of
// fixtures/flm-tiny (README.md there): config.json, weights-flm.safetensors, weights-single.safetensors,
// cases.safetensors, mask-cases.safetensors. Every size, layer count, rate and seed is read from
// config.json, so fixtures of other presets work unchanged.
//
// What runs (tolerances per tensor from config.json `tolerances`; masks, ids and labels exactly):
//   flm.*     the FLM model on input.* with the fixture's stream masks and each `input.bi_mask.<v>`
//             (rows flm.<v>.*), the LM losses of the README label map and d loss_combined / d param;
//   single.*  the single-stream model: MLM (bidirectional, text_ids_mlm), AR (causal), ITM (itm_image);
//   masks     flm.mask.*, single.mask.*, mask.*, stats.* with src/objectives/masks.ts.
// Verification only: it reads fixture files, so it lives in src/verify (above models, objectives, io).
// The losses here are the plain token-mean cross-entropies the README defines; they only serve the
// comparison (the training objectives live in src/objectives).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { F, Tensor, getRngState, manualSeed, noGrad, setRngState, tidy } from '../tensor/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { validateConfig, type FLMConfig } from '../models/config.js';
import { FLMModel, type FLMOutput } from '../models/flm.js';
import { SingleStreamModel } from '../models/single-stream.js';
import { loadOfficialWeights } from '../models/index.js';
import { robertaPositionIds } from '../models/roberta.js';
import {
  applySpans, biMask, corruptionParams, forwardMask, fusionIds, lmLabels, nonPadArea, oneStreamMask,
  reverseMask, sampleSpanDraws, toAdditive,
} from '../objectives/masks.js';
import { corruptionStats } from '../objectives/corruption-stats.js';

export interface ParityRow {
  name: string;
  /** max |actual - expected| (Infinity on a shape mismatch or a failure to compute) */
  maxAbsDiff: number;
  atol: number;
  rtol: number;
  ok: boolean;
  note?: string;
}

export interface ParityResult {
  rows: ParityRow[];
  ok: boolean;
  /** fixture tensors deliberately not compared (inputs, and statistics without a test) */
  skipped: string[];
}

export interface ParityOptions {
  /** run the mask rows (flm.mask.*, single.mask.*, mask.*, stats.*); default true */
  masks?: boolean;
  /** run the sampled statistics (stats.*, some seconds); default true */
  stats?: boolean;
}

interface Tolerance {
  atol: number;
  rtol: number;
  exact?: boolean;
}

interface FixtureConfig {
  tokenizer?: { special_ids?: { mask?: number } };
  models: Record<string, { weights: string; config: unknown }>;
  mask_cases?: { stats_rate?: number; stats_samples?: number; stats_torch_manual_seed?: number; seeded_torch_manual_seeds?: number[] };
  tolerances?: Record<string, Tolerance>;
}

const DEFAULT_TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const EXACT: Tolerance = { atol: 0, rtol: 0, exact: true };

/** Compares one tensor with the golden one under atol + rtol * |expected| (exact for integers). */
export function compareTensors(name: string, actual: Tensor, expected: Tensor, tol: Tolerance): ParityRow {
  const exact = tol.exact === true || !expected.isFloatingPoint;
  const atol = exact ? 0 : tol.atol;
  const rtol = exact ? 0 : tol.rtol;
  const as = actual.shape;
  const es = expected.shape;
  if (as.length !== es.length || as.some((d, i) => d !== es[i])) {
    return { name, maxAbsDiff: Infinity, atol, rtol, ok: false, note: `shape [${as}] != expected [${es}]` };
  }
  return tidy(() => {
    const a = actual.detach().to('cpu').to('float64');
    const e = expected.to('float64');
    const d = a.sub(e).abs();
    const maxAbsDiff = d.numel ? d.max().item() : 0;
    const finite = a.isfinite().all().item() === 1;
    const ok = finite && (exact ? d.numel === 0 || maxAbsDiff === 0 : d.le(e.abs().mul(rtol).add(atol)).all().item() === 1);
    return { name, maxAbsDiff: finite ? maxAbsDiff : Infinity, atol, rtol, ok };
  });
}

/** Token-mean cross-entropy over [..., V] logits and [...] targets, skipping `ignoreIndex`. */
function ce(logits: Tensor, labels: Tensor, ignoreIndex: number): Tensor {
  const V = logits.shape[logits.ndim - 1]!;
  return F.crossEntropy(logits.reshape(-1, V), labels.reshape(-1), { ignoreIndex });
}

/** The FLM losses of the README label map (spec D.1-D.3, D.12). */
function flmLosses(c: FLMConfig, out: FLMOutput, labels: Tensor) {
  const lg = out.logits!;
  const ign = c.lm_ignore_index;
  const logits = lg.rec.slice(1, 1); // [B, L-1, V]: position i predicts token i
  const lossMain = ce(logits, labels, ign);
  const l2rLogits = lg.l2r.slice(1, 1, -1); // [B, L-2, V]: position i predicts token i+1
  const l2rLabels = labels.slice(1, 1); // [B, L-2]
  const r2lLogits = lg.r2l.slice(1, 2); // [B, L-2, V]: position i predicts token i-1
  const r2lLabels = labels.slice(1, 0, -1); // [B, L-2]
  const l2rLoss = ce(l2rLogits, l2rLabels, ign);
  const r2lLoss = ce(r2lLogits, r2lLabels, ign);
  const w1 = c.flm_aux_lm_loss_l2r_weight;
  const w2 = c.flm_aux_lm_loss_r2l_weight;
  const lossCombined = c.enable_flm_aux_lm_loss
    ? lossMain.add(l2rLoss.mul(w1)).add(r2lLoss.mul(w2)).div(1 + w1 + w2)
    : lossMain;
  return { logits, lossMain, l2rLogits, l2rLabels, l2rLoss, r2lLogits, r2lLabels, r2lLoss, lossCombined };
}

class RowSink {
  readonly rows: ParityRow[] = [];
  readonly done = new Set<string>();
  constructor(private readonly expected: Map<string, Tensor>, private readonly tols: Record<string, Tolerance>) {}
  has(name: string): boolean {
    return this.expected.has(name);
  }
  names(): string[] {
    return [...this.expected.keys()];
  }
  get(name: string): Tensor {
    const t = this.expected.get(name);
    if (!t) throw new Error(`fixture tensor '${name}' is missing`);
    return t;
  }
  /** Compares `actual` with the fixture tensor `name` (if the fixture has it). */
  check(name: string, actual: Tensor | (() => Tensor), tol?: Tolerance): void {
    const e = this.expected.get(name);
    if (!e || this.done.has(name)) return;
    this.done.add(name);
    try {
      const a = typeof actual === 'function' ? actual() : actual;
      this.rows.push(compareTensors(name, a, e, tol ?? this.tols[name] ?? DEFAULT_TOL));
    } catch (err) {
      this.fail(name, err);
    }
  }
  fail(name: string, err: unknown, tol: Tolerance = this.tols[name] ?? DEFAULT_TOL): void {
    this.done.add(name);
    this.rows.push({ name, maxAbsDiff: Infinity, atol: tol.atol, rtol: tol.rtol, ok: false, note: err instanceof Error ? err.message : String(err) });
  }
  push(row: ParityRow): void {
    this.done.add(row.name);
    this.rows.push(row);
  }
}

/** Runs every comparison the fixture directory supports; `ok` is true when every row passes. */
export function runParity(dir: string, opts: ParityOptions = {}): ParityResult {
  const fx = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as FixtureConfig;
  const tols = fx.tolerances ?? {};
  const cases = loadSafetensors(join(dir, 'cases.safetensors')).tensors;
  const maskPath = join(dir, 'mask-cases.safetensors');
  const maskCases = (opts.masks ?? true) && existsSync(maskPath) ? loadSafetensors(maskPath).tensors : new Map<string, Tensor>();
  const expected = new Map([...cases, ...maskCases]);
  const sink = new RowSink(expected, tols);
  const rng = getRngState();
  try {
    const flm = fx.models.flm;
    if (flm) runFlm(sink, dir, flm, fx);
    const single = fx.models.single;
    if (single) runSingle(sink, dir, single);
    if (opts.masks ?? true) runMasks(sink, fx, opts.stats ?? true);
  } finally {
    setRngState(rng);
  }
  // inputs, and fixture statistics that have no test here
  // with the statistics turned off (--no-stats) their fixture tensors are skipped, not failures
  const skip = (k: string): boolean => isSkippable(k) || ((opts.stats ?? true) === false && k.startsWith('stats.'));
  const skipped = [...expected.keys()].filter((k) => !sink.done.has(k) && skip(k));
  for (const k of expected.keys()) {
    if (!sink.done.has(k) && !skip(k) && (opts.masks ?? true)) sink.fail(k, new Error('fixture tensor not compared by runParity'), DEFAULT_TOL);
  }
  for (const t of expected.values()) t.dispose();
  return { rows: sink.rows, ok: sink.rows.every((r) => r.ok), skipped };
}

function isSkippable(k: string): boolean {
  if (k.startsWith('input.') && k !== 'input.bi_mask.rate0' && k !== 'input.text_all_masks_ids' && k !== 'input.text_labels_lm') return true;
  if (['mask.text_masks', 'mask.lengths', 'mask.spans.mask_num', 'mask.spans.start_bias', 'stats.rate', 'stats.num_samples'].includes(k)) return true;
  // spreads of the sampled statistics: no meaningful per-tensor tolerance
  return /^stats\.(std_|se_|mean_extra_blocked_by_row|std_extra_blocked_by_row)/.test(k);
}

function loadModelWeights(model: FLMModel | SingleStreamModel, path: string, sink: RowSink, label: string): boolean {
  const w = loadSafetensors(path).tensors;
  try {
    loadOfficialWeights(model, w, { strict: true });
    // the official state_dict order, as the fixture writer lays it out (8-byte dtypes first, stable)
    const size = (t: Tensor) => (t.dtype === 'int64' || t.dtype === 'float64' ? 8 : 4);
    const ownOrder = [...model.stateDict()].sort((a, b) => size(b[1]) - size(a[1])).map(([k]) => k);
    const fileOrder = [...w.keys()];
    const same = ownOrder.length === fileOrder.length && ownOrder.every((k, i) => k === fileOrder[i]);
    sink.push({ name: `${label}.state_dict_keys`, maxAbsDiff: same ? 0 : 1, atol: 0, rtol: 0, ok: same, note: same ? `${fileOrder.length} keys, official order` : 'key order differs from the weight file' });
    return true;
  } catch (err) {
    sink.push({ name: `${label}.load`, maxAbsDiff: Infinity, atol: 0, rtol: 0, ok: false, note: err instanceof Error ? err.message : String(err) });
    return false;
  } finally {
    for (const t of w.values()) t.dispose();
  }
}

function runFlm(sink: RowSink, dir: string, spec: { weights: string; config: unknown }, fx: FixtureConfig): void {
  const c = validateConfig(spec.config, 'models.flm.config');
  const model = tidy(() => new FLMModel(c));
  try {
    if (!loadModelWeights(model, join(dir, spec.weights), sink, 'flm')) return;
    model.eval();
    const g = (k: string) => sink.get(k);
    const pad = c.text_encoder_arch.pad_token_id;
    noGrad(() => tidy(() => {
      sink.check('flm.embed.position_ids_text', () => robertaPositionIds(g('input.text_ids'), pad));
      sink.check('flm.embed.position_ids_fusion', () => robertaPositionIds(g('input.text_all_masks_ids'), pad));
      const maskId = fx.tokenizer?.special_ids?.mask ?? c.vocab_size - 1;
      sink.check('input.text_all_masks_ids', () => fusionIds(g('input.text_ids'), g('input.text_masks'), maskId));
      sink.check('input.text_labels_lm', () => lmLabels(g('input.text_ids')));
    }));
    const variants = sink.names().filter((k) => k.startsWith('input.bi_mask.')).map((k) => k.slice('input.bi_mask.'.length));
    const params = model.stateDict();
    variants.forEach((v, vi) => tidy(() => {
      model.zeroGrad();
      const out = model.forward({
        image: g('input.image'), textIds: g('input.text_ids'), textMasks: g('input.text_masks'), fusionIds: g('input.text_all_masks_ids'),
        masks: { fwd: g('flm.mask.ext_fwd'), rev: g('flm.mask.ext_rev'), bi: g(`input.bi_mask.${v}`) },
      });
      if (!out.logits) throw new Error('runParity: the FLM config has no FLM head (loss_names.flm = 0)');
      const L = flmLosses(c, out, g('input.text_labels_lm'));
      if (vi === 0) {
        // rows that do not depend on the reconstructor mask
        sink.check('flm.image_embeds', out.imageEmbeds);
        sink.check('flm.embed.text', out.embeds.text);
        sink.check('flm.embed.fusion', out.embeds.fusion);
        sink.check('flm.bottom.fwd', out.bottom.fwd);
        sink.check('flm.bottom.rev', out.bottom.rev);
        sink.check('flm.cross_in.img', out.crossIn.img);
        sink.check('flm.cross_in.fwd', out.crossIn.fwd);
        sink.check('flm.cross_in.rev', out.crossIn.rev);
        sink.check('flm.top.fwd', out.top.fwd);
        sink.check('flm.top.rev', out.top.rev);
        sink.check('flm.aux.l2r_logits', L.l2rLogits);
        sink.check('flm.aux.l2r_labels', L.l2rLabels);
        sink.check('flm.aux.l2r_loss', L.l2rLoss);
        sink.check('flm.aux.r2l_logits', L.r2lLogits);
        sink.check('flm.aux.r2l_labels', L.r2lLabels);
        sink.check('flm.aux.r2l_loss', L.r2lLoss);
      }
      const p = `flm.${v}`;
      sink.check(`${p}.bottom.rec`, out.bottom.rec);
      sink.check(`${p}.cross_in.rec`, out.crossIn.rec);
      sink.check(`${p}.top.rec`, out.top.rec);
      sink.check(`${p}.cls_feats`, out.clsFeats);
      sink.check(`${p}.logits`, L.logits);
      sink.check(`${p}.loss_main`, L.lossMain);
      sink.check(`${p}.loss_combined`, L.lossCombined);
      checkGrads(sink, `${p}.grad.`, L.lossCombined, params);
    }));
  } finally {
    model.zeroGrad();
    model.dispose();
  }
}

/** Backward of `loss` and the `<prefix><param name>` gradient rows (if the fixture has any). */
function checkGrads(sink: RowSink, prefix: string, loss: Tensor, params: Map<string, Tensor>): void {
  const names = sink.names().filter((k) => k.startsWith(prefix));
  if (!names.length) return;
  loss.backward();
  for (const name of names) {
    const param = params.get(name.slice(prefix.length));
    if (!param) {
      sink.fail(name, new Error(`the model has no parameter '${name.slice(prefix.length)}'`));
      continue;
    }
    const grad = param.grad;
    if (!grad) sink.fail(name, new Error('no gradient reached this parameter'));
    else sink.check(name, grad);
  }
}

function runSingle(sink: RowSink, dir: string, spec: { weights: string; config: unknown }): void {
  const c = validateConfig(spec.config, 'models.single.config');
  // compat: the fixtures keep the official cls_feats = cat(pooled, pooled) (spec H.11)
  const model = tidy(() => new SingleStreamModel(c, { compat: true }));
  try {
    if (!loadModelWeights(model, join(dir, spec.weights), sink, 'single')) return;
    model.eval();
    const g = (k: string) => sink.get(k);
    const params = model.stateDict();
    const bidir = g('single.mask.bidir');
    if (model.mlm_score && sink.has('single.mlm.logits')) tidy(() => {
      model.zeroGrad();
      const out = model.forward({ image: g('input.image'), textIds: g('input.text_ids_mlm'), textMask: bidir });
      const logits = model.mlmLogits(out.textFeats); // [B, L, V]
      const loss = ce(logits, g('input.text_labels_mlm'), c.mlm_ignore_index);
      sink.check('single.image_embeds', out.imageEmbeds);
      sink.check('single.mlm.bottom', out.bottom);
      sink.check('single.mlm.text_feats', out.textFeats);
      sink.check('single.mlm.logits', logits);
      sink.check('single.mlm.loss', loss);
      checkGrads(sink, 'single.mlm.grad.', loss, params);
    });
    if (model.lm_score && sink.has('single.ar.logits')) tidy(() => {
      model.zeroGrad();
      // README ambiguity 4: AR runs with is_decoder = True, i.e. the causal post-CLS mask
      const out = model.forward({ image: g('input.image'), textIds: g('input.text_ids'), textMask: g('single.mask.causal') });
      const logits = model.lmLogits(out.textFeats).slice(1, 1, -1); // [B, L-2, V]: i predicts i+1
      const labels = g('input.text_labels_lm').slice(1, 1); // [B, L-2]
      const loss = ce(logits, labels, c.lm_ignore_index);
      sink.check('single.ar.bottom', out.bottom);
      sink.check('single.ar.text_feats', out.textFeats);
      sink.check('single.ar.logits', logits);
      sink.check('single.ar.labels', labels);
      sink.check('single.ar.loss', loss);
      checkGrads(sink, 'single.ar.grad.', loss, params);
    });
    if (model.itm_score && sink.has('single.itm.logits')) tidy(() => {
      model.zeroGrad();
      const out = model.forward({ image: g('input.itm_image'), textIds: g('input.text_ids'), textMask: bidir });
      const logits = model.itm(out.clsFeats); // [B, 2]
      const loss = F.crossEntropy(logits, g('input.itm_labels'));
      sink.check('single.itm.image_embeds', out.imageEmbeds);
      sink.check('single.itm.text_feats', out.textFeats);
      sink.check('single.itm.cls_feats', out.clsFeats);
      sink.check('single.itm.logits', logits);
      sink.check('single.itm.loss', loss);
      checkGrads(sink, 'single.itm.grad.', loss, params);
    });
  } finally {
    model.zeroGrad();
    model.dispose();
  }
}

function runMasks(sink: RowSink, fx: FixtureConfig, withStats: boolean): void {
  const g = (k: string) => sink.get(k);
  noGrad(() => tidy(() => {
    if (sink.has('input.text_masks')) {
      const tm = g('input.text_masks');
      const fwd = forwardMask(tm);
      const rev = reverseMask(tm, fwd);
      sink.check('flm.mask.ext_fwd', () => toAdditive(fwd), EXACT);
      sink.check('flm.mask.ext_rev', () => toAdditive(rev), EXACT);
      sink.check('input.bi_mask.rate0', () => toAdditive(biMask(fwd, rev)), EXACT);
      sink.check('single.mask.bidir', () => oneStreamMask(tm), EXACT);
      sink.check('single.mask.causal', () => oneStreamMask(tm, { causal: true }), EXACT);
    }
    if (!sink.has('mask.text_masks')) return;
    const tm = g('mask.text_masks');
    const fwd = forwardMask(tm);
    const rev = reverseMask(tm, fwd);
    const bi0 = biMask(fwd, rev); // [B, 1, L, 2L] allowed
    const rate = fx.mask_cases?.stats_rate ?? (sink.has('stats.rate') ? g('stats.rate').item() : 0.5);
    sink.check('mask.onestream_bidir', () => oneStreamMask(tm), EXACT);
    sink.check('mask.onestream_causal', () => oneStreamMask(tm, { causal: true }), EXACT);
    sink.check('mask.ext_fwd', () => toAdditive(fwd), EXACT);
    sink.check('mask.ext_rev', () => toAdditive(rev), EXACT);
    sink.check('mask.nonpad_area', () => nonPadArea(tm), EXACT);
    sink.check('mask.bi_rate0', () => toAdditive(bi0), EXACT);
    const params = corruptionParams(bi0, rate);
    sink.check('mask.corr.text_len', params.textLen, EXACT);
    sink.check('mask.corr.add_corr_rate', params.prob, EXACT);
    if (sink.has('mask.spans.mask_num')) {
      sink.check('mask.spans.bi_mask', () => toAdditive(applySpans(bi0, { m: g('mask.spans.mask_num'), left: g('mask.spans.start_bias') })), EXACT);
    }
    (fx.mask_cases?.seeded_torch_manual_seeds ?? []).forEach((seed, i) => {
      manualSeed(seed);
      const draws = sampleSpanDraws(corruptionParams(bi0, rate));
      sink.check(`mask.seeded.${i}.mask_num`, draws.m, EXACT);
      sink.check(`mask.seeded.${i}.start_bias`, draws.left, EXACT);
      sink.check(`mask.seeded.${i}.bi_mask`, () => toAdditive(applySpans(bi0, draws)), EXACT);
    });
    if (withStats && sink.has('stats.mean_extra_blocked_by_len')) {
      const N = sink.has('stats.num_samples') ? g('stats.num_samples').item() : fx.mask_cases?.stats_samples ?? 200;
      manualSeed(fx.mask_cases?.stats_torch_manual_seed ?? 0);
      const s = corruptionStats(tm, rate, N);
      sink.check('stats.lengths', s.lengths, EXACT);
      sink.check('stats.rows_per_length', s.rowsPerLength, EXACT);
      sink.check('stats.expected_mask_num_by_len', s.expectedMaskNumByLen, { atol: 1e-6, rtol: 1e-6 });
      // sampled means: |diff| < 4 sqrt(2) se per length (README), se of the pooled per-row counts
      const statRow = (name: string, ours: Tensor, se: Tensor) => {
        const bound = se.mul(4 * Math.SQRT2).add(1e-9); // [B]
        const e = g(name);
        const d = ours.to('float64').sub(e).abs(); // [B]
        sink.push({
          name, maxAbsDiff: d.max().item(), atol: bound.max().item(), rtol: 0, ok: d.le(bound).all().item() === 1,
          note: 'statistical: |diff| <= 4*sqrt(2)*se per caption length',
        });
      };
      const seX = sink.has('stats.se_extra_blocked_by_len') ? g('stats.se_extra_blocked_by_len') : s.seExtraBlockedByLen;
      statRow('stats.mean_extra_blocked_by_len', s.meanExtraBlockedByLen, seX);
      statRow('stats.mean_extra_blocked_fwd_by_len', s.meanExtraBlockedFwdByLen, s.seExtraBlockedFwdByLen.maximum(seX.mul(0.5)));
      statRow('stats.mean_extra_blocked_rev_by_len', s.meanExtraBlockedRevByLen, s.seExtraBlockedRevByLen.maximum(seX.mul(0.5)));
      statRow('stats.mean_mask_num_by_len', s.meanMaskNumByLen, s.seMaskNumByLen);
      // Bernoulli fraction: se = sqrt(p (1 - p) / rows)
      const p = g('stats.frac_fully_blocked_rows_by_len');
      const rows = s.rowsPerLength.to('float64').clamp(1);
      statRow('stats.frac_fully_blocked_rows_by_len', s.fracFullyBlockedRowsByLen, p.mul(p.neg().add(1)).div(rows).sqrt().add(rows.reciprocal()));
    }
  }));
}
