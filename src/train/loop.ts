// The one optimisation loop behind every trainer (pretraining, task fine-tuning, caption fine-tuning):
// gradient accumulation, the learning-rate schedule, clipping, non-finite skips, the time budget,
// Ctrl-C, the metrics record and the progress line. A trainer says how a micro-batch becomes a loss
// and what happens after a step (checkpoints, evaluations); the loop owns everything in between.
import { autocast, tidy, type Tensor } from '../tensor/index.js';
import { clipGradNorm, type AdamW } from '../optim/index.js';
import { lrFactor, type ScheduleConfig } from './schedule.js';
import type { MetricsRecord } from './metrics-log.js';
import { StatusLine } from './status-line.js';

/**
 * Training seconds: time since the run (re)started plus the seconds of earlier sessions, minus the spans
 * spent in `paused()` (evaluations and probes run there, so a time budget counts training alone).
 */
export class TrainClock {
  readonly #t0 = performance.now();
  #pausedSince: number | null = null;
  #pausedMs = 0;
  constructor(readonly before = 0) {}

  elapsed(): number {
    const now = this.#pausedSince ?? performance.now();
    return this.before + (now - this.#t0 - this.#pausedMs) / 1000;
  }

  async paused<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#pausedSince !== null) return await fn();
    this.#pausedSince = performance.now();
    try {
      return await fn();
    } finally {
      this.#pausedMs += performance.now() - this.#pausedSince;
      this.#pausedSince = null;
    }
  }
}

/** What one micro-batch contributes; tensors are freed by the loop's scope. */
export interface MicroLoss {
  loss: Tensor;
  terms?: Record<string, Tensor>;
  metrics?: Record<string, Tensor>;
  /** the backpropagated loss is loss x backwardScale / accumulation (the logged loss is unscaled) */
  backwardScale?: number;
  /** text tokens and images of the micro-batch (throughput figures) */
  tokens: number;
  images: number;
}

export interface TrainLoopStart {
  step: number;
  elapsedS: number;
  skippedNonFinite: number;
  lastLoss: number | null;
}

export interface TrainLoopOptions<B> {
  steps: number;
  /** micro-batches per optimiser step */
  accum: number;
  schedule: ScheduleConfig;
  /** global gradient-norm clipping (0: off) */
  clipNorm: number;
  /** consecutive non-finite steps tolerated */
  maxNonFinite: number;
  logEvery: number;
  /** stop after this many training seconds (0: no limit) */
  timeBudgetS: number;
  opt: AdamW;
  /** the parameters whose gradients are clipped */
  clipParams(): Tensor[];
  nextBatch(): Promise<B>;
  /** the loss of one micro-batch, computed inside a tidy scope */
  loss(batch: B, at: { step: number; micro: number }): MicroLoss;
  /** 'bf16': the forward pass (loss) runs under CPU autocast, the backward pass outside it */
  precision?: Precision;
  /** backward of the scaled loss (default `scaled.backward()`); data parallelism brings its own */
  backward?(scaled: Tensor, micro: number, accum: number): void;
  /** data parallelism: whether any rank's flag is set (every rank must take the same branch) */
  anyRank?(flag: boolean): boolean;
  /** data parallelism: the mean of a number over the ranks (the logged loss) */
  meanOverRanks?(x: number): number;
  /** after each completed optimiser step: checkpoints, evaluations */
  afterStep?(step: number): Promise<void>;
  /** each logged record (rank 0 writes it) */
  onLog?(rec: MetricsRecord): void;
  quiet: boolean;
  start?: TrainLoopStart;
}

export type StopReason = 'done' | 'interrupted' | 'time-budget';

/** Training precision: float32 throughout, or bfloat16 autocast of the forward pass (parameters stay float32). */
export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

export class TrainLoop<B> {
  step: number;
  skippedNonFinite: number;
  lastLoss: number | null;
  readonly clock: TrainClock;
  readonly status: StatusLine;
  #interrupted = false;
  readonly #o: TrainLoopOptions<B>;
  readonly #onSignal = (): void => {
    if (this.#interrupted) process.exit(130);
    this.#interrupted = true;
    this.status.note('interrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)');
  };

  constructor(o: TrainLoopOptions<B>) {
    this.#o = o;
    this.step = o.start?.step ?? 0;
    this.skippedNonFinite = o.start?.skippedNonFinite ?? 0;
    this.lastLoss = o.start?.lastLoss ?? null;
    this.clock = new TrainClock(o.start?.elapsedS ?? 0);
    this.status = new StatusLine(o.quiet, o.timeBudgetS);
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  get interrupted(): boolean {
    return this.#interrupted;
  }

  elapsed(): number {
    return this.clock.elapsed();
  }

  /** Trains until `steps`, Ctrl-C or the time budget. */
  async run(): Promise<StopReason> {
    const o = this.#o;
    const anyRank = o.anyRank ?? ((f: boolean) => f);
    let consecutiveBad = 0;
    let tokensSinceLog = 0;
    let imagesSinceLog = 0;
    let lastLogT = performance.now();
    while (this.step < o.steps) {
      // a turn of the event loop: signal handlers (Ctrl-C) are macrotasks, and a loader that answers from
      // memory resolves in microtasks only, which would starve them for the whole run
      await new Promise<void>((res) => setImmediate(res));
      const overBudget = o.timeBudgetS > 0 && this.elapsed() >= o.timeBudgetS;
      // every rank must stop with the same reason: what follows (a final evaluation or not) runs collectives
      if (anyRank(this.#interrupted || overBudget)) return anyRank(overBudget) ? 'time-budget' : 'interrupted';
      o.opt.setLrFactor(lrFactor(o.schedule, this.step));
      o.opt.zeroGrad();
      let lossSum = 0;
      let finite = true;
      const termSums: Record<string, number> = {};
      for (let k = 0; k < o.accum; k++) {
        const batch = await o.nextBatch();
        tidy(() => {
          const r = autocast(() => o.loss(batch, { step: this.step, micro: k }), { enabled: o.precision === 'bf16' });
          tokensSinceLog += r.tokens;
          imagesSinceLog += r.images;
          const l = r.loss.item();
          // with data parallelism every rank skips together, before any enters the gradient all-reduce
          if (anyRank(!Number.isFinite(l))) {
            finite = false;
            return;
          }
          lossSum += l / o.accum;
          for (const [n, t] of Object.entries({ ...r.terms, ...r.metrics })) termSums[n] = (termSums[n] ?? 0) + t.item() / o.accum;
          const scale = (r.backwardScale ?? 1) / o.accum;
          const scaled = scale === 1 ? r.loss : r.loss.mul(scale);
          if (o.backward) o.backward(scaled, k, o.accum);
          else scaled.backward();
        });
        if (!finite) break;
      }
      let gradNorm: number | null = null;
      if (finite && o.clipNorm > 0) {
        gradNorm = clipGradNorm(o.clipParams(), o.clipNorm);
        if (!Number.isFinite(gradNorm)) finite = false;
      }
      this.step++;
      if (!finite) {
        o.opt.zeroGrad();
        this.skippedNonFinite++;
        consecutiveBad++;
        this.status.note(`step ${this.step}: non-finite loss or gradient, step skipped (${this.skippedNonFinite} so far)`);
        if (consecutiveBad > o.maxNonFinite) {
          throw new Error(`${consecutiveBad} consecutive non-finite losses: stopping (lower the learning rate, or enable --clip-norm)`);
        }
        continue;
      }
      consecutiveBad = 0;
      o.opt.step();
      this.lastLoss = lossSum;
      if (this.step % o.logEvery === 0 || this.step === o.steps) {
        const now = performance.now();
        const dt = (now - lastLogT) / 1000;
        const rec: MetricsRecord = {
          step: this.step, loss: o.meanOverRanks ? o.meanOverRanks(lossSum) : lossSum, ...termSums, lr: o.opt.groups[0]!.lr,
          elapsed_s: Number(this.elapsed().toFixed(3)), tokens_per_s: Number((tokensSinceLog / dt).toFixed(1)),
          images_per_s: Number((imagesSinceLog / dt).toFixed(2)), ...(gradNorm !== null ? { grad_norm: gradNorm } : {}),
          skipped_nonfinite: this.skippedNonFinite,
        };
        o.onLog?.(rec);
        tokensSinceLog = 0;
        imagesSinceLog = 0;
        lastLogT = now;
        this.status.update(this.step, o.steps, rec, this.elapsed());
      }
      await o.afterStep?.(this.step);
    }
    return 'done';
  }

  /** Removes the signal handlers and ends the progress line. */
  close(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    this.status.done();
  }
}

/** A loader's batches as the loop consumes them, with the loader position after the last one (for checkpoints). */
export class BatchFeed<B extends { state: S }, S> {
  #state: S;
  constructor(readonly batches: AsyncGenerator<B, unknown, unknown>, initial: S) {
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  async next(): Promise<B> {
    const n = await this.batches.next();
    if (n.done) throw new Error('the data loader ended unexpectedly');
    this.#state = n.value.state;
    return n.value;
  }

  async close(): Promise<void> {
    await this.batches.return(undefined);
  }
}

/**
 * A trainer's teardown: runs every step in order even when one fails (a failed loader close must not
 * leak the model's native memory or the process group), then rethrows the first failure.
 */
export async function cleanUp(...steps: (() => unknown)[]): Promise<void> {
  let first: unknown = null;
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== null) throw first;
}
