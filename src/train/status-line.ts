// A one-line progress display: step, losses, throughput and ETA. On a terminal it redraws in place;
// otherwise (logs, CI) it prints one line per update.
import type { MetricsRecord } from './metrics-log.js';

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
};

export class StatusLine {
  readonly #tty = process.stderr.isTTY === true;
  #drawn = false;
  constructor(readonly quiet: boolean) {}

  update(step: number, total: number, rec: MetricsRecord, elapsedS: number): void {
    if (this.quiet) return;
    const width = 24;
    const filled = Math.round((step / total) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const terms = Object.entries(rec)
      .filter(([k, v]) => typeof v === 'number' && !['step', 'loss', 'lr', 'elapsed_s', 'tokens_per_s', 'images_per_s', 'skipped_nonfinite', 'grad_norm'].includes(k) && !/accuracy/i.test(k))
      .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
      .join(' ');
    const eta = step > 0 ? (elapsedS / step) * (total - step) : NaN;
    const line = `[${bar}] ${step}/${total} loss ${(rec.loss as number).toFixed(4)}${terms ? ` (${terms})` : ''} ` +
      `${rec.tokens_per_s} tok/s ${rec.images_per_s} img/s lr ${(rec.lr as number).toExponential(2)} ${fmtTime(elapsedS)} eta ${fmtTime(eta)}`;
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
