// Caption fine-tuning (spec D.11, `ft_cap_coco` + `causal_flm`): AR loss on `<s> <bos> caption <eos> </s>`.
//
//   run dir (--out)/
//     config.json       the resolved settings
//     tokenizer.json    the run's tokenizer with <bos>/<eos> added (caption-tokens.ts)
//     metrics.jsonl     per logged step: loss, captionAccuracy, lr, ...; eval records: bleu4, cider, ...
//     checkpoints/      step-N folders; state.json holds task 'caption', modelConfig and captionTokens,
//                       which is all `flm caption` / `flm eval caption` need
//
// Loss source: by default the AR loss is on the forward stream (text_feats1), the stream decoding reads;
// `compat: 'official'` puts it on the reconstructor output as released (H.12: a trivial target that
// leaves the decoding stream without a direct loss). In the default mode the reverse stream and the
// reconstructor get no gradient, so only the forward stream is computed (caption-decode.ts forwardStream).
//
// The model: the three-stream model with loss_names {ar: 0.5} (so `lm_score` is the AR head and the
// pretraining aliases lm_score_r/_f go), loaded from --init with the vocabulary grown by <bos>/<eos>
// (B.11), and the official loss weight 0.5 on the backpropagated loss. A one-stream AR (or MLM)
// pretraining run loads by name: its causal text path is exactly the forward stream, so the AR baseline
// captions through the same decoder. Without --init the model starts from the preset's init.
import { join, resolve } from 'node:path';
import { getRngState, tensor, tidy, type Tensor } from '../tensor/index.js';
import { FLMModel, type FLMConfig } from '../models/index.js';
import { AdamW, flmParamGroups, FLM_GROUPING } from '../optim/index.js';
import { openDataset } from '../data/spec.js';
import { DataLoader, type Batch, type LoaderState } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { captionLoss, flmMasks, forwardMask, fusionIds, lmLabels, toAdditive, type ObjectiveResult } from '../objectives/index.js';
import { TrainConfigError } from '../train/errors.js';
import { b64, openRun, restoreTrainingState } from '../train/resume.js';
import { BatchFeed, cleanUp, TrainLoop, type TrainLoopStart } from '../train/loop.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { MetricsLog, logRecorder, type MetricsRecord } from '../train/metrics-log.js';
import { writeLineChart } from '../train/plot.js';
import { encodeCaptions, type CaptionTokens } from './caption-tokens.js';
import { captionImageTokens, forwardStream } from './caption-decode.js';
import { evaluateCaptions, type CaptionEvalResult } from './caption-eval.js';
import { validateCaptionConfig, type CaptionFinetuneConfig } from './caption-config.js';
import { initCaptionModel, type CaptionModelInit } from './caption-init.js';

export { CAPTION_DEFAULTS, validateCaptionConfig, type CaptionFinetuneConfig } from './caption-config.js';
export { captionModelConfig, initCaptionModel, type CaptionModelInit } from './caption-init.js';

export interface CaptionBatch {
  image: Tensor; // [B, 3, S, S]
  textIds: Tensor; // [B, L] int64: <s> <bos> w.. <eos> </s> <pad>..
  textMasks: Tensor; // [B, L] int64
}

export function captionBatch(b: Batch, tok: TextTokenizer, ct: CaptionTokens, L: number): CaptionBatch & { tokens: number } {
  const e = encodeCaptions(tok, ct, b.texts, L);
  return {
    tokens: e.mask.reduce((a, v) => a + v, 0),
    image: tensor(b.images[0]!, { shape: b.imageShape }),
    textIds: tensor(e.ids, { shape: e.shape, dtype: 'int64' }),
    textMasks: tensor(e.mask, { shape: e.shape, dtype: 'int64' }),
  };
}

/** Caption loss of one batch (terms.caption, metrics.captionAccuracy); the caller frees the tensors. */
export function captionStep(model: FLMModel, b: CaptionBatch, o: { compat: 'official' | null; maskId: number; padId: number }): ObjectiveResult {
  return tidy(() => {
    const head = model.lm_score;
    if (!head) throw new Error('the caption model has no lm_score head (loss_names.ar = 0)');
    const L = b.textIds.shape[1]!;
    const labelsLm = lmLabels(b.textIds); // [B, L-1]
    if (o.compat === 'official') {
      const out = model.forward({
        image: b.image, textIds: b.textIds, textMasks: b.textMasks, fusionIds: fusionIds(b.textIds, b.textMasks, o.maskId), masks: flmMasks(b.textMasks),
      }, { lmLogits: false });
      const rec = head.forward(out.top.rec.narrow(1, 1, L - 2)); // [B, L-2, V]
      return captionLoss({ recLogits: rec, labelsLm }, { ignoreIndex: o.padId, compat: 'official' });
    }
    const f = forwardStream(model, captionImageTokens(model, b.image), b.textIds, toAdditive(forwardMask(b.textMasks))); // [B, L, H]
    return captionLoss({ fwdLogits: head.forward(f.narrow(1, 1, L - 2)), labelsLm }, { ignoreIndex: o.padId }); // logits [B, L-2, V]
  });
}

interface SavedState {
  step: number;
  task: 'caption';
  config: CaptionFinetuneConfig;
  modelConfig: FLMConfig;
  captionTokens: CaptionTokens;
  compat: 'official' | null;
  tokenizer: string;
  rng: string;
  loader: LoaderState;
  elapsedS: number;
  skippedNonFinite: number;
  lastLoss: number | null;
  bestCider: number | null;
  eval?: Omit<CaptionEvalResult, 'predictions'>;
}

export interface CaptionFinetuneResult {
  steps: number;
  finalLoss: number | null;
  elapsedS: number;
  stopped: 'done' | 'interrupted' | 'time-budget';
  runDir: string;
  /** the last evaluation (evalData set) */
  eval: CaptionEvalResult | null;
}

export interface CaptionHooks {
  onLog?(rec: MetricsRecord): void;
}


/** Runs (or resumes) a caption fine-tuning run. */
export async function finetuneCaption(input: CaptionFinetuneConfig, o: { resume?: boolean; quiet?: boolean; hooks?: CaptionHooks } = {}): Promise<CaptionFinetuneResult> {
  let c = validateCaptionConfig({ ...input, out: resolve(input.out) });
  const run = openRun<CaptionFinetuneConfig, SavedState>(c, {
    resume: o.resume ?? false, pg: null, validate: validateCaptionConfig, say: (m) => { if (!o.quiet) console.error(`flm finetune caption: ${m}`); },
    fromSaved: (st, dir) => {
      if (st.task !== 'caption') throw new TrainConfigError(`${dir} is not a caption fine-tuning checkpoint`);
      return { ...st.config, microBatch: st.config.microBatch ?? null };
    },
  });
  c = run.c;
  const { saved, ckptDir } = run;

  let prep: CaptionModelInit;
  if (saved && ckptDir) {
    const tokenizer = await TextTokenizer.fromFile(join(c.out, 'tokenizer.json'), { maxLength: saved.modelConfig.max_text_len });
    prep = { model: tidy(() => new FLMModel(saved!.modelConfig)), tokenizer, tokens: saved.captionTokens, modelConfig: saved.modelConfig, origin: ckptDir };
  } else prep = await initCaptionModel(c);
  const { model, tokenizer, tokens, modelConfig } = prep;
  model.train();
  const groups = flmParamGroups(model.namedParameters(), { ...FLM_GROUPING, lrMultHead: c.lrMultHead, lrMultCrossModal: c.lrMultCrossModal, weightDecay: c.weightDecay });
  const opt = new AdamW(groups, { lr: c.lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay, style: c.optimizer === 'adamw-hf' ? 'hf' : 'torch' });
  const src = await openDataset(c.data);
  if (src.textKind !== 'caption') throw new TrainConfigError(`${c.data}: caption fine-tuning needs a caption dataset (this one has ${src.textKind}s)`);
  const microBatch = c.microBatch ?? c.batchSize;
  const loader = new DataLoader(src, { batchSize: microBatch, imageSize: modelConfig.image_size, seed: c.seed, workers: c.workers, augment: c.augment, dropLast: true });
  const log = new MetricsLog(join(c.out, 'metrics.jsonl'));
  let start: TrainLoopStart | undefined;
  let resumedFrom: string | null = null;
  let bestCider: number | null = null;
  if (saved && ckptDir) {
    restoreTrainingState(ckptDir, model, opt, loader, saved);
    bestCider = saved.bestCider;
    start = { step: saved.step, elapsedS: saved.elapsedS, skippedNonFinite: saved.skippedNonFinite, lastLoss: saved.lastLoss };
    log.truncateAfter(saved.step);
    resumedFrom = ckptDir;
  }

  const stepOpts = { compat: c.compat, maskId: tokenizer.specialIds.mask, padId: tokenizer.specialIds.pad };
  let lastEval: CaptionEvalResult | null = null;
  const feed = new BatchFeed(loader.batches(), loader.state());
  const loop: TrainLoop<Batch> = new TrainLoop<Batch>({
    steps: c.steps, accum: c.batchSize / microBatch, clipNorm: c.clipNorm, maxNonFinite: c.maxNonFinite, logEvery: c.logEvery,
    timeBudgetS: c.timeBudgetS, opt, quiet: o.quiet ?? false, start, precision: c.precision,
    schedule: { kind: 'polynomial', totalSteps: c.steps, warmup: c.warmup, lrInit: c.lr, lrEnd: c.endLr, power: c.decayPower },
    clipParams: () => model.parameters(),
    nextBatch: () => feed.next(),
    loss: (b) => {
      const batch = captionBatch(b, tokenizer, tokens, modelConfig.max_text_len);
      const r = captionStep(model, batch, stepOpts);
      // the official loss weight (0.5) scales the backpropagated loss only
      return { loss: r.loss, metrics: r.metrics, backwardScale: modelConfig.loss_names.ar, tokens: batch.tokens, images: b.size };
    },
    onLog: logRecorder(log, (recs) => writeCurves(c.out, recs), o.hooks?.onLog),
    afterStep: async (step) => {
      if (step % c.saveEvery === 0 && step < c.steps) await checkpoint();
    },
  });
  loop.status.note(`caption fine-tuning from ${prep.origin}; loss on the ${c.compat === 'official' ? 'reconstructor (official)' : 'forward stream'}`);
  if (resumedFrom) loop.status.note(`resumed from ${resumedFrom} at step ${loop.step}`);

  /** Scores evalData off the training clock. */
  const evaluate = (): Promise<CaptionEvalResult | null> => loop.clock.paused(async () => {
    if (!c.evalData) return null;
    model.eval();
    try {
      const r = await evaluateCaptions(model, tokenizer, tokens, c.evalData, { beam: c.beam, limit: c.evalLimit || undefined });
      const rec: MetricsRecord = { step: loop.step, split: 'eval', bleu4: r.bleu4, cider: r.cider, ...(r.semantic ? { semantic_accuracy: r.semantic.accuracy, semantic_parsed: r.semantic.parsed } : {}), images: r.images };
      log.append(rec);
      loop.status.note(`eval at step ${loop.step}: BLEU-4 ${r.bleu4.toFixed(4)} CIDEr ${r.cider.toFixed(4)}${r.semantic ? ` semantic accuracy ${r.semantic.accuracy.toFixed(3)}` : ''} (${r.images} images)`);
      return r;
    } finally {
      model.train();
    }
  });
  const checkpoint = async (): Promise<void> => {
    lastEval = loop.interrupted ? null : await evaluate();
    const isBest = lastEval !== null && (bestCider === null || lastEval.cider > bestCider);
    if (isBest) bestCider = lastEval!.cider;
    const { predictions: _p, ...evalSummary } = lastEval ?? { predictions: [] };
    const state: SavedState = {
      step: loop.step, task: 'caption', config: c, modelConfig, captionTokens: tokens, compat: c.compat, tokenizer: 'tokenizer.json', rng: b64(getRngState()),
      loader: feed.state, elapsedS: loop.elapsed(), skippedNonFinite: loop.skippedNonFinite, lastLoss: loop.lastLoss, bestCider,
      ...(lastEval ? { eval: evalSummary as SavedState['eval'] } : {}),
    };
    saveCheckpoint(c.out, model.stateDict(), opt.stateDict(), state as unknown as { step: number }, { keepLast: c.keepLast, isBest });
  };

  let stopped: CaptionFinetuneResult['stopped'] = 'done';
  try {
    stopped = await loop.run();
    await checkpoint();
  } finally {
    await cleanUp(() => loop.close(), () => feed.close(), () => loader.close(), () => src.close?.(), () => model.dispose(), () => opt.dispose());
  }
  return { steps: loop.step, finalLoss: loop.lastLoss, elapsedS: loop.elapsed(), stopped, runDir: c.out, eval: lastEval };
}

function writeCurves(dir: string, recs: MetricsRecord[]): void {
  const train = recs.filter((r) => r.split === undefined);
  const series = (key: string, rs: MetricsRecord[]): [number, number][] => rs.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
  writeLineChart(join(dir, 'loss.svg'), 'caption loss', 'step', 'loss', [{ name: 'loss', points: series('loss', train) }]);
  writeLineChart(join(dir, 'lr.svg'), 'learning rate', 'step', 'lr', [{ name: 'lr (group 0)', points: series('lr', train) }]);
}

