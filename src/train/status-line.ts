// A one-line progress display: step, losses, throughput and ETA. On a terminal it redraws in place;
// otherwise (logs, CI) it prints one line per update. With a time budget the ETA is whichever ends the
// run first, the remaining steps at the pace so far or the remaining budget, and the line says which.
import type { MetricsRecord } from './metrics-log.js';

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
};

export interface Eta {
  /** seconds until the run stops (NaN before the first step) */
  seconds: number;
  /** what stops it: the last step, or the time budget running out first */
  by: 'steps' | 'time budget';
}

/**
 * Time left: the remaining steps at the average pace of the steps so far (elapsed training seconds,
 * earlier sessions of a resumed run included), or the remaining time budget when that is shorter.
 */
export function eta(step: number, total: number, elapsedS: number, timeBudgetS = 0): Eta {
  const bySteps = step > 0 ? (elapsedS / step) * (total - step) : NaN;
  if (timeBudgetS > 0) {
    const left = Math.max(0, timeBudgetS - elapsedS);
    if (!(bySteps <= left)) return { seconds: left, by: 'time budget' };
  }
  return { seconds: bySteps, by: 'steps' };
}

/** The progress line of a logged step. */
export function statusText(step: number, total: number, rec: MetricsRecord, elapsedS: number, timeBudgetS = 0): string {
  const width = 24;
  const filled = Math.round((step / total) * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const terms = Object.entries(rec)
    .filter(([k, v]) => typeof v === 'number' && !['step', 'loss', 'lr', 'elapsed_s', 'tokens_per_s', 'images_per_s', 'skipped_nonfinite', 'grad_norm'].includes(k) && !/accuracy/i.test(k))
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(' ');
  const left = eta(step, total, elapsedS, timeBudgetS);
  // with a budget both could end the run: say which does
  const why = timeBudgetS > 0 ? (left.by === 'steps' ? ' (steps)' : ' (time budget)') : '';
  return `[${bar}] ${step}/${total} loss ${(rec.loss as number).toFixed(4)}${terms ? ` (${terms})` : ''} ` +
    `${rec.tokens_per_s} tok/s ${rec.images_per_s} img/s lr ${(rec.lr as number).toExponential(2)} ${fmtTime(elapsedS)} eta ${fmtTime(left.seconds)}${why}`;
}

export class StatusLine {
  readonly #tty = process.stderr.isTTY === true;
  #drawn = false;
  /** `timeBudgetS`: the run's --time-budget (0: none) */
  constructor(readonly quiet: boolean, readonly timeBudgetS = 0) {}

  update(step: number, total: number, rec: MetricsRecord, elapsedS: number): void {
    if (this.quiet) return;
    const line = statusText(step, total, rec, elapsedS, this.timeBudgetS);
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else process.stderr.write(line + '\n');
  }

  note(msg: string): void {
    if (this.quiet) return;
    if (this.#drawn) process.stderr.write('\n');
    this.#drawn = false;
    process.stderr.write(`flm: ${msg}\n`);
  }

  done(): void {
    if (this.#drawn) process.stderr.write('\n');
    this.#drawn = false;
  }
}
