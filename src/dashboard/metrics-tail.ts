// Incremental reads of a growing metrics.jsonl: the client keeps a byte offset and asks for what was
// appended after it, so a live curve costs the new lines only. Only whole lines are returned (a line
// being written is left for the next read); a log that shrank (a resumed run truncates it) is read
// again from the start and flagged `reset`, as is one whose byte before the offset is no longer a
// newline (truncated, then grown past the offset again before the next read).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { MetricsRecord } from '../train/metrics-log.js';

export interface MetricsChunk {
  /** the offset to ask from next time */
  offset: number;
  /** true when the records replace everything read before (the log was truncated or replaced) */
  reset: boolean;
  /** true when more whole lines are waiting past `offset` (the chunk hit its size limit) */
  more: boolean;
  records: MetricsRecord[];
}

/** At most this many bytes per answer; a longer backlog comes in several. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

function byteAt(path: string, at: number): number {
  const b = Buffer.alloc(1);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, b, 0, 1, at) === 1 ? b[0]! : -1;
  } finally {
    closeSync(fd);
  }
}

export function readMetricsFrom(path: string, offset: number, maxBytes = CHUNK_BYTES): MetricsChunk {
  if (!existsSync(path)) return { offset: 0, reset: offset > 0, more: false, records: [] };
  const size = statSync(path).size;
  let start = Number.isSafeInteger(offset) && offset >= 0 ? offset : 0;
  // an offset past the end, or not just after a newline, belongs to an older version of the log
  const reset = start !== offset || start > size || (start > 0 && byteAt(path, start - 1) !== 0x0a);
  if (reset) start = 0;
  const length = Math.min(size - start, maxBytes);
  const buf = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, start + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  const end = buf.lastIndexOf(0x0a) + 1; // whole lines only
  const records: MetricsRecord[] = [];
  for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as unknown;
      if (typeof r === 'object' && r !== null && typeof (r as { step?: unknown }).step === 'number') records.push(r as MetricsRecord);
    } catch {
      /* a torn line from a crash: skipped, as MetricsLog.read does */
    }
  }
  const next = start + end;
  return { offset: next, reset, more: next < size && end > 0 && length === maxBytes, records };
}
