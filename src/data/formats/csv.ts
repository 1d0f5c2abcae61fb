/**
 * CSV / TSV of (image path, caption), parsed with csv-parse (quotes, embedded delimiters and newlines).
 * With a header row, columns are found by name (same defaults as JSONL); with `header=0`, column 0 is
 * the image and column 1 the caption (override with image=N&caption=N).
 *
 *   csv:data/pairs.csv?images=data/img      tsv:data/cc3m.tsv?header=0&image=1&caption=0
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { DataError } from '../types.js';
import { groupByImage, MemorySource, resolveUnder, splitFilter, type Failure, imagePathUnder, leavesRoot } from './common.js';
import { CAPTION_FIELDS, IMAGE_FIELDS } from './jsonl.js';

function column(header: string[] | null, q: URLSearchParams, param: string, defaults: string[], positional: number): number {
  const v = q.get(param);
  if (header === null) return v !== null && v !== '' ? Number(v) : positional;
  const names = v !== null && v !== '' ? [v] : defaults;
  for (const n of names) {
    const i = header.indexOf(n);
    if (i >= 0) return i;
  }
  if (v !== null && /^\d+$/.test(v)) return Number(v);
  throw new DataError(`no ${param} column (${names.join('|')}) in header: ${header.join(', ')}`);
}

export async function openCsv(path: string, q: URLSearchParams, name: string, delimiter: string): Promise<MemorySource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new DataError(`${delimiter === '\t' ? 'TSV' : 'CSV'} file ${path} not found`);
  }
  let records: string[][];
  try {
    records = parse(text, {
      delimiter: q.get('delimiter') ?? delimiter, relax_column_count: true, skip_empty_lines: true, bom: true,
      // TSV files (CC3M and the like) do not quote; a stray quote must not swallow lines.
      quote: delimiter === '\t' ? false : '"',
    }) as string[][];
  } catch (e) {
    throw new DataError(`cannot parse ${path}: ${(e as Error).message}`);
  }
  const hasHeader = q.get('header') !== '0' && q.get('header') !== 'false';
  const header = hasHeader ? (records.shift() ?? []).map((h) => h.trim()) : null;
  const ci = column(header, q, 'image', IMAGE_FIELDS, 0);
  const cc = column(header, q, 'caption', CAPTION_FIELDS, 1);
  const cs = header?.indexOf('split') ?? -1;
  const splits = splitFilter(q);
  const root = resolveUnder(process.cwd(), q.get('images') ?? dirname(path));
  const failures: Failure[] = [];
  const rows: Array<{ image: string; captions: string[]; split?: string }> = [];
  records.forEach((r, n) => {
    const where = `${path}:${n + (hasHeader ? 2 : 1)}`;
    const split = cs >= 0 ? r[cs] : undefined;
    if (splits !== undefined && (split === undefined || !splits.has(split))) return;
    const image = r[ci]?.trim();
    const caption = r[cc];
    if (image === undefined || image === '') failures.push({ key: where, reason: 'no image column' });
    else if (caption === undefined || caption.trim() === '') failures.push({ key: where, reason: 'no caption' });
    else {
      const file = imagePathUnder(root, image);
      if (file === null) failures.push(leavesRoot(where, image));
      else rows.push({ image: file, captions: [caption], ...(split !== undefined ? { split } : {}) });
    }
  });
  return new MemorySource(name, groupByImage(rows), 'caption', failures);
}
