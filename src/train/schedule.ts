/**
 * Learning-rate schedules as pure functions of the optimizer step (flm-spec E.2), matching
 * Hugging Face transformers (optimization.py):
 * - `get_polynomial_decay_schedule_with_warmup(opt, W, T, lr_end, power)`:
 *     f(s) = s / max(1, W)                                              for s < W
 *          = ((lrInit - lrEnd) * (1 - (s - W) / (T - W))^power + lrEnd) / lrInit   for W <= s <= T
 *          = lrEnd / lrInit                                             for s > T
 * - `get_cosine_schedule_with_warmup(opt, W, T, num_cycles = 0.5)`:
 *     f(s) = s / max(1, W) for s < W, else max(0, 0.5 (1 + cos(2 pi numCycles p))),
 *     p = (s - W) / max(1, T - W). As in transformers, p keeps growing after T, so with
 *     numCycles = 0.5 the factor rises again past the end; train for at most T steps.
 * The factor multiplies every parameter group's initial lr (LambdaLR); `lrInit` is the optimizer's
 * default (base) lr, which is what transformers divides by. Step 0 has factor 0 when W > 0.
 * FLM's `warmup_steps` may be a float fraction of the total: W = int(T * warmup) (meter_utils.py).
 */
import { warmupStepsOf } from '../config/warmup.js';

export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
}

export interface PolynomialScheduleConfig {
  kind: 'polynomial';
  /** Total optimizer steps T (FLM: max_steps). */
  totalSteps: number;
  /** Warmup steps (integer), or a fraction of totalSteps in (0, 1). */
  warmup: number;
  /** The optimizer's base lr. */
  lrInit: number;
  /** Final lr (FLM end_lr; default 0). Must be below lrInit. */
  lrEnd?: number;
  /** Decay power (FLM decay_power; default 1 = linear). */
  power?: number;
}

export interface CosineScheduleConfig {
  kind: 'cosine';
  totalSteps: number;
  warmup: number;
  /** Number of cosine waves over the decay (default 0.5: one half-cosine from 1 to 0). */
  numCycles?: number;
}

export type ScheduleConfig = PolynomialScheduleConfig | CosineScheduleConfig;

function fail(message: string): never {
  throw new ScheduleConfigError(message);
}

function checkFinite(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name} must be a finite number, got ${String(v)}`);
}

/** Warmup steps W: an integer as is, a fraction in (0, 1) as int(T * fraction). */
export function resolveWarmupSteps(warmup: number, totalSteps: number): number {
  const w = warmupStepsOf(warmup, totalSteps);
  if ('error' in w) fail(w.error);
  return w.steps;
}

export function validateScheduleConfig(config: ScheduleConfig): void {
  const kind: string = config.kind;
  if (kind !== 'polynomial' && kind !== 'cosine') {
    fail(`unknown schedule kind '${kind}' (expected 'polynomial' or 'cosine')`);
  }
  checkFinite('totalSteps', config.totalSteps);
  if (!Number.isInteger(config.totalSteps) || config.totalSteps < 1) {
    fail(`totalSteps must be a positive integer, got ${config.totalSteps}`);
  }
  const w = resolveWarmupSteps(config.warmup, config.totalSteps);
  if (config.kind === 'polynomial') {
    if (w >= config.totalSteps) {
      fail(`warmup (${w} steps) must be smaller than totalSteps (${config.totalSteps}) for polynomial decay`);
    }
    checkFinite('lrInit', config.lrInit);
    const lrEnd = config.lrEnd ?? 0;
    checkFinite('lrEnd', lrEnd);
    if (lrEnd < 0) fail(`lrEnd must be >= 0, got ${lrEnd}`);
    if (!(config.lrInit > lrEnd)) fail(`lrEnd (${lrEnd}) must be smaller than lrInit (${config.lrInit})`);
    const power = config.power ?? 1;
    checkFinite('power', power);
    if (power <= 0) fail(`power must be > 0, got ${power}`);
  } else {
    if (w > config.totalSteps) {
      fail(`warmup (${w} steps) must not exceed totalSteps (${config.totalSteps})`);
    }
    const cycles = config.numCycles ?? 0.5;
    checkFinite('numCycles', cycles);
    if (cycles <= 0) fail(`numCycles must be > 0, got ${cycles}`);
  }
}

/** Multiplicative lr factor at optimizer step `step` (0-based count of steps already taken). */
export function lrFactor(config: ScheduleConfig, step: number): number {
  validateScheduleConfig(config);
  if (!Number.isInteger(step) || step < 0) fail(`step must be a non-negative integer, got ${step}`);
  const total = config.totalSteps;
  const warm = resolveWarmupSteps(config.warmup, total);
  if (step < warm) return step / Math.max(1, warm);
  if (config.kind === 'cosine') {
    const progress = (step - warm) / Math.max(1, total - warm);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (config.numCycles ?? 0.5) * 2 * progress)));
  }
  const lrEnd = config.lrEnd ?? 0;
  if (step > total) return lrEnd / config.lrInit;
  const pctRemaining = 1 - (step - warm) / (total - warm);
  const decay = (config.lrInit - lrEnd) * pctRemaining ** (config.power ?? 1) + lrEnd;
  return decay / config.lrInit;
}

/** The lr of a parameter group whose initial lr is `groupLr` (base lr times its multiplier). */
export function scheduledLr(config: ScheduleConfig, groupLr: number, step: number): number {
  return groupLr * lrFactor(config, step);
}
