// The run's metrics log: one JSON object per line in <run>/metrics.jsonl (append-only, so a crash
// loses at most the line being written; a resumed run truncates records past its checkpoint step),
// mirrored as TensorBoard scalars in the run's events.out.tfevents.* files unless --no-tensorboard.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventFileWriter, removeEventFiles } from '../io/tensorboard.js';

export type MetricsRecord = { step: number; [k: string]: number | string | null };

export class MetricsLog {
  /** `events`: the TensorBoard file each appended record is mirrored to */
  constructor(readonly path: string, readonly events: EventFileWriter | null = null) {}

  append(rec: MetricsRecord): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
    this.events?.scalars(rec.step, recordScalars(rec));
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
 * A record's numbers as TensorBoard scalars, tagged by split: `train/loss`, `train/lr`, `val/cider`
 * (TensorBoard groups charts by the part before the slash).
 */
export function recordScalars(rec: MetricsRecord): Record<string, number> {
  const split = typeof rec.split === 'string' ? rec.split : 'train';
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) if (k !== 'step' && typeof v === 'number') out[`${split}/${k}`] = v;
  return out;
}

/**
 * The metrics log of the run in `dir`, as rank 0 opens it. A new run (`resumedAt` null) starts a new
 * log and removes the event files of whatever ran in the folder before; a resumed run keeps the records
 * up to its checkpoint step and writes a new event file that tells TensorBoard to drop the older files'
 * points past that step, so neither log shows a step twice.
 */
export function openMetricsLog(dir: string, o: { resumedAt: number | null; tensorboard: boolean }): MetricsLog {
  const path = join(dir, 'metrics.jsonl');
  new MetricsLog(path).truncateAfter(o.resumedAt ?? 0);
  if (o.resumedAt === null) removeEventFiles(dir);
  const events = o.tensorboard ? new EventFileWriter(dir, o.resumedAt === null ? {} : { purgeStep: o.resumedAt + 1 }) : null;
  return new MetricsLog(path, events);
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
