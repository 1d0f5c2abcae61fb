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
