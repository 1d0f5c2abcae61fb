// The run's metrics log: one JSON object per line in <run>/metrics.jsonl (append-only, so a crash
// loses at most the line being written; a resumed run truncates records past its checkpoint step).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export type MetricsRecord = { step: number; [k: string]: number | string | null };

export class MetricsLog {
  constructor(readonly path: string) {}

  append(rec: MetricsRecord): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
  }

  read(): MetricsRecord[] {
    if (!existsSync(this.path)) return [];
    const out: MetricsRecord[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as MetricsRecord);
      } catch {
        /* a torn last line from a crash */
      }
    }
    return out;
  }

  /** Drops records after `step` (used on resume so the log matches the restored state). */
  truncateAfter(step: number): void {
    const keep = this.read().filter((r) => r.step <= step);
    writeFileSync(this.path, keep.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/**
 * The `onLog` of a trainer: appends each record, redraws the curves from the whole log and passes the
 * record on. `enabled` false (ranks other than 0) makes it a no-op.
 */
export function logRecorder(log: MetricsLog, draw: (recs: MetricsRecord[]) => void, hook: ((rec: MetricsRecord) => void) | undefined, enabled = true): (rec: MetricsRecord) => void {
  return (rec) => {
    if (!enabled) return;
    log.append(rec);
    draw(log.read());
    hook?.(rec);
  };
}
